"""The training loop, :func:`train_network`, in its phases.

:func:`train_network` prepares a run (the loss, the validation split, the
network, its optimizer and schedule: :func:`start_run`), then
:func:`fit_loop` runs epochs until one of them names a stop reason.
:func:`run_single_epoch` trains one pass (:func:`train_step` per batch),
computes the validation loss, keeps the best weights and decides whether to
stop. The state the phases share is one :class:`LoopState` record.
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

from .batches import BatchSource, as_tensors, count_rows, is_dataset, subset, validation_split
from .optim import l1_penalty, make_optimizer, make_scheduler, resolve_loss, trainable
from .runtime import (
    amp_dtype,
    autocast,
    make_grad_scaler,
    oom_guard,
    resolve_device,
    training_runtime,
)
from .settings import MIN_VALIDATION_ROWS, EpochRecord, StopReason, TrainResult, TrainSettings

__all__ = ["LoopState", "fit_loop", "run_single_epoch", "start_run", "train_network",
           "train_step"]

ComputeLoss = Callable[[nn.Module, Any], torch.Tensor]
"""``compute_loss(model, batch) -> scalar loss``."""

EpochCallback = Callable[[EpochRecord, nn.Module], bool | None]
"""``on_epoch_end(record, model)``; returning True stops training."""


@dataclass
class LoopState:
    """What the phases of one :func:`train_network` call share.

    Attributes
    ----------
    settings : TrainSettings
        The knobs of the run.
    device : str
        Where it trains.
    dtype : torch.dtype or None
        Autocast dtype (None: full precision).
    compute : callable
        ``compute(model, batch) -> loss``.
    net : torch.nn.Module
        The network being trained.
    optimizer, scheduler, scaler
        AdamW, its per-batch schedule and the fp16 gradient scaler (or None).
    train_source, valid_source : BatchSource
        Training batches, and validation batches (None without validation).
    deadline : float or None
        ``time.monotonic()`` time the run must end by.
    result : TrainResult
        What the run reports, filled in as it goes.
    best_state : dict or None
        Copy of the weights with the best validation loss so far.
    since_best : int
        Epochs since the validation loss last improved.
    steps : int
        Optimizer steps taken.

    """

    settings: TrainSettings
    device: str
    dtype: torch.dtype | None
    compute: ComputeLoss
    net: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    train_source: BatchSource
    valid_source: BatchSource | None
    deadline: float | None
    result: TrainResult
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    since_best: int = 0
    steps: int = 0

    def past_deadline(self) -> bool:
        """Whether the time limit has passed."""
        return self.deadline is not None and time.monotonic() > self.deadline


def _default_compute_loss(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> ComputeLoss:
    def compute(model: nn.Module, batch: Any) -> torch.Tensor:
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            raise ValueError(
                "the default loss needs batches (inputs..., target); pass compute_loss= "
                "for other data"
            )
        *inputs, target = batch
        return loss_fn(model(*inputs), target)

    return compute


def _stratify_labels(task: str | None, data: Any, stratify: Any) -> np.ndarray | None:
    if stratify is not None:
        return np.asarray(stratify)
    if task not in ("classification", "binary", "multiclass") or is_dataset(data):
        return None
    target = as_tensors(data)[-1]
    if target.ndim != 1 or target.is_floating_point():
        return None
    return target.cpu().numpy()


def _split(data: Any, validation: Any, settings: TrainSettings, task: str | None,
           stratify: Any) -> tuple[Any, Any]:
    """Training and validation data: ``validation`` when given, else a carved seeded split."""
    n_rows = len(data) if is_dataset(data) else int(as_tensors(data)[0].shape[0])
    if n_rows < 1:
        raise ValueError("no training rows")
    if validation is not None or settings.validation_fraction <= 0:
        return data, validation
    fit_rows, valid_rows = validation_split(
        n_rows, settings.validation_fraction, seed=settings.seed,
        labels=_stratify_labels(task, data, stratify),
    )
    if len(valid_rows) < MIN_VALIDATION_ROWS:
        return data, None
    return subset(data, fit_rows), subset(data, valid_rows)


def start_run(model: nn.Module | Callable[[], nn.Module], train_data: Any, valid_data: Any,
              settings: TrainSettings, *, device: str, compute: ComputeLoss,
              collate_fn: Callable[[list[Any]], Any] | None, started: float) -> LoopState:
    """Batch sources, the network, its optimizer, schedule and scaler: a run ready to train.

    Called inside :func:`~plugins.neural._training.training_runtime`, so a model
    factory is called after seeding.

    Parameters
    ----------
    model : torch.nn.Module or callable
        The network, or a factory ``() -> nn.Module``.
    train_data, valid_data : tuple of arrays/tensors or Dataset
        Training data, and validation data (None without validation).
    settings : TrainSettings
        The knobs.
    device : str
        A resolved device.
    compute : callable
        ``compute(model, batch) -> loss``.
    collate_fn : callable or None
        Passed to the ``DataLoader`` of a Dataset.
    started : float
        ``time.monotonic()`` when the call started (the time limit counts from it).

    Returns
    -------
    LoopState
        The run before its first epoch.

    """
    generator = torch.Generator().manual_seed(int(settings.seed))
    train_source = BatchSource(train_data, batch_size=settings.batch_size, device=device,
                               shuffle=True, generator=generator, collate_fn=collate_fn,
                               train=True)
    valid_source = None if valid_data is None else BatchSource(
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
    dtype = amp_dtype(device, settings.precision)
    result = TrainResult(model=net, device=device, n_train=train_source.n_rows,
                         n_valid=0 if valid_source is None else valid_source.n_rows)
    deadline = None if settings.time_limit is None else started + float(settings.time_limit)
    return LoopState(settings=settings, device=device, dtype=dtype, compute=compute, net=net,
                     optimizer=optimizer, scheduler=scheduler,
                     scaler=make_grad_scaler(device, dtype), train_source=train_source,
                     valid_source=valid_source, deadline=deadline, result=result)


def train_step(state: LoopState, batch: Any) -> float:
    """One optimizer step on a batch; returns its loss (NaN or infinite: no step is taken).

    Forward and loss under autocast, plus ``settings.l1`` times
    :func:`l1_penalty`, backward (scaled for fp16), gradient-norm clipping, an
    AdamW step and a scheduler step.

    Parameters
    ----------
    state : LoopState
        The run.
    batch : Any
        One training batch.

    Returns
    -------
    float
        The batch loss without the L1 term.

    """
    settings, optimizer, scaler = state.settings, state.optimizer, state.scaler
    optimizer.zero_grad(set_to_none=True)
    with autocast(state.device, state.dtype):
        batch_loss = state.compute(state.net, batch)
    value = float(batch_loss.detach().float())
    if not math.isfinite(value):
        return value
    objective = batch_loss.float()
    if settings.l1 > 0:
        objective = objective + settings.l1 * l1_penalty(state.net)
    if scaler is not None:
        scaler.scale(objective).backward()
        scaler.unscale_(optimizer)
    else:
        objective.backward()
    if settings.grad_clip is not None:
        nn.utils.clip_grad_norm_(trainable(state.net), settings.grad_clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    state.scheduler.step()
    state.steps += 1
    return value


def _train_pass(state: LoopState) -> tuple[float, StopReason | None]:
    """Train on every batch once: the mean loss, and why the pass was cut short (or None).

    The time limit is checked before each batch, after the first step of the run.
    """
    state.net.train()
    total, rows = 0.0, 0
    for batch in state.train_source:
        if state.steps and state.past_deadline():
            return total / max(rows, 1), "time_limit"
        value = train_step(state, batch)
        if not math.isfinite(value):
            return total / max(rows, 1), "diverged"
        n = count_rows(batch) or 1
        total += value * n
        rows += n
    return total / max(rows, 1), None


def _validation_loss(state: LoopState) -> float | None:
    """Mean loss over the validation batches (None without validation)."""
    if state.valid_source is None:
        return None
    state.net.eval()
    total, rows = 0.0, 0
    with torch.no_grad():
        for batch in state.valid_source:
            with autocast(state.device, state.dtype):
                loss = state.compute(state.net, batch)
            n = count_rows(batch) or 1
            total += float(loss.detach().float()) * n
            rows += n
    return total / max(rows, 1)


def _keep_if_best(state: LoopState, epoch: int, val_loss: float | None) -> None:
    """Keep the weights when ``val_loss`` improves on the best by ``min_delta``; count otherwise."""
    if val_loss is None or not math.isfinite(val_loss):
        return
    best = state.result.best_val_loss
    if best is None or val_loss < best - state.settings.min_delta * abs(best):
        state.result.best_val_loss, state.result.best_epoch = val_loss, epoch
        state.best_state = {k: v.detach().clone() for k, v in state.net.state_dict().items()}
        state.since_best = 0
    else:
        state.since_best += 1


def _stop_after_epoch(state: LoopState, record: EpochRecord,
                      on_epoch_end: EpochCallback | None) -> StopReason | None:
    """Why to stop after a completed epoch: the callback, patience, or the time limit."""
    settings = state.settings
    if on_epoch_end is not None and on_epoch_end(record, state.net):
        return "callback"
    if settings.patience is not None and state.valid_source is not None \
            and state.since_best >= settings.patience:
        return "early_stopping"
    if state.past_deadline() and record.epoch < settings.max_epochs:
        return "time_limit"
    return None


def run_single_epoch(state: LoopState, epoch: int,
                     on_epoch_end: EpochCallback | None = None) -> StopReason | None:
    """Train one epoch, validate, keep the best weights; return why to stop, or None.

    Parameters
    ----------
    state : LoopState
        The run.
    epoch : int
        1-based epoch number.
    on_epoch_end : callable, optional
        ``on_epoch_end(record, model)``; returning True stops training.

    Returns
    -------
    StopReason or None
        ``"diverged"`` or ``"time_limit"`` when the pass was cut short (the
        epoch is not recorded), else what :func:`_stop_after_epoch` says.

    Raises
    ------
    RuntimeError
        When the loss diverges before any epoch had a finite validation loss.

    """
    epoch_started = time.monotonic()
    train_loss, cut_short = _train_pass(state)
    if cut_short == "diverged" and state.best_state is None:
        raise RuntimeError(
            f"training diverged: the loss became NaN or infinite in epoch {epoch}; "
            "lower learning_rate"
        )
    if cut_short is not None:
        return cut_short
    val_loss = _validation_loss(state)
    record = EpochRecord(
        epoch=epoch, train_loss=train_loss, val_loss=val_loss,
        learning_rate=float(state.optimizer.param_groups[0]["lr"]),
        seconds=time.monotonic() - epoch_started,
    )
    state.result.history.append(record)
    _keep_if_best(state, epoch, val_loss)
    return _stop_after_epoch(state, record, on_epoch_end)


def fit_loop(state: LoopState, on_epoch_end: EpochCallback | None = None) -> TrainResult:
    """Run epochs until one names a stop reason; restore the best weights.

    Parameters
    ----------
    state : LoopState
        A run from :func:`start_run`.
    on_epoch_end : callable, optional
        ``on_epoch_end(record, model)``; returning True stops training.

    Returns
    -------
    TrainResult
        ``state.result``, its model in eval mode with the best weights.

    """
    for epoch in range(1, state.settings.max_epochs + 1):
        reason = run_single_epoch(state, epoch, on_epoch_end)
        if reason is not None:
            state.result.stop_reason = reason
            break
    if state.best_state is not None:
        state.net.load_state_dict(state.best_state)
    state.net.eval()
    return state.result


def train_network(
    model: nn.Module | Callable[[], nn.Module],
    data: Any,
    settings: TrainSettings,
    *,
    task: str | None = None,
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    validation: Any = None,
    stratify: Sequence[Any] | np.ndarray | None = None,
    compute_loss: ComputeLoss | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> TrainResult:
    """Train a network: the one loop every neural model of the project uses.

    Per batch, :func:`train_step` (forward and loss under autocast, L1,
    backward, clipping, AdamW and scheduler steps); after each epoch
    (:func:`run_single_epoch`) the validation loss decides the best weights
    and early stopping. The time limit is checked before each batch (at least
    one step is always taken). Threads, seeds and determinism are set for the
    call only (:func:`training_runtime`).

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
        The trained model and what happened (``stop_reason``).

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
    device = resolve_device(settings.device)
    compute = compute_loss or _default_compute_loss(resolve_loss(loss, task))
    train_data, valid_data = _split(data, validation, settings, task, stratify)
    with training_runtime(device, seed=settings.seed, n_threads=settings.n_threads,
                          deterministic=settings.deterministic), oom_guard(device):
        state = start_run(model, train_data, valid_data, settings, device=device,
                          compute=compute, collate_fn=collate_fn, started=started)
        result = fit_loop(state, on_epoch_end)
    result.seconds = time.monotonic() - started
    return result
