"""``AutoML.sample``: synthetic rows from the final generator, in the user's column types."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted


def _is_generator(model: Any) -> bool:
    return getattr(model, "task_", getattr(model, "task", None)) == "generation"


def _restore_column(values: pd.Series, dtype: str) -> pd.Series:
    """A generated column back in the user's type (integers, booleans, categories)."""
    if dtype.startswith(("int", "uint", "Int", "UInt")):
        rounded = values.round()
        return rounded.astype("Int64") if rounded.isna().any() else rounded.astype(dtype)
    if dtype in ("bool", "boolean"):
        mapped = values.map({"True": True, "False": False})
        return mapped.astype("boolean") if mapped.isna().any() else mapped.astype(bool)
    if dtype == "category":
        return values.astype("category")
    return values


class GeneratorMixin:
    """``sample`` for ``AutoML(task="generation")``."""

    @available_if(_is_generator)
    def sample(self, n: int, random_state: int | None = None) -> pd.DataFrame:
        """Draw ``n`` synthetic rows with the training table's columns and types.

        Parameters
        ----------
        n : int
            Rows to draw.
        random_state : int, optional
            Seed of the draw (None: a fresh one each call).

        Returns
        -------
        pandas.DataFrame
            Columns as in fit, integer, boolean and category columns restored
            (nullable types where the sample holds missing values).
        """
        check_is_fitted(self, "final_")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        generator = next(iter(self.final_.estimators.values()))
        rows = generator.sample(int(n), random_state=random_state)
        dtypes = dict(self.column_dtypes_)
        return pd.DataFrame({name: _restore_column(rows[name], dtypes.get(name, "object"))
                             for name in rows.columns})
