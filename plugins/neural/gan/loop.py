"""The WGAN-GP training loop of the ``ctgan`` generator (torch): :func:`train_gan`.

Two optimizers take turns: ``critic_steps`` critic updates
(``-(critic(real) - critic(fake)) + gp_weight * gradient penalty``), then one
generator update (``-critic(fake) + condition cross-entropy``). Both use
:func:`~plugins.neural._training.make_optimizer` (AdamW without decay on
biases and norms) with Adam's ``betas=(0.5, 0.9)`` of WGAN-GP, and
:func:`~plugins.neural._training.make_scheduler`. Seeds, thread caps and
deterministic kernels come from
:func:`~plugins.neural._training.training_runtime`, memory errors are made
clear by :func:`~plugins.neural._training.oom_guard`, and the time limit is
checked between batches. The generator's weights at the end of every epoch
are kept, so a run that diverges (a NaN loss) or times out keeps the last
complete epoch.

The loop reads as its phases: :func:`start_gan` builds the networks, their
optimizers and schedules; :func:`fit_loop` runs epochs until one names a stop
reason; :func:`run_single_epoch` runs the steps of an epoch
(:func:`train_step`: ``critic_steps`` of :func:`critic_step`, then one
:func:`generator_step`) and records it. The state the phases share is one
:class:`GANState` record.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .._training import (
    StopReason,
    amp_dtype,
    autocast,
    make_optimizer,
    make_scheduler,
    oom_guard,
    resolve_device,
    training_runtime,
)
from .net import PackedCritic, ResidualGenerator, activate, condition_loss, gradient_penalty
from .settings import ADAM_BETAS, GANResult, GANSettings, effective_batch
from .transform import GANTransformer

__all__ = ["GANState", "critic_step", "fit_loop", "generator_step", "run_single_epoch",
           "start_gan", "train_gan", "train_step"]


def _precision(device: str, precision: str) -> torch.dtype | None:
    if precision == "fp16":
        raise ValueError("precision 'fp16' is not supported for the GAN (its gradient penalty "
                         "needs a loss scale per optimizer); use 'bf16' or 'fp32'")
    return amp_dtype(device, precision)


@dataclass
class GANState:
    """What the phases of one :func:`train_gan` call share.

    Attributes
    ----------
    settings : GANSettings
        The knobs.
    transformer : GANTransformer
        Gives the blocks and the conditioning columns of the data.
    counts : list of ndarray
        Rows per slot of each conditioning column (for drawing conditions).
    device : str
        Where it trains.
    dtype : torch.dtype or None
        Autocast dtype (None: full precision).
    deadline : float or None
        ``time.monotonic()`` time the run must end by.
    batch, steps : int
        Rows per batch and steps per epoch.
    rng : numpy.random.Generator
        Draws conditions and real rows.
    cond_spans : list of (int, int)
        ``(start, width)`` of each conditioning column's block in a data row.
    index : tuple of ndarray or None
        Rows by slot (:meth:`GANTransformer.row_index`); None without conditions.
    real_data : torch.Tensor
        The encoded rows, on ``device``.
    generator, critic : torch.nn.Module
        The two networks.
    opt_g, opt_c, sched_g, sched_c
        Their optimizers and learning-rate schedules.
    result : GANResult
        What the run reports, filled in as it goes.
    last_good : dict or None
        The generator's weights at the end of the last complete epoch.

    """

    settings: GANSettings
    transformer: GANTransformer
    counts: list[np.ndarray]
    device: str
    dtype: torch.dtype | None
    deadline: float | None
    batch: int
    steps: int
    rng: np.random.Generator
    cond_spans: list[tuple[int, int]]
    index: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    real_data: torch.Tensor
    generator: ResidualGenerator
    critic: PackedCritic
    opt_g: torch.optim.Optimizer
    opt_c: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LRScheduler
    sched_c: torch.optim.lr_scheduler.LRScheduler
    result: GANResult
    last_good: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    def past_deadline(self) -> bool:
        """Whether the time limit has passed."""
        return self.deadline is not None and time.monotonic() > self.deadline


def start_gan(data: np.ndarray, slots: np.ndarray, transformer: GANTransformer,
              counts: list[np.ndarray], settings: GANSettings, *, device: str,
              dtype: torch.dtype | None, started: float) -> GANState:
    """The networks, their optimizers and schedules and the data: a run ready to train.

    Called inside :func:`~plugins.neural._training.training_runtime`, so the
    networks' initialisation is seeded.

    Parameters
    ----------
    data, slots, transformer, counts, settings
        As for :func:`train_gan`.
    device : str
        A resolved device.
    dtype : torch.dtype or None
        Autocast dtype (None: full precision).
    started : float
        ``time.monotonic()`` when the call started (the time limit counts from it).

    Returns
    -------
    GANState
        The run before its first epoch.

    """
    n = int(data.shape[0])
    batch = effective_batch(settings.batch_size, n, settings.pac)
    steps = max(n // batch, 1)
    cond_dim = transformer.cond_dim
    generator = ResidualGenerator(settings.embedding_dim + cond_dim, settings.generator_width,
                                  settings.generator_depth, transformer.data_dim).to(device)
    critic = PackedCritic(transformer.data_dim + cond_dim, settings.critic_width,
                          settings.critic_depth, settings.critic_dropout,
                          settings.pac).to(device)
    opt_g = make_optimizer(generator, settings.generator_lr, settings.weight_decay)
    opt_c = make_optimizer(critic, settings.critic_lr, settings.weight_decay)
    for optimizer in (opt_g, opt_c):
        for group in optimizer.param_groups:
            group["betas"] = ADAM_BETAS
    total = max(int(settings.max_epochs), 1) * steps
    return GANState(
        settings=settings, transformer=transformer, counts=counts, device=device, dtype=dtype,
        deadline=None if settings.time_limit is None else started + float(settings.time_limit),
        batch=batch, steps=steps, rng=np.random.default_rng(settings.seed),
        cond_spans=[(transformer.columns[c]["start"], transformer.columns[c]["width"])
                    for c in transformer.cond_columns],
        index=transformer.row_index(slots) if cond_dim else None,
        generator=generator, critic=critic, opt_g=opt_g, opt_c=opt_c,
        sched_g=make_scheduler(opt_g, settings.schedule, total),
        sched_c=make_scheduler(opt_c, settings.schedule, total * int(settings.critic_steps)),
        real_data=torch.as_tensor(data, device=device),
        result=GANResult(generator=generator, device=device, batch_size=batch),
    )


def _draw(state: GANState) -> tuple[torch.Tensor, torch.Tensor | None, Any]:
    """Noise for a batch, and its conditions with the ``(column, slot)`` they pick."""
    noise = torch.randn(state.batch, state.settings.embedding_dim, device=state.device)
    if not state.transformer.cond_dim:
        return noise, None, None
    cond, column, slot = state.transformer.sample_condition(state.counts, state.batch,
                                                            state.rng, log_frequency=True)
    return noise, torch.as_tensor(cond, device=state.device), (column, slot)


def _fake_rows(state: GANState, noise: torch.Tensor, cond: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw generator outputs, and the activated fake rows (conditions appended)."""
    inputs = noise if cond is None else torch.cat([noise, cond], dim=1)
    with autocast(state.device, state.dtype):
        raw = state.generator(inputs)
    fake = activate(raw.float(), state.transformer.spans, state.settings.tau)
    return raw, fake if cond is None else torch.cat([fake, cond], dim=1)


