"""Optimisation pieces: AdamW groups, learning-rate schedules, L1 and losses.

Part of :mod:`plugins.neural._training`; import from there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn

__all__ = [
    "LOSSES",
    "SCHEDULES",
    "l1_penalty",
    "make_optimizer",
    "make_scheduler",
    "resolve_loss",
]

SCHEDULES = ("cosine", "onecycle", "constant")
"""Learning-rate schedules :func:`make_scheduler` knows (stepped every batch)."""

LOSSES = ("cross_entropy", "bce", "mse", "huber", "mae")
"""Loss names :func:`resolve_loss` knows; a callable ``loss(output, target)`` also works."""

COSINE_FLOOR = 0.01
"""The cosine schedule decays the learning rate to this share of its peak."""

WARMUP_SHARE = 0.05
"""Share of the steps spent on the linear warm-up of the cosine schedule."""


def trainable(params: nn.Module | Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """The parameters of ``params`` (a module or tensors) that have ``requires_grad``.

    Parameters
    ----------
    params : torch.nn.Module or iterable of tensors
        A network, or its parameters.

    Returns
    -------
    list of torch.Tensor
        The trainable ones (frozen layers left out).

    """
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
    weights = trainable(params)
    if not weights:
        raise ValueError("the model has no trainable parameters")
    decay = [p for p in weights if p.ndim >= 2]
    other = [p for p in weights if p.ndim < 2]
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
    terms = [p.abs().sum() for p in trainable(model) if p.ndim >= 2]
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
