"""Property-based fuzzing of ``fit`` and ``predict`` with awkward tables (hypothesis).

Every generated table either fits (and then predicts one value per row) or is
refused with a ``ValueError`` or ``TypeError`` raised by the engine itself, never
an exception from inside a model or library. The default run tries a hundred
tables; ``-m slow`` tries two thousand.
"""

import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import automl
from automl import AutoML

ENGINE = Path(automl.__file__).parent

NAMES = st.one_of(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=6),
                  st.sampled_from(["", "é", "列", "a b", "0", "NaN", "x0"]))


@st.composite
def columns(draw, n_rows: int) -> pd.Series:
    """One column of ``n_rows`` values of an awkward kind."""
    kind = draw(st.sampled_from(["float", "int", "bool", "text", "mixed", "datetime",
                                 "constant", "category", "all_missing", "many_levels"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "float":
        values = rng.normal(size=n_rows)
        spoiled = rng.random(n_rows)
        values[spoiled < 0.1] = np.nan
        values[(spoiled >= 0.1) & (spoiled < 0.15)] = draw(st.sampled_from([np.inf, -np.inf,
                                                                            1e308]))
        return pd.Series(values)
    if kind == "int":
        return pd.Series(rng.integers(-5, 5, n_rows))
    if kind == "bool":
        return pd.Series(rng.random(n_rows) > 0.5)
    if kind == "text":
        words = draw(st.lists(st.text(max_size=5), min_size=1, max_size=4))
        return pd.Series([words[i % len(words)] for i in range(n_rows)], dtype=object)
    if kind == "mixed":
        return pd.Series([i if i % 2 else f"v{i}" for i in range(n_rows)], dtype=object)
    if kind == "datetime":
        return pd.Series(pd.date_range("2020-01-01", periods=n_rows, freq="h"))
    if kind == "constant":
        return pd.Series([draw(st.sampled_from([0, "same", 1.5]))] * n_rows)
    if kind == "category":
        return pd.Series(pd.Categorical(rng.choice(["a", "b", "c"], n_rows)))
    if kind == "all_missing":
        return pd.Series([np.nan] * n_rows)
    return pd.Series([f"id{i}" for i in range(n_rows)], dtype=object)  # many_levels


@st.composite
def tables(draw) -> tuple[pd.DataFrame, pd.Series]:
    """A frame of 0-4 awkward columns and 0-40 rows, with a target that may be wrong too."""
    n_rows = draw(st.integers(0, 40))
    unique = draw(st.integers(0, 4)) > 0  # most tables name their columns apart
    names = draw(st.lists(NAMES, min_size=0, max_size=4, unique=unique))
    X = pd.DataFrame({i: draw(columns(n_rows)) for i in range(len(names))})
    X.columns = names  # may repeat a name, or be empty strings
    target = draw(st.sampled_from(["binary", "labels", "regression", "one_class",
                                   "with_nan", "short"]))
    rng = np.random.default_rng(n_rows)
    if target == "binary":
        y = pd.Series(rng.integers(0, 2, n_rows))
    elif target == "labels":
        y = pd.Series(rng.choice(["yes", "no", "maybe"], n_rows))
    elif target == "regression":
        y = pd.Series(rng.normal(size=n_rows))
    elif target == "one_class":
        y = pd.Series(["only"] * n_rows)
    elif target == "with_nan":
        y = pd.Series(np.where(rng.random(n_rows) < 0.2, np.nan, rng.normal(size=n_rows)))
    else:
        y = pd.Series(rng.integers(0, 2, max(0, n_rows - 1)))
    return X, y


def raised_by_the_engine(error: BaseException) -> bool:
    """Whether the innermost frame of ``error``'s traceback is the engine's own code."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and Path(frames[-1].filename).is_relative_to(ENGINE)


def check_table(X: pd.DataFrame, y: pd.Series) -> None:
    """Fit then predict, or a clear refusal from the engine."""
    model = AutoML(models=["logistic_regression", "ridge"], max_trials=1, cv=2,
                   backend="inprocess", ensemble_size=0, verbose=0, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
    except (ValueError, TypeError) as error:
        assert str(error), "an empty message"
        assert raised_by_the_engine(error), "".join(traceback.format_exception(error))
        event(f"refused: {str(error)[:40]}")  # --hypothesis-show-statistics counts them
        return
    predicted = model.predict(X)
    assert len(predicted) == len(X)
    event("fitted and predicted")


def fuzz(examples: int) -> settings:
    """Seeded (the same tables each run), no example database, no per-example deadline."""
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@fuzz(100)
@given(tables())
def test_awkward_tables_fit_or_are_refused_clearly(table):
    check_table(*table)


@pytest.mark.slow
@fuzz(2000)
@given(tables())
def test_two_thousand_awkward_tables_fit_or_are_refused_clearly(table):
    check_table(*table)


CSV_PIECES = st.sampled_from(["a,b,label\n", "1,2,x\n", "3,,y\n", ",,\n", "\"q,\"\"\n",
                              "é,列,z\n", "1,2\n", "\n", "1,2,3,4\n", "\x00\n", "\ufeff"])


def check_csv(tmp_path: Path, content: bytes) -> None:
    """Read a file as ``automl fit`` does: rows, or a ValueError that names the file."""
    from automl.datafiles import read_training_data

    path = tmp_path / "train.csv"
    path.write_bytes(content)
    try:
        X, y = read_training_data(path, "label")
    except ValueError as error:
        assert str(path) in str(error), str(error)  # the message names the file
        event(f"refused: {str(error).replace(str(path), 'FILE')[:40]}")
        return
    assert len(X) == len(y)
    event("read")


@fuzz(150)
@given(st.one_of(st.lists(CSV_PIECES, max_size=8).map(lambda p: "".join(p).encode()),
                 st.binary(max_size=60)))
def test_awkward_csv_files_are_read_or_refused_naming_the_file(tmp_path_factory, content):
    check_csv(tmp_path_factory.mktemp("csv"), content)
