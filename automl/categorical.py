"""Pandas ``Categorical`` encoding for models with native categorical support.

:class:`CategoricalDtypeEncoder` hands XGBoost (``enable_categorical=True``)
or LightGBM ``Categorical`` columns with the categories learned in ``fit``.
Re-exported by :mod:`automl.preprocessing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["MISSING_CATEGORY", "CategoricalDtypeEncoder"]

MISSING_CATEGORY = "__missing__"
"""Placeholder a one-hot encoder sees for a missing categorical value."""


def _categorical_as_object(X: Any) -> pd.DataFrame:
    """Return ``X`` as an object DataFrame of strings with ``np.nan`` for missing.

    Accepts pandas ``str``, ``category``, ``boolean`` or mixed columns as well
    as the object columns the engine promises, so that encoders never meet
    ``pd.NA`` or values that cannot be sorted together.
    """
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    out = {}
    for name in frame.columns:
        col = frame[name]
        missing = col.isna().to_numpy()
        values = col.astype(object).to_numpy(copy=True)
        if not missing.all():
            present = values[~missing]
            if not all(type(v) is str for v in present):
                values[~missing] = [str(v) for v in present]
        values[missing] = np.nan
        out[name] = values
    return pd.DataFrame(out, index=frame.index, columns=frame.columns, dtype=object)



class CategoricalDtypeEncoder(TransformerMixin, BaseEstimator):
    """Turn categorical columns into pandas ``Categorical`` with fixed categories.

    For models with native categorical support that read pandas dtypes
    (XGBoost with ``enable_categorical=True``, LightGBM). The categories of
    each column are learned in ``fit``; at transform time a value unseen in
    ``fit`` (or merged away by ``max_categories``) becomes missing, so train
    and predict frames always share the same category codes. Numeric columns
    are returned as float64.

    Parameters
    ----------
    categorical_columns : sequence of str, optional
        Columns to encode. None: every column of object, string, category or
        boolean dtype at fit time.
    numeric_columns : sequence of str, optional
        Columns kept as float64. None: every other column.
    max_categories : int, optional
        Keep at most this many categories per column, the most frequent
        (ties broken by value); the others become missing.

    Attributes
    ----------
    categories_ : dict of str to list of str
        Categories kept for each categorical column, sorted. A column without
        any value in ``fit`` gets the single placeholder
        :data:`MISSING_CATEGORY`, which no value maps to.
    categorical_columns_, numeric_columns_ : list of str
        Columns encoded, in output order (numeric first).
    feature_names_in_ : ndarray of str
        Columns seen in ``fit``.
    n_features_in_ : int
        Number of columns seen in ``fit``.

    """

    def __init__(
        self,
        categorical_columns: Sequence[str] | None = None,
        numeric_columns: Sequence[str] | None = None,
        max_categories: int | None = None,
    ) -> None:
        self.categorical_columns = categorical_columns
        self.numeric_columns = numeric_columns
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame, y: Any = None) -> CategoricalDtypeEncoder:
        """Learn the categories of each categorical column.

        Parameters
        ----------
        X : pandas.DataFrame
            Training table.
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        CategoricalDtypeEncoder
            This fitted encoder.

        """
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"CategoricalDtypeEncoder needs a pandas DataFrame, got {type(X).__name__}"
            )
        if self.max_categories is not None and self.max_categories < 1:
            raise ValueError(f"max_categories must be positive, got {self.max_categories}")
        columns = [str(c) for c in X.columns]
        if self.categorical_columns is None:
            cats = [
                c for c in X.columns
                if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
            ]
        else:
            cats = list(self.categorical_columns)
        if self.numeric_columns is None:
            taken = set(cats)
            nums = [c for c in X.columns if c not in taken]
        else:
            nums = list(self.numeric_columns)
        missing = [c for c in cats + nums if c not in X.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the training table")

        categories = {}
        for name in cats:
            values = _categorical_as_object(X[[name]])[name].dropna()
            counts = values.value_counts()
            if self.max_categories is not None and len(counts) > self.max_categories:
                order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                kept = [value for value, _ in order[: self.max_categories]]
            else:
                kept = list(counts.index)
            # XGBoost rejects a Categorical without categories; a placeholder
            # that no value takes keeps an all-missing column all-missing.
            # a plain list: safe persistence (skops) stores no pandas objects
            categories[name] = [str(v) for v in sorted(kept)] or [MISSING_CATEGORY]

        self.categories_ = categories
        self.categorical_columns_ = cats
        self.numeric_columns_ = nums
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return numeric columns as float64 and categorical columns as ``Categorical``.

        Parameters
        ----------
        X : pandas.DataFrame
            Table with the columns seen in ``fit``.

        Returns
        -------
        pandas.DataFrame
            Numeric columns first, then categorical ones; unseen categories
            are missing.

        """
        check_is_fitted(self, "categories_")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"CategoricalDtypeEncoder needs a pandas DataFrame, got {type(X).__name__}"
            )
        out: dict[str, Any] = {}
        for name in self.numeric_columns_:
            out[name] = pd.to_numeric(X[name], errors="coerce").astype(np.float64).to_numpy()
        for name in self.categorical_columns_:
            values = _categorical_as_object(X[[name]])[name]
            categories = pd.Index(self.categories_[name], dtype=object)
            codes = categories.get_indexer(values)  # -1: missing, unseen or merged away
            dtype = pd.CategoricalDtype(categories, ordered=False)
            out[name] = pd.Categorical.from_codes(codes, dtype=dtype)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Present for the scikit-learn API.

        Returns
        -------
        ndarray of str
            Numeric columns, then categorical ones.

        """
        check_is_fitted(self, "categories_")
        return np.asarray(
            [str(c) for c in self.numeric_columns_ + self.categorical_columns_], dtype=object
        )
