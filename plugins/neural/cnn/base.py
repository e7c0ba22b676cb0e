"""What the image estimators share: input checks, targets, augmentation, training, prediction.

:class:`ImageEstimatorBase` holds the machinery of every torch image
estimator of the project (the ``cnn`` spec's :mod:`plugins.neural.cnn.estimators`
and the transfer-learning estimators of :mod:`plugins.neural.transfer.estimators`);
:class:`ImageClassifierOutputs` and :class:`ImageRegressorOutputs` add the
target encoding and the ``predict``/``predict_proba`` of each task. Fitted
state is numpy arrays and plain Python values (the torch module is rebuilt on
demand and dropped when pickled), so the estimators travel between processes
and save with skops. Importing this module does not import torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._torch_estimator import (
    TorchClassifierMixin,
    TorchEstimator,
    TorchRegressorMixin,
    as_target,
)
from .._training import MIN_BATCH_ROWS

__all__ = [
    "MIN_BATCH_ROWS",
    "MIN_PLANNED_EPOCHS",
    "PLAN_SHARE",
    "TIMING_BATCHES",
    "ImageClassifierOutputs",
    "ImageEstimatorBase",
    "ImageRegressorOutputs",
    "as_images",
    "channel_statistics",
]

TIMING_BATCHES = 3
"""Under a time limit, batches a throwaway network trains on (two epochs; the
second is timed, the first also pays one-off start-up costs) to price an epoch."""

PLAN_SHARE = 0.85
"""Share of the time left that the planned epochs may fill (epochs vary)."""

MIN_PLANNED_EPOCHS = 3
"""Epochs trained under a time limit even when start-up costs ate the time left,
provided that many fit the whole limit."""


def as_images(X: Any, expected: tuple[int, ...] | None = None, what: str = "X") -> np.ndarray:
    """Check images and return them as a C-contiguous float32 ``(N, C, H, W)`` array.

    Parameters
    ----------
    X : array-like
        ``(N, C, H, W)`` images (channels first, the form ``AutoML`` hands its
        models) or ``(N, H, W)`` grey images.
    expected : tuple of int, optional
        The ``(C, H, W)`` the model was fitted on.
    what : str, default="X"
        Name used in error messages.

    Returns
    -------
    ndarray of float32
        The images.

    Raises
    ------
    ValueError
        For a wrong number of axes, non-numeric, empty or non-finite input,
        or images of another shape than ``expected``.

    """
    array = np.asarray(X)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise ValueError(f"{what} must be images of shape (N, C, H, W) or (N, H, W), "
                         f"got shape {array.shape}")
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{what} images must be numeric, got dtype {array.dtype}")
    if len(array) == 0:
        raise ValueError(f"{what} is empty: 0 images")
    images = np.ascontiguousarray(array, dtype=np.float32)
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{what} holds NaN or infinite pixels; fill or drop those images")
    if expected is not None and tuple(images.shape[1:]) != tuple(expected):
        raise ValueError(f"{what} holds images of shape (C, H, W) = {images.shape[1:]}, but "
                         f"the model was fitted on {tuple(expected)}; resize them first")
    return images


def channel_statistics(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of ``(N, C, H, W)`` images.

    Parameters
    ----------
    images : ndarray
        Training images.

    Returns
    -------
    mean, std : list of float
        One value per channel; a constant channel gets std 1.

    """
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    std = images.std(axis=(0, 2, 3), dtype=np.float64)
    std = np.where(std > 1e-6, std, 1.0)
    return [float(v) for v in mean], [float(v) for v in std]


