"""Small awkward tables for model-spec tests; re-exported by :mod:`automl.testing`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.specs import Context

__all__ = ["TASKS", "UNSEEN_CATEGORY", "make_tabular_data", "with_unseen_categories"]

TASKS = ("binary", "multiclass", "regression")
"""The concrete tasks :func:`make_tabular_data` can generate."""

UNSEEN_CATEGORY = "never seen in fit"
"""Category that :func:`with_unseen_categories` writes into categorical columns."""

_N_CLASSES = {"binary": 2, "multiclass": 3}


def make_tabular_data(
    task: str, n_rows: int = 150, seed: int = 0, *, n_threads: int = 1
) -> tuple[pd.DataFrame, np.ndarray, Context]:
    """Generate a small awkward table, its target and the matching ``Context``.

    The table is what the engine hands an estimator: numeric columns are
    float64 with NaN for missing, categorical columns are object dtype
    holding Python strings with ``np.nan`` for missing.

    ========== ============================================================
    column     content
    ========== ============================================================
    x_normal   standard normal, ~10% NaN
    x_skewed   log-normal, ~10% NaN
    x_count    small integer counts, as float
    all_nan    numeric, every value NaN
    constant   numeric, every value 3.0
    color      4 strings of unequal frequency, ~10% NaN
    flag       ``"True"``/``"False"`` (a boolean turned into strings)
    row_id     a different string in every row (an ID column)
    empty_cat  categorical, every value missing
    ========== ============================================================

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        Target to generate. Multiclass has 3 balanced classes.
    n_rows : int, default=150
        Rows (at least 30).
    seed : int, default=0
        Seed of the data and of ``ctx.seed``.
    n_threads : int, default=1
        ``ctx.n_threads``.

    Returns
    -------
    X : pandas.DataFrame
        The table.
    y : ndarray
        Encoded labels ``0 .. n_classes-1`` (int64) or float64 targets; every
        class occurs.
    ctx : automl.specs.Context
        Context describing ``X`` and ``y``.

    Raises
    ------
    ValueError
        On an unknown task or fewer than 30 rows.

    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if n_rows < 30:
        raise ValueError(f"n_rows must be at least 30, got {n_rows}")
    rng = np.random.default_rng(seed)
    columns = _draw_columns(rng, n_rows)
    y = _target(task, columns, rng)
    _blank_some(columns, rng)  # after the target: it was drawn from the whole values
    X = pd.DataFrame({
        **{name: pd.Series(columns[name], dtype=np.float64) for name in _DRAWN_NUMERIC},
        "all_nan": pd.Series(np.full(n_rows, np.nan), dtype=np.float64),
        "constant": pd.Series(np.full(n_rows, 3.0), dtype=np.float64),
        **{name: pd.Series(columns[name], dtype=object) for name in _DRAWN_CATEGORICAL},
        "row_id": pd.Series([f"id-{seed}-{i}" for i in range(n_rows)], dtype=object),
        "empty_cat": pd.Series(np.full(n_rows, np.nan, dtype=object), dtype=object),
    })
    ctx = Context(task=task, n_rows=n_rows, n_features=X.shape[1],
                  n_classes=_N_CLASSES.get(task), numeric_columns=_NUMERIC,
                  categorical_columns=_CATEGORICAL, seed=seed, n_threads=n_threads)
    return X, y, ctx


_DRAWN_NUMERIC = ("x_normal", "x_skewed", "x_count")
_DRAWN_CATEGORICAL = ("color", "flag")
_NUMERIC = (*_DRAWN_NUMERIC, "all_nan", "constant")
_CATEGORICAL = (*_DRAWN_CATEGORICAL, "row_id", "empty_cat")
_COLOR_EFFECT = {"red": 1.0, "green": -0.5, "blue": 0.0, "violet": -1.0}


def _draw_columns(rng: np.random.Generator, n_rows: int) -> dict[str, np.ndarray]:
    """The columns that carry the signal, drawn complete."""
    x_normal = rng.normal(size=n_rows)
    x_skewed = rng.lognormal(size=n_rows)
    x_count = rng.poisson(3.0, size=n_rows).astype(np.float64)
    colors = np.array(["red", "green", "blue", "violet"], dtype=object)
    color = colors[rng.choice(4, size=n_rows, p=[0.4, 0.3, 0.2, 0.1])]
    flag = np.where(rng.random(n_rows) < 0.5, "True", "False").astype(object)
    return {"x_normal": x_normal, "x_skewed": x_skewed, "x_count": x_count, "color": color,
            "flag": flag}


def _target(task: str, columns: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A noisy score of the columns, as values or as balanced classes."""
    score = (
        1.5 * columns["x_normal"]
        + 0.5 * np.log(columns["x_skewed"])
        + np.array([_COLOR_EFFECT[c] for c in columns["color"]])
        + 0.5 * (columns["flag"] == "True")
        + 0.5 * rng.normal(size=len(columns["flag"]))
    )
    if task == "regression":
        return score.astype(np.float64)
    if task == "binary":
        return (score > np.median(score)).astype(np.int64)
    return np.searchsorted(np.quantile(score, [1 / 3, 2 / 3]), score).astype(np.int64)


def _blank_some(columns: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Blank about a tenth of ``x_normal``, ``x_skewed`` and ``color``, in place."""
    for name in ("x_normal", "x_skewed", "color"):
        values = columns[name].copy()
        values[rng.random(len(values)) < 0.1] = np.nan
        columns[name] = values


def with_unseen_categories(
    X: pd.DataFrame, ctx: Context, *, fraction: float = 0.2, seed: int = 0
) -> pd.DataFrame:
    """Return a copy of ``X`` where some categorical values were never seen in fit.

    Parameters
    ----------
    X : pandas.DataFrame
        A table described by ``ctx``.
    ctx : automl.specs.Context
        Gives the categorical columns.
    fraction : float, default=0.2
        Share of the rows of each categorical column set to
        :data:`UNSEEN_CATEGORY` (at least one row).
    seed : int, default=0
        Seed of the rows chosen.

    Returns
    -------
    pandas.DataFrame
        The modified copy; dtypes are unchanged.

    """
    rng = np.random.default_rng(seed)
    out = X.copy()
    for name in ctx.categorical_columns:
        rows = rng.random(len(out)) < fraction
        rows[rng.integers(len(out))] = True
        values = out[name].to_numpy(dtype=object, copy=True)
        values[rows] = UNSEEN_CATEGORY
        out[name] = pd.Series(values, index=out.index, dtype=object)
    return out
