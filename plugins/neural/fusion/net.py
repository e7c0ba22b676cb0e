"""The torch network behind the ``fusion`` spec (imported only when a model is fitted).

Late fusion: one encoder per part maps the part to a vector of width
``embed_dim`` (the project's own networks, built with ``n_outputs=embed_dim``),
layer-normalised per part so that no encoder dominates by scale; rows
lacking the part get a learned per-part "missing" vector instead; the part
vectors are concatenated and an MLP maps them to the outputs. (Without the
per-part normalisation, on a task whose label is the XOR of an image bit and
a text bit, 2 of 3 seeds memorised the training rows and stopped at the
table's weak signal; with it all 3 found the XOR.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..cnn.net import ResidualCNN
from ..lstm.net import RecurrentNet
from ..mlp.net import TabularNet
from ..transformer.net import TransformerNet

__all__ = ["ENCODERS", "FusionNet", "part_encoder"]

ENCODERS = ("transformer", "lstm", "gru")
"""Encoders of text and sequence parts."""

TENSORS_PER_PART = {"image": 1, "text": 2, "sequence": 2, "tabular": 2}
"""Tensors a part takes in a batch, before its present mask."""


def part_encoder(part: Mapping[str, Any], embed_dim: int, encoder: str,
                 image_channels: int) -> nn.Module:
    """The encoder of one part, whose output is a ``(B, embed_dim)`` vector.

    Parameters
    ----------
    part : mapping
        The part's configuration (``PartInputs.network_config``).
    embed_dim : int
        Width of the part vector.
    encoder : {"transformer", "lstm", "gru"}
        Encoder of a text or sequence part (ignored for images and tables).
    image_channels : int
        Width of the CNN's first stage.

    Returns
    -------
    torch.nn.Module
        The encoder.

    """
    modality, dim = part["modality"], int(embed_dim)
    if modality == "image":
        net = ResidualCNN(int(part["in_channels"]), int(part["height"]), int(part["width"]),
                          dim, n_stages=2, blocks_per_stage=1,
                          base_channels=int(image_channels))
        net.standardize.set_statistics(part["mean"], part["std"])
        return net
    if modality in ("text", "sequence"):
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        if encoder == "transformer":
            heads = 2 if dim >= 16 else 1
            return TransformerNet(part["n_features"], part["vocab_size"], n_layers=1,
                                  n_heads=heads, head_dim=max(8, dim // heads),
                                  ff_multiplier=2, positional="sinusoidal", pooling="mean",
                                  max_length=int(part["max_length"]), dropout=0.1,
                                  n_outputs=dim)
        return RecurrentNet(part["n_features"], part["vocab_size"], embedding_dim=dim,
                            cell=encoder, n_layers=1, hidden_size=dim, bidirectional=False,
                            pooling="mean", dropout=0.1, n_outputs=dim)
    if modality == "tabular":
        return TabularNet(int(part["n_numeric"]), part["cardinalities"],
                          part["embedding_dims"], n_layers=1, width=max(32, dim),
                          dropout=0.0, norm="layer", activation="relu", n_outputs=dim)
    raise ValueError(f"unknown part modality {modality!r}")


class FusionNet(nn.Module):
    """Per-part encoders and layer norms, learned missing vectors, concatenation, an MLP head.

    Parameters
    ----------
    parts : sequence of mapping
        Each part's configuration, in batch order.
    embed_dim : int
        Width of each part vector.
    text_encoder, sequence_encoder : {"transformer", "lstm", "gru"}
        Encoder of text parts and of sequence parts.
    fusion_width : int
        Units per hidden layer of the head.
    fusion_depth : int
        Hidden layers of the head (0: linear on the concatenated vectors).
    dropout : float
        Dropout on the concatenated vectors and after each hidden layer.
    n_outputs : int
        Output units (classes, or 1 for regression).
    image_channels : int, default=16
        Width of the CNN's first stage.

    """

    def __init__(self, parts: Sequence[Mapping[str, Any]], embed_dim: int, text_encoder: str,
                 sequence_encoder: str, fusion_width: int, fusion_depth: int, dropout: float,
                 n_outputs: int, image_channels: int = 16) -> None:
        super().__init__()
        if not parts:
            raise ValueError("FusionNet needs at least one part")
        self.modalities = [str(p["modality"]) for p in parts]
        encoders = {"text": text_encoder, "sequence": sequence_encoder}
        self.encoders = nn.ModuleList(
            part_encoder(p, embed_dim, encoders.get(p["modality"], ""), image_channels)
            for p in parts
        )
        self.missing = nn.Parameter(torch.randn(len(parts), int(embed_dim)) * 0.02)
        self.norms = nn.ModuleList(nn.LayerNorm(int(embed_dim)) for _ in parts)
        layers: list[nn.Module] = [nn.GELU(), nn.Dropout(float(dropout))]
        width_in = len(parts) * int(embed_dim)
        for _ in range(int(fusion_depth)):
            layers += [nn.Linear(width_in, int(fusion_width)), nn.ReLU(),
                       nn.Dropout(float(dropout))]
            width_in = int(fusion_width)
        layers.append(nn.Linear(width_in, int(n_outputs)))
        self.head = nn.Sequential(*layers)

    def part_vectors(self, *tensors: torch.Tensor) -> list[torch.Tensor]:
        """Each part's ``(B, embed_dim)`` vector (the missing vector where absent).

        Parameters
        ----------
        *tensors : torch.Tensor
            A batch from ``FusionDataset.collate`` without the target.

        Returns
        -------
        list of torch.Tensor
            One vector batch per part.

        """
        vectors, position = [], 0
        for i, (modality, encoder) in enumerate(zip(self.modalities, self.encoders,
                                                     strict=True)):
            n = TENSORS_PER_PART[modality]
            inputs = tensors[position:position + n]
            present = tensors[position + n].float()
            position += n + 1
            encoded = self.norms[i](encoder(*inputs).float())
            missing = self.missing[i].to(encoded.dtype).expand_as(encoded)
            vectors.append(torch.where(present[:, None] > 0.5, encoded, missing))
        return vectors

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        """Map a batch (every part's tensors and present mask) to outputs ``(B, n_outputs)``."""
        return self.head(torch.cat(self.part_vectors(*tensors), dim=1))
