"""Inputs beyond tables: images, sequences and texts.

Each modality has a detector rule, a canonical form that model specs receive,
and a schema that checks predict-time input against what was fitted:

* image: ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` arrays (C in 1, 3, 4)
  -> float32 ``(N, C, H, W)``;
* sequence: ``(N, T, F)`` arrays or a list of ``(T_i, F)`` arrays -> a list of
  float32 ``(T_i, F)`` arrays;
* text: a list, tuple, 1-D array or Series of strings -> an object array of str.

A 3-D array is ambiguous (grey images or sequences): it is read as images when
its dtype is uint8 or its last two axes are equal, as sequences otherwise;
``AutoML(modality=...)`` settles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

MODALITIES = ("tabular", "image", "sequence", "text", "multimodal")
CHANNELS = (1, 3, 4)


def detect_modality(X: Any) -> str:
    """Guess the modality of user input (see the module docstring for the rules)."""
    if isinstance(X, dict) and not hasattr(X, "toarray"):  # a scipy dok_matrix is a dict
        return "multimodal"
    if isinstance(X, pd.DataFrame):
        return "tabular"
    if isinstance(X, pd.Series):
        return "text" if _all_strings(X.tolist()) else "tabular"
    if isinstance(X, list | tuple):
        if len(X) and all(isinstance(x, str) for x in X):
            return "text"
        if len(X) and all(isinstance(x, np.ndarray) and x.ndim == 2 for x in X):
            return "sequence"
        return "tabular"
    array = np.asarray(X) if not hasattr(X, "toarray") else None
    if array is None:
        return "tabular"
    if array.ndim == 1 and array.dtype.kind in "OU" and _all_strings(array.tolist()):
        return "text"
    if array.ndim == 4:
        return "image"
    if array.ndim == 3:
        square = array.shape[1] == array.shape[2]
        return "image" if array.dtype == np.uint8 or square else "sequence"
    return "tabular"


def _all_strings(values: Sequence[Any]) -> bool:
    return len(values) > 0 and all(isinstance(v, str) for v in values)


def _count_nan(values: np.ndarray) -> int:
    return int(np.isnan(values).sum()) if values.dtype.kind == "f" else 0


@dataclass(frozen=True)
class ImageSchema:
    """Shape of the fitted images; turns input into float32 ``(N, C, H, W)``."""

    channels: int
    height: int
    width: int
    channels_last: bool
    modality: str = "image"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(C, H, W)``."""
        return (self.channels, self.height, self.width)

    @classmethod
    def infer(cls, X: Any) -> ImageSchema:
        """Learn the layout of training images."""
        array = _image_array(X, "X")
        if array.ndim == 3:
            return cls(1, array.shape[1], array.shape[2], True)
        last, first = array.shape[3] in CHANNELS, array.shape[1] in CHANNELS
        if last:
            return cls(array.shape[3], array.shape[1], array.shape[2], True)
        if first:
            return cls(array.shape[1], array.shape[2], array.shape[3], False)
        raise ValueError(
            f"X has shape {array.shape}: images need 1, 3 or 4 channels on the last axis "
            "(N, H, W, C) or the second (N, C, H, W)"
        )

    def transform(self, X: Any, what: str = "X") -> np.ndarray:
        """Check images against the fitted shape and return float32 ``(N, C, H, W)``."""
        array = _image_array(X, what)
        if array.ndim == 3:
            array = array[..., None]
        if not self.channels_last:
            array = np.moveaxis(array, 1, -1)
        if array.shape[1:] != (self.height, self.width, self.channels):
            expected = (self.height, self.width, self.channels) if self.channels_last \
                else self.input_shape
            raise ValueError(f"{what} holds images of shape {tuple(np.shape(X))[1:]}, but the "
                             f"model was fitted on {expected}; resize them first")
        return np.ascontiguousarray(np.moveaxis(array, -1, 1), dtype=np.float32)


