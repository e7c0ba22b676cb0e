import numpy as np
import pandas as pd
import pytest

from automl.tasks.generation import (
    c2st_auc,
    canonical_frame,
    check_generation_table,
    evaluate_generator,
    finish_numeric,
    generation_columns,
    numeric_facts,
    tstr_score,
)
from automl.testing import make_tabular_data
from plugins.generators import IndependentColumnsGenerator


def _gaussians(n, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    x = rng.normal(size=n) + shift
    y = 2 * x + np.select([group == "a", group == "b"], [1.0, -1.0], 0.0) \
        + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": y, "group": pd.Series(group, dtype=object)})


def test_c2st_is_near_half_for_one_distribution_and_near_one_for_two():
    a, b = _gaussians(600, 0), _gaussians(600, 1)
    same = c2st_auc(a, b, ["x", "y"], ["group"], seed=0)
    assert 0.4 < same < 0.6
    shifted = c2st_auc(a, _gaussians(600, 1, shift=3.0), ["x", "y"], ["group"], seed=0)
    assert shifted > 0.95
    # a broken dependence (y shuffled) is detected from the pair of columns
    broken = b.assign(y=np.random.default_rng(2).permutation(b["y"].to_numpy()))
    assert c2st_auc(a, broken, ["x", "y"], ["group"], seed=0) > 0.8


def test_c2st_ignores_unique_ids_and_copes_with_awkward_columns():
    X, _, ctx = make_tabular_data("binary", n_rows=300, seed=0)
    other, _, _ = make_tabular_data("binary", n_rows=300, seed=1)  # other IDs, same law
    auc = c2st_auc(X, other, ctx.numeric_columns, ctx.categorical_columns, seed=0)
    assert 0.35 < auc < 0.65
    assert auc == c2st_auc(X, other, ctx.numeric_columns, ctx.categorical_columns, seed=0)
    with pytest.raises(ValueError, match="at least one column"):
        c2st_auc(X, other, [], [])
    with pytest.raises(ValueError, match="at least 3 rows"):
        c2st_auc(X.iloc[:2], other, ctx.numeric_columns, ctx.categorical_columns)


def test_c2st_caps_rows():
    a, b = _gaussians(3000, 0), _gaussians(3000, 1)
    assert 0.4 < c2st_auc(a, b, ["x", "y"], ["group"], max_rows=400) < 0.6


def test_tstr_scores_classification_and_regression():
    train, test = _gaussians(600, 0), _gaussians(300, 1)
    auc = tstr_score(train, test, "group", "classification", numeric_columns=["x", "y"],
                     categorical_columns=["group"])
    assert auc > 0.8  # three classes: accuracy
    r2 = tstr_score(train, test, "y", "regression")
    assert r2 > 0.9
    shuffled = train.assign(y=np.random.default_rng(0).permutation(train["y"].to_numpy()))
    assert tstr_score(shuffled, test, "y", "regression") < 0.2
    binary = train.assign(group=np.where(train["group"] == "a", "a", "other").astype(object))
    binary_test = test.assign(group=np.where(test["group"] == "a", "a", "other").astype(object))
    assert tstr_score(binary, binary_test, "group", "binary") > 0.8
    one_class = binary.assign(group=pd.Series(["a"] * len(binary), dtype=object))
    assert tstr_score(one_class, binary_test, "group", "classification") == 0.5
    with pytest.raises(ValueError, match="task"):
        tstr_score(train, test, "y", "ranking")
    with pytest.raises(ValueError, match="not a column"):
        tstr_score(train, test, "nope", "regression")


def test_evaluate_generator_is_pure_and_reports_details():
    X, _, ctx = make_tabular_data("binary", n_rows=200, seed=0)
    build = IndependentColumnsGenerator(numeric_columns=ctx.numeric_columns,
                                        categorical_columns=ctx.categorical_columns)
    score, details = evaluate_generator(build, X, seed=3, target="flag")
    assert not hasattr(build, "columns_")  # the given estimator was cloned
    again, details_again = evaluate_generator(lambda: build, X, seed=3, target="flag")
    assert score == again == details["c2st_auc"]
    assert details["tstr"] == details_again["tstr"]
    assert details["n_holdout"] == 60 and details["n_train"] == 140
    assert {"fit_seconds", "sample_seconds", "score_seconds"} <= set(details)
    assert 0.3 < score < 0.8
    with pytest.raises(ValueError, match="holdout"):
        evaluate_generator(build, X, holdout=1.0)
    with pytest.raises(ValueError, match="at least 10 rows"):
        evaluate_generator(build, X.iloc[:5])


def test_generation_columns_and_checks():
    X = pd.DataFrame({"n": [1, 2, 3], "b": [True, False, True], "s": ["x", None, "y"]})
    frame, numeric, categorical = generation_columns(X)
    assert numeric == ["n"] and categorical == ["b", "s"]
    assert frame["n"].dtype == np.float64 and frame["b"].dtype == object
    assert frame["b"].tolist() == ["True", "False", "True"] and pd.isna(frame["s"][1])
    with pytest.raises(ValueError, match="column kinds"):
        generation_columns(X, ["n"], ["b"])
    with pytest.raises(ValueError, match="no rows"):
        check_generation_table(frame.iloc[:0])
    with pytest.raises(ValueError, match="single value"):
        check_generation_table(pd.DataFrame({"c": [3.0] * 5}))
    array_frame, numeric, _ = generation_columns(np.ones((4, 2)))
    assert list(array_frame.columns) == ["x0", "x1"] and numeric == ["x0", "x1"]


def test_numeric_post_processing():
    facts = numeric_facts(np.array([1.0, 2.0, np.nan, 5.0]))
    assert facts == {"low": 1.0, "high": 5.0, "integer": True, "missing_rate": 0.25}
    out = finish_numeric(np.array([0.2, 2.4, np.nan, 9.0]), facts)
    assert np.array_equal(out, [1.0, 2.0, np.nan, 5.0], equal_nan=True)
    assert np.isnan(finish_numeric(np.ones(3), numeric_facts(np.full(3, np.nan)))).all()
    frame = canonical_frame({"a": np.array([1, 2]), "b": np.array(["x", None], dtype=object)},
                            ["b", "a"], ["a"])
    assert list(frame.columns) == ["b", "a"] and frame["a"].dtype == np.float64
    assert frame["b"].dtype == object and pd.isna(frame["b"][1])
