"""Inputs of the ``fusion`` networks: per-part preprocessing and batches of every part.

Each part of a :class:`~automl.multimodal.MultimodalData` is encoded by its
modality, learned from the part's *present* training entries only (a missing
entry is a placeholder the network replaces with a learned vector):

``image``
    Per-channel mean and standard deviation (set in the CNN's
    :class:`~plugins.neural.cnn.net.ChannelStandardize`); images pass as they are.
``text``
    A word-level :class:`~plugins.neural.tokenizer.Tokenizer`; token ids.
``sequence``
    :class:`~plugins.neural.sequence.batches.SequenceScaler`, truncation.
``tabular``
    The ``mlp`` estimator's preprocessing (scaled, clipped numeric columns;
    categorical codes).

:class:`FusionDataset` yields row positions and its :meth:`FusionDataset.collate`
builds a flat tuple per batch: for every part in order its tensors (image:
``images``; text and sequence: padded ``values, lengths``; tabular:
``numeric, codes``) followed by its float ``present`` mask, then the target
when there is one. Importing this module does not import torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..cnn.base import channel_statistics
from ..sequence.batches import SequenceScaler, pad_arrays, truncate
from ..tokenizer import Tokenizer

__all__ = ["MODALITIES", "FusionDataset", "PartInputs", "fit_parts", "guess_modality",
           "make_dataset"]

MODALITIES = ("image", "text", "sequence", "tabular")
"""Modalities a fusion part may have."""


def guess_modality(values: Any) -> str:
    """The modality of a canonical part (when no context names it).

    Parameters
    ----------
    values : Any
        A DataFrame (tabular), a float ``(N, C, H, W)`` array (image), strings
        (text) or ``(T_i, F)`` arrays (sequence).

    Returns
    -------
    str
        One of :data:`MODALITIES`.

    """
    if isinstance(values, pd.DataFrame):
        return "tabular"
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu" and values.ndim == 4:
        return "image"
    entries = list(values)
    if entries and all(isinstance(v, str) for v in entries):
        return "text"
    return "sequence"


class PartInputs:
    """Fitted preprocessing of one part (numpy only, so it pickles and saves with skops).

    Parameters
    ----------
    modality : str
        One of :data:`MODALITIES`.
    max_length : int
        Most tokens (text) or steps (sequence) kept per entry.
    vocab_size : int
        Most token ids of a text part.

    """

    def __init__(self, modality: str, max_length: int = 64, vocab_size: int = 5000) -> None:
        if modality not in MODALITIES:
            raise ValueError(f"part modality must be one of {MODALITIES}, got {modality!r}")
        self.modality = modality
        self.max_length = int(max_length)
        self.vocab_size = int(vocab_size)

    def fit(self, values: Any, present: np.ndarray) -> PartInputs:
        """Learn the encoding from the present entries of ``values``.

        Parameters
        ----------
        values : Any
            The part in canonical form.
        present : ndarray of bool
            False where the row lacks this part.

        Returns
        -------
        self
            The fitted preprocessing.

        """
        rows = np.flatnonzero(present)
        if not len(rows):
            rows = np.arange(len(present))
        if self.modality == "image":
            images = np.asarray(values, dtype=np.float32)[rows]
            self.mean_, self.std_ = channel_statistics(images)
            self.shape_ = tuple(int(s) for s in np.shape(values)[1:])
        elif self.modality == "text":
            texts = [str(values[i]) for i in rows]
            self.tokenizer_ = Tokenizer(level="word", vocab_size=self.vocab_size,
                                        max_length=self.max_length).fit(texts)
        elif self.modality == "sequence":
            self.scaler_ = SequenceScaler().fit([values[i] for i in rows])
            self.n_features_ = int(np.shape(values[int(rows[0])])[1])
        else:
            from ..mlp.estimators import _TabularMLP

            self.table_ = _TabularMLP()
            frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(values)
            self.table_._fit_preprocessing(frame.iloc[rows])
        return self

    def encode(self, values: Any) -> Any:
        """Encode the part for :class:`FusionDataset`.

        Parameters
        ----------
        values : Any
            The part in canonical form.

        Returns
        -------
        Any
            Images float32 ``(N, C, H, W)``; a list of int64 token arrays; a
            list of float32 ``(T_i, F)`` arrays; or ``(numeric, codes)``.

        """
        if self.modality == "image":
            return np.ascontiguousarray(values, dtype=np.float32)
        if self.modality == "text":
            return self.tokenizer_.encode([str(v) for v in values])
        if self.modality == "sequence":
            return truncate(self.scaler_.transform(list(values)), self.max_length)
        frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(values)
        return self.table_._encode(frame)

    def network_config(self) -> dict[str, Any]:
        """Arguments of this part's encoder (see :class:`~plugins.neural.fusion.net.FusionNet`)."""
        if self.modality == "image":
            channels, height, width = self.shape_
            return {"modality": "image", "in_channels": channels, "height": height,
                    "width": width, "mean": list(self.mean_), "std": list(self.std_)}
        if self.modality == "text":
            return {"modality": "text", "vocab_size": int(self.tokenizer_.n_tokens_),
                    "n_features": None, "max_length": self.max_length}
        if self.modality == "sequence":
            return {"modality": "sequence", "vocab_size": None,
                    "n_features": self.n_features_, "max_length": self.max_length}
        table = self.table_
        n_numeric = len(table.numeric_columns_)
        cardinalities = [len(table.categories_[c]) + 2 for c in table.categorical_columns_]
        dims = [int(min(16, max(2, round(1.6 * c ** 0.56)))) for c in cardinalities]
        return {"modality": "tabular", "n_numeric": n_numeric,
                "cardinalities": cardinalities, "embedding_dims": dims}


