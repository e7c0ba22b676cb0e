"""What a training run is asked to do and what it reports.

:class:`TrainSettings` holds every knob of :func:`~plugins.neural._training.train_network`
(``max_epochs`` is the fidelity); :class:`EpochRecord` and :class:`TrainResult`
are what a run reports, with one of :data:`STOP_REASONS` saying why it ended.
Part of :mod:`plugins.neural._training`; import from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from torch import nn

from .optim import SCHEDULES
from .runtime import PRECISIONS

__all__ = ["MIN_VALIDATION_ROWS", "STOP_REASONS", "EpochRecord", "StopReason", "TrainResult",
           "TrainSettings"]

StopReason = Literal["max_epochs", "early_stopping", "time_limit", "diverged", "callback"]
"""Why a run ended: all epochs done, no validation improvement for ``patience``
epochs, out of time, the loss became NaN or infinite after a good epoch, or
the ``on_epoch_end`` callback asked to stop."""

STOP_REASONS: tuple[StopReason, ...] = ("max_epochs", "early_stopping", "time_limit",
                                        "diverged", "callback")
"""Every :data:`StopReason`."""

MIN_VALIDATION_ROWS = 5
"""A carved validation split smaller than this is not used (no early stopping)."""


@dataclass(frozen=True)
class TrainSettings:
    """Every knob of :func:`train_network`; models map their hyperparameters onto it.

    Parameters
    ----------
    max_epochs : int, default=100
        Most passes over the training rows; the fidelity of neural specs.
    batch_size : int, default=128
        Rows per optimizer step.
    learning_rate : float, default=1e-3
        Peak AdamW learning rate.
    weight_decay : float, default=1e-4
        Decoupled (AdamW) weight decay on weights with two or more dimensions.
    l1 : float, default=0.0
        Strength of an L1 penalty on the same weights (0 disables it).
    grad_clip : float or None, default=1.0
        Clip the global gradient norm to this value; None disables clipping.
    schedule : {"cosine", "onecycle", "constant"}, default="cosine"
        Learning-rate schedule over ``max_epochs`` (see :func:`make_scheduler`).
    validation_fraction : float, default=0.1
        Share of the training rows held out (seeded; stratified for
        classification) for early stopping and best-weight selection, when
        ``train_network`` is not given a validation set. 0 disables it;
        a split under :data:`MIN_VALIDATION_ROWS` rows is not used.
    patience : int or None, default=10
        Stop after this many epochs without a validation improvement; None
        trains all epochs (the best weights are still restored).
    min_delta : float, default=1e-4
        Relative improvement of the validation loss that counts.
    time_limit : float or None, default=None
        Seconds for the whole call, checked between batches; when it passes,
        training stops and keeps the best weights so far.
    device : str, default="auto"
        See :func:`resolve_device`.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        See :func:`amp_dtype`; fp16 uses a gradient scaler.
    seed : int, default=0
        Seeds initialisation, dropout, shuffling and the validation split.
    n_threads : int or None, default=1
        Torch intra-op threads during the call (restored afterwards).
    deterministic : bool, default=True
        Request deterministic algorithms (see :func:`training_runtime`).
    eval_batch_size : int, default=1024
        Rows per batch when computing the validation loss.

    """

    max_epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    l1: float = 0.0
    grad_clip: float | None = 1.0
    schedule: str = "cosine"
    validation_fraction: float = 0.1
    patience: int | None = 10
    min_delta: float = 1e-4
    time_limit: float | None = None
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    n_threads: int | None = 1
    deterministic: bool = True
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        if int(self.max_epochs) != self.max_epochs or self.max_epochs < 1:
            raise ValueError(f"max_epochs must be a positive integer, got {self.max_epochs!r}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        object.__setattr__(self, "max_epochs", int(self.max_epochs))
        object.__setattr__(self, "batch_size", int(self.batch_size))
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.weight_decay < 0 or self.l1 < 0:
            raise ValueError("weight_decay and l1 must not be negative")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None, got {self.grad_clip!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must lie in [0, 1), got {self.validation_fraction!r}"
            )
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be positive or None, got {self.patience!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive or None, got {self.time_limit!r}")


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch did.

    Attributes
    ----------
    epoch : int
        1-based epoch number.
    train_loss : float
        Mean training loss over the epoch's rows (without the L1 term).
    val_loss : float or None
        Validation loss after the epoch (None without validation).
    learning_rate : float
        Learning rate of the first parameter group at the end of the epoch.
    seconds : float
        Wall-clock time of the epoch, validation included.

    """

    epoch: int
    train_loss: float
    val_loss: float | None
    learning_rate: float
    seconds: float


@dataclass
class TrainResult:
    """What :func:`train_network` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained network in eval mode, on ``device``, holding the best
        validation weights (or the last ones without validation).
    device : str
        Where it was trained.
    history : list of EpochRecord
        One record per completed epoch.
    best_epoch : int or None
        Epoch whose weights were kept (None without validation).
    best_val_loss : float or None
        Its validation loss.
    stop_reason : StopReason
        One of :data:`STOP_REASONS`: ``"max_epochs"``, ``"early_stopping"``,
        ``"time_limit"``, ``"diverged"`` (the loss became NaN or infinite after
        a good epoch) or ``"callback"``.
    seconds : float
        Wall-clock time of the whole call.
    n_train, n_valid : int
        Rows trained on and held out.

    """

    model: nn.Module
    device: str
    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    best_val_loss: float | None = None
    stop_reason: StopReason = "max_epochs"
    seconds: float = 0.0
    n_train: int = 0
    n_valid: int = 0

    @property
    def epochs(self) -> int:
        """Completed epochs."""
        return len(self.history)

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall-clock seconds of a completed epoch (NaN before the first)."""
        if not self.history:
            return float("nan")
        return float(np.mean([r.seconds for r in self.history]))
