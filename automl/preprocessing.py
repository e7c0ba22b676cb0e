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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

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
        if categorical == "onehot":
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=max_categories or MAX_ONEHOT_CATEGORIES,
                sparse_output=sparse,
                dtype=np.float64,
            )
            steps = [
                ("as_object", _object_cast()),
                ("impute", SimpleImputer(
                    strategy="constant", fill_value=MISSING_CATEGORY, keep_empty_features=True
                )),
                ("encode", encoder),
            ]
        else:
            encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=unknown_value,
                encoded_missing_value=unknown_value,
                max_categories=max_categories or MAX_ORDINAL_CATEGORIES,
                dtype=np.float64,
            )
            steps = [("as_object", _object_cast()), ("encode", encoder)]
        transformers.append(("cat", Pipeline(steps), cat_cols))
    if num_cols:
        num_steps: list[tuple[str, Any]] = []
        if impute_numeric:
            num_steps.append(("impute", SimpleImputer(
                strategy="median", add_indicator=True, keep_empty_features=True
            )))
        else:
            num_steps.append(("fill_empty", _FillEmptyColumns()))
        if scale:
            num_steps.append(("scale", StandardScaler()))
        num = Pipeline(num_steps)
        transformers.append(("num", num, num_cols))
    return ColumnTransformer(
        transformers,
        remainder="drop",
        sparse_threshold=0.3 if sparse else 0.0,
        verbose_feature_names_out=True,
    )


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


def suggested_threads(ctx: Context, *, cells_per_thread: int = 250_000) -> int:
    """Threads worth giving an OpenMP/BLAS-bound model on the table of ``ctx``.

    On small tables the cost of waking and synchronising threads exceeds
    the work shared out: scikit-learn's histogram gradient boosting can be
    many times slower with several threads than with one (scikit-learn
    issue #30662), and on a busy machine spinning OpenMP threads make it
    worse still. This gives one thread per ``cells_per_thread`` cells of
    the table, at least one and at most ``ctx.n_threads``.

    Parameters
    ----------
    ctx : automl.specs.Context
        Gives ``n_rows``, ``n_features`` and the cap ``n_threads``.
    cells_per_thread : int, default=250_000
        Table cells (rows x features) that justify one more thread.

    Returns
    -------
    int
        Between 1 and ``ctx.n_threads``.

    """
    cells = max(int(ctx.n_rows), 0) * max(int(ctx.n_features), 1)
    return max(1, min(int(ctx.n_threads), cells // max(int(cells_per_thread), 1)))


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


def _inner_has(attr: str) -> Any:
    def check(self: ThreadLimited) -> bool:
        inner = getattr(self, "estimator_", self.estimator)
        return hasattr(inner, attr)

    return check


class ThreadLimited(MetaEstimatorMixin, BaseEstimator):
    """Run an estimator's ``fit`` and ``predict*`` under a thread cap.

    ``HistGradientBoosting*``, the kNN distance kernels and BLAS-backed
    solvers start as many OpenMP/BLAS threads as there are cores, whatever
    their ``n_jobs``. This wrapper limits them with ``threadpoolctl`` so a
    model never uses more threads than ``Context.n_threads`` allows. It is
    otherwise transparent: ``classes_``, ``predict_proba`` and the
    estimator type (classifier or regressor) are those of the wrapped
    estimator.

    Parameters
    ----------
    estimator : estimator
        The scikit-learn compatible estimator to run; cloned in ``fit``.
    n_threads : int, default=1
        Most threads the native thread pools may use.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.

    """

    def __init__(self, estimator: Any, n_threads: int = 1) -> None:
        self.estimator = estimator
        self.n_threads = n_threads

    def _limits(self) -> Any:
        from threadpoolctl import threadpool_limits

        if not isinstance(self.n_threads, int | np.integer) or self.n_threads < 1:
            raise ValueError(f"n_threads must be a positive integer, got {self.n_threads!r}")
        return threadpool_limits(limits=int(self.n_threads))

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> ThreadLimited:
        """Fit a clone of ``estimator`` under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Training data.
        y : array-like, optional
            Targets.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        ThreadLimited
            This fitted wrapper.

        """
        estimator = clone(self.estimator)
        with self._limits():
            estimator.fit(X, y, **fit_params)
        self.estimator_ = estimator
        if hasattr(estimator, "n_features_in_"):
            self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the fitted estimator under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to predict.

        Returns
        -------
        ndarray
            The wrapped estimator's predictions.

        """
        check_is_fitted(self, "estimator_")
        with self._limits():
            return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities under the thread cap, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to predict.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The wrapped estimator's probabilities.

        """
        check_is_fitted(self, "estimator_")
        with self._limits():
            return self.estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to score.

        Returns
        -------
        ndarray
            The wrapped estimator's decision function.

        """
        check_is_fitted(self, "estimator_")
        with self._limits():
            return self.estimator_.decision_function(X)

    @available_if(_inner_has("score"))
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Score of the fitted estimator (accuracy, R^2, ...) under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to score.
        y : array-like
            True targets.
        sample_weight : array-like, optional
            Row weights, passed on when given.

        Returns
        -------
        float
            The wrapped estimator's ``score``.

        """
        check_is_fitted(self, "estimator_")
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        with self._limits():
            return self.estimator_.score(X, y, **kwargs)

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of the fitted estimator, in ``predict_proba`` column order."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.classes_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        return tags

