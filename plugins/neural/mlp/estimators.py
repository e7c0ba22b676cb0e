"""The ``mlp`` estimators: :class:`TabularMLPClassifier` and :class:`TabularMLPRegressor`.

Numeric columns are median-imputed with missing-value indicators and
standardised (:func:`automl.preprocessing.tabular_preprocessor`), then clipped
to ``[-NUMERIC_CLIP, NUMERIC_CLIP]``. Each categorical column gets an
embedding: its categories seen at least ``min_category_count`` times in
``fit`` (at most ``max_categories``, the most frequent) get codes ``2..``;
code 0 is missing and code 1 is rare or unseen at fit time. The embedding
width grows with the cardinality ``c`` as ``round(1.6 * c ** 0.56)`` (the
fastai rule: Howard and Gugger, Information 11(2), 2020), capped at
``max_embedding_dim``. Hidden blocks are
``Linear -> batch/layer norm -> activation -> dropout``.

Training is :func:`plugins.neural._training.train_network`: AdamW, optional
L1, gradient clipping at norm 1, a cosine or one-cycle schedule, early
stopping on a seeded, stratified 10% validation split with the best weights
restored. Regression targets are standardised for training. The estimators
keep their fitted state as numpy arrays and plain Python values (the torch
module is rebuilt from them on demand), so they pickle, travel between worker
processes and save with skops. Importing this module does not import torch.
:mod:`plugins.neural.mlp` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from automl.preprocessing import tabular_preprocessor
from automl.specs import Context

from .._torch_estimator import (
    TorchClassifierMixin,
    TorchEstimator,
    TorchRegressorMixin,
    as_target,
    store_params,
)
from .._training import MIN_BATCH_ROWS, document_training

__all__ = [
    "MIN_BATCH_ROWS",
    "MLP_MAX_EPOCHS",
    "MLP_PATIENCE",
    "NUMERIC_CLIP",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "category_strings",
]

MLP_MAX_EPOCHS = 200
"""Most epochs when the config does not set the ``max_epochs`` fidelity (early
stopping usually ends training much sooner)."""

MLP_PATIENCE = 12
"""Epochs without a validation improvement before training stops."""

NUMERIC_CLIP = 10.0
"""Standardised numeric inputs are clipped to this many standard deviations."""


def _as_frame(X: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """``X`` as a DataFrame with string column labels (arrays get ``columns`` or x0, x1, ...)."""
    if isinstance(X, pd.DataFrame):
        if all(isinstance(c, str) for c in X.columns):
            return X
        return X.set_axis([str(c) for c in X.columns], axis=1)
    values = np.asarray(X)
    if values.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {values.shape}")
    names = list(columns) if columns is not None else [f"x{i}" for i in range(values.shape[1])]
    if len(names) != values.shape[1]:
        raise ValueError(f"X has {values.shape[1]} columns, expected {len(names)}")
    return pd.DataFrame(values, columns=names)


def category_strings(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values of a categorical column as Python strings, and its missing mask.

    Also the encoding of the side features of :mod:`plugins.neural.ncf`.

    Parameters
    ----------
    column : pandas.Series
        Any values; missing ones are NaN or None.

    Returns
    -------
    values : ndarray of object
        ``str(value)`` of each present value, None where it is missing.
    missing : ndarray of bool
        Where values are missing.

    """
    missing = column.isna().to_numpy()
    values = column.astype(object).to_numpy(copy=True)
    present = ~missing
    if present.any():
        values[present] = [v if type(v) is str else str(v) for v in values[present]]
    values[missing] = None
    return values, missing


def _embedding_dim(cardinality: int, cap: int) -> int:
    return int(min(cap, max(2, round(1.6 * cardinality ** 0.56))))


