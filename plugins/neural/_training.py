"""One training loop for every torch network of the project.

Every neural model family (the tabular MLP here; CNN, LSTM/GRU, Transformer
and GAN plugins later) trains through :func:`train_network` and predicts
through :func:`predict_network`, so device choice, mixed precision,
regularisation, schedules, early stopping, determinism and the thread and
time limits behave the same everywhere. A network only supplies a model
factory, its data and (when the default losses do not fit) a loss.

Quick reference
---------------
:func:`resolve_device`
    ``"auto"`` -> ``"cuda"`` when ``torch.cuda.is_available()`` else
    ``"cpu"``. The one place the project turns ``Context.device`` into a
    torch device string.
:class:`TrainSettings`
    Every knob of the loop (epochs, batch size, AdamW learning rate and weight
    decay, L1, clipping, schedule, early stopping, time limit, device,
    precision, seed, threads). Models map their searched hyperparameters onto
    it; the epoch count ``max_epochs`` is the fidelity.
:func:`train_network`
    ``train_network(factory, data, settings, task=...) -> TrainResult``.
    ``data`` is a tuple of arrays/tensors (the last one the target, by
    default) or a ``torch.utils.data.Dataset``. A validation split is carved
    from it (seeded, stratified for classification) unless ``validation`` is
    given; the best weights on it are restored at the end.
:func:`predict_network`
    Batched inference, returning float32 numpy outputs (logits for
    classifiers).

Building blocks for loops that need more than one optimizer (a GAN trains a
generator and a discriminator in turn) are public too:
:func:`training_runtime` (seeding, thread cap, deterministic algorithms, all
restored afterwards), :func:`oom_guard`, :func:`amp_dtype` /
:func:`autocast`, :func:`make_grad_scaler`, :func:`make_optimizer`,
:func:`make_scheduler`, :func:`l1_penalty`, :func:`validation_split`,
:func:`iterate_batches` and :func:`to_device`.

Examples
--------
>>> import torch
>>> X = torch.randn(200, 3)
>>> y = (X[:, 0] > 0).long()
>>> settings = TrainSettings(max_epochs=3, batch_size=32, seed=0)
>>> result = train_network(lambda: torch.nn.Linear(3, 2), (X, y), settings,
...                        task="classification")
>>> logits = predict_network(result.model, (X,))
>>> logits.shape
(200, 2)

"""

from __future__ import annotations

import contextlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

__all__ = [
    "LOSSES",
    "PRECISIONS",
    "SCHEDULES",
    "DeviceOutOfMemoryError",
    "EpochRecord",
    "TrainResult",
    "TrainSettings",
    "amp_dtype",
    "autocast",
    "iterate_batches",
    "l1_penalty",
    "limited_threads",
    "make_grad_scaler",
    "make_optimizer",
    "make_scheduler",
    "oom_guard",
    "predict_network",
    "resolve_device",
    "resolve_loss",
    "to_device",
    "train_network",
    "training_runtime",
    "validation_split",
]

SCHEDULES = ("cosine", "onecycle", "constant")
"""Learning-rate schedules :func:`make_scheduler` knows (stepped every batch)."""

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
"""Precisions: ``"auto"`` is bf16 on CUDA devices that support it, else fp16
on CUDA, and fp32 on the CPU (mixed precision is used on CUDA only)."""

LOSSES = ("cross_entropy", "bce", "mse", "huber", "mae")
"""Loss names :func:`resolve_loss` knows; a callable ``loss(output, target)`` also works."""

MIN_VALIDATION_ROWS = 5
"""A carved validation split smaller than this is not used (no early stopping)."""

DEVICE_DATA_BYTES = 1 << 30
"""Training tensors up to this size are moved to a CUDA device once, not per batch."""

COSINE_FLOOR = 0.01
"""The cosine schedule decays the learning rate to this share of its peak."""

WARMUP_SHARE = 0.05
"""Share of the steps spent on the linear warm-up of the cosine schedule."""

_NONDETERMINISTIC_WARNING = r".*does not have a deterministic implementation.*"


