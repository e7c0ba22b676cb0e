"""The table side of generation: column kinds, checks, numeric post-processing, output frames.

The canonical form a generator learns and samples: numeric columns float64
with NaN for missing, categorical columns object dtype holding ``str`` with
NaN for missing. Generator plugins share these helpers: the column split
(:func:`generation_columns`), the checks a training table must pass
(:func:`check_generation_table`), the post-processing of numeric columns
(:func:`numeric_facts`, :func:`finish_numeric`) and the assembly of an output
frame (:func:`canonical_frame`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_strings",
    "canonical_frame",
    "check_generation_table",
    "finish_numeric",
    "generation_columns",
    "numeric_facts",
]


def generation_columns(
    X: Any,
    numeric_columns: Sequence[str] | None = None,
    categorical_columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """A table in canonical form and its numeric and categorical columns.

    Parameters
    ----------
    X : pandas.DataFrame or 2-D array-like
        The table; arrays get columns ``x0, x1, ...``.
    numeric_columns, categorical_columns : sequence of str, optional
        Column kinds. Both None: numeric (non-boolean) dtypes are numeric,
        every other column is categorical. When given, together they must
        name every column of ``X``.

    Returns
    -------
    frame : pandas.DataFrame
        A copy with string column labels, a fresh ``RangeIndex``, numeric
        columns as float64 and categorical columns as object holding ``str``
        with NaN for missing.
    numeric, categorical : list of str
        Column names by kind.

    Raises
    ------
    ValueError
        When ``X`` is not 2-D, or the given columns do not match ``X``.

    """
    if isinstance(X, pd.DataFrame):
        frame = X.set_axis([str(c) for c in X.columns], axis=1).reset_index(drop=True)
    else:
        if np.ndim(X) != 2:
            raise ValueError(f"X must be a 2-D table, got shape {np.shape(X)}")
        frame = pd.DataFrame(X)
        frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    if numeric_columns is None and categorical_columns is None:
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
                   and not pd.api.types.is_bool_dtype(frame[c])]
        categorical = [c for c in frame.columns if c not in set(numeric)]
    else:
        numeric = [str(c) for c in numeric_columns or ()]
        categorical = [str(c) for c in categorical_columns or ()]
        named = numeric + categorical
        missing = [c for c in named if c not in frame.columns]
        unnamed = [c for c in frame.columns if c not in set(named)]
        if missing or unnamed:
            raise ValueError(
                f"the column kinds do not match X: {missing} are not in X and {unnamed} "
                "are neither numeric nor categorical; pass numeric_columns and "
                "categorical_columns that together name every column of X"
            )
    out = {}
    for name in frame.columns:
        if name in numeric:
            out[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
        else:
            out[name] = as_strings(frame[name])
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame))), numeric, categorical


def as_strings(column: pd.Series) -> pd.Series:
    """A categorical column as object dtype holding ``str``, NaN for missing."""
    missing = column.isna().to_numpy()
    values = column.astype(object).to_numpy(copy=True)
    present = ~missing
    if present.any():
        values[present] = [v if type(v) is str else str(v) for v in values[present]]
    values[missing] = np.nan
    return pd.Series(values, dtype=object)


def check_generation_table(frame: pd.DataFrame) -> None:
    """Refuse a table that nothing can be learned from.

    Parameters
    ----------
    frame : pandas.DataFrame
        The canonical table (see :func:`generation_columns`).

    Raises
    ------
    ValueError
        When the table has no columns or no rows, or when no column holds two
        different values (missing counts as a value).

    """
    if frame.shape[1] == 0:
        raise ValueError("X has no columns; pass a table with at least one column to "
                         "generate rows like it")
    if len(frame) == 0:
        raise ValueError("X has no rows; a generator learns from examples: pass a table "
                         "with rows (a few hundred or more for a neural generator)")
    varying = [c for c in frame.columns if frame[c].nunique(dropna=False) > 1]
    if not varying:
        raise ValueError(
            f"every column of X holds a single value ({list(frame.columns)[:5]}...); there "
            "is nothing to learn: pass a table with at least one column whose values vary, "
            "or repeat its only row yourself"
        )


def numeric_facts(values: np.ndarray) -> dict[str, Any]:
    """What the post-processing of one numeric column needs to know.

    Parameters
    ----------
    values : ndarray of float
        The column, NaN for missing.

    Returns
    -------
    dict
        ``low`` and ``high`` (observed range, NaN for an all-missing column),
        ``integer`` (every observed value is a whole number) and
        ``missing_rate``.

    """
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if present.size == 0:
        return {"low": float("nan"), "high": float("nan"), "integer": False,
                "missing_rate": 1.0}
    return {"low": float(present.min()), "high": float(present.max()),
            "integer": bool(np.all(present == np.round(present))),
            "missing_rate": float(1.0 - present.size / values.size)}


def finish_numeric(values: np.ndarray, facts: Mapping[str, Any]) -> np.ndarray:
    """Clip generated values to the training range and round integer columns.

    Parameters
    ----------
    values : ndarray of float
        Generated values, NaN for missing.
    facts : mapping
        From :func:`numeric_facts`.

    Returns
    -------
    ndarray of float64
        The finished column (NaN kept).

    """
    out = np.asarray(values, dtype=np.float64).copy()
    if np.isnan(facts["low"]):
        return np.full(out.shape, np.nan)
    out = np.clip(out, facts["low"], facts["high"])
    if facts["integer"]:
        out = np.round(out)
    return out


def canonical_frame(columns: Mapping[str, np.ndarray], order: Sequence[str],
                    numeric: Sequence[str]) -> pd.DataFrame:
    """Assemble generated columns into the canonical form.

    Parameters
    ----------
    columns : mapping of str to ndarray
        Generated values per column (numeric: float with NaN; categorical:
        str with NaN or None for missing).
    order : sequence of str
        Column order of the output (the training order).
    numeric : sequence of str
        Which columns are numeric.

    Returns
    -------
    pandas.DataFrame
        Numeric columns float64, categorical columns object holding ``str``
        with NaN for missing, a ``RangeIndex``.

    """
    numeric = set(numeric)
    out = {}
    for name in order:
        values = columns[name]
        if name in numeric:
            out[name] = pd.Series(np.asarray(values, dtype=np.float64), dtype=np.float64)
        else:
            out[name] = as_strings(pd.Series(np.asarray(values, dtype=object), dtype=object))
    n = len(next(iter(out.values()))) if out else 0
    return pd.DataFrame(out, index=pd.RangeIndex(n))
