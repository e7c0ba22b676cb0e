"""The torch networks behind ``neumf`` and ``hybrid_mf`` (imported only when a model is fitted).

Both take user and item indices ``code + 1``: index 0 stands for a user or
item unseen in training, and its embedding starts at zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["EMBEDDING_INIT_STD", "HybridFMNet", "NeuMFNet"]

EMBEDDING_INIT_STD = 0.01
"""Standard deviation of the initial embeddings (the NeuMF paper's N(0, 0.01))."""


def _tower(width_in: int, widths: Sequence[int], dropout: float) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(width_in, int(width)), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(float(dropout)))
        width_in = int(width)
    return nn.Sequential(*layers), width_in


def _embedding(n: int, dim: int) -> nn.Embedding:
    table = nn.Embedding(int(n), int(dim))
    nn.init.normal_(table.weight, std=EMBEDDING_INIT_STD)
    with torch.no_grad():
        table.weight[0].zero_()
    return table


class NeuMFNet(nn.Module):
    """Neural matrix factorisation: a GMF branch and an MLP branch, summed.

    ``output = p_u . q_i + head(MLP([p'_u, q'_i])) + b_u + c_i + b`` (He et
    al., "Neural Collaborative Filtering", WWW 2017). Two departures from the
    paper, both for regularisation: the GMF branch enters with fixed unit
    weights (a plain dot product, as Rendle et al., RecSys 2020 recommend)
    rather than through a learned fusion layer, because a learned weight
    could grow while the penalised embeddings shrink and so undo the
    penalty; and user and item biases are added, which rating prediction
    needs.

    Parameters
    ----------
    n_users, n_items : int
        Catalogue sizes (tables get one more row, index 0, for unknowns).
    gmf_dim : int
        Width of the GMF embeddings.
    mlp_dim : int
        Width of the MLP branch's embeddings.
    n_layers : int
        Hidden layers of the MLP tower; layer ``l`` has
        ``max(8, 2 * mlp_dim // 2 ** (l + 1))`` units (the paper's halving tower).
    dropout : float
        Dropout after each hidden layer.

    """

    def __init__(self, n_users: int, n_items: int, gmf_dim: int, mlp_dim: int, n_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.gmf_user = _embedding(n_users + 1, gmf_dim)
        self.gmf_item = _embedding(n_items + 1, gmf_dim)
        self.mlp_user = _embedding(n_users + 1, mlp_dim)
        self.mlp_item = _embedding(n_items + 1, mlp_dim)
        self.user_bias = nn.Embedding(n_users + 1, 1)
        self.item_bias = nn.Embedding(n_items + 1, 1)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)
        widths = [max(8, (2 * int(mlp_dim)) // 2 ** (layer + 1)) for layer in range(n_layers)]
        self.tower, width_out = _tower(2 * int(mlp_dim), widths, dropout)
        self.head = nn.Linear(width_out, 1)
        self.register_buffer("user_weight", torch.ones(n_users + 1), persistent=False)
        self.register_buffer("item_weight", torch.ones(n_items + 1), persistent=False)
        self.register_buffer("dense_weight", torch.ones(()), persistent=False)

    def set_row_weights(self, user_weight: Any, item_weight: Any, dense_weight: float) -> None:
        """Set the penalty weights of the embedding rows and of the dense layers.

        Parameters
        ----------
        user_weight, item_weight : array-like
            One weight per index ``code + 1`` (see :meth:`penalty`).
        dense_weight : float
            Weight of the squared norm of the head and tower weight matrices
            (``1 / training pairs``).

        """
        self.user_weight.copy_(torch.as_tensor(user_weight, dtype=torch.float32))
        self.item_weight.copy_(torch.as_tensor(item_weight, dtype=torch.float32))
        self.dense_weight.fill_(float(dense_weight))

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Weighted squared norm of the embedding rows each pair uses, shape ``(batch,)``.

        With row weights ``1 / (training pairs using the row)``, the penalty
        summed over an epoch is the plain ridge ``sum_rows ||e||^2``, as in
        alternating least squares: rarely seen users and items are shrunk as
        much as frequent ones, not less. The tower and head weight matrices
        are penalised with ``dense_weight``.

        Parameters
        ----------
        users, items : torch.Tensor
            int64 indices ``code + 1``.

        Returns
        -------
        torch.Tensor
            Per-pair L2 penalty (the embedding regularisation of the loss).

        """
        user = (self.gmf_user(users).pow(2).sum(1) + self.mlp_user(users).pow(2).sum(1)
                + self.user_bias(users).pow(2).sum(1))
        item = (self.gmf_item(items).pow(2).sum(1) + self.mlp_item(items).pow(2).sum(1)
                + self.item_bias(items).pow(2).sum(1))
        dense = sum(m.weight.pow(2).sum() for m in self.modules() if isinstance(m, nn.Linear))
        return (user * self.user_weight[users] + item * self.item_weight[items]
                + dense * self.dense_weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Logits (implicit) or standardised ratings (explicit), shape ``(batch,)``.

        Parameters
        ----------
        users, items : torch.Tensor
            int64 indices ``code + 1``.

        Returns
        -------
        torch.Tensor
            One output per pair.

        """
        gmf = (self.gmf_user(users) * self.gmf_item(items)).sum(dim=1, keepdim=True)
        mlp = self.head(self.tower(torch.cat([self.mlp_user(users), self.mlp_item(items)],
                                             dim=1)))
        return (gmf + mlp + self.user_bias(users) + self.item_bias(items)).squeeze(1)


class HybridFMNet(nn.Module):
    """A factorisation machine over user, item and side-feature fields, with an optional deep part.

    Fields: the user, the item, one per categorical column (codes; 0 missing,
    1 unseen) and one per numeric input (a standardised value or a missing
    indicator; its embedding is scaled by the value). The output is
    ``w0 + sum_f w_f x_f + sum_{f<g} <v_f x_f, v_g x_g>`` (Rendle, ICDM 2010),
    plus an MLP over the concatenated field vectors when ``n_layers > 0``
    (DeepFM, Guo et al., IJCAI 2017). During training each user and item
    index is replaced by the unknown index 0 with probability
    ``id_dropout``, so that index learns a representation for users and items
    unseen in training, which then lean on their side features.

    Parameters
    ----------
    n_users, n_items : int
        Catalogue sizes.
    cardinalities : sequence of int
        Codes per categorical column.
    n_numeric : int
        Numeric inputs.
    dim : int
        Embedding width.
    n_layers : int
        Hidden layers of the deep part (0: a plain factorisation machine).
    width : int
        Units per hidden layer.
    dropout : float
        Dropout on the field vectors and after each hidden layer.
    id_dropout : float
        Probability of hiding a user or item index in training.

    """

    def __init__(self, n_users: int, n_items: int, cardinalities: Sequence[int], n_numeric: int,
                 dim: int, n_layers: int, width: int, dropout: float, id_dropout: float) -> None:
        super().__init__()
        sizes = [int(n_users) + 1, int(n_items) + 1, *[int(c) for c in cardinalities]]
        offsets = torch.tensor([0, *sizes[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.embedding = _embedding(sum(sizes), dim)
        with torch.no_grad():
            self.embedding.weight[offsets] = 0.0  # unknown user, unknown item, missing codes
        self.register_buffer("row_weight", torch.ones(sum(sizes)), persistent=False)
        self.linear = nn.Embedding(sum(sizes), 1)
        nn.init.zeros_(self.linear.weight)
        self.numeric_embedding = nn.Parameter(torch.randn(int(n_numeric), int(dim))
                                              * EMBEDDING_INIT_STD)
        self.numeric_weight = nn.Parameter(torch.zeros(int(n_numeric)))
        self.bias = nn.Parameter(torch.zeros(1))
        self.field_dropout = nn.Dropout(float(dropout))
        self.id_dropout = float(id_dropout)
        n_fields = len(sizes) + int(n_numeric)
        self.deep = None
        if n_layers > 0:
            tower, width_out = _tower(n_fields * int(dim), [int(width)] * int(n_layers), dropout)
            self.deep = nn.Sequential(tower, nn.Linear(width_out, 1))

    def set_row_weights(self, row_weight: Any) -> None:
        """Set the penalty weight of every embedding row (see :meth:`penalty`).

        Parameters
        ----------
        row_weight : array-like
            One weight per row of the joint table (fields in the order user,
            item, categorical columns; each field's codes from its offset).

        """
        self.row_weight.copy_(torch.as_tensor(row_weight, dtype=torch.float32))

    def _index(self, users: torch.Tensor, items: torch.Tensor,
               codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([users[:, None], items[:, None], codes], dim=1) + self.offsets

    def penalty(self, users: torch.Tensor, items: torch.Tensor, numeric: torch.Tensor,
                codes: torch.Tensor) -> torch.Tensor:
        """Weighted squared norm of the embedding rows each pair uses, shape ``(batch,)``.

        Row weights work as in :meth:`NeuMFNet.penalty`; the numeric field
        embeddings, shared by every pair, are left to weight decay.

        Parameters
        ----------
        users, items, numeric, codes : torch.Tensor
            As for :meth:`forward`.

        Returns
        -------
        torch.Tensor
            Per-pair L2 penalty (the embedding regularisation of the loss).

        """
        index = self._index(users, items, codes)
        norms = self.embedding(index).pow(2).sum(dim=2)
        return (norms * self.row_weight[index]).sum(dim=1)

    def forward(self, users: torch.Tensor, items: torch.Tensor, numeric: torch.Tensor,
                codes: torch.Tensor) -> torch.Tensor:
        """Logits (implicit) or standardised ratings (explicit), shape ``(batch,)``.

        Parameters
        ----------
        users, items : torch.Tensor
            int64 indices ``code + 1`` (0: unknown).
        numeric : torch.Tensor
            ``(batch, n_numeric)`` float32 standardised values and missing indicators.
        codes : torch.Tensor
            ``(batch, n_categorical)`` int64 category codes.

        Returns
        -------
        torch.Tensor
            One output per pair.

        """
        if self.training and self.id_dropout > 0:
            hide = torch.rand(users.shape[0], 2, device=users.device) < self.id_dropout
            users = torch.where(hide[:, 0], torch.zeros_like(users), users)
            items = torch.where(hide[:, 1], torch.zeros_like(items), items)
        index = self._index(users, items, codes)
        numeric = numeric.float()
        vectors = torch.cat([self.embedding(index),
                             numeric[:, :, None] * self.numeric_embedding[None]], dim=1)
        vectors = self.field_dropout(vectors)
        total = vectors.sum(dim=1)
        pairwise = 0.5 * (total * total - (vectors * vectors).sum(dim=1)).sum(dim=1)
        linear = self.linear(index).sum(dim=(1, 2)) + numeric @ self.numeric_weight
        out = self.bias + linear + pairwise
        if self.deep is not None:
            out = out + self.deep(vectors.flatten(1)).squeeze(1)
        return out
