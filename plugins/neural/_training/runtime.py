"""Where and how a network runs: device, precision, threads, seeds, memory errors.

Part of :mod:`plugins.neural._training`; import from there.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import Any

import torch

__all__ = [
    "PRECISIONS",
    "DeviceOutOfMemoryError",
    "amp_dtype",
    "autocast",
    "limited_threads",
    "make_grad_scaler",
    "oom_guard",
    "resolve_device",
    "training_runtime",
]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
"""Precisions :func:`amp_dtype` knows."""

_NONDETERMINISTIC_WARNING = r".*does not have a deterministic implementation.*"


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


def is_cuda(device: str) -> bool:
    """Whether a resolved device string names a CUDA device."""
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
    if precision == "fp32" or not is_cuda(device):
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
    return torch.autocast(device_type="cuda" if is_cuda(device) else "cpu", dtype=dtype)


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
        The scaler.

    """
    if dtype is torch.float16 and is_cuda(device):
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
    caller's generators are untouched. Deterministic
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
        The configured block.

    """
    cuda = is_cuda(device)
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


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` reports that a device (or the host) ran out of memory."""
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

    The message reads ``"out of memory on <device>: <detail>; lower batch_size"``;
    the engine records it as a failed trial with that reason. The CUDA cache is
    emptied first.

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
        if not is_oom(exc):
            raise
        if is_cuda(device) and torch.cuda.is_available():
            torch.cuda.empty_cache()
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DeviceOutOfMemoryError(
            f"out of memory on {device}: {detail}; lower batch_size"
        ) from exc
