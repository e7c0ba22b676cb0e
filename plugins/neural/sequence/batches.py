"""Variable-length inputs for the sequence networks: scaling, datasets and padded batches.

A batch of sequences (float ``(T_i, F)`` arrays) or token-id arrays (int64
``(T_i,)``) is padded to its longest member: :func:`collate_padded` returns
``(values, lengths[, target])`` tensors, and :func:`padding_mask` turns the
lengths into the boolean mask (True on padding) that attention layers and
masked pooling use. Token arrays are padded with id 0, which the tokenizer
never produces; float sequences with zeros.

Importing this module does not import torch (the functions that build
tensors import it when called).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "SEQUENCE_CLIP",
    "RaggedDataset",
    "SequenceScaler",
    "collate_padded",
    "length_order",
    "pad_arrays",
    "padding_mask",
    "truncate",
]

SEQUENCE_CLIP = 10.0
"""Standardised sequence values are clipped to this many standard deviations."""


class SequenceScaler:
    """Per-feature standardisation of float sequences, learned over every time step.

    Attributes
    ----------
    mean_, scale_ : ndarray of float64, shape (n_features,)
        Mean and standard deviation of each feature over all training steps
        (a constant feature gets scale 1).

    """

    def fit(self, sequences: Sequence[np.ndarray]) -> SequenceScaler:
        """Learn each feature's mean and standard deviation.

        Parameters
        ----------
        sequences : sequence of ndarray of shape (T_i, F)
            Training sequences.

        Returns
        -------
        self
            The fitted scaler.

        """
        steps = np.concatenate([np.asarray(s, dtype=np.float64) for s in sequences], axis=0)
        self.mean_ = steps.mean(axis=0)
        scale = steps.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        return self

    def transform(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Standardise and clip each sequence.

        Parameters
        ----------
        sequences : sequence of ndarray of shape (T_i, F)
            Sequences with the fitted features.

        Returns
        -------
        list of ndarray of float32
            Standardised sequences, clipped to ``[-SEQUENCE_CLIP, SEQUENCE_CLIP]``.

        """
        out = []
        for s in sequences:
            values = (np.asarray(s, dtype=np.float64) - self.mean_) / self.scale_
            out.append(np.clip(values, -SEQUENCE_CLIP, SEQUENCE_CLIP).astype(np.float32))
        return out


def truncate(items: Sequence[np.ndarray], max_length: int | None) -> list[np.ndarray]:
    """Keep the first ``max_length`` steps (or tokens) of each item.

    Parameters
    ----------
    items : sequence of ndarray
        Arrays whose first axis is time.
    max_length : int or None
        Most steps kept; None keeps all.

    Returns
    -------
    list of ndarray
        The truncated arrays (views).

    """
    if max_length is None:
        return list(items)
    return [item[: int(max_length)] for item in items]


def length_order(items: Sequence[np.ndarray]) -> np.ndarray:
    """Positions of ``items`` sorted by length (stable): batching in this order pads least.

    Parameters
    ----------
    items : sequence of ndarray
        Arrays whose first axis is time.

    Returns
    -------
    ndarray of int64
        A permutation of ``range(len(items))``.

    """
    return np.argsort(np.fromiter((len(i) for i in items), dtype=np.int64, count=len(items)),
                      kind="stable")


def pad_arrays(items: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pad arrays of varying length into one array.

    Parameters
    ----------
    items : sequence of ndarray
        Arrays of shape ``(T_i,)`` or ``(T_i, F)``, of one dtype.

    Returns
    -------
    padded : ndarray
        ``(n, max T_i[, F])``; positions past an item's length are zero.
    lengths : ndarray of int64
        ``T_i`` of each item.

    """
    lengths = np.fromiter((len(i) for i in items), dtype=np.int64, count=len(items))
    first = np.asarray(items[0])
    padded = np.zeros((len(items), int(lengths.max()), *first.shape[1:]), dtype=first.dtype)
    for row, item in enumerate(items):
        padded[row, : len(item)] = item
    return padded, lengths


class RaggedDataset:
    """Variable-length items (and optionally their targets) as a map-style dataset.

    Parameters
    ----------
    items : sequence of ndarray
        Float ``(T_i, F)`` sequences or int64 ``(T_i,)`` token ids.
    target : ndarray, optional
        One target per item.

    """

    def __init__(self, items: Sequence[np.ndarray], target: np.ndarray | None = None) -> None:
        if target is not None and len(target) != len(items):
            raise ValueError(f"target has {len(target)} rows, expected {len(items)}")
        self.items = items
        self.target = target

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        if self.target is None:
            return (self.items[index],)
        return self.items[index], self.target[index]


def collate_padded(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Join dataset rows into a padded batch (the ``collate_fn`` of :class:`RaggedDataset`).

    Parameters
    ----------
    rows : list of tuple
        ``(item,)`` or ``(item, target)`` per row.

    Returns
    -------
    tuple of torch.Tensor
        ``(values, lengths)`` or ``(values, lengths, target)``: values
        ``(B, T, F)`` float32 or ``(B, T)`` int64 padded to the longest row,
        lengths int64 ``(B,)``.

    """
    import torch

    padded, lengths = pad_arrays([row[0] for row in rows])
    batch = (torch.from_numpy(padded), torch.from_numpy(lengths))
    if len(rows[0]) > 1:
        target = np.asarray([row[1] for row in rows])
        batch += (torch.from_numpy(target),)
    return batch


def padding_mask(lengths: Any, max_length: int) -> Any:
    """Boolean mask of padding positions.

    Parameters
    ----------
    lengths : torch.Tensor
        int64 ``(B,)`` true lengths.
    max_length : int
        Padded length ``T``.

    Returns
    -------
    torch.Tensor
        bool ``(B, T)``, True where a position is padding.

    """
    import torch

    positions = torch.arange(int(max_length), device=lengths.device)
    return positions[None, :] >= lengths[:, None]