# ---------------------------------------------------------------------------
# devices, precision, threads, seeds, memory
# ---------------------------------------------------------------------------


def resolve_device(device: Any = "auto", *, strict: bool = True) -> str:
    """Turn a device request into the torch device string to use.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device or None
        ``"auto"`` (or None) picks ``"cuda"`` when ``torch.cuda.is_available()``
        and ``"cpu"`` otherwise.
    strict : bool, default=True
        When CUDA is asked for but missing: raise (True) or fall back to the
        CPU (False; what prediction with a model trained elsewhere wants).

    Returns
    -------
    str
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Raises
    ------
    ValueError
        For an unknown device string or a CUDA index beyond the devices present.
    RuntimeError
        When ``strict`` and CUDA is asked for on a machine without it.

    """
    if device is None:
        device = "auto"
    device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            if strict:
                raise RuntimeError(
                    f"device {device!r} was asked for but CUDA is not available on this "
                    "machine; use device='auto' or 'cpu'"
                )
            return "cpu"
        if device.startswith("cuda:"):
            index = device.split(":", 1)[1]
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise ValueError(
                    f"device {device!r}: this machine has {torch.cuda.device_count()} "
                    "CUDA device(s)"
                )
        return device
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def _is_cuda(device: str) -> bool:
    return device.startswith("cuda")