class ImageEstimatorBase(TorchEstimator):
    """Shared fit/predict machinery of the torch image estimators (not used directly).

    Subclasses define ``__init__`` with their parameters (at least
    ``batch_size``, ``learning_rate``, ``weight_decay``, ``schedule``,
    ``max_epochs``, ``patience``, ``validation_fraction``, ``grad_clip``,
    ``shift``, ``flip``, ``rotation``, ``color_jitter``, ``eval_batch_size``,
    ``device``, ``precision``, ``n_threads``, ``time_limit`` and
    ``random_state``), ``fit`` and ``_build_module``.
    """

    # -- pieces for fit ------------------------------------------------------

    def _prepare(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
        """Checked images, encoded target and output count; sets the input attributes."""
        images = as_images(X)
        target, n_outputs = self._encode_target(as_target(y, len(images), "image"))
        self.__dict__.pop("planned_epochs_", None)  # from an earlier fit
        self.input_shape_ = tuple(int(s) for s in images.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.channel_mean_, self.channel_std_ = channel_statistics(images)
        return images, target, n_outputs

    def _augmenter(self, seed: int) -> Any:
        from .augment import ImageAugmenter, shift_pixels

        _, height, width = self.input_shape_
        return ImageAugmenter(
            shift=shift_pixels(min(height, width), float(self.shift)), flip=bool(self.flip),
            rotation=float(self.rotation), color_jitter=float(self.color_jitter),
            seed=seed + 1,
        )

    def _compute_loss(self, augmenter: Any) -> Callable[[Any, Any], Any]:
        """The loss of a batch ``(images, target)``; training batches are augmented."""
        from .._training import resolve_loss

        loss_fn = resolve_loss(None, self._task())

        def compute(model: Any, batch: Any) -> Any:
            images, target = batch
            if model.training:
                images = augmenter(images)
            return loss_fn(model(images), target)

        return compute

    def _train_within_time(self, make_network: Callable[[], Any], data: tuple[Any, ...],
                           settings: Any,
                           compute_loss: Callable[[Any, Any], Any]) -> list[tuple[str, Any]]:
        """Train, fitting the epochs to the time limit when there is one.

        With a time limit and enough images, a throwaway copy of the network
        first trains two epochs on :data:`TIMING_BATCHES` batches; the second
        epoch's speed prices a full epoch, and training then runs as many of
        ``max_epochs`` as fit in :data:`PLAN_SHARE` of the time left, with
        the schedule laid over those epochs (at least
        :data:`MIN_PLANNED_EPOCHS` when they fit the whole limit: start-up
        costs of a fresh process should not leave an untrained model). A
        decaying schedule that completes beats one cut off near its peak
        learning rate. Otherwise,
        one :func:`~plugins.neural._training.train_network` call, which
        stops at the limit with its best weights.
        """
        from .._training import train_network

        task = self._task()
        n_rows = len(data[0])
        timing_rows = TIMING_BATCHES * settings.batch_size
        if settings.time_limit is None or settings.max_epochs <= 2 \
                or n_rows < 4 * timing_rows:
            return [("train", train_network(make_network, data, settings, task=task,
                                            compute_loss=compute_loss))]
        started = time.monotonic()
        timing = train_network(
            make_network, tuple(part[:timing_rows] for part in data),
            replace(settings, max_epochs=2, validation_fraction=0.0, patience=None,
                    time_limit=None),
            task=task, compute_loss=compute_loss,
        )
        seconds_per_row = timing.history[-1].seconds / timing_rows
        valid = settings.validation_fraction
        epoch_seconds = seconds_per_row * n_rows * ((1 - valid) + valid / 3)  # eval: no backward
        epoch_seconds = max(epoch_seconds, 1e-9)
        limit = float(settings.time_limit)
        left = limit - (time.monotonic() - started)
        # one-off start-up costs (the first fit in a process) may eat the time left;
        # still train MIN_PLANNED_EPOCHS when that many fit the whole limit
        floor = min(MIN_PLANNED_EPOCHS, int(PLAN_SHARE * limit // epoch_seconds))
        planned = max(int(PLAN_SHARE * left // epoch_seconds), floor)
        self.planned_epochs_ = max(1, min(int(settings.max_epochs), planned))
        seconds = max(left, self.planned_epochs_ * epoch_seconds / PLAN_SHARE)
        result = train_network(
            make_network, data,
            replace(settings, max_epochs=self.planned_epochs_, time_limit=seconds),
            task=task, compute_loss=compute_loss,
        )
        return [("train", result)]

    # -- prediction ----------------------------------------------------------

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        images = as_images(X, self.input_shape_)
        return self._network_outputs((images,), batch_size=int(self.eval_batch_size))


class ImageClassifierOutputs(TorchClassifierMixin):
    """Label encoding, ``predict_proba`` and ``predict`` of the image classifiers."""

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        if len(np.unique(y)) < 2:
            raise ValueError(f"y holds a single class {np.unique(y).tolist()}; a classifier "
                             "needs at least two")
        return super()._encode_target(y)


ImageRegressorOutputs = TorchRegressorMixin
"""Target standardisation and ``predict`` of the image regressors."""
