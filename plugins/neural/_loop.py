"""The training loop (:func:`train_network`) and its settings and result types.

Part of :mod:`plugins.neural._training`; import from there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ._batches import _as_tensors, _batch_rows, _is_dataset, _Source, _subset, validation_split
from ._optim import (
    SCHEDULES,
    _trainable,
    l1_penalty,
    make_optimizer,
    make_scheduler,
    resolve_loss,
)
from ._runtime import (
    PRECISIONS,
    amp_dtype,
    autocast,
    make_grad_scaler,
    oom_guard,
    resolve_device,
    training_runtime,
)

__all__ = ["EpochRecord", "TrainResult", "TrainSettings", "train_network"]

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
    stop_reason : str
        ``"max_epochs"``, ``"early_stopping"``, ``"time_limit"``,
        ``"diverged"`` (the loss became NaN or infinite after a good epoch) or
        ``"callback"``.
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
    stop_reason: str = "max_epochs"
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


def _default_compute_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Callable[[nn.Module, Any], torch.Tensor]:
    def compute(model: nn.Module, batch: Any) -> torch.Tensor:
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            raise ValueError(
                "the default loss needs batches (inputs..., target); pass compute_loss= "
                "for other data"
            )
        *inputs, target = batch
        return loss_fn(model(*inputs), target)

    return compute


def _evaluate(model: nn.Module, source: _Source, compute: Callable[[nn.Module, Any], Any],
              device: str, dtype: torch.dtype | None) -> float:
    model.eval()
    total, rows = 0.0, 0
    with torch.no_grad():
        for batch in source:
            with autocast(device, dtype):
                loss = compute(model, batch)
            n = _batch_rows(batch) or 1
            total += float(loss.detach().float()) * n
            rows += n
    return total / max(rows, 1)


def _stratify_labels(task: str | None, data: Any, stratify: Any) -> np.ndarray | None:
    if stratify is not None:
        return np.asarray(stratify)
    if task not in ("classification", "binary", "multiclass") or _is_dataset(data):
        return None
    target = _as_tensors(data)[-1]
    if target.ndim != 1 or target.is_floating_point():
        return None
    return target.cpu().numpy()


def train_network(
    model: nn.Module | Callable[[], nn.Module],
    data: Any,
    settings: TrainSettings,
    *,
    task: str | None = None,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    validation: Any = None,
    stratify: Sequence[Any] | np.ndarray | None = None,
    compute_loss: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    on_epoch_end: Callable[[EpochRecord, nn.Module], bool | None] | None = None,
) -> TrainResult:
    """Train a network: the one loop every neural model of the project uses.

    Per batch: forward and loss under autocast (CUDA only), plus
    ``settings.l1`` times :func:`l1_penalty`, backward (scaled for fp16),
    gradient-norm clipping, an AdamW step and a scheduler step. After each
    epoch the validation loss decides the best weights and early stopping.
    The time limit is checked before each batch (at least one step is always
    taken). Threads, seeds and determinism are set for the call only
    (:func:`training_runtime`).

    Parameters
    ----------
    model : torch.nn.Module or callable
        A factory ``() -> nn.Module`` (called after seeding, so the
        initialisation is repeatable), or a module to train further (a
        pretrained backbone; frozen parameters are not optimised).
    data : tuple of arrays/tensors, or torch Dataset
        Training data. With the default ``compute_loss`` each batch is
        ``(inputs..., target)`` and the loss is
        ``loss(model(*inputs), target)``.
    settings : TrainSettings
        Every knob of the loop.
    task : str, optional
        ``"classification"`` (or ``"binary"``/``"multiclass"``) or
        ``"regression"``: picks the default loss and stratifies the
        validation split by the target.
    loss : str or callable, optional
        See :func:`resolve_loss`.
    validation : tuple of arrays/tensors or Dataset, optional
        A validation set; when given nothing is carved from ``data``.
    stratify : array-like, optional
        Labels to stratify the carved split by (defaults to the target of
        in-memory classification data).
    compute_loss : callable, optional
        ``compute_loss(model, batch) -> scalar loss`` for batches of any
        structure (dicts, packed sequences, no target at all).
    collate_fn : callable, optional
        Passed to the ``DataLoader`` of a Dataset.
    on_epoch_end : callable, optional
        ``on_epoch_end(record, model)``; returning True stops training.

    Returns
    -------
    TrainResult
        The trained model and what happened.

    Raises
    ------
    DeviceOutOfMemoryError
        When the device runs out of memory.
    RuntimeError
        When the loss is NaN or infinite before any epoch completed with a
        finite validation loss (``"training diverged ...; lower learning_rate"``).
    ValueError
        For bad data, task or loss.

    """
    started = time.monotonic()
    deadline = None if settings.time_limit is None else started + float(settings.time_limit)
    device = resolve_device(settings.device)
    dtype = amp_dtype(device, settings.precision)
    compute = compute_loss or _default_compute_loss(resolve_loss(loss, task))

    n_rows = len(data) if _is_dataset(data) else int(_as_tensors(data)[0].shape[0])
    if n_rows < 1:
        raise ValueError("no training rows")
    train_data, valid_data = data, validation
    if validation is None and settings.validation_fraction > 0:
        fit_rows, valid_rows = validation_split(
            n_rows, settings.validation_fraction, seed=settings.seed,
            labels=_stratify_labels(task, data, stratify),
        )
        if len(valid_rows) >= MIN_VALIDATION_ROWS:
            train_data, valid_data = _subset(data, fit_rows), _subset(data, valid_rows)

    with training_runtime(device, seed=settings.seed, n_threads=settings.n_threads,
                          deterministic=settings.deterministic), oom_guard(device):
        generator = torch.Generator().manual_seed(int(settings.seed))
        train_source = _Source(train_data, batch_size=settings.batch_size, device=device,
                               shuffle=True, generator=generator, collate_fn=collate_fn,
                               train=True)
        valid_source = None if valid_data is None else _Source(
            valid_data, batch_size=settings.eval_batch_size, device=device, shuffle=False,
            generator=None, collate_fn=collate_fn, train=False,
        )
        net = model if isinstance(model, nn.Module) else model()
        if not isinstance(net, nn.Module):
            raise TypeError(f"the model factory returned {type(net).__name__}, not a Module")
        net = net.to(device)
        optimizer = make_optimizer(net, settings.learning_rate, settings.weight_decay)
        scheduler = make_scheduler(optimizer, settings.schedule,
                                   settings.max_epochs * max(train_source.n_batches, 1))
        scaler = make_grad_scaler(device, dtype)
        result = TrainResult(model=net, device=device, n_train=train_source.n_rows,
                             n_valid=0 if valid_source is None else valid_source.n_rows)
        best_state: dict[str, torch.Tensor] | None = None
        since_best = 0
        steps = 0
        for epoch in range(1, settings.max_epochs + 1):
            epoch_started = time.monotonic()
            net.train()
            total, rows = 0.0, 0
            timed_out = diverged = False
            for batch in train_source:
                if steps and deadline is not None and time.monotonic() > deadline:
                    timed_out = True
                    break
                optimizer.zero_grad(set_to_none=True)
                with autocast(device, dtype):
                    batch_loss = compute(net, batch)
                value = float(batch_loss.detach().float())
                if not math.isfinite(value):
                    diverged = True
                    break
                objective = batch_loss.float()
                if settings.l1 > 0:
                    objective = objective + settings.l1 * l1_penalty(net)
                if scaler is not None:
                    scaler.scale(objective).backward()
                    scaler.unscale_(optimizer)
                else:
                    objective.backward()
                if settings.grad_clip is not None:
                    nn.utils.clip_grad_norm_(_trainable(net), settings.grad_clip)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                scheduler.step()
                steps += 1
                n = _batch_rows(batch) or 1
                total += value * n
                rows += n
            if diverged:
                if best_state is None:
                    raise RuntimeError(
                        f"training diverged: the loss became NaN or infinite in epoch {epoch}; "
                        "lower learning_rate"
                    )
                result.stop_reason = "diverged"
                break
            if timed_out:
                result.stop_reason = "time_limit"
                break
            val_loss = None
            if valid_source is not None:
                val_loss = _evaluate(net, valid_source, compute, device, dtype)
            record = EpochRecord(
                epoch=epoch, train_loss=total / max(rows, 1), val_loss=val_loss,
                learning_rate=float(optimizer.param_groups[0]["lr"]),
                seconds=time.monotonic() - epoch_started,
            )
            result.history.append(record)
            if val_loss is not None and math.isfinite(val_loss):
                best = result.best_val_loss
                if best is None or val_loss < best - settings.min_delta * abs(best):
                    result.best_val_loss, result.best_epoch = val_loss, epoch
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                    since_best = 0
                else:
                    since_best += 1
            if on_epoch_end is not None and on_epoch_end(record, net):
                result.stop_reason = "callback"
                break
            if settings.patience is not None and valid_source is not None \
                    and since_best >= settings.patience:
                result.stop_reason = "early_stopping"
                break
            if deadline is not None and time.monotonic() > deadline \
                    and epoch < settings.max_epochs:
                result.stop_reason = "time_limit"
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
    result.seconds = time.monotonic() - started
    return result