def _image_array(X: Any, what: str) -> np.ndarray:
    if isinstance(X, list | tuple):
        shapes = sorted({np.shape(x) for x in X})
        if len(shapes) > 1:
            raise ValueError(f"{what} holds images of mixed shapes {shapes[:5]}; "
                             "resize them to one shape first")
    array = np.asarray(X)
    if array.ndim not in (3, 4):
        raise ValueError(f"{what} must be images of shape (N, H, W), (N, H, W, C) or "
                         f"(N, C, H, W), got {array.shape}")
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{what} images must be numeric, got dtype {array.dtype}")
    if len(array) == 0:
        raise ValueError(f"{what} is empty: 0 images")
    bad = _count_nan(array) + (int(np.isinf(array).sum()) if array.dtype.kind == "f" else 0)
    if bad:
        raise ValueError(f"{what} images hold {bad} NaN or infinite pixels; "
                         "fill or drop those images")
    return array


@dataclass(frozen=True)
class SequenceSchema:
    """Feature count of the fitted sequences; returns a list of float32 ``(T_i, F)``."""

    n_features: int
    modality: str = "sequence"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(F,)``."""
        return (self.n_features,)

    @classmethod
    def infer(cls, X: Any) -> SequenceSchema:
        """Learn the feature count of training sequences."""
        return cls(_sequences(X, "X")[0].shape[1])

    def transform(self, X: Any, what: str = "X") -> list[np.ndarray]:
        """Check sequences against the fitted feature count."""
        sequences = _sequences(X, what)
        counts = sorted({s.shape[1] for s in sequences})
        if counts != [self.n_features]:
            raise ValueError(f"{what} has sequences with {counts} features, but the model was "
                             f"fitted on {self.n_features}")
        return sequences


def _sequences(X: Any, what: str) -> list[np.ndarray]:
    if isinstance(X, np.ndarray) and X.ndim == 3:
        items = list(X)
    elif isinstance(X, list | tuple):
        items = [np.asarray(x) for x in X]
    else:
        raise ValueError(f"{what} must be an (N, T, F) array or a list of (T, F) arrays")
    if not items:
        raise ValueError(f"{what} is empty: 0 sequences")
    bad = [i for i, s in enumerate(items) if s.ndim != 2 or s.shape[0] == 0]
    if bad:
        raise ValueError(f"{what} sequences {bad[:5]} are not non-empty (T, F) arrays")
    counts = sorted({s.shape[1] for s in items})
    if len(counts) > 1:
        raise ValueError(f"{what} has sequences with different feature counts {counts}; "
                         "every sequence needs the same features")
    out = []
    for i, s in enumerate(items):
        values = np.asarray(s, dtype=np.float32)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{what} sequence {i} holds NaN or infinite values; "
                             "fill or drop them")
        out.append(values)
    return out


@dataclass(frozen=True)
class TextSchema:
    """Texts carry no fitted shape; returns an object array of str."""

    modality: str = "text"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Empty: texts have no fixed shape."""
        return ()

    @classmethod
    def infer(cls, X: Any) -> TextSchema:
        """Check the training texts."""
        _texts(X, "X")
        return cls()

    def transform(self, X: Any, what: str = "X") -> np.ndarray:
        """Check texts and return them as an object array."""
        return _texts(X, what)


def _texts(X: Any, what: str) -> np.ndarray:
    values = X.tolist() if isinstance(X, pd.Series | np.ndarray) else list(X)
    if not values:
        raise ValueError(f"{what} is empty: 0 texts")
    not_text = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if not_text:
        raise ValueError(f"{what} rows {not_text[:5]} are not strings; pass one string per row")
    empty = [i for i, v in enumerate(values) if not v.strip()]
    if empty:
        raise ValueError(f"{what} has {len(empty)} empty texts (rows {empty[:5]}); drop them "
                         "or put a placeholder word")
    return np.asarray(values, dtype=object)


SCHEMAS = {"image": ImageSchema, "sequence": SequenceSchema, "text": TextSchema}


def take(X: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` of any modality's canonical form."""
    from automl.multimodal import MultimodalData

    if isinstance(X, MultimodalData):
        return X.take(rows)
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    if isinstance(X, list):
        return [X[i] for i in rows]
    return X[rows]
