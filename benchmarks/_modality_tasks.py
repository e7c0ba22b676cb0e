"""Image, sequence and text tasks made on the spot (no downloads), for benchmarks and tests.

=================  ========  ==========  =============================================
task               modality  task        what decides the label
=================  ========  ==========  =============================================
digits_rows        sequence  multiclass  scikit-learn digits, each image read as 8 steps
                                         of 8 features (its pixel rows)
spike_order        sequence  binary      whether the spike in channel 0 comes before the
                                         spike in channel 1 (lengths 20-60, noise
                                         elsewhere): per-channel summaries cannot tell
word_order         text      binary      whether "alpha" comes before "omega"; every
                                         text holds both among filler words, so a bag
                                         of words cannot tell
topic_words        text      multiclass  which of four topics most words come from: a
                                         bag of words does well
digits_images      image     multiclass  scikit-learn digits as 8 x 8 grey images
shifted_shapes     image     multiclass  which of three shapes is drawn at a random place
                                         of a noisy 16 x 16 image
=================  ========  ==========  =============================================

Labels are ``0 .. k-1``. :func:`make_task` builds a task by name, and
:func:`split_rows` gives the fixed 75/25 split of a seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

TASK_ROWS = 1500
"""Rows of the generated tasks (the digits tasks have 1797)."""


@dataclass(frozen=True)
class ModalityTask:
    """A generated task: inputs in a form ``AutoML`` detects, labels, description."""

    name: str
    modality: str
    task: str
    X: Any
    y: np.ndarray
    description: str

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return int(self.y.max()) + 1


def make_digits_rows(n_rows: int | None = None, seed: int = 0) -> tuple[list[np.ndarray],
                                                                        np.ndarray]:
    """Digits images as sequences: 8 steps (pixel rows) of 8 features, values 0-16.

    Parameters
    ----------
    n_rows : int, optional
        A random subset of this many digits; all 1,797 when None.
    seed : int, default=0
        Seed of the subset.

    Returns
    -------
    X : list of float32 ndarray of shape (8, 8)
    y : int64 ndarray, digits 0-9

    """
    from sklearn.datasets import load_digits

    images, y = load_digits(return_X_y=True)
    rows = _subset(len(y), n_rows, seed)
    sequences = [image.reshape(8, 8).astype(np.float32) for image in images[rows]]
    return sequences, y[rows].astype(np.int64)


def make_digits_images(n_rows: int | None = None, seed: int = 0) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Digits as float32 ``(N, 8, 8)`` grey images, values 0-16.

    Parameters
    ----------
    n_rows : int, optional
        A random subset of this many digits; all 1,797 when None.
    seed : int, default=0
        Seed of the subset.

    Returns
    -------
    X : float32 ndarray of shape (N, 8, 8)
    y : int64 ndarray, digits 0-9

    """
    from sklearn.datasets import load_digits

    images, y = load_digits(return_X_y=True)
    rows = _subset(len(y), n_rows, seed)
    return images[rows].reshape(-1, 8, 8).astype(np.float32), y[rows].astype(np.int64)


def _subset(n: int, n_rows: int | None, seed: int) -> np.ndarray:
    if n_rows is None or n_rows >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=n_rows, replace=False))


def make_spike_order(n_rows: int = TASK_ROWS, seed: int = 0, *, noise: float = 0.5,
                     height: float = 3.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences of 3 noisy channels with one spike in channel 0 and one in channel 1.

    Lengths are 20-60 steps. The spikes are 1-4 steps apart, around a random
    step away from both ends; the label is 1 when channel 0 spikes first.
    Each channel's distribution of values is the same for both labels, and a
    spike moved by a few steps changes a channel's least-squares slope by
    about 1% of the noise's effect on it, so per-channel summaries stay
    near chance while the order is plain to a model of the sequence.

    Parameters
    ----------
    n_rows : int, default=TASK_ROWS
        Sequences to make.
    seed : int, default=0
        Seed of the data.
    noise : float, default=0.5
        Standard deviation of the Gaussian noise on every channel.
    height : float, default=3.0
        Height of each spike.

    Returns
    -------
    X : list of float32 ndarray of shape (T_i, 3)
    y : int64 ndarray, 1 when channel 0 spikes first

    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 61, size=n_rows)
    y = rng.integers(0, 2, size=n_rows)
    sequences = []
    for length, label in zip(lengths, y, strict=True):
        values = (noise * rng.standard_normal((length, 3))).astype(np.float32)
        gap = int(rng.integers(1, 5))
        centre = int(rng.integers(5, length - 5))
        early, late = centre - gap // 2, centre - gap // 2 + gap
        first_channel = 0 if label == 1 else 1
        values[early, first_channel] += height
        values[late, 1 - first_channel] += height
        sequences.append(values)
    return sequences, y.astype(np.int64)