class FusionDataset:
    """Rows of every encoded part (and the target) as a map-style dataset of positions.

    Parameters
    ----------
    modalities : sequence of str
        Modality of each part, in order.
    encoded : sequence
        Each part encoded by :meth:`PartInputs.encode`.
    present : sequence of ndarray of bool
        Present mask of each part.
    target : ndarray, optional
        One target per row.

    """

    def __init__(self, modalities: list[str], encoded: list[Any], present: list[np.ndarray],
                 target: np.ndarray | None = None) -> None:
        self.modalities = list(modalities)
        self.encoded = list(encoded)
        self.present = [np.asarray(p, dtype=np.float32) for p in present]
        self.target = target
        self.n_rows = len(self.present[0])

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, index: int) -> int:
        return int(index)

    def collate(self, rows: list[int]) -> tuple[Any, ...]:
        """Build the flat batch tuple of the rows ``rows`` (the DataLoader's ``collate_fn``).

        Parameters
        ----------
        rows : list of int
            Row positions.

        Returns
        -------
        tuple of torch.Tensor
            Every part's tensors and present mask, then the target if any.

        """
        import torch

        index = np.asarray(rows, dtype=np.int64)
        batch: list[Any] = []
        for modality, data, present in zip(self.modalities, self.encoded, self.present,
                                           strict=True):
            if modality == "image":
                batch.append(torch.from_numpy(data[index]))
            elif modality in ("text", "sequence"):
                padded, lengths = pad_arrays([data[i] for i in index])
                batch += [torch.from_numpy(padded), torch.from_numpy(lengths)]
            else:
                numeric, codes = data
                batch += [torch.from_numpy(numeric[index]), torch.from_numpy(codes[index])]
            batch.append(torch.from_numpy(present[index]))
        if self.target is not None:
            batch.append(torch.from_numpy(np.asarray(self.target)[index]))
        return tuple(batch)


def fit_parts(data: Any, modalities: list[tuple[str, str]], text_max_length: int,
              sequence_max_length: int, vocab_size: int) -> list[PartInputs]:
    """Fit one :class:`PartInputs` per part of a ``MultimodalData``.

    Parameters
    ----------
    data : MultimodalData
        Training rows.
    modalities : list of (name, modality)
        Parts in network order.
    text_max_length, sequence_max_length : int
        Tokens of a text and steps of a sequence kept.
    vocab_size : int
        Most token ids of a text part.

    Returns
    -------
    list of PartInputs
        Fitted on each part's present entries.

    """
    inputs = []
    for name, modality in modalities:
        length = text_max_length if modality == "text" else sequence_max_length
        present = np.asarray(data.present[name], dtype=bool)
        inputs.append(PartInputs(modality, length, vocab_size).fit(data.parts[name], present))
    return inputs


def make_dataset(names: list[str], inputs: list[PartInputs], data: Any,
                 target: np.ndarray | None = None) -> FusionDataset:
    """Encode the parts ``names`` of ``data`` into a :class:`FusionDataset`.

    Parameters
    ----------
    names : list of str
        Parts in network order.
    inputs : list of PartInputs
        Their fitted preprocessing.
    data : MultimodalData
        Rows to encode.
    target : ndarray, optional
        One target per row.

    Returns
    -------
    FusionDataset
        The rows, ready for batching.

    Raises
    ------
    ValueError
        When ``data`` does not have exactly the parts ``names``.

    """
    if sorted(data.parts) != sorted(names):
        raise ValueError(f"X has parts {sorted(data.parts)}, but the model was fitted "
                         f"on {sorted(names)}")
    encoded = [part.encode(data.parts[n]) for n, part in zip(names, inputs, strict=True)]
    present = [np.asarray(data.present[n], dtype=bool) for n in names]
    return FusionDataset([part.modality for part in inputs], encoded, present, target)
