"""Batched inference with a trained network (:func:`predict_network`).

Part of :mod:`plugins.neural._training`; import from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from .batches import iterate_batches
from .runtime import amp_dtype, autocast, limited_threads, oom_guard, resolve_device

__all__ = ["predict_network"]


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
