"""The torch network behind the ``mlp`` spec (imported only when a model is fitted)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "NORMS", "TabularNet"]

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
"""Hidden-layer activations by name."""

NORMS = ("batch", "layer", "none")
"""Normalisation layers by name (after each hidden linear layer)."""


class TabularNet(nn.Module):
    """Embeddings for categorical codes, concatenated with numeric inputs, then an MLP.

    Each hidden block is ``Linear -> norm -> activation -> dropout``.

    Parameters
    ----------
    n_numeric : int
        Numeric input columns (already imputed and scaled).
    cardinalities : sequence of int
        Codes per categorical column (codes ``0 .. cardinality-1``; codes 0
        and 1, missing and rare/unseen, start as zero vectors).
    embedding_dims : sequence of int
        Embedding width per categorical column.
    n_layers : int
        Hidden layers (0 gives a linear model on the inputs).
    width : int
        Units per hidden layer.
    dropout : float
        Dropout after each hidden block.
    norm : {"batch", "layer", "none"}
        Normalisation in each hidden block.
    activation : {"relu", "gelu", "silu"}
        Hidden activation.
    n_outputs : int
        Output units (classes, or 1 for regression).

    """

    def __init__(
        self,
        n_numeric: int,
        cardinalities: Sequence[int],
        embedding_dims: Sequence[int],
        n_layers: int,
        width: int,
        dropout: float,
        norm: str,
        activation: str,
        n_outputs: int,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.embeddings = nn.ModuleList(
            nn.Embedding(int(c), int(d)) for c, d in zip(cardinalities, embedding_dims, strict=True)
        )
        with torch.no_grad():
            for embedding in self.embeddings:
                # codes 0 (missing) and 1 (rare or unseen) start neutral: a code
                # never met in training must not push predictions anywhere
                embedding.weight[:2].zero_()
        width_in = int(n_numeric) + int(sum(embedding_dims))
        layers: list[nn.Module] = []
        for _ in range(int(n_layers)):
            layers.append(nn.Linear(width_in, int(width)))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(int(width)))
            elif norm == "layer":
                layers.append(nn.LayerNorm(int(width)))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            width_in = int(width)
        layers.append(nn.Linear(width_in, int(n_outputs)))
        self.body = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Map a batch to outputs.

        Parameters
        ----------
        numeric : torch.Tensor
            ``(batch, n_numeric)`` float32.
        codes : torch.Tensor
            ``(batch, n_categorical)`` int64 codes.

        Returns
        -------
        torch.Tensor
            ``(batch, n_outputs)``.

        """
        parts = [numeric.float()]
        parts += [emb(codes[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.body(torch.cat(parts, dim=1))
