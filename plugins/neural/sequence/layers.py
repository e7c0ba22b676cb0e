"""Layers shared by the recurrent and Transformer networks (imported only when fitting).

Masks follow :func:`plugins.neural.sequence.batches.padding_mask`: True marks
padding.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "AttentionPooling",
    "LearnedPositions",
    "SinusoidalPositions",
    "masked_mean",
    "token_embedding",
]


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of the positions that are not padding.

    Parameters
    ----------
    values : torch.Tensor
        ``(B, T, D)``.
    mask : torch.Tensor
        bool ``(B, T)``, True on padding.

    Returns
    -------
    torch.Tensor
        ``(B, D)``.

    """
    keep = (~mask).unsqueeze(-1).to(values.dtype)
    total = (values * keep).sum(dim=1)
    return total / keep.sum(dim=1).clamp_min(1.0)


class AttentionPooling(nn.Module):
    """Attention pooling: a learned score per position, softmax over real positions.

    Parameters
    ----------
    width : int
        Feature size ``D`` of the pooled values.

    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.score = nn.Linear(int(width), 1)

    def weights(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pooling weights ``(B, T)``: zero on padding, each row summing to 1.

        Parameters
        ----------
        values : torch.Tensor
            ``(B, T, D)``.
        mask : torch.Tensor
            bool ``(B, T)``, True on padding.

        Returns
        -------
        torch.Tensor
            ``(B, T)``.

        """
        scores = self.score(values).squeeze(-1).float()
        return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=1)

    def forward(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pool ``(B, T, D)`` values into ``(B, D)``.

        Parameters
        ----------
        values : torch.Tensor
            ``(B, T, D)``.
        mask : torch.Tensor
            bool ``(B, T)``, True on padding.

        Returns
        -------
        torch.Tensor
            ``(B, D)``.

        """
        weights = self.weights(values, mask).to(values.dtype)
        return torch.einsum("bt,btd->bd", weights, values)


class SinusoidalPositions(nn.Module):
    """Fixed sinusoidal position encodings added to the inputs (Vaswani et al., 2017).

    Parameters
    ----------
    width : int
        Feature size ``D``.
    max_positions : int
        Longest input (positions ``0 .. max_positions - 1``).

    """

    def __init__(self, width: int, max_positions: int) -> None:
        super().__init__()
        position = torch.arange(int(max_positions), dtype=torch.float32)[:, None]
        frequency = torch.exp(torch.arange(0, int(width), 2, dtype=torch.float32)
                              * (-math.log(10000.0) / int(width)))
        table = torch.zeros(int(max_positions), int(width))
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency)[:, : int(width) // 2]
        # rebuilt from the config, so not part of the saved weights
        self.register_buffer("table", table, persistent=False)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Add the encodings of positions ``0 .. T - 1`` to ``(B, T, D)`` values.

        Parameters
        ----------
        values : torch.Tensor
            ``(B, T, D)``.

        Returns
        -------
        torch.Tensor
            ``(B, T, D)``.

        """
        return values + self.table[: values.shape[1]].to(values.dtype)


class LearnedPositions(nn.Module):
    """Learned position embeddings added to the inputs.

    Parameters
    ----------
    width : int
        Feature size ``D``.
    max_positions : int
        Longest input.

    """

    def __init__(self, width: int, max_positions: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(int(max_positions), int(width))
        nn.init.normal_(self.embedding.weight, std=0.02)

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """Add the embeddings of positions ``0 .. T - 1`` to ``(B, T, D)`` values.

        Parameters
        ----------
        values : torch.Tensor
            ``(B, T, D)``.

        Returns
        -------
        torch.Tensor
            ``(B, T, D)``.

        """
        positions = torch.arange(values.shape[1], device=values.device)
        return values + self.embedding(positions).to(values.dtype)[None]


def token_embedding(vocab_size: int, width: int) -> nn.Embedding:
    """An embedding of token ids whose padding and unknown rows start at zero.

    Id 0 (padding) stays zero and untrained; id 1 (unknown) starts neutral so
    that a word never met in training does not push predictions anywhere
    until it is learned.

    Parameters
    ----------
    vocab_size : int
        Ids ``0 .. vocab_size - 1``.
    width : int
        Embedding size.

    Returns
    -------
    torch.nn.Embedding
        The embedding.

    """
    embedding = nn.Embedding(int(vocab_size), int(width), padding_idx=0)
    with torch.no_grad():
        embedding.weight[:2].zero_()
    return embedding