def amp_dtype(device: str, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``, or None for full precision.

    Parameters
    ----------
    device : str
        A resolved device (see :func:`resolve_device`).
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Requested precision. Mixed precision is used on CUDA only: on the CPU
        every choice means fp32.

    Returns
    -------
    torch.dtype or None
        ``torch.bfloat16``, ``torch.float16`` or None (fp32).

    Raises
    ------
    ValueError
        For an unknown precision.

    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp32" or not _is_cuda(device):
        return None
    if precision in ("auto", "bf16") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def autocast(device: str, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """A ``torch.autocast`` context for ``dtype`` on ``device``; a no-op for None.

    Parameters
    ----------
    device : str
        A resolved device.
    dtype : torch.dtype or None
        From :func:`amp_dtype`.

    Returns
    -------
    context manager
        Enter it around forward passes and losses.

    """
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda" if _is_cuda(device) else "cpu", dtype=dtype)


def make_grad_scaler(device: str, dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    """A gradient scaler for fp16 training on CUDA, else None.

    Parameters
    ----------
    device : str
        A resolved device.
    dtype : torch.dtype or None
        From :func:`amp_dtype`; only ``torch.float16`` needs scaling.

    Returns
    -------
    torch.amp.GradScaler or None
        The scaler, or None when gradients need no scaling.

    """
    if dtype is torch.float16 and _is_cuda(device):
        return torch.amp.GradScaler("cuda")
    return None


@contextlib.contextmanager
def limited_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n_threads)``, restored afterwards.

    Parameters
    ----------
    n_threads : int or None
        Intra-op threads; None leaves the setting alone.

    Yields
    ------
    None
        Inside the block torch uses at most ``n_threads`` threads.

    Raises
    ------
    ValueError
        If ``n_threads`` is not a positive integer.

    """
    if n_threads is None:
        yield
        return
    if isinstance(n_threads, bool) or int(n_threads) != n_threads or n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _cuda_index(device: str) -> int:
    parsed = torch.device(device)
    return parsed.index if parsed.index is not None else torch.cuda.current_device()


@contextlib.contextmanager
def training_runtime(
    device: str, *, seed: int = 0, n_threads: int | None = 1, deterministic: bool = True
) -> Iterator[None]:
    """Seed torch, cap its threads and ask for deterministic kernels, all restored afterwards.

    The global random state is forked (``torch.random.fork_rng``), so the
    caller's generators are untouched; inside, ``torch.manual_seed(seed)``
    makes weight initialisation and dropout repeatable. Deterministic
    algorithms are requested with ``warn_only=True`` (an operation without a
    deterministic kernel still runs; its warning is silenced) and, on CUDA,
    cuDNN autotuning is turned off and ``CUBLAS_WORKSPACE_CONFIG`` is set if
    it was not (effective when cuBLAS has not started yet in the process).

    Parameters
    ----------
    device : str
        A resolved device.
    seed : int, default=0
        Seed for torch's generators.
    n_threads : int or None, default=1
        Intra-op threads (see :func:`limited_threads`).
    deterministic : bool, default=True
        Request deterministic algorithms.

    Yields
    ------
    None
        The block runs seeded, capped and (where cheap) deterministic.

    """
    cuda = _is_cuda(device)
    devices = [_cuda_index(device)] if cuda else []
    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    previous_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.random.fork_rng(devices=devices))
        stack.enter_context(limited_threads(n_threads))
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message=_NONDETERMINISTIC_WARNING)
        torch.manual_seed(int(seed))
        if deterministic:
            if cuda:
                os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
                torch.backends.cudnn.deterministic = True
                torch.backends.cudnn.benchmark = False
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = previous_cudnn


class DeviceOutOfMemoryError(RuntimeError):
    """A device ran out of memory; the message names the device and the remedy."""


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
        or "not enough memory" in text
    )


@contextlib.contextmanager
def oom_guard(device: str) -> Iterator[None]:
    """Turn an out-of-memory error inside the block into a clear :class:`DeviceOutOfMemoryError`.

    The message reads ``"out of memory on <device>: <detail>; lower batch_size"``
    (a ``RuntimeError``, which the engine records as a failed trial with that
    reason). The CUDA cache is emptied first.

    Parameters
    ----------
    device : str
        The device the block runs on.

    Yields
    ------
    None
        The guarded block.

    Raises
    ------
    DeviceOutOfMemoryError
        When the block runs out of memory.

    """
    try:
        yield
    except DeviceOutOfMemoryError:
        raise
    except (RuntimeError, MemoryError) as exc:
        if not _is_oom(exc):
            raise
        if _is_cuda(device) and torch.cuda.is_available():
            torch.cuda.empty_cache()
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DeviceOutOfMemoryError(
            f"out of memory on {device}: {detail}; lower batch_size"
        ) from exc


# ---------------------------------------------------------------------------
# optimisation pieces
# ---------------------------------------------------------------------------


def _trainable(params: nn.Module | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    if isinstance(params, nn.Module):
        params = params.parameters()
    return [p for p in params if p.requires_grad]


def make_optimizer(
    params: nn.Module | Iterable[torch.Tensor], learning_rate: float, weight_decay: float
) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; biases and norm scales are not decayed.

    Parameters
    ----------
    params : torch.nn.Module or iterable of tensors
        What to optimise; parameters with ``requires_grad=False`` (frozen
        layers) are left out.
    learning_rate : float
        Peak learning rate.
    weight_decay : float
        Decoupled weight decay for weight matrices, convolution kernels and
        embeddings (parameters with two or more dimensions).

    Returns
    -------
    torch.optim.AdamW
        The optimizer.

    Raises
    ------
    ValueError
        When there is nothing to train.

    """
    trainable = _trainable(params)
    if not trainable:
        raise ValueError("the model has no trainable parameters")
    decay = [p for p in trainable if p.ndim >= 2]
    other = [p for p in trainable if p.ndim < 2]
    groups = [g for g in ({"params": decay, "weight_decay": float(weight_decay)},
                          {"params": other, "weight_decay": 0.0}) if g["params"]]
    return torch.optim.AdamW(groups, lr=float(learning_rate))


def make_scheduler(
    optimizer: torch.optim.Optimizer, schedule: str, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """A learning-rate schedule stepped once per batch.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Its current learning rates are the peaks.
    schedule : {"cosine", "onecycle", "constant"}
        ``"cosine"``: linear warm-up over the first 5% of the steps, then
        cosine decay to 1% of the peak. ``"onecycle"``: Smith's one-cycle
        policy (``torch.optim.lr_scheduler.OneCycleLR``: up for 30% of the
        steps from peak/25, then down to peak/1e4; momentum cycled inversely).
        ``"constant"``: the peak throughout.
    total_steps : int
        Batches in the whole run (``max_epochs`` times batches per epoch).

    Returns
    -------
    torch.optim.lr_scheduler.LRScheduler
        The scheduler; call ``step()`` after each optimizer step.

    Raises
    ------
    ValueError
        For an unknown schedule.

    """
    total = max(int(total_steps), 1)
    if schedule == "onecycle":
        peaks = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=peaks, total_steps=total, pct_start=0.3,
            anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
        )
    if schedule == "cosine":
        warmup = int(WARMUP_SHARE * total)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            return COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


def l1_penalty(model: nn.Module) -> torch.Tensor:
    """Sum of absolute values of the trainable weights with two or more dimensions.

    Parameters
    ----------
    model : torch.nn.Module
        The network.

    Returns
    -------
    torch.Tensor
        A scalar (fp32); multiply by the L1 strength and add to the loss.

    """
    terms = [p.abs().sum() for p in _trainable(model) if p.ndim >= 2]
    if not terms:
        return torch.zeros(())
    return torch.stack([t.float() for t in terms]).sum()


def _loss_cross_entropy(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if output.ndim == 1 or output.shape[-1] == 1:
        return _loss_bce(output, target)
    return F.cross_entropy(output.float(), target.long())


def _loss_bce(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(
        output.float().reshape(target.shape), target.float()
    )


def _regression(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return fn(output.float().reshape(target.shape), target.float())

    return loss


_LOSS_FUNCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "cross_entropy": _loss_cross_entropy,
    "bce": _loss_bce,
    "mse": _regression(F.mse_loss),
    "huber": _regression(F.huber_loss),
    "mae": _regression(F.l1_loss),
}
_TASK_LOSSES = {"classification": "cross_entropy", "binary": "cross_entropy",
                "multiclass": "cross_entropy", "regression": "mse"}


def resolve_loss(
    loss: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, task: str | None
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss ``loss(output, target) -> scalar`` for a name, a callable or a task.

    Parameters
    ----------
    loss : str, callable or None
        One of :data:`LOSSES`, a callable, or None for the task's default:
        cross-entropy on logits for classification (binary cross-entropy when
        the network has one output), mean squared error for regression.
    task : str or None
        ``"classification"``, ``"binary"``, ``"multiclass"`` or ``"regression"``.

    Returns
    -------
    callable
        The loss function (computed in fp32 even under autocast).

    Raises
    ------
    ValueError
        For an unknown name, or no loss and a task without a default.

    """
    if callable(loss):
        return loss
    if loss is None:
        if task not in _TASK_LOSSES:
            raise ValueError(
                f"task {task!r} has no default loss; pass loss= or compute_loss="
            )
        loss = _TASK_LOSSES[task]
    if loss not in _LOSS_FUNCTIONS:
        raise ValueError(f"loss must be one of {LOSSES} or a callable, got {loss!r}")
    return _LOSS_FUNCTIONS[loss]


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------


def validation_split(
    n_rows: int, fraction: float, *, seed: int = 0, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split row positions into training and validation parts, seeded.

    With ``labels`` (classification) the same share of every class is drawn
    and each class keeps at least one training row.

    Parameters
    ----------
    n_rows : int
        Rows to split.
    fraction : float
        Share of rows for validation, in [0, 1).
    seed : int, default=0
        Seed of the draw.
    labels : ndarray, optional
        Class of each row, for a stratified split.

    Returns
    -------
    train, valid : ndarray of int64
        Sorted row positions; ``valid`` may be empty.

    Raises
    ------
    ValueError
        For a fraction outside [0, 1) or labels of the wrong length.

    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation fraction must lie in [0, 1), got {fraction!r}")
    rng = np.random.default_rng(seed)
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != n_rows:
            raise ValueError(f"labels has {len(labels)} rows, expected {n_rows}")
        parts = []
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            k = min(int(round(len(rows) * fraction)), len(rows) - 1)
            if k > 0:
                parts.append(rng.choice(rows, size=k, replace=False))
        valid = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    else:
        k = min(int(round(n_rows * fraction)), max(n_rows - 1, 0))
        valid = rng.choice(n_rows, size=k, replace=False)
    mask = np.zeros(n_rows, dtype=bool)
    mask[valid] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def to_device(batch: Any, device: str, non_blocking: bool = False) -> Any:
    """Move tensors (also inside tuples, lists, dicts and ``PackedSequence``) to ``device``.

    Parameters
    ----------
    batch : Any
        A tensor, a container of tensors, or an object with a ``to`` method.
    device : str
        Target device.
    non_blocking : bool, default=False
        Asynchronous copies (from pinned memory).

    Returns
    -------
    Any
        The same structure on ``device``; other objects are returned as they are.

    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, nn.utils.rnn.PackedSequence):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def _batch_rows(batch: Any) -> int:
    """Rows in a batch: the leading size of its first tensor."""
    if isinstance(batch, nn.utils.rnn.PackedSequence):
        return int(batch.batch_sizes[0])
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, tuple | list):
        for item in batch:
            rows = _batch_rows(item)
            if rows:
                return rows
    return 0


def _is_dataset(data: Any) -> bool:
    return isinstance(data, Dataset) or (
        hasattr(data, "__getitem__") and hasattr(data, "__len__")
        and not isinstance(data, tuple | list | np.ndarray | torch.Tensor)
    )


def _as_tensors(data: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(data, torch.Tensor | np.ndarray):
        data = (data,)
    tensors = []
    for item in data:
        if isinstance(item, torch.Tensor):
            tensors.append(item)
        else:
            tensors.append(torch.as_tensor(np.ascontiguousarray(item)))
    if not tensors:
        raise ValueError("data holds no arrays")
    lengths = {int(t.shape[0]) for t in tensors}
    if len(lengths) != 1:
        raise ValueError(f"arrays in data have different numbers of rows: {sorted(lengths)}")
    return tuple(tensors)


class _Source:
    """Batches of a tuple of tensors or of a Dataset, optionally shuffled."""

    def __init__(
        self, data: Any, *, batch_size: int, device: str, shuffle: bool,
        generator: torch.Generator | None, collate_fn: Callable | None, train: bool,
    ) -> None:
        self.device = device
        self.batch_size = max(int(batch_size), 1)
        self.shuffle = shuffle
        self.generator = generator
        if _is_dataset(data):
            self.tensors: tuple[torch.Tensor, ...] | None = None
            self.n_rows = len(data)
            # a lone row in the last batch breaks batch norm; it is drawn again next epoch
            drop = train and self.n_rows > 1 and self.n_rows % self.batch_size == 1
            self.loader: DataLoader | None = DataLoader(
                data, batch_size=self.batch_size, shuffle=shuffle, generator=generator,
                collate_fn=collate_fn, drop_last=drop, num_workers=0,
                pin_memory=_is_cuda(device),
            )
            self.n_batches = len(self.loader)
        else:
            tensors = _as_tensors(data)
            self.n_rows = int(tensors[0].shape[0])
            size = sum(t.element_size() * t.nelement() for t in tensors)
            if _is_cuda(device) and size <= DEVICE_DATA_BYTES:
                tensors = tuple(t.to(device) for t in tensors)
            self.tensors = tensors
            self.loader = None
            full, rest = divmod(self.n_rows, self.batch_size)
            self.drop_single = train and full > 0 and rest == 1
            self.n_batches = full + (1 if rest and not self.drop_single else 0)

    def __iter__(self) -> Iterator[Any]:
        if self.loader is not None:
            for batch in self.loader:
                yield to_device(batch, self.device, non_blocking=True)
            return
        assert self.tensors is not None
        n = self.n_rows
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = None
        for b in range(self.n_batches):
            start = b * self.batch_size
            stop = min(start + self.batch_size, n)
            if order is None:
                batch = tuple(t[start:stop] for t in self.tensors)
            else:
                rows = order[start:stop]
                batch = tuple(t[rows.to(t.device)] for t in self.tensors)
            yield to_device(batch, self.device, non_blocking=True)


def _subset(data: Any, rows: np.ndarray) -> Any:
    if _is_dataset(data):
        return Subset(data, rows.tolist())
    index = torch.as_tensor(rows, dtype=torch.long)
    return tuple(t[index.to(t.device)] for t in _as_tensors(data))


def iterate_batches(
    data: Any, *, batch_size: int, device: str = "cpu", shuffle: bool = False,
    seed: int | None = None, collate_fn: Callable | None = None, train: bool = False,
) -> Iterator[Any]:
    """Yield batches of ``data`` on ``device``.

    Parameters
    ----------
    data : tuple of arrays/tensors, array, tensor or torch Dataset
        In-memory arrays are sliced directly (much faster than a
        ``DataLoader`` over a ``TensorDataset``); a Dataset goes through a
        ``DataLoader`` with ``num_workers=0``.
    batch_size : int
        Rows per batch.
    device : str, default="cpu"
        Where batches are put.
    shuffle : bool, default=False
        Shuffle rows, with a generator seeded by ``seed``.
    seed : int, optional
        Seed of the shuffling.
    collate_fn : callable, optional
        For a Dataset: how items are joined (variable-length sequences).
    train : bool, default=False
        Drop a last batch holding a single row (batch norm cannot train on it).

    Yields
    ------
    tuple or Any
        A tuple of tensors per batch (or what ``collate_fn`` returns).

    """
    generator = None
    if shuffle:
        generator = torch.Generator().manual_seed(int(seed or 0))
    yield from _Source(data, batch_size=batch_size, device=device, shuffle=shuffle,
                       generator=generator, collate_fn=collate_fn, train=train)


# ---------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    """Every knob of :func:`train_network`.

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
    taken). Torch's threads, seeds and deterministic flags are set for the
    call and restored afterwards (:func:`training_runtime`); an
    out-of-memory error becomes :class:`DeviceOutOfMemoryError`.

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
        The knobs.
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


def predict_network(
    model: nn.Module,
    data: Any,
    *,
    device: str | None = None,
    batch_size: int = 1024,
    precision: str = "fp32",
    n_threads: int | None = None,
    forward: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
) -> np.ndarray:
    """Run a network over ``data`` in batches and return its outputs as float32 numpy.

    Parameters
    ----------
    model : torch.nn.Module
        The network; put in eval mode and moved to ``device``.
    data : tuple of arrays/tensors, array, tensor or torch Dataset
        Inputs only (no target). With the default ``forward`` each batch is
        passed as ``model(*batch)``.
    device : str, optional
        Where to run; defaults to where the model's parameters are.
    batch_size : int, default=1024
        Rows per batch.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="fp32"
        See :func:`amp_dtype`; outputs are returned as float32 either way.
    n_threads : int, optional
        Torch intra-op threads during the call (restored afterwards).
    forward : callable, optional
        ``forward(model, batch) -> tensor`` for other batch structures.
    collate_fn : callable, optional
        Passed to the ``DataLoader`` of a Dataset.

    Returns
    -------
    ndarray of float32
        Outputs concatenated along the first axis.

    Raises
    ------
    DeviceOutOfMemoryError
        When the device runs out of memory.

    """
    if device is None:
        first = next(iter(model.parameters()), None)
        device = "cpu" if first is None else str(first.device)
    device = resolve_device(device)
    dtype = amp_dtype(device, precision)
    model = model.to(device).eval()
    outputs: list[np.ndarray] = []
    with limited_threads(n_threads), oom_guard(device), torch.inference_mode():
        for batch in iterate_batches(data, batch_size=batch_size, device=device,
                                     collate_fn=collate_fn):
            with autocast(device, dtype):
                if forward is not None:
                    out = forward(model, batch)
                elif isinstance(batch, tuple | list):
                    out = model(*batch)
                else:
                    out = model(batch)
            outputs.append(out.detach().float().cpu().numpy())
    if not outputs:
        return np.empty((0,), dtype=np.float32)
    return np.concatenate(outputs, axis=0)