def critic_step(state: GANState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One critic update on real rows holding the drawn conditions and on fake rows.

    Parameters
    ----------
    state : GANState
        The run.

    Returns
    -------
    loss, distance, penalty : torch.Tensor
        The critic loss ``-distance + gp_weight * penalty``, the critic's
        Wasserstein estimate and the gradient penalty.

    """
    noise, cond, picked = _draw(state)
    if picked is None:
        rows = state.rng.integers(int(state.real_data.shape[0]), size=state.batch)
    else:
        rows = state.transformer.real_rows(state.index, picked[0], picked[1], state.rng)
    real = state.real_data[torch.as_tensor(rows, device=state.device)]
    if cond is not None:
        real = torch.cat([real, cond], dim=1)
    _, fake = _fake_rows(state, noise, cond)
    fake = fake.detach()
    with autocast(state.device, state.dtype):
        gap = state.critic(real).float().mean() - state.critic(fake).float().mean()
    penalty = gradient_penalty(state.critic, real, fake)
    loss = -gap + state.settings.gp_weight * penalty
    state.opt_c.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_c.step()
    state.sched_c.step()
    return loss, gap, penalty


def generator_step(state: GANState) -> torch.Tensor:
    """One generator update: ``-critic(fake)`` plus the condition cross-entropy.

    Parameters
    ----------
    state : GANState
        The run.

    Returns
    -------
    torch.Tensor
        The generator loss.

    """
    noise, cond, picked = _draw(state)
    raw, fake = _fake_rows(state, noise, cond)
    with autocast(state.device, state.dtype):
        loss = -state.critic(fake).float().mean()
    if picked is not None:
        column = torch.as_tensor(picked[0], device=state.device)
        slot = torch.as_tensor(picked[1], device=state.device)
        loss = loss + condition_loss(raw, state.cond_spans, column, slot)
    state.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    state.opt_g.step()
    state.sched_g.step()
    return loss


def train_step(state: GANState) -> dict[str, float]:
    """``critic_steps`` critic updates, then one generator update.

    Parameters
    ----------
    state : GANState
        The run.

    Returns
    -------
    dict of str to float
        ``critic_loss``, ``generator_loss`` and the last critic update's
        ``distance`` and ``penalty``.

    """
    for _ in range(int(state.settings.critic_steps)):
        loss_c, gap, penalty = critic_step(state)
    loss_g = generator_step(state)
    return {"critic_loss": float(loss_c.detach()), "generator_loss": float(loss_g.detach()),
            "distance": float(gap.detach()), "penalty": float(penalty.detach())}


def run_single_epoch(state: GANState, epoch: int) -> StopReason | None:
    """Run the steps of one epoch and record it; return why to stop, or None.

    The time limit is checked after each step. A diverged epoch (a NaN or
    infinite loss) restores the generator of the last complete epoch.

    Parameters
    ----------
    state : GANState
        The run.
    epoch : int
        1-based epoch number.

    Returns
    -------
    StopReason or None
        ``"diverged"``, ``"time_limit"`` or None.

    Raises
    ------
    RuntimeError
        When the first epoch diverges.

    """
    epoch_started = time.monotonic()
    sums = {"critic_loss": 0.0, "generator_loss": 0.0, "distance": 0.0, "penalty": 0.0}
    cut_short: StopReason | None = None
    for _ in range(state.steps):
        losses = train_step(state)
        if not (math.isfinite(losses["critic_loss"])
                and math.isfinite(losses["generator_loss"])):
            cut_short = "diverged"
            break
        for name in sums:
            sums[name] += losses[name]
        if state.past_deadline():
            cut_short = "time_limit"
            break
    if cut_short == "diverged":
        if state.last_good is None:
            raise RuntimeError(
                "GAN training diverged: a loss became NaN or infinite in the first "
                "epoch; lower generator_lr and critic_lr")
        state.generator.load_state_dict(state.last_good)
        return "diverged"
    state.last_good = {k: v.detach().clone() for k, v in state.generator.state_dict().items()}
    state.result.epochs = epoch
    record: dict[str, float] = {"epoch": epoch}
    record.update({k: v / state.steps for k, v in sums.items()})
    record["seconds"] = time.monotonic() - epoch_started
    state.result.history.append(record)
    if cut_short == "time_limit" or (state.past_deadline()
                                     and epoch < state.settings.max_epochs):
        return "time_limit"
    return None


def fit_loop(state: GANState) -> GANResult:
    """Run epochs until one names a stop reason.

    Parameters
    ----------
    state : GANState
        A run from :func:`start_gan`.

    Returns
    -------
    GANResult
        ``state.result``, its generator on the CPU in eval mode.

    """
    state.generator.train()
    state.critic.train()
    for epoch in range(1, max(int(state.settings.max_epochs), 1) + 1):
        reason = run_single_epoch(state, epoch)
        if reason is not None:
            state.result.stop_reason = reason
            break
    state.result.generator = state.generator.cpu().eval()
    return state.result


def train_gan(data: np.ndarray, slots: np.ndarray, transformer: GANTransformer,
              counts: list[np.ndarray], settings: GANSettings) -> GANResult:
    """Train a conditional WGAN-GP on encoded rows.

    Parameters
    ----------
    data : ndarray of float32, shape (n, data_dim)
        Encoded rows (:meth:`GANTransformer.transform`).
    slots : ndarray of int64, shape (n, n_cond_columns)
        The slot of every row in each conditioning column.
    transformer : GANTransformer
        Gives the blocks and the conditioning columns.
    counts : list of ndarray
        Rows per slot of each conditioning column.
    settings : GANSettings
        The knobs.

    Returns
    -------
    GANResult
        The generator (on the CPU, in eval mode) and the history.

    Raises
    ------
    RuntimeError
        When the first epoch already diverges.
    DeviceOutOfMemoryError
        When the device runs out of memory.

    """
    started = time.monotonic()
    device = resolve_device(settings.device)
    dtype = _precision(device, settings.precision)
    with training_runtime(device, seed=settings.seed, n_threads=settings.n_threads), \
            oom_guard(device):
        state = start_gan(data, slots, transformer, counts, settings, device=device,
                          dtype=dtype, started=started)
        result = fit_loop(state)
    result.seconds = time.monotonic() - started
    return result
