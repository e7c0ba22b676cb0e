"""The ``cnn`` estimators: :class:`ImageCNNClassifier` and :class:`ImageCNNRegressor`.

A small residual network (:class:`plugins.neural.cnn.net.ResidualCNN`) whose
first layer standardises each channel with the mean and standard deviation of
the training images, so pixels may come as 0..1, 0..16 or 0..255. Training is
:func:`plugins.neural._training.train_network` (AdamW, optional L1, gradient
clipping, a cosine or one-cycle schedule, early stopping on a seeded,
stratified validation split with the best weights restored); training batches
only are augmented (:class:`plugins.neural.cnn.augment.ImageAugmenter`: shifts,
flips, rotations, colour jitter). Regression targets are standardised for
training. Fitted state is numpy arrays (``weights_``) and plain values, so the
estimators pickle and save with skops. Importing this module does not import
torch. :mod:`plugins.neural.cnn` re-exports the public names.
"""

from __future__ import annotations

from typing import Any

from .._torch_estimator import store_params
from .._training import document_training
from .base import (
    MIN_BATCH_ROWS,
    ImageClassifierOutputs,
    ImageEstimatorBase,
    ImageRegressorOutputs,
)

__all__ = [
    "CNN_MAX_EPOCHS",
    "CNN_PATIENCE",
    "MIN_BATCH_ROWS",
    "ImageCNNClassifier",
    "ImageCNNRegressor",
]

CNN_MAX_EPOCHS = 12
"""Most epochs when the config does not set the ``max_epochs`` fidelity: with a
one-cycle schedule the small default network reaches 0.99 on 8x8 digits in
12 epochs, and a trial of five folds has to fit in seconds on a CPU."""

CNN_PATIENCE = 6
"""Epochs without a validation improvement before training stops."""


class _ImageCNN(ImageEstimatorBase):
    """Shared constructor and fit of :class:`ImageCNNClassifier` and :class:`ImageCNNRegressor`."""

    def __init__(
        self,
        *,
        n_stages: int = 2,
        blocks_per_stage: int = 1,
        base_channels: int = 16,
        dropout: float = 0.1,
        learning_rate: float = 5e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        l1: float = 0.0,
        schedule: str = "onecycle",
        shift: float = 0.125,
        flip: bool = False,
        rotation: float = 0.0,
        color_jitter: float = 0.0,
        max_epochs: int = CNN_MAX_EPOCHS,
        patience: int | None = CNN_PATIENCE,
        validation_fraction: float = 0.1,
        grad_clip: float | None = 1.0,
        eval_batch_size: int = 512,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int = 1,
        time_limit: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def _check_params(self) -> None:
        for name in ("n_stages", "blocks_per_stage", "base_channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")

    def _build_module(self) -> Any:
        from .net import ResidualCNN

        config = dict(self.net_config_)
        return ResidualCNN(config.pop("in_channels"), config.pop("height"),
                           config.pop("width"), config.pop("n_outputs"), **config)

    def fit(self, X: Any, y: Any) -> _ImageCNN:
        """Train the network on images.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Training images, any value range.
        y : array-like of shape (N,)
            Class labels, or regression targets.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For bad images, mismatched or non-finite targets, or bad parameters.
        DeviceOutOfMemoryError
            When the device runs out of memory (lower ``batch_size``).

        """
        self._check_params()
        images, target, n_outputs = self._prepare(X, y)
        channels, height, width = self.input_shape_
        self.net_config_ = {
            "in_channels": channels, "height": height, "width": width,
            "n_outputs": int(n_outputs), "n_stages": int(self.n_stages),
            "blocks_per_stage": int(self.blocks_per_stage),
            "base_channels": int(self.base_channels), "dropout": float(self.dropout),
        }
        mean, std = self.channel_mean_, self.channel_std_

        def make_network() -> Any:
            net = self._build_module()
            net.standardize.set_statistics(mean, std)
            return net

        seed = self._seed()
        results = self._train_within_time(
            make_network, (images, target), self._train_settings(len(images), seed),
            self._compute_loss(self._augmenter(seed)),
        )
        self._keep(results[-1][1].model, results)
        return self


@document_training
class ImageCNNClassifier(ImageClassifierOutputs, _ImageCNN):
    """Residual CNN image classifier with per-channel input standardisation and augmentation.

    See the module docstring for the network and the training.

    Parameters
    ----------
    n_stages : int, default=2
        Resolution stages; each stage after the first halves the resolution
        and doubles the width.
    blocks_per_stage : int, default=1
        Residual blocks per stage.
    base_channels : int, default=16
        Width of the first stage.
    dropout : float, default=0.1
        Dropout before the head.
    {training parameters}
    shift : float, default=0.125
        Largest random shift of a training image, as a share of its shorter
        side (pad and random crop; 0 disables it).
    flip : bool, default=False
        Mirror half the training images left to right (right for photographs,
        wrong for digits and text).
    rotation : float, default=0.0
        Largest random rotation of a training image in degrees.
    color_jitter : float, default=0.0
        Brightness, contrast and saturation jitter of RGB training images
        (ignored unless images have 3 channels).
    time_limit : float, optional
        Seconds for training: the epochs are cut to what fits, priced by a
        short timing run, so the schedule completes (``planned_epochs_``);
        past the limit training stops with the best weights.
    random_state : int, optional
        Seed of initialisation, batches, augmentation and the validation
        split; None draws one.

    Attributes
    ----------
    input_shape_ : tuple of int
        ``(C, H, W)`` of the training images.
    channel_mean_, channel_std_ : list of float
        Per-channel statistics of the training images (the network's first
        layer standardises with them).
    {fitted attributes}
    planned_epochs_ : int
        Epochs that fit the time limit (set only when one cut them).
    classes_ : ndarray
        Class labels, sorted.

    """


class ImageCNNRegressor(ImageRegressorOutputs, _ImageCNN):
    """Residual CNN image regressor with per-channel input standardisation and augmentation.

    Parameters and fitted attributes are those of :class:`ImageCNNClassifier`
    (without ``classes_``); the target is standardised for training.

    Attributes
    ----------
    target_mean_, target_scale_ : float
        Standardisation of the target.

    """
