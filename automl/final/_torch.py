"""Torch backend of greedy ensemble selection, and device resolution.

torch is imported only inside the functions that need it (a CUDA device, or
the forced torch path), never when this module is imported.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from automl.final.candidates import first_best, score_loss
from automl.metrics import Metric

if TYPE_CHECKING:
    import torch


def _greedy_torch(preds: np.ndarray, y: np.ndarray, metric: Metric, size: int,
                  device: str, chunk_elements: int) -> tuple[list[int], list[float]]:
    """Greedy selection with torch arithmetic on ``device``; same contract as numpy's.

    At most ``chunk_elements`` candidate-average elements are held on the device at once.
    """
    import torch

    candidates = torch.as_tensor(preds, device=device)
    total = torch.zeros(preds.shape[1:], dtype=torch.float64, device=device)
    vectorised = _TORCH_METRICS.get(metric.name)
    y_t = None
    if vectorised is not None:
        kind, func = vectorised
        dtype = torch.int64 if kind == "classification" else torch.float64
        y_t = torch.as_tensor(np.asarray(y), device=device).to(dtype)
    per_row = max(1, math.prod(preds.shape[1:]))
    chunk = max(1, chunk_elements // per_row)
    sign = -1.0 if metric.greater_is_better else 1.0
    chosen: list[int] = []
    path: list[float] = []
    for step in range(1, size + 1):
        losses: list[float] = []
        for start in range(0, len(preds), chunk):
            averages = (total.unsqueeze(0) + candidates[start:start + chunk]) / step
            if vectorised is not None:
                scores = func(y_t, averages).cpu().numpy()
                losses.extend(math.inf if math.isnan(s) else sign * float(s) for s in scores)
            else:
                host = averages.cpu().numpy()
                losses.extend(score_loss(metric, metric(y, a)) for a in host)
        j = first_best(np.array(losses))
        total += candidates[j]
        chosen.append(j)
        # the path is scored by the metric itself, on the numpy average, as on the numpy path
        path.append(metric(y, (total / step).cpu().numpy()))
    return chosen, path


def _choose_backend(device: str, forced: str | None) -> tuple[str, str]:
    """Pick the backend (``"numpy"`` or ``"torch"``) and the torch device for ``device``."""
    if forced not in (None, "numpy", "torch"):
        raise ValueError(f"unknown backend {forced!r}")
    resolved = _resolve_device(device)
    if forced is not None:
        return forced, resolved
    return ("torch" if resolved.startswith("cuda") else "numpy"), resolved


def _resolve_device(device: str) -> str:
    """``"cpu"`` or a CUDA device string; imports torch only when CUDA may be present."""
    if device == "cpu":
        return "cpu"
    if device == "auto":
        if "torch" not in sys.modules and not _gpu_driver_visible():
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but torch sees no CUDA device")
        return device
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")


def _gpu_driver_visible() -> bool:
    """Whether a GPU driver is visible, so that importing torch to check is worthwhile."""
    if sys.platform == "win32":
        return True
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl",
                                           "/dev/kfd"))


# -- torch-vectorised metrics: (c, n, ...) candidate averages -> (c,) scores -------------------


def _t_accuracy(y: torch.Tensor, proba: torch.Tensor) -> torch.Tensor:
    return (proba.argmax(dim=-1) == y).to(proba.dtype).mean(dim=-1)


def _t_log_loss(y: torch.Tensor, proba: torch.Tensor) -> torch.Tensor:
    # as automl.metrics: clip to [1e-15, 1], then sklearn's float64 [eps, 1 - eps]
    eps = float(np.finfo(np.float64).eps)
    index = y.view(1, -1, 1).expand(proba.shape[0], -1, 1)
    picked = proba.gather(-1, index).squeeze(-1).clamp(1e-15, 1.0 - eps)
    return -picked.log().mean(dim=-1)


def _t_rmse(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return ((y - pred) ** 2).mean(dim=-1).sqrt()


def _t_mae(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return (y - pred).abs().mean(dim=-1)


def _t_r2(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    # as sklearn's r2_score with force_finite: a perfect fit is 1, a constant target 0
    ss_res = ((y - pred) ** 2).sum(dim=-1)
    ss_tot = ((y - y.mean()) ** 2).sum()
    if float(ss_tot) == 0.0:
        return (ss_res == 0).to(pred.dtype)
    r2 = 1.0 - ss_res / ss_tot
    return r2.masked_fill(ss_res == 0, 1.0)


_TORCH_METRICS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "accuracy": ("classification", _t_accuracy),
    "log_loss": ("classification", _t_log_loss),
    "rmse": ("regression", _t_rmse),
    "mae": ("regression", _t_mae),
    "r2": ("regression", _t_r2),
}
"""Built-in metrics vectorised over candidates; others go through numpy one by one."""
