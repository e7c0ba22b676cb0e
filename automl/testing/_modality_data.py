"""Small images, sequences and texts for model-spec tests; re-exported by :mod:`automl.testing`.

Each generator returns data in the canonical form the engine hands an
estimator (see :mod:`automl.modalities`), a target that the data can
predict, and the matching :class:`~automl.specs.Context`.
"""

from __future__ import annotations

import numpy as np

from automl.specs import Context

__all__ = ["NON_TABULAR", "make_modality_data"]

NON_TABULAR = ("image", "sequence", "text", "multimodal")
"""The modalities :func:`make_modality_data` generates."""

_N_CLASSES = {"binary": 2, "multiclass": 3}
_WORDS = ("red", "green", "blue", "cat", "dog", "bird", "runs", "sleeps", "eats", "big",
          "small", "old", "new", "the", "a", "near", "far", "fast", "slow", "home")
_SIGNAL_WORDS = ("alpha", "beta", "gamma")


def _target(task: str, score: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels or targets from a per-row score, with every class present."""
    if task == "regression":
        return (score + 0.1 * rng.standard_normal(len(score))).astype(np.float64)
    k = _N_CLASSES[task]
    edges = np.quantile(score, np.linspace(0, 1, k + 1)[1:-1])
    y = np.searchsorted(edges, score).astype(np.int64)
    y[:k] = np.arange(k)  # every class present even on tiny samples
    return y


def _images(n_rows: int, rng: np.random.Generator, channels: int,
            size: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.random((n_rows, channels, size, size)).astype(np.float32)
    half = size // 2
    strength = rng.random(n_rows).astype(np.float32)
    X[:, :, :half, :half] += 2.0 * strength[:, None, None, None]  # a bright corner
    return X, strength


def _sequences(n_rows: int, rng: np.random.Generator,
               n_features: int) -> tuple[list[np.ndarray], np.ndarray]:
    lengths = rng.integers(4, 16, size=n_rows)
    X, score = [], np.empty(n_rows)
    for i, length in enumerate(lengths):
        values = rng.standard_normal((length, n_features)).astype(np.float32)
        trend = rng.standard_normal()
        values[:, 0] += trend * np.linspace(-1, 1, length, dtype=np.float32)
        X.append(values)
        score[i] = trend
    return X, score


def _texts(n_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    texts, score = [], np.empty(n_rows)
    for i in range(n_rows):
        words = list(rng.choice(_WORDS, size=rng.integers(3, 10)))
        signal = int(rng.integers(len(_SIGNAL_WORDS)))
        words.insert(int(rng.integers(len(words) + 1)), _SIGNAL_WORDS[signal])
        texts.append(" ".join(words))
        score[i] = signal + 0.3 * rng.random()
    return np.asarray(texts, dtype=object), score


def _multimodal(task: str, n_rows: int, seed: int, n_threads: int,
                rng: np.random.Generator) -> tuple[object, np.ndarray, Context]:
    import pandas as pd

    from automl.data import context_for
    from automl.multimodal import MultimodalSchema

    images, bright = _images(n_rows, rng, 1, 8)
    texts, signal = _texts(n_rows, rng)
    table = pd.DataFrame({"x": rng.standard_normal(n_rows),
                          "color": rng.choice(["red", "blue"], n_rows).astype(object)})
    y = _target(task, bright + signal / 2 + 0.3 * table["x"].to_numpy(), rng)
    image_list: list[object] = list(images)
    text_list: list[object] = list(texts)
    image_list[3] = None  # a row without its image, one without its text
    text_list[5] = None
    parts = {"image": image_list, "text": text_list, "tabular": table}
    schema = MultimodalSchema.infer(parts)
    ctx = context_for(schema, task=task, n_rows=n_rows, n_classes=_N_CLASSES.get(task),
                      seed=seed, n_threads=n_threads, device="cpu")
    return schema.transform(parts), y, ctx


def make_modality_data(
    modality: str, task: str, n_rows: int = 120, seed: int = 0, *, n_threads: int = 1,
    channels: int = 1, image_size: int = 8, n_features: int = 3,
) -> tuple[object, np.ndarray, Context]:
    """Generate small images, sequences or texts, their target and the ``Context``.

    ========= =============================================================
    modality  data and signal
    ========= =============================================================
    image     float32 ``(N, C, S, S)`` uniform noise; the brightness of the
              top-left quarter sets the target
    sequence  a list of float32 ``(T_i, F)`` arrays, ``T_i`` in 4..15; the
              trend of channel 0 sets the target
    text      an object array of strings of 4 to 10 words; which of three
              signal words a text holds sets the target, and predict-time
              texts may hold words never seen in fit
    multimodal a :class:`~automl.multimodal.MultimodalData` of an image, a
              text and a small table per row, each carrying part of the
              signal, with some entries missing
    ========= =============================================================

    Parameters
    ----------
    modality : {"image", "sequence", "text", "multimodal"}
        What to generate.
    task : {"binary", "multiclass", "regression"}
        Target to generate. Multiclass has 3 classes, every one present.
    n_rows : int, default=120
        Rows (at least 12).
    seed : int, default=0
        Seed of the data and of ``ctx.seed``.
    n_threads : int, default=1
        ``ctx.n_threads``.
    channels : int, default=1
        Image channels (1 or 3).
    image_size : int, default=8
        Image height and width.
    n_features : int, default=3
        Features per sequence step.

    Returns
    -------
    X : ndarray or list of ndarray
        The data in canonical form.
    y : ndarray
        Encoded labels ``0 .. n_classes-1`` (int64) or float64 targets.
    ctx : automl.specs.Context
        The matching context (``modality``, ``input_shape``, ``n_classes``).

    Raises
    ------
    ValueError
        For an unknown modality or task, or fewer than 12 rows.

    """
    if modality not in NON_TABULAR:
        raise ValueError(f"modality must be one of {NON_TABULAR}, got {modality!r}")
    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"task must be 'binary', 'multiclass' or 'regression', got {task!r}")
    if n_rows < 12:
        raise ValueError(f"n_rows must be at least 12, got {n_rows}")
    rng = np.random.default_rng(seed)
    if modality == "multimodal":
        return _multimodal(task, n_rows, seed, n_threads, rng)
    if modality == "image":
        X, score = _images(n_rows, rng, channels, image_size)
        shape: tuple[int, ...] = (channels, image_size, image_size)
    elif modality == "sequence":
        X, score = _sequences(n_rows, rng, n_features)
        shape = (n_features,)
    else:
        X, score = _texts(n_rows, rng)
        shape = ()
    y = _target(task, score, rng)
    ctx = Context(task=task, n_rows=n_rows, n_features=int(np.prod(shape)) if shape else 1,
                  n_classes=_N_CLASSES.get(task), seed=seed, n_threads=n_threads,
                  modality=modality, input_shape=shape)
    return X, y, ctx
