"""AutoML(task="generation"): search generators by a two-sample test and sample rows."""

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.synthesis import generation_splits


def _table(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "count": rng.integers(0, 5, n),
                         "sign": np.where(x > 0, "pos", "neg"), "big": x > 1,
                         "kind": pd.Categorical(rng.choice(["a", "b"], n))})


def test_generation_search_scores_by_c2st_and_samples_in_user_types(tmp_path):
    table = _table()
    model = AutoML(task="generation", models=["independent_columns"], max_trials=3,
                   time_budget=60, random_state=0).fit(table)
    assert model.task_ == "generation" and model.metric_ == "c2st_auc"
    board = model.leaderboard()
    assert "ensemble" not in set(board["model"])
    assert board.loc[board["status"] == "ok", "c2st_auc"].between(0.3, 1.0).all()
    rows = model.sample(50, random_state=1)
    assert list(rows.columns) == list(table.columns) and len(rows) == 50
    assert rows["count"].dtype == np.int64 and rows["big"].dtype == bool
    assert isinstance(rows["kind"].dtype, pd.CategoricalDtype)
    assert set(rows["sign"]) <= {"pos", "neg"}
    pd.testing.assert_frame_equal(rows, model.sample(50, random_state=1))
    assert not hasattr(model, "predict_proba") and not hasattr(model, "recommend")
    model.save(tmp_path / "gen")
    pd.testing.assert_frame_equal(AutoML.load(tmp_path / "gen").sample(20, random_state=3),
                                  model.sample(20, random_state=3))


def test_holdout_split_is_seeded_and_disjoint():
    [(train, held)] = generation_splits(100, seed=4)
    assert len(held) == 30 and not set(train) & set(held)
    assert generation_splits(100, seed=4)[0][1].tolist() == held.tolist()


def test_generation_input_errors_are_clear():
    with pytest.raises(ValueError, match="put the target into X as a column"):
        AutoML(task="generation").fit(_table(), np.zeros(200))
    with pytest.raises(ValueError, match="generation needs a table with rows"):
        AutoML(task="generation").fit(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="holds a single value.*nothing to learn"):
        AutoML(task="generation").fit(pd.DataFrame({"a": [1.0] * 20}))
    model = AutoML(task="generation", models=["independent_columns"], max_trials=1,
                   time_budget=30).fit(_table(n=40))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)
