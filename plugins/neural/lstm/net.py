"""The torch network behind the ``lstm`` spec (imported only when a model is fitted).

Inputs are a padded batch and its lengths (see
:mod:`plugins.neural.sequence.batches`). Texts go through a token embedding
first. The recurrent layers run on packed sequences
(``torch.nn.utils.rnn.pack_padded_sequence``), so padding never reaches
them: a sequence gets the same output alone or next to longer ones.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..sequence.batches import padding_mask
from ..sequence.layers import AttentionPooling, masked_mean, token_embedding

__all__ = ["CELLS", "POOLINGS", "RecurrentNet"]

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
"""Recurrent cells by name."""

POOLINGS = ("last", "mean", "attention")
"""How the per-step outputs become one vector: the final states, their masked
mean, or attention pooling."""


class RecurrentNet(nn.Module):
    """(Token embedding ->) LSTM or GRU layers -> pooling -> dropout -> linear head.

    Parameters
    ----------
    n_features : int or None
        Features per step of float sequences; None for token ids.
    vocab_size : int or None
        Token ids ``0 .. vocab_size - 1`` of texts; None for float sequences.
    embedding_dim : int
        Token embedding size (texts only).
    cell : {"lstm", "gru"}
        Recurrent cell.
    n_layers : int
        Stacked recurrent layers.
    hidden_size : int
        Units per layer and direction.
    bidirectional : bool
        Also read the sequence backwards.
    pooling : {"last", "mean", "attention"}
        ``"last"``: the final hidden state of the top layer (per direction:
        the forward state at the true end, the backward state at the start);
        ``"mean"``: the masked mean of the top layer's outputs;
        ``"attention"``: attention pooling over them.
    dropout : float
        Dropout on the inputs, between recurrent layers and before the head.
    n_outputs : int
        Output units (classes, or 1 for regression).

    """

    def __init__(
        self,
        n_features: int | None,
        vocab_size: int | None,
        embedding_dim: int,
        cell: str,
        n_layers: int,
        hidden_size: int,
        bidirectional: bool,
        pooling: str,
        dropout: float,
        n_outputs: int,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if (n_features is None) == (vocab_size is None):
            raise ValueError("give exactly one of n_features (sequences) and vocab_size (texts)")
        self.embedding = None if vocab_size is None else token_embedding(vocab_size,
                                                                          embedding_dim)
        input_size = int(embedding_dim) if vocab_size is not None else int(n_features)
        self.input_dropout = nn.Dropout(float(dropout))
        self.rnn = CELLS[cell](
            input_size=input_size, hidden_size=int(hidden_size), num_layers=int(n_layers),
            batch_first=True, bidirectional=bool(bidirectional),
            dropout=float(dropout) if int(n_layers) > 1 else 0.0,
        )
        self.n_directions = 2 if bidirectional else 1
        width = int(hidden_size) * self.n_directions
        self.pooling = pooling
        self.attention = AttentionPooling(width) if pooling == "attention" else None
        self.head = nn.Sequential(nn.Dropout(float(dropout)), nn.Linear(width, int(n_outputs)))

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
        inputs = self.embedding(values) if self.embedding is not None else values
        inputs = self.input_dropout(inputs.float())
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        # cuDNN's recurrent kernels are run in fp32 whatever the autocast dtype
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            outputs, state = self.rnn(packed)
        if self.pooling == "last":
            hidden = state[0] if isinstance(state, tuple) else state
            top = hidden[-self.n_directions:]  # (directions, B, H) of the top layer
            pooled = top.transpose(0, 1).reshape(top.shape[1], -1)
        else:
            steps, _ = pad_packed_sequence(outputs, batch_first=True,
                                           total_length=values.shape[1])
            mask = padding_mask(lengths.to(steps.device), steps.shape[1])
            if self.attention is not None:
                pooled = self.attention(steps, mask)
            else:
                pooled = masked_mean(steps, mask)
        return self.head(pooled)
