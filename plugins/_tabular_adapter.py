"""Reuse a tabular model spec on features derived from images or sequences.

:func:`adapt_tabular_spec` turns a spec of :mod:`plugins.sklearn_models` into
one for another modality. The new spec keeps the tabular spec's search space,
defaults and fidelity, and its ``build`` calls the tabular ``build`` with a
tabular :class:`~automl.specs.Context` describing the derived columns, so the
mapping from configuration to estimator (and the thread handling) lives in one
place. The estimator becomes::

    Pipeline([*featurizer steps, ("table", AsTable(prefix)), ("model", tabular estimator)])

When the tabular estimator exposes a ``prep`` step (``estimator__prep``, as the
``ThreadLimited(Pipeline([("prep", ...), ("model", ...)]))`` of
:mod:`plugins.sklearn_models` does), the adapter may replace that step: derived
columns have no missing values or categories, so median imputation with
missing-value indicators is wasted work on thousands of pixel columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from automl.specs import Context, ModelSpec

__all__ = ["AsTable", "adapt_tabular_spec", "column_names", "tabular_context"]

PREP_PARAM = "estimator__prep"
"""Parameter name of the preprocessing step in the estimators of ``plugins.sklearn_models``."""


def column_names(prefix: str, n_columns: int) -> tuple[str, ...]:
    """Names of derived columns: ``prefix0 .. prefix{n-1}``.

    Parameters
    ----------
    prefix : str
        Start of every name.
    n_columns : int
        How many names.

    Returns
    -------
    tuple of str
        The column names, in column order.

    """
    return tuple(f"{prefix}{i}" for i in range(int(n_columns)))


def tabular_context(ctx: Context, columns: tuple[str, ...]) -> Context:
    """The tabular context of derived numeric ``columns``, other facts as in ``ctx``.

    Parameters
    ----------
    ctx : automl.specs.Context
        Context of the original (image, sequence) data.
    columns : tuple of str
        Names of the derived numeric columns.

    Returns
    -------
    automl.specs.Context
        Same task, rows, classes, seed, threads and device; ``modality`` is
        ``"tabular"`` and the columns are all numeric.

    """
    return replace(ctx, modality="tabular", n_features=len(columns),
                   numeric_columns=tuple(columns), categorical_columns=(),
                   input_shape=(len(columns),))


class AsTable(TransformerMixin, BaseEstimator):
    """Flatten an array of rows into a DataFrame of named float columns.

    Row ``i`` of the output is ``X[i]`` flattened (C order), so images
    ``(N, C, H, W)`` become ``N`` rows of ``C * H * W`` columns and a 2-D
    feature matrix keeps its columns. Columns are named
    ``prefix0 .. prefix{k-1}`` (see :func:`column_names`), which is what the
    tabular preprocessing selects by name.

    Parameters
    ----------
    prefix : str, default="x"
        Start of every column name.

    Attributes
    ----------
    n_columns_ : int
        Columns seen in ``fit``.

    """

    def __init__(self, prefix: str = "x") -> None:
        self.prefix = prefix

    def _flat(self, X: Any) -> np.ndarray:
        values = np.asarray(X)
        return values.reshape(len(values), -1)

    def fit(self, X: Any, y: Any = None) -> AsTable:
        """Record the number of columns.

        Parameters
        ----------
        X : array-like of shape (n_rows, ...)
            Rows to flatten.
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        AsTable
            This transformer.

        """
        self.n_columns_ = self._flat(X).shape[1]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        """Flatten the rows of ``X`` into a DataFrame.

        Parameters
        ----------
        X : array-like of shape (n_rows, ...)
            Rows with as many values as in ``fit``.

        Returns
        -------
        pandas.DataFrame
            ``n_rows`` rows, columns named from ``prefix``.

        Raises
        ------
        ValueError
            When a row holds a different number of values than in ``fit``.

        """
        check_is_fitted(self, "n_columns_")
        values = self._flat(X)
        if values.shape[1] != self.n_columns_:
            raise ValueError(f"rows hold {values.shape[1]} values, but {self.n_columns_} "
                             "were seen in fit")
        return pd.DataFrame(values, columns=list(column_names(self.prefix, self.n_columns_)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Present for the scikit-learn API.

        Returns
        -------
        ndarray of str
            ``prefix0 .. prefix{k-1}``.

        """
        check_is_fitted(self, "n_columns_")
        return np.asarray(column_names(self.prefix, self.n_columns_), dtype=object)


@dataclass(frozen=True)
class _AdaptedBuild:
    """The ``build`` of an adapted spec (a picklable callable, not a closure)."""

    tabular: ModelSpec
    n_columns: Callable[[Context], int]
    featurizer: Callable[[Context], list[tuple[str, Any]]] | None
    prep: Callable[[Context], Any] | None
    prefix: str

    def __call__(self, config: Mapping[str, Any], ctx: Context) -> Pipeline:
        table_ctx = tabular_context(ctx, column_names(self.prefix, self.n_columns(ctx)))
        estimator = self.tabular.build(config, table_ctx)
        if self.prep is not None and PREP_PARAM in estimator.get_params(deep=True):
            estimator.set_params(**{PREP_PARAM: self.prep(table_ctx)})
        steps = list(self.featurizer(ctx)) if self.featurizer is not None else []
        return Pipeline([*steps, ("table", AsTable(prefix=self.prefix)),
                         ("model", estimator)])


def adapt_tabular_spec(
    tabular: ModelSpec,
    *,
    name: str,
    modality: str,
    description: str,
    n_columns: Callable[[Context], int],
    featurizer: Callable[[Context], list[tuple[str, Any]]] | None = None,
    prep: Callable[[Context], Any] | None = None,
    prefix: str = "x",
    accepts: Callable[[Context], bool] | None = None,
) -> ModelSpec:
    """A spec for ``modality`` that runs ``tabular``'s models on derived columns.

    Parameters
    ----------
    tabular : ModelSpec
        The tabular spec whose space, defaults, fidelity and ``build`` are reused.
    name : str
        Name of the new spec.
    modality : str
        The modality it serves (``"image"``, ``"sequence"``).
    description : str
        One line for ``automl plugins``.
    n_columns : callable
        ``n_columns(ctx)``: how many columns the featurizer makes from data
        described by ``ctx``.
    featurizer : callable, optional
        ``featurizer(ctx)``: pipeline steps ``[(name, transformer), ...]``
        turning the modality's canonical form into a 2-D array (or any array
        whose rows flatten to ``n_columns(ctx)`` values). None: the data are
        flattened as they are (images).
    prep : callable, optional
        ``prep(tabular_ctx)``: a transformer (or ``"passthrough"``) put in
        place of the tabular estimator's ``prep`` step when it has one. None
        keeps the tabular preprocessing.
    prefix : str, default="x"
        Start of the derived column names.
    accepts : callable, optional
        ``accepts(ctx)``, as in :class:`~automl.specs.ModelSpec`.

    Returns
    -------
    ModelSpec
        The adapted spec; it serves the task families of ``tabular`` and
        stores the same types.

    """
    return ModelSpec(
        name=name, tasks=tabular.tasks, modalities={modality}, space=tabular.space,
        build=_AdaptedBuild(tabular, n_columns, featurizer, prep, prefix),
        fidelity=tabular.fidelity, defaults=tabular.defaults,
        description=description, accepts=accepts, persisted_types=tabular.persisted_types,
    )