class _TabularMLP(TorchEstimator):
    """Shared fit/predict of :class:`TabularMLPClassifier` and :class:`TabularMLPRegressor`."""

    _classification = False

    def __init__(
        self,
        *,
        numeric_columns: Sequence[str] | None = None,
        categorical_columns: Sequence[str] | None = None,
        n_layers: int = 2,
        width: int = 256,
        dropout: float = 0.1,
        norm: str = "batch",
        activation: str = "relu",
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 128,
        l1: float = 0.0,
        schedule: str = "cosine",
        max_epochs: int = MLP_MAX_EPOCHS,
        patience: int | None = MLP_PATIENCE,
        validation_fraction: float = 0.1,
        grad_clip: float | None = 1.0,
        max_embedding_dim: int = 32,
        min_category_count: int = 2,
        max_categories: int = 1000,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int = 1,
        time_limit: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        store_params(self, locals())

    # -- preprocessing ------------------------------------------------------

    def _columns(self, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
        if self.numeric_columns is None and self.categorical_columns is None:
            numeric = [c for c in frame.columns
                       if pd.api.types.is_numeric_dtype(frame[c])
                       and not pd.api.types.is_bool_dtype(frame[c])]
            taken = set(numeric)
            return numeric, [c for c in frame.columns if c not in taken]
        numeric = [str(c) for c in self.numeric_columns or ()]
        categorical = [str(c) for c in self.categorical_columns or ()]
        missing = [c for c in numeric + categorical if c not in frame.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in X")
        return numeric, categorical

    def _fit_preprocessing(self, frame: pd.DataFrame) -> None:
        numeric, categorical = self._columns(frame)
        if not numeric and not categorical:
            raise ValueError("X has no columns to learn from")
        self.numeric_columns_ = numeric
        self.categorical_columns_ = categorical
        self.numeric_transformer_ = None
        if numeric:
            ctx = Context(task="regression", n_rows=len(frame), n_features=len(numeric),
                          numeric_columns=tuple(numeric))
            self.numeric_transformer_ = tabular_preprocessor(ctx, scale=True)
            self.numeric_transformer_.fit(frame[numeric])
        self.categories_: dict[str, list[str]] = {}
        for name in categorical:
            values, missing = category_strings(frame[name])
            counts = pd.Series(values[~missing], dtype=object).value_counts()
            kept = [(int(n), str(v)) for v, n in counts.items()
                    if n >= max(int(self.min_category_count), 1)]
            kept.sort(key=lambda item: (-item[0], item[1]))
            self.categories_[name] = sorted(v for _, v in kept[: int(self.max_categories)])

    def _encode(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        n = len(frame)
        if self.numeric_transformer_ is not None:
            numeric = self.numeric_transformer_.transform(frame[self.numeric_columns_])
            numeric = np.clip(np.asarray(numeric, dtype=np.float64), -NUMERIC_CLIP, NUMERIC_CLIP)
            numeric = np.nan_to_num(numeric, nan=0.0).astype(np.float32)
        else:
            numeric = np.zeros((n, 0), dtype=np.float32)
        codes = np.zeros((n, len(self.categorical_columns_)), dtype=np.int64)
        for j, name in enumerate(self.categorical_columns_):
            values, missing = category_strings(frame[name])
            index = pd.Index(self.categories_[name], dtype=object).get_indexer(values)
            codes[:, j] = np.where(missing, 0, np.where(index < 0, 1, index + 2))
        return numeric, codes

    # -- training -----------------------------------------------------------

    def fit(self, X: Any, y: Any) -> _TabularMLP:
        """Fit the preprocessing and train the network.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Numeric columns (float with NaN for missing) and categorical
            columns (strings with NaN for missing).
        y : array-like of shape (n_samples,)
            Class labels, or regression targets.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For mismatched or empty inputs, or non-finite regression targets.

        """
        from .._training import train_network

        frame = _as_frame(X)
        y = as_target(y, len(frame))
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self._fit_preprocessing(frame)
        numeric, codes = self._encode(frame)
        target, n_outputs = self._encode_target(y)

        cardinalities = [len(self.categories_[c]) + 2 for c in self.categorical_columns_]
        self.net_config_ = {
            "n_numeric": int(numeric.shape[1]),
            "cardinalities": cardinalities,
            "embedding_dims": [_embedding_dim(c, int(self.max_embedding_dim))
                               for c in cardinalities],
            "n_layers": int(self.n_layers),
            "width": int(self.width),
            "dropout": float(self.dropout),
            "norm": str(self.norm),
            "activation": str(self.activation),
            "n_outputs": int(n_outputs),
        }
        settings = self._train_settings(len(frame), self._seed())
        result = train_network(self._build_module, (numeric, codes, target), settings,
                               task=self._task())
        self._keep(result.model, [(None, result)])
        return self

    # -- prediction ---------------------------------------------------------

    @staticmethod
    def _network_class() -> type:
        from .net import TabularNet

        return TabularNet

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        frame = _as_frame(X, getattr(self, "feature_names_in_", None))
        return self._network_outputs(self._encode(frame))


@document_training
class TabularMLPClassifier(TorchClassifierMixin, _TabularMLP):
    """Multilayer perceptron classifier for tables with categorical embeddings.

    See the module docstring for the preprocessing and the training.

    Parameters
    ----------
    numeric_columns, categorical_columns : sequence of str, optional
        Columns of X. Both None: numeric dtypes (not boolean) are numeric,
        every other column is categorical.
    n_layers : int, default=2
        Hidden layers.
    width : int, default=256
        Units per hidden layer.
    dropout : float, default=0.1
        Dropout after each hidden block.
    norm : {"batch", "layer", "none"}, default="batch"
        Normalisation in each hidden block.
    activation : {"relu", "gelu", "silu"}, default="relu"
        Hidden activation.
    max_embedding_dim : int, default=32
        Widest categorical embedding.
    min_category_count : int, default=2
        Categories seen fewer times in fit share the rare/unseen code.
    max_categories : int, default=1000
        Most categories per column (the most frequent).
    {training parameters}

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted.
    categories_ : dict of str to list of str
        Categories with their own code, per categorical column.
    {fitted attributes}

    """


class TabularMLPRegressor(TorchRegressorMixin, _TabularMLP):
    """Multilayer perceptron regressor for tables with categorical embeddings.

    Parameters and fitted attributes are those of :class:`TabularMLPClassifier`
    (without ``classes_``); the target is standardised for training.

    Attributes
    ----------
    target_mean_, target_scale_ : float
        Standardisation of the target.

    """
