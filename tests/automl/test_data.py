import numpy as np
import pandas as pd
import pytest

from automl.data import Schema, check_rare_classes, infer_task, validate_training_data


def mixed_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "num": rng.normal(size=n),
        "int": rng.integers(0, 5, size=n),
        "cat": pd.Categorical(rng.choice(["a", "b", "c"], size=n)),
        "text": rng.choice(["x", "y", None], size=n),
        "flag": rng.random(n) > 0.5,
        "num_str": [str(v) for v in rng.integers(0, 9, size=n)],
    })


def test_schema_kinds_and_missing_values():
    X = mixed_frame()
    X.loc[0, "num"] = np.nan
    X.loc[1, "num"] = np.inf
    data = validate_training_data(X, np.arange(len(X)) % 2)
    assert data.schema.numeric == ("num", "int", "num_str")
    assert data.schema.categorical == ("cat", "text", "flag")
    assert np.isnan(data.X["num"].iloc[0]) and np.isnan(data.X["num"].iloc[1])
    assert data.X["flag"].dtype == object and set(data.X["flag"]) == {"True", "False"}
    assert data.X["text"].isna().any()


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (np.array([0, 1] * 10), "binary"),
        (np.array(["a", "b", "c"] * 5), "multiclass"),
        (np.linspace(0, 1, 30), "regression"),
        (np.arange(100), "regression"),
        (np.array([True, False] * 5), "binary"),
    ],
)
def test_infer_task(y, task):
    assert infer_task(y) == task


def test_labels_come_back_in_user_type_and_order():
    X = np.arange(12.0).reshape(-1, 1)
    y = pd.Series(["dog", "cat", "emu"] * 4)
    data = validate_training_data(X, y)
    assert data.task == "multiclass"
    assert list(data.classes) == ["cat", "dog", "emu"]
    assert list(data.classes[data.y[:3]]) == ["dog", "cat", "emu"]


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((5, 2)), np.zeros(4), "X has 5 rows but y has 4 values"),
        (np.zeros((0, 2)), np.zeros(0), "X is empty: 0 sample"),
        (pd.DataFrame(index=range(3)), np.zeros(3), "X is empty: 0 feature"),
        (np.zeros((4, 2)), np.array([1.0, np.nan, 2.0, np.nan]), "y has 2 NaN values"),
        (np.zeros((3, 2)), np.array([1.0, np.inf, 2.0]), "y has 1 infinite values"),
        (np.zeros((3, 2)), np.array(["a", None, "b"], dtype=object), "y has 1 NaN values"),
        (np.zeros((4, 2)), np.array(["a"] * 4), "single class 'a'"),
        (np.zeros(4), np.zeros(4), "X is 1-D"),
    ],
)
def test_bad_training_data_names_problem_and_fix(X, y, message):
    with pytest.raises(ValueError, match=message):
        validate_training_data(X, y)


def test_unknown_task_lists_known_ones():
    with pytest.raises(ValueError, match="unknown task 'clustering'; known tasks"):
        validate_training_data(np.zeros((4, 1)), [0, 1, 0, 1], task="clustering")


def test_regression_on_strings_is_refused():
    with pytest.raises(ValueError, match="needs a numeric target"):
        validate_training_data(np.zeros((4, 1)), ["a", "b", "a", "b"], task="regression")


def test_single_row_class_is_warned_about():
    data = validate_training_data(np.zeros((5, 1)), ["a", "a", "b", "b", "c"])
    with pytest.warns(UserWarning, match=r"classes \['c'\] have a single row"):
        check_rare_classes(data.y, data.classes)


def test_predict_columns_checked_by_name():
    X = mixed_frame()
    schema = Schema.infer(X, from_array=False)
    with pytest.raises(ValueError, match=r"missing columns \['flag'\]"):
        schema.transform(X.drop(columns="flag"))
    with pytest.warns(UserWarning, match=r"columns that fit did not see, left out: \['extra'\]"):
        kept = schema.transform(X.assign(extra=1))
    assert list(kept.columns) == list(X.columns)
    shuffled = schema.transform(X[list(reversed(X.columns))])
    assert list(shuffled.columns) == list(X.columns)


def test_predict_array_column_count_checked():
    schema = Schema.infer(pd.DataFrame(np.zeros((3, 2)), columns=["x0", "x1"]), True)
    with pytest.raises(ValueError, match="has 3 features, but AutoML is expecting 2 features"):
        schema.transform(np.zeros((2, 3)))


def test_numeric_column_with_text_at_predict_is_named():
    schema = Schema.infer(pd.DataFrame({"a": [1.0, 2.0]}), False)
    with pytest.raises(ValueError, match="column 'a' was numeric in fit"):
        schema.transform(pd.DataFrame({"a": ["x", "2"]}))
