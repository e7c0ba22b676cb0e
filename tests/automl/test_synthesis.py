"""AutoML(task="generation"): search generators by a two-sample test and sample rows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from automl import AutoML
from automl.specs import ModelSpec
from automl.tasks.generation import (
    GenerationEvaluation,
    generation_splits,
    validate_generation_data,
)
from search import Float, Space


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


class RowResampler(BaseEstimator):
    """A generator that redraws training rows: it keeps every dependence between columns."""

    def __init__(self, unused: float = 0.0):
        self.unused = unused

    def fit(self, X, y=None):
        self.rows_ = X.reset_index(drop=True)
        return self

    def sample(self, n, random_state=None):
        picks = np.random.default_rng(random_state).integers(len(self.rows_), size=n)
        return self.rows_.iloc[picks].reset_index(drop=True)


RESAMPLER = ModelSpec(name="row_resampler", tasks={"generation"}, modalities={"tabular"},
                      space=Space([Float("unused", 0.0, 1.0)]),
                      build=lambda config, ctx: RowResampler(**config))


def _labelled(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    return X, pd.Series(np.where(X["a"] + X["b"] > 0, "yes", "no"), name="label")


def test_generation_with_y_records_train_on_synthetic_scores(tmp_path):
    X, y = _labelled()
    model = AutoML(task="generation", models=["independent_columns", RESAMPLER],
                   max_trials=4, time_budget=60, random_state=0,
                   storage=tmp_path / "trials.db").fit(X, y)
    board = model.leaderboard().set_index("model")
    assert "tstr_roc_auc" in board.columns
    # the label depends on a + b: only a generator keeping that dependence predicts it
    assert board.loc["row_resampler", "tstr_roc_auc"].min() > 0.9
    assert board.loc["independent_columns", "tstr_roc_auc"].max() < 0.7
    assert model.best_trial_.extras.keys() == {"tstr_roc_auc"}
    rows = model.sample(30, random_state=0)
    assert list(rows.columns) == ["a", "b", "label"] and set(rows["label"]) <= {"yes", "no"}
    # the extra measure is stored with the trial and comes back on resume
    again = AutoML(task="generation", models=["independent_columns", RESAMPLER],
                   max_trials=4, time_budget=60, random_state=0,
                   storage=tmp_path / "trials.db").fit(X, y)
    assert [r.extras for r in again.trials_] == [r.extras for r in model.trials_]


def test_train_on_synthetic_measure_follows_the_target_kind():
    X, y = _labelled()
    cases = {"tstr_roc_auc": y, "tstr_r2": (X["a"] + X["b"]).rename("sum"),
             "tstr_accuracy": pd.Series(np.digitize(X["a"], [-0.5, 0.5]), name="third")}
    for key, target in cases.items():
        data = validate_generation_data(X, target)
        ctx = data.schema
        evaluate = GenerationEvaluation(ctx.numeric, ctx.categorical, 1, target.name)
        result = evaluate(RowResampler, data.X, None, generation_splits(len(X), 0), None, None)
        assert result.extras.keys() == {key}
        assert result.extras[key] > 0.6  # copied rows keep the target's dependence


def test_generation_input_errors_are_clear():
    X, y = _labelled()
    with pytest.raises(ValueError, match="'a' is already a column of X"):
        AutoML(task="generation").fit(X, y.rename("a"))
    with pytest.raises(ValueError, match=r"y must be one column with a value per row of X \(300\)"):
        AutoML(task="generation").fit(X, y[:10])
    with pytest.raises(ValueError, match="generation needs a table with rows"):
        AutoML(task="generation").fit(pd.DataFrame({"a": []}))
    with pytest.raises(ValueError, match="holds a single value.*nothing to learn"):
        AutoML(task="generation").fit(pd.DataFrame({"a": [1.0] * 20}))
    model = AutoML(task="generation", models=["independent_columns"], max_trials=1,
                   time_budget=30).fit(_table(n=40))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)
