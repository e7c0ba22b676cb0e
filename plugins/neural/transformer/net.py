"""The torch network behind the ``transformer`` spec (imported only when a model is fitted).

A pre-norm Transformer encoder (``torch.nn.TransformerEncoderLayer`` with
``norm_first=True``, GELU) over projected float sequences or embedded
tokens, with sinusoidal or learned position encodings, a key padding mask
built from the lengths, and masked mean pooling or a learned CLS token.
"""

from __future__ import annotations

import torch
from torch import nn

from ..sequence.batches import padding_mask
from ..sequence.layers import LearnedPositions, SinusoidalPositions, masked_mean, token_embedding

__all__ = ["POOLINGS", "POSITIONALS", "TransformerNet"]

POSITIONALS = ("sinusoidal", "learned")
"""Position encodings."""

POOLINGS = ("mean", "cls")
"""Masked mean of the outputs, or the output at a learned CLS token prepended to the input."""


class TransformerNet(nn.Module):
    """Input projection or token embedding -> positions -> encoder layers -> pooling -> head.

    Parameters
    ----------
    n_features : int or None
        Features per step of float sequences; None for token ids.
    vocab_size : int or None
        Token ids ``0 .. vocab_size - 1`` of texts; None for float sequences.
    n_layers : int
        Encoder layers.
    n_heads : int
        Attention heads per layer.
    head_dim : int
        Width of one head; the model width is ``n_heads * head_dim``.
    ff_multiplier : int
        Feed-forward width as a multiple of the model width.
    positional : {"sinusoidal", "learned"}
        Position encoding.
    pooling : {"mean", "cls"}
        Masked mean over positions, or the output at the CLS token.
    max_length : int
        Longest input in steps or tokens (the CLS token comes on top).
    dropout : float
        Dropout after the position encoding, inside the layers and before
        the head.
    n_outputs : int
        Output units (classes, or 1 for regression).

    """

    def __init__(
        self,
        n_features: int | None,
        vocab_size: int | None,
        n_layers: int,
        n_heads: int,
        head_dim: int,
        ff_multiplier: int,
        positional: str,
        pooling: str,
        max_length: int,
        dropout: float,
        n_outputs: int,
    ) -> None:
        super().__init__()
        if positional not in POSITIONALS:
            raise ValueError(f"positional must be one of {POSITIONALS}, got {positional!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if (n_features is None) == (vocab_size is None):
            raise ValueError("give exactly one of n_features (sequences) and vocab_size (texts)")
        width = int(n_heads) * int(head_dim)
        self.tokens = vocab_size is not None
        if vocab_size is not None:
            self.embed: nn.Module = token_embedding(vocab_size, width)
        else:
            self.embed = nn.Linear(int(n_features), width)
        self.cls = None
        if pooling == "cls":
            self.cls = nn.Parameter(torch.zeros(1, 1, width))
            nn.init.normal_(self.cls, std=0.02)
        positions = int(max_length) + (1 if pooling == "cls" else 0)
        position_class = SinusoidalPositions if positional == "sinusoidal" else LearnedPositions
        self.positions = position_class(width, positions)
        self.dropout = nn.Dropout(float(dropout))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=width, nhead=int(n_heads), dim_feedforward=width * int(ff_multiplier),
                dropout=float(dropout), activation="gelu", batch_first=True, norm_first=True,
            )
            for _ in range(int(n_layers))
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Sequential(nn.Dropout(float(dropout)), nn.Linear(width, int(n_outputs)))

    def _inputs(self, values: torch.Tensor,
                lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embedded inputs with positions (and the CLS token), and the padding mask."""
        x = self.embed(values.long() if self.tokens else values.float())
        lengths = lengths.to(x.device)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
            lengths = lengths + 1
        x = self.dropout(self.positions(x))
        return x, padding_mask(lengths, x.shape[1])

    def forward(self, values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Map a padded batch to outputs.

        Parameters
        ----------
        values : torch.Tensor
            ``(B, T, F)`` float32 sequences or ``(B, T)`` int64 token ids,
            padded.
        lengths : torch.Tensor
            int64 ``(B,)`` true lengths (at least 1).

        Returns
        -------
        torch.Tensor
            ``(B, n_outputs)``.

        """
        x, mask = self._inputs(values, lengths)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=mask)
        x = self.norm(x)
        pooled = x[:, 0] if self.cls is not None else masked_mean(x, mask)
        return self.head(pooled)

    def attention_maps(self, values: torch.Tensor,
                       lengths: torch.Tensor) -> list[torch.Tensor]:
        """Attention weights of every layer, per head.

        Parameters
        ----------
        values, lengths : torch.Tensor
            A padded batch, as for :meth:`forward`.

        Returns
        -------
        list of torch.Tensor
            One ``(B, n_heads, T, T)`` tensor per layer (``T`` counts the CLS
            token first when ``pooling="cls"``): row ``q`` holds how query
            position ``q`` weighs every key; padded keys get 0 and rows of
            real queries sum to 1. Rows of padded queries are set to 0.

        """
        x, mask = self._inputs(values, lengths)
        maps = []
        for layer in self.layers:
            normed = layer.norm1(x)  # the layers are pre-norm: attention sees norm1(x)
            _, weights = layer.self_attn(normed, normed, normed, key_padding_mask=mask,
                                         need_weights=True, average_attn_weights=False)
            maps.append(weights.masked_fill(mask[:, None, :, None], 0.0))
            x = layer(x, src_key_padding_mask=mask)
        return maps
