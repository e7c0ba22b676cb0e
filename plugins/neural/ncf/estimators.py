"""The ``neumf`` and ``hybrid_mf`` estimators: :class:`NeuMF` and :class:`HybridMF`.

Training is shared (:class:`plugins.neural.ncf.base.TorchRecommender`: MSE
or BCE with sampled negatives, an embedding penalty, early stopping; the
epoch count is the fidelity). :class:`NeuMF` scores pairs with an unknown
user or item by the fallbacks of :class:`plugins._recsys_base.BaseRecommender`;
:class:`HybridMF` scores every pair through its network, unknown users and
items through their side features (see
:class:`plugins.neural.ncf.net.HybridFMNet`). Importing this module does
not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from plugins._recsys_base import check_codes

from .._torch_estimator import store_params
from .._training import document_training
from .base import NCF_MAX_EPOCHS, NCF_PATIENCE, TorchRecommender, inverse_counts
from .features import SideFeatures

__all__ = ["NCF_MAX_EPOCHS", "NCF_PATIENCE", "RECOMMENDER_PARAMETERS", "HybridMF", "NeuMF"]

RECOMMENDER_PARAMETERS = {
    "learning_rate": ("float", "Peak AdamW learning rate (cosine schedule)."),
    "negatives": ("int", "Sampled negatives per positive (implicit feedback only)."),
    "batch_size": ("int", "Positive pairs (or ratings) per step; lowered on small data."),
    "n_users": ("int", "Users in the catalogue; None: from the largest code in fit."),
    "n_items": ("int", "Items in the catalogue; None: from the largest code in fit."),
    "implicit": ("bool", "Expect implicit feedback (``y`` None) or ratings; None takes what "
                         "fit gets."),
    "random_state": ("int or None", "Seed of initialisation, batches and negatives; None draws "
                                    "one."),
}
"""Docs of the parameters both recommenders add to the shared training ones."""


@document_training(extra=RECOMMENDER_PARAMETERS)
class NeuMF(TorchRecommender):
    """Neural matrix factorisation (GMF + MLP branches) for explicit or implicit feedback.

    See :class:`plugins.neural.ncf.net.NeuMFNet` for the network and the
    module docstring for training. Side-feature columns are ignored.

    Parameters
    ----------
    gmf_dim : int, default=16
        Width of the GMF embeddings.
    mlp_dim : int, default=16
        Width of the MLP branch's embeddings.
    n_layers : int, default=2
        Hidden layers of the halving MLP tower.
    dropout : float, default=0.0
        Dropout after each hidden layer.
    embedding_reg : float, default=1.0
        Ridge penalty on the embeddings, biases and dense weights in the
        units of alternating least squares: each embedding row is penalised
        by ``embedding_reg * ||e||^2`` once per epoch, however often it is
        used (see :meth:`plugins.neural.ncf.net.NeuMFNet.penalty`).
    {training parameters}

    Attributes
    ----------
    {fitted attributes}

    """

    def __init__(self, *, gmf_dim: int = 16, mlp_dim: int = 16, n_layers: int = 2,
                 dropout: float = 0.0, learning_rate: float = 1e-2, weight_decay: float = 1e-5,
                 embedding_reg: float = 1.0, negatives: int = 4, batch_size: int = 256,
                 max_epochs: int = NCF_MAX_EPOCHS,
                 patience: int | None = NCF_PATIENCE, validation_fraction: float = 0.1,
                 grad_clip: float | None = None, n_users: int | None = None,
                 n_items: int | None = None, implicit: bool | None = None, device: str = "auto",
                 precision: str = "auto", n_threads: int = 1, time_limit: float | None = None,
                 random_state: int | None = 0) -> None:
        store_params(self, locals())

    def _network(self) -> tuple[type, dict[str, Any]]:
        from .net import NeuMFNet

        return NeuMFNet, {"n_users": int(self.n_users_), "n_items": int(self.n_items_),
                          "gmf_dim": int(self.gmf_dim), "mlp_dim": int(self.mlp_dim),
                          "n_layers": int(self.n_layers), "dropout": float(self.dropout)}

    def _row_weights(self, u_idx: np.ndarray, i_idx: np.ndarray, side: tuple[np.ndarray, ...],
                     scale: float) -> tuple[np.ndarray, ...]:
        return (inverse_counts(u_idx, self.n_users_ + 1, scale),
                inverse_counts(i_idx, self.n_items_ + 1, scale), 1.0 / (scale * len(u_idx)))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted ratings (explicit) or interaction probabilities (implicit).

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes; -1 marks unseen ones (fallback scores).

        Returns
        -------
        ndarray of float64
            One score per row.

        """
        def known(users: np.ndarray, items: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return self._network_scores(users, items, ())

        return self._predict_with(X, known)


@document_training(extra=RECOMMENDER_PARAMETERS)
class HybridMF(TorchRecommender):
    """Factorisation machine over users, items and side features (hybrid recommender).

    See :class:`plugins.neural.ncf.net.HybridFMNet` for the network,
    :class:`plugins.neural.ncf.features.SideFeatures` for the encoding and
    the module docstring for training. Side-feature columns that X lacks at
    predict time are filled from the user and item attribute tables learnt in
    fit; sampled negatives carry their own item attributes.

    Parameters
    ----------
    dim : int, default=16
        Embedding width.
    n_layers : int, default=0
        Hidden layers of the deep part (0: a plain factorisation machine).
    width : int, default=64
        Units per hidden layer.
    dropout : float, default=0.0
        Dropout on the field vectors and hidden layers.
    id_dropout : float, default=0.1
        Probability of hiding a user or item index during training.
    numeric_columns, categorical_columns : sequence of str, optional
        Side-feature columns. Both None: every column besides ``user`` and
        ``item``, numeric dtypes as numeric, the rest categorical.
    max_categories : int, default=1000
        Most categories with their own code per column.
    embedding_reg : float, default=1.0
        Ridge penalty on the embeddings in the units of alternating least
        squares: each embedding row (users, items, categories) is penalised
        by ``embedding_reg * ||e||^2`` once per epoch, however often it is
        used (see :meth:`plugins.neural.ncf.net.HybridFMNet.penalty`).
    {training parameters}

    Attributes
    ----------
    side_ : SideFeatures
        The fitted side-feature encoder and attribute tables.
    {fitted attributes}

    """

    def __init__(self, *, dim: int = 16, n_layers: int = 0, width: int = 64,
                 dropout: float = 0.0, id_dropout: float = 0.1, learning_rate: float = 1e-2,
                 weight_decay: float = 1e-5, embedding_reg: float = 1.0, negatives: int = 4,
                 batch_size: int = 256,
                 max_epochs: int = NCF_MAX_EPOCHS, patience: int | None = NCF_PATIENCE,
                 validation_fraction: float = 0.1, grad_clip: float | None = None,
                 numeric_columns: Sequence[str] | None = None,
                 categorical_columns: Sequence[str] | None = None, max_categories: int = 1000,
                 n_users: int | None = None, n_items: int | None = None,
                 implicit: bool | None = None, device: str = "auto", precision: str = "auto",
                 n_threads: int = 1, time_limit: float | None = None,
                 random_state: int | None = 0) -> None:
        store_params(self, locals())

    def _columns(self, X: pd.DataFrame) -> tuple[list[str], list[str]]:
        if self.numeric_columns is None and self.categorical_columns is None:
            rest = [c for c in X.columns if c not in ("user", "item")]
            numeric = [c for c in rest if pd.api.types.is_numeric_dtype(X[c])
                       and not pd.api.types.is_bool_dtype(X[c])]
            return numeric, [c for c in rest if c not in numeric]
        return list(self.numeric_columns or ()), list(self.categorical_columns or ())

    def _side_inputs(self, X: pd.DataFrame, users: np.ndarray, items: np.ndarray,
                     fitting: bool) -> tuple[np.ndarray, ...]:
        if fitting:
            numeric, categorical = self._columns(X)
            self.side_ = SideFeatures().fit(X, users, items, numeric, categorical,
                                            self.n_users_, self.n_items_,
                                            int(self.max_categories))
        return self.side_.encode(X, users, items)

    def _swap_items(self, side: Sequence[Any], items: Any, xp: Any) -> list[Any]:
        numeric, codes = side
        table = self.side_.item_attribute_arrays()
        if xp is not np:
            table = {k: xp.as_tensor(v).to(items.device) for k, v in table.items()}
        numeric = xp.where(table["numeric_mask"][None, :], table["item_numeric"][items], numeric)
        codes = xp.where(table["code_mask"][None, :], table["item_codes"][items], codes)
        return [numeric, codes]

    def _network(self) -> tuple[type, dict[str, Any]]:
        from .net import HybridFMNet

        return HybridFMNet, {
            "n_users": int(self.n_users_), "n_items": int(self.n_items_),
            "cardinalities": self.side_.cardinalities, "n_numeric": self.side_.n_numeric,
            "dim": int(self.dim), "n_layers": int(self.n_layers), "width": int(self.width),
            "dropout": float(self.dropout), "id_dropout": float(self.id_dropout),
        }

    def _row_weights(self, u_idx: np.ndarray, i_idx: np.ndarray, side: tuple[np.ndarray, ...],
                     scale: float) -> tuple[np.ndarray, ...]:
        net_class, config = self._network()
        offsets = np.cumsum([0, self.n_users_ + 1, self.n_items_ + 1, *config["cardinalities"]])
        index = np.concatenate([u_idx[:, None], i_idx[:, None], side[1]], axis=1) + offsets[:-1]
        return (inverse_counts(index, int(offsets[-1]), scale),)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted ratings (explicit) or interaction probabilities (implicit).

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes (-1 unseen), with or without the
            side-feature columns (absent ones come from the attribute tables).

        Returns
        -------
        ndarray of float64
            One score per row.

        """
        check_is_fitted(self, "weights_")
        users, items = check_codes(X, n_users=self.n_users_, n_items=self.n_items_)
        side = self.side_.encode(X, users, items)
        return self._clip(self._network_scores(users, items, side))
