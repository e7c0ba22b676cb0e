"""Several modalities per row: ``fit({"image": images, "text": texts, "tabular": table}, y)``.

Each part of the dict is one modality (named by its key when the key is a
modality name, detected from the values otherwise), validated by that
modality's own schema. Every part holds one entry per row; an entry may be
missing (``None`` for an image, sequence or text, NaN for a text, an image
of NaN only, a table row of NaN only). Missing entries are filled with a
neutral value (zeros, a placeholder text) and flagged in
:attr:`MultimodalData.present`, so a fusion model can tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Schema, as_frame
from automl.modalities import SCHEMAS, detect_modality

MISSING_TEXT = "[missing]"
"""Placeholder given to a missing text (its ``present`` flag is False)."""


@dataclass(frozen=True)
class MultimodalData:
    """Rows of several modalities in canonical form, with which entries were given.

    Attributes
    ----------
    parts : dict
        Part name -> the modality's canonical form (see ``automl.modalities``;
        a DataFrame for a table).
    present : dict
        Part name -> boolean array, False where the row's entry was missing.
    """

    parts: dict[str, Any]
    present: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.present.values())))

    def take(self, rows: np.ndarray) -> MultimodalData:
        """The rows ``rows`` of every part."""
        from automl.modalities import take

        return MultimodalData({n: take(p, rows) for n, p in self.parts.items()},
                              {n: p[rows] for n, p in self.present.items()})


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _entries(values: Any) -> list[Any]:
    if isinstance(values, pd.Series | pd.Index):
        return values.tolist()
    if isinstance(values, np.ndarray) and values.dtype.kind in "OU":
        return values.tolist()
    return list(values)


def _part_modality(name: str, values: Any) -> str:
    if name in SCHEMAS or name == "tabular":
        return name
    if isinstance(values, list | tuple) or (isinstance(values, np.ndarray)
                                            and values.dtype.kind == "O"):
        present = [v for v in _entries(values) if not _is_missing(v)]
        if present and all(isinstance(v, str) for v in present):
            return "text"
        if present and all(np.ndim(v) == 2 for v in present):
            return "sequence"
        if present and all(np.ndim(v) in (2, 3) for v in present):
            return "image"
    return detect_modality(values)


def _fill(modality: str, values: Any, what: str, template: Any = None) -> tuple[Any, np.ndarray]:
    """The part with missing entries filled, and the present mask.

    ``template`` shapes the filler of a part whose entries are all missing
    (allowed at predict time only).
    """
    if modality == "tabular":
        frame, _ = as_frame(values, what)
        return frame, ~frame.isna().all(axis=1).to_numpy()
    if modality == "image" and isinstance(values, np.ndarray) and values.dtype.kind != "O":
        if values.dtype.kind != "f":
            return values, np.ones(len(values), dtype=bool)
        flat = values.reshape(len(values), -1)
        missing = np.isnan(flat).all(axis=1) if flat.shape[1] else np.zeros(len(values), bool)
        filled = values.copy()
        filled[missing] = 0.0
        return filled, ~missing
    if modality == "sequence" and isinstance(values, np.ndarray) and values.dtype.kind != "O":
        return values, np.ones(len(values), dtype=bool)
    entries = _entries(values)
    missing = np.array([_is_missing(v) for v in entries], dtype=bool)
    if missing.all() and template is None:
        raise ValueError(f"{what} has no entries at all; drop this modality")
    if modality == "text":
        return [MISSING_TEXT if m else v for v, m in zip(entries, missing, strict=True)], \
            ~missing
    shape = np.shape(entries[int(np.flatnonzero(~missing)[0])]) if not missing.all() \
        else template
    blank = np.zeros((1, shape[1]) if modality == "sequence" else shape, dtype=np.float32)
    return [blank if m else v for v, m in zip(entries, missing, strict=True)], ~missing


@dataclass(frozen=True)
class MultimodalSchema:
    """The parts seen in fit, each with its modality's schema.

    Attributes
    ----------
    parts : tuple of (name, schema) pairs
        In the order given at fit time.
    """

    parts: tuple[tuple[str, Any], ...]
    modality: str = "multimodal"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Empty: each part has its own shape (see :attr:`parts`)."""
        return ()

    @classmethod
    def infer(cls, X: Any) -> MultimodalSchema:
        """Learn the parts of training data given as a dict of modalities."""
        parts = _check_parts(X, "X")
        schemas = []
        for name, values in parts.items():
            modality = _part_modality(name, values)
            filled, _ = _fill(modality, values, f"X[{name!r}]")
            if modality == "tabular":
                schema: Any = Schema.infer(filled, from_array=not isinstance(values,
                                                                             pd.DataFrame))
            else:
                schema = SCHEMAS[modality].infer(filled)
            schemas.append((name, schema))
        return cls(tuple(schemas))

    def transform(self, X: Any, what: str = "X") -> MultimodalData:
        """Check every part against its fitted schema and return canonical rows."""
        parts = _check_parts(X, what)
        names = [name for name, _ in self.parts]
        if sorted(parts) != sorted(names):
            raise ValueError(f"{what} has parts {sorted(parts)}, but the model was fitted on "
                             f"{sorted(names)}; pass the same parts (None entries for "
                             "missing rows)")
        canonical, present = {}, {}
        for name, schema in self.parts:
            filled, mask = _fill(schema.modality, parts[name], f"{what}[{name!r}]",
                                 template=_filler_shape(schema))
            canonical[name] = schema.transform(filled, f"{what}[{name!r}]")
            present[name] = mask
        return MultimodalData(canonical, present)


def _filler_shape(schema: Any) -> tuple[int, ...]:
    """Shape of one entry of a part, for filling a part missing from every row."""
    if schema.modality == "image":
        shape = (schema.height, schema.width, schema.channels)
        return shape if schema.channels_last else (schema.channels, schema.height,
                                                   schema.width)
    if schema.modality == "sequence":
        return (1, schema.n_features)
    return ()


def _check_parts(X: Any, what: str) -> dict[str, Any]:
    if not isinstance(X, Mapping) or not X:
        raise ValueError(f"{what} must be a non-empty dict of modalities, e.g. "
                         "{'image': images, 'text': texts, 'tabular': table}")
    lengths = {str(name): len(values) for name, values in X.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise ValueError(f"{what} has modalities of different lengths: {listed}; pass one "
                         "entry per row in each (None where a row lacks that modality)")
    return {str(name): values for name, values in X.items()}
