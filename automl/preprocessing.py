"""Preprocessing helpers for model plugins (first-party and third-party).

A model spec's estimator receives the raw table described by its
:class:`automl.specs.Context`: numeric columns as float64 with NaN for missing,
categorical columns as object dtype holding strings with NaN for missing. The
estimator must fit its own preprocessing inside ``fit`` (so that resampling
never leaks), cope with categories unseen at fit time, and cope with all-NaN
and constant columns. The helpers here do that:

``tabular_preprocessor(ctx, categorical="onehot", scale=True)``
    For linear models and distance-based models.
``tabular_preprocessor(ctx, categorical="ordinal", impute_numeric=False)``
    For tree models; with :func:`native_categorical_features` it feeds
    ``HistGradientBoosting*``'s native categorical support.
:class:`CategoricalDtypeEncoder`
    Hands XGBoost (``enable_categorical=True``) or LightGBM pandas
    ``Categorical`` columns with the categories learned in ``fit``.
:class:`ThreadLimited`
    Caps the OpenMP/BLAS threads an estimator uses in ``fit`` and ``predict``
    (``HistGradientBoosting*``, kNN and linear solvers have no ``n_jobs``
    that covers them); :func:`suggested_threads` says how many are worth
    using on a table of a given size.

Examples
--------
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> def build(config, ctx):
...     return make_pipeline(
...         tabular_preprocessor(ctx, categorical="onehot", scale=True),
...         LogisticRegression(C=config["C"]),
...     )

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from automl.categorical import MISSING_CATEGORY, CategoricalDtypeEncoder, _categorical_as_object
from automl.threads import ThreadLimited, suggested_threads

if TYPE_CHECKING:
    from automl.specs import Context

__all__ = [
    "MAX_ONEHOT_CATEGORIES",
    "MAX_ORDINAL_CATEGORIES",
    "MISSING_CATEGORY",
    "CategoricalDtypeEncoder",
    "ThreadLimited",
    "native_categorical_features",
    "suggested_threads",
    "tabular_preprocessor",
]

MAX_ONEHOT_CATEGORIES = 20
"""Default bound on one-hot columns per categorical column (rarest merged)."""

MAX_ORDINAL_CATEGORIES = 254
"""Default bound on ordinal codes per column: ``HistGradientBoosting*`` needs
native categorical codes below ``max_bins`` (255 at most)."""

def _object_cast() -> FunctionTransformer:
    return FunctionTransformer(
        _categorical_as_object, feature_names_out="one-to-one", validate=False
    )


class _FillEmptyColumns(TransformerMixin, BaseEstimator):
    """Pass numeric columns through as float, filling columns that were all-NaN in fit with 0.

    Models with native NaN support still need one observed value per column
    (``HistGradientBoosting*`` fails to bin an all-NaN column).
    """

    def fit(self, X: Any, y: Any = None) -> _FillEmptyColumns:
        values = np.asarray(X, dtype=np.float64)
        self.empty_ = np.isnan(values).all(axis=0)
        self.n_features_in_ = values.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "empty_")
        values = np.array(X, dtype=np.float64, copy=True)
        values[:, self.empty_] = 0.0
        return values

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "empty_")
        if input_features is None:
            input_features = getattr(
                self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)]
            )
        return np.asarray(input_features, dtype=object)


def tabular_preprocessor(
    ctx: Context,
    *,
    categorical: Literal["onehot", "ordinal"] = "onehot",
    scale: bool = False,
    impute_numeric: bool = True,
    max_categories: int | None = None,
    unknown_value: float | int = np.nan,
    sparse: bool = False,
) -> ColumnTransformer:
    """Return an unfitted transformer for the table described by ``ctx``.

    The output puts the categorical block first, then the numeric block
    (and its missing-value indicators). Columns not named in ``ctx`` are
    dropped.

    Parameters
    ----------
    ctx : automl.specs.Context
        Gives ``numeric_columns`` and ``categorical_columns``.
    categorical : {"onehot", "ordinal"}, default="onehot"
        ``"onehot"``: missing becomes its own category, at most
        ``max_categories`` indicator columns per input column (the rarest
        categories are merged into one "infrequent" column, which also
        receives categories unseen at fit time; without infrequent
        categories an unseen value encodes as all zeros). ``"ordinal"``:
        one column of codes ``0 .. k-1`` per input column, the rarest
        categories merged into one code, unseen and missing values encoded
        as ``unknown_value``.
    scale : bool, default=False
        Standardise the numeric block (after imputation).
    impute_numeric : bool, default=True
        Median-impute numeric columns and append missing indicators (for
        columns that had missing values at fit time). Turn off for models
        that handle NaN natively (gradient boosting); NaN then passes
        through, except in columns that were all-NaN at fit time, which are
        filled with 0.
    max_categories : int, optional
        Bound per categorical column; defaults to
        :data:`MAX_ONEHOT_CATEGORIES` (one-hot) or
        :data:`MAX_ORDINAL_CATEGORIES` (ordinal).
    unknown_value : int or float, default=np.nan
        Ordinal code for missing and unseen categories. Keep NaN for
        ``HistGradientBoosting*`` native categoricals (which need
        non-negative codes); ``-1`` suits models without NaN support.
    sparse : bool, default=False
        Let the one-hot block be sparse (the output is then sparse when its
        density is below 0.3). Linear models benefit on wide tables.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Unfitted; a pure function of ``ctx`` and the arguments, so it clones.

    Raises
    ------
    ValueError
        If ``categorical`` is not a known encoding or ``ctx`` names no column.

    """
    if categorical not in ("onehot", "ordinal"):
        raise ValueError(f"categorical must be 'onehot' or 'ordinal', got {categorical!r}")
    cat_cols = list(ctx.categorical_columns)
    num_cols = list(ctx.numeric_columns)
    if not cat_cols and not num_cols:
        raise ValueError("Context names neither numeric nor categorical columns")

    transformers: list[tuple[str, Any, list[str]]] = []
    if cat_cols:
        encoding = _categorical_pipeline(categorical, max_categories, unknown_value, sparse)
        transformers.append(("cat", encoding, cat_cols))
    if num_cols:
        transformers.append(("num", _numeric_pipeline(impute_numeric, scale), num_cols))
    return ColumnTransformer(
        transformers,
        remainder="drop",
        sparse_threshold=0.3 if sparse else 0.0,
        verbose_feature_names_out=True,
    )


def _categorical_pipeline(categorical: str, max_categories: int | None,
                          unknown_value: float | int, sparse: bool) -> Pipeline:
    """Strings in, one-hot indicators or ordinal codes out (see :func:`tabular_preprocessor`)."""
    if categorical == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=max_categories or MAX_ONEHOT_CATEGORIES,
            sparse_output=sparse,
            dtype=np.float64,
        )
        return Pipeline([
            ("as_object", _object_cast()),
            ("impute", SimpleImputer(
                strategy="constant", fill_value=MISSING_CATEGORY, keep_empty_features=True
            )),
            ("encode", encoder),
        ])
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=unknown_value,
        encoded_missing_value=unknown_value,
        max_categories=max_categories or MAX_ORDINAL_CATEGORIES,
        dtype=np.float64,
    )
    return Pipeline([("as_object", _object_cast()), ("encode", encoder)])


def _numeric_pipeline(impute_numeric: bool, scale: bool) -> Pipeline:
    """Median imputation with indicators (or empty columns filled), then scaling if asked."""
    steps: list[tuple[str, Any]] = []
    if impute_numeric:
        steps.append(("impute", SimpleImputer(
            strategy="median", add_indicator=True, keep_empty_features=True
        )))
    else:
        steps.append(("fill_empty", _FillEmptyColumns()))
    if scale:
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def native_categorical_features(ctx: Context) -> list[int] | None:
    """Positions of the categorical codes in an ordinal ``tabular_preprocessor`` output.

    Pass the result as ``categorical_features`` of
    ``HistGradientBoostingClassifier``/``Regressor`` placed after
    ``tabular_preprocessor(ctx, categorical="ordinal")`` (codes NaN for
    missing/unseen, at most :data:`MAX_ORDINAL_CATEGORIES` per column).

    Parameters
    ----------
    ctx : automl.specs.Context
        The same context given to :func:`tabular_preprocessor`.

    Returns
    -------
    list of int or None
        ``[0, ..., k-1]`` for ``k`` categorical columns, None when there are
        none.

    """
    k = len(ctx.categorical_columns)
    return list(range(k)) if k else None