_FILLER = ("the", "a", "one", "cold", "green", "river", "stone", "walks", "sings", "near",
           "under", "quick", "slow", "house", "tree", "light", "dark", "over", "with", "from",
           "bright", "small", "large", "old", "new", "city", "field", "rain", "wind", "fire",
           "sees", "takes", "gives", "round", "sharp", "soft", "blue", "red", "far", "close")


def make_word_order(n_rows: int = TASK_ROWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Texts of 6-14 filler words holding "alpha" and "omega"; label 1: alpha first.

    At least one filler word separates the two markers, so no word bigram holds
    both; every text has the same two markers, so word counts say nothing.

    Parameters
    ----------
    n_rows : int, default=TASK_ROWS
        Texts to make.
    seed : int, default=0
        Seed of the texts.

    Returns
    -------
    X : object ndarray of str
    y : int64 ndarray, 1 when "alpha" comes first

    """
    rng = np.random.default_rng(seed)
    texts, y = [], rng.integers(0, 2, size=n_rows)
    for label in y:
        words = list(rng.choice(_FILLER, size=int(rng.integers(6, 15))))
        first, second = sorted(rng.choice(len(words) + 1, size=2, replace=False))
        # inserting at `second + 1` after `first` keeps at least one word between them
        markers = ("alpha", "omega") if label == 1 else ("omega", "alpha")
        words.insert(int(first), markers[0])
        words.insert(int(second) + 1, markers[1])
        texts.append(" ".join(words))
    return np.asarray(texts, dtype=object), y.astype(np.int64)


def _pseudo_words(count: int, rng: np.random.Generator) -> list[str]:
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        syllables = int(rng.integers(2, 4))
        words.add("".join(rng.choice(list(consonants)) + rng.choice(list(vowels))
                          for _ in range(syllables)))
    return sorted(words)


def make_topic_words(n_rows: int = TASK_ROWS, seed: int = 0, *, n_topics: int = 4,
                     topic_share: float = 0.25,
                     confusion: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Texts of 10-30 pseudo-words; about a quarter come from the label's topic list.

    Each topic has 25 words, and there are 200 general words (one vocabulary,
    seed-independent). A topic word is taken from another topic's list with
    probability ``confusion``, so single words mislead and counts decide.

    Parameters
    ----------
    n_rows : int, default=TASK_ROWS
        Texts to make.
    seed : int, default=0
        Seed of the texts (not of the vocabulary, which is fixed).
    n_topics : int, default=4
        Classes.
    topic_share : float, default=0.25
        Probability that a word is a topic word.
    confusion : float, default=0.3
        Probability that a topic word comes from a random topic's list.

    Returns
    -------
    X : object ndarray of str
    y : int64 ndarray, topics ``0 .. n_topics-1``

    """
    vocabulary = _pseudo_words(n_topics * 25 + 200, np.random.default_rng(12345))
    topics = [vocabulary[25 * k: 25 * (k + 1)] for k in range(n_topics)]
    general = vocabulary[25 * n_topics:]
    rng = np.random.default_rng(seed)
    texts, y = [], rng.integers(0, n_topics, size=n_rows)
    for label in y:
        words = []
        for _ in range(int(rng.integers(10, 31))):
            if rng.random() < topic_share:
                topic = label if rng.random() >= confusion else int(rng.integers(n_topics))
                words.append(str(rng.choice(topics[topic])))
            else:
                words.append(str(rng.choice(general)))
        texts.append(" ".join(words))
    return np.asarray(texts, dtype=object), y.astype(np.int64)


def _shape_mask(kind: int, size: int) -> np.ndarray:
    mask = np.zeros((size, size), dtype=np.float32)
    middle = size // 2
    if kind == 0:  # plus
        mask[middle, :] = mask[:, middle] = 1.0
    elif kind == 1:  # square outline
        mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = 1.0
    else:  # diagonal line
        np.fill_diagonal(mask, 1.0)
    return mask


def make_shifted_shapes(n_rows: int = TASK_ROWS, seed: int = 0, *, image_size: int = 16,
                        shape_size: int = 5,
                        noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Grey ``(N, S, S)`` images: a plus, a square outline or a diagonal at a random place.

    Parameters
    ----------
    n_rows : int, default=TASK_ROWS
        Images to make.
    seed : int, default=0
        Seed of the images.
    image_size : int, default=16
        Height and width ``S``.
    shape_size : int, default=5
        Height and width of the drawn shape.
    noise : float, default=0.3
        Standard deviation of the Gaussian background noise.

    Returns
    -------
    X : float32 ndarray of shape (N, S, S)
    y : int64 ndarray, 0 plus, 1 square outline, 2 diagonal

    """
    rng = np.random.default_rng(seed)
    masks = [_shape_mask(kind, shape_size) for kind in range(3)]
    images = (noise * rng.standard_normal((n_rows, image_size, image_size))).astype(np.float32)
    y = rng.integers(0, 3, size=n_rows)
    corners = rng.integers(0, image_size - shape_size + 1, size=(n_rows, 2))
    for image, label, (top, left) in zip(images, y, corners, strict=True):
        image[top:top + shape_size, left:left + shape_size] += masks[label]
    return images, y.astype(np.int64)


_MAKERS: dict[str, tuple[str, str, Callable[..., tuple[Any, np.ndarray]], str]] = {
    "digits_rows": ("sequence", "multiclass", make_digits_rows,
                    "digits read as 8 steps of 8 features"),
    "spike_order": ("sequence", "binary", make_spike_order,
                    "does channel 0 spike before channel 1 (order matters)"),
    "word_order": ("text", "binary", make_word_order,
                   "does alpha come before omega (same words either way)"),
    "topic_words": ("text", "multiclass", make_topic_words,
                    "topic of pseudo-word texts (bag of words does well)"),
    "digits_images": ("image", "multiclass", make_digits_images, "digits as 8x8 images"),
    "shifted_shapes": ("image", "multiclass", make_shifted_shapes,
                       "which shape, drawn anywhere in a noisy 16x16 image"),
}
TASK_NAMES = tuple(_MAKERS)
"""Names :func:`make_task` knows, sequence tasks first, then text, then image."""
TASK_MODALITIES = {name: entry[0] for name, entry in _MAKERS.items()}
"""Task name -> modality."""


def make_task(name: str, n_rows: int | None = None, seed: int = 0) -> ModalityTask:
    """Build a task by name.

    Parameters
    ----------
    name : str
        One of :data:`TASK_NAMES`.
    n_rows : int, optional
        Rows to make (digits: a random subset); the task's default when None.
    seed : int, default=0
        Seed of the generated data (the digits subset).

    Returns
    -------
    ModalityTask
        The inputs, labels ``0 .. k-1`` and facts of the task.

    Raises
    ------
    ValueError
        For an unknown name.

    """
    if name not in _MAKERS:
        raise ValueError(f"unknown task {name!r}; known tasks: {list(TASK_NAMES)}")
    modality, task, maker, description = _MAKERS[name]
    kwargs: dict[str, Any] = {"seed": seed}
    if n_rows is not None:
        kwargs["n_rows"] = n_rows
    X, y = maker(**kwargs)
    return ModalityTask(name, modality, task, X, y, description)


def split_rows(y: np.ndarray, seed: int, test_size: float = 0.25) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """The stratified, shuffled 75/25 split of ``seed``.

    Parameters
    ----------
    y : ndarray
        Labels (the split is stratified on them).
    seed : int
        Seed of the shuffle.
    test_size : float, default=0.25
        Share of test rows.

    Returns
    -------
    train, test : ndarray of int
        Sorted row indices.

    """
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    train, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=y)
    return np.sort(train), np.sort(test)


def take_rows(X: Any, rows: np.ndarray) -> Any:
    """Rows of an array or of a list of sequences."""
    if isinstance(X, list):
        return [X[i] for i in rows]
    return X[rows]
