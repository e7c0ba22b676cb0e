"""The WGAN-GP training loop of the ``ctgan`` generator (torch).

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
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._gan_net import PackedCritic, ResidualGenerator, activate, condition_loss, gradient_penalty
from ._gan_transform import GANTransformer
from ._training import (
    amp_dtype,
    autocast,
    make_optimizer,
    make_scheduler,
    oom_guard,
    resolve_device,
    training_runtime,
)

__all__ = ["ADAM_BETAS", "MIN_GAN_BATCH", "GANResult", "GANSettings", "effective_batch",
           "train_gan"]

ADAM_BETAS = (0.5, 0.9)
"""Adam's moment decay for both networks (Gulrajani et al., as CTGAN uses)."""

MIN_GAN_BATCH = 32
"""The batch is lowered to ``n_rows // 4`` (at least this) on small tables, so
that every epoch has several steps."""


@dataclass
class GANSettings:
    """Every knob of :func:`train_gan` (see :class:`plugins.neural.gan.TabularGAN`)."""

    embedding_dim: int = 128
    generator_width: int = 256
    generator_depth: int = 2
    critic_width: int = 256
    critic_depth: int = 2
    critic_dropout: float = 0.5
    generator_lr: float = 2e-4
    critic_lr: float = 2e-4
    weight_decay: float = 1e-6
    batch_size: int = 500
    pac: int = 10
    gp_weight: float = 10.0
    critic_steps: int = 1
    max_epochs: int = 300
    schedule: str = "constant"
    tau: float = 0.2
    time_limit: float | None = None
    device: str = "auto"
    precision: str = "fp32"
    seed: int = 0
    n_threads: int = 1


@dataclass
class GANResult:
    """What :func:`train_gan` returns."""

    generator: torch.nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = "max_epochs"
    seconds: float = 0.0
    device: str = "cpu"
    batch_size: int = 0


def effective_batch(batch_size: int, n_rows: int, pac: int) -> int:
    """The batch used: at most ``n_rows // 4`` (not below :data:`MIN_GAN_BATCH`), a multiple of pac.

    Parameters
    ----------
    batch_size : int
        Requested rows per batch.
    n_rows : int
        Training rows.
    pac : int
        Rows per critic pack.

    Returns
    -------
    int
        A multiple of ``pac``, at least ``max(pac, 2)``.

    """
    batch = min(int(batch_size), max(MIN_GAN_BATCH, int(n_rows) // 4))
    pac = max(int(pac), 1)
    batch = max(batch // pac, 1) * pac
    if batch < 2:
        batch = 2 * pac
    return batch


def _precision(device: str, precision: str) -> torch.dtype | None:
    if precision == "fp16":
        raise ValueError("precision 'fp16' is not supported for the GAN (its gradient penalty "
                         "needs a loss scale per optimizer); use 'bf16' or 'fp32'")
    return amp_dtype(device, precision)


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
    deadline = None if settings.time_limit is None else started + float(settings.time_limit)
    n = int(data.shape[0])
    batch = effective_batch(settings.batch_size, n, settings.pac)
    steps = max(n // batch, 1)
    rng = np.random.default_rng(settings.seed)
    cond_dim = transformer.cond_dim
    cond_spans = [(transformer.columns[c]["start"], transformer.columns[c]["width"])
                  for c in transformer.cond_columns]
    index = transformer.row_index(slots) if cond_dim else None
    with training_runtime(device, seed=settings.seed, n_threads=settings.n_threads), \
            oom_guard(device):
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
        sched_g = make_scheduler(opt_g, settings.schedule, total)
        sched_c = make_scheduler(opt_c, settings.schedule, total * int(settings.critic_steps))
        real_data = torch.as_tensor(data, device=device)
        result = GANResult(generator=generator, device=device, batch_size=batch)
        last_good = None

        def draw() -> tuple[torch.Tensor, torch.Tensor | None, Any]:
            noise = torch.randn(batch, settings.embedding_dim, device=device)
            if not cond_dim:
                return noise, None, None
            cond, column, slot = transformer.sample_condition(counts, batch, rng,
                                                              log_frequency=True)
            return noise, torch.as_tensor(cond, device=device), (column, slot)

        def fake_rows(noise: torch.Tensor, cond: torch.Tensor | None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
            inputs = noise if cond is None else torch.cat([noise, cond], dim=1)
            with autocast(device, dtype):
                raw = generator(inputs)
            fake = activate(raw.float(), transformer.spans, settings.tau)
            return raw, fake if cond is None else torch.cat([fake, cond], dim=1)

        generator.train()
        critic.train()
        for epoch in range(1, max(int(settings.max_epochs), 1) + 1):
            epoch_started = time.monotonic()
            sums = {"critic_loss": 0.0, "generator_loss": 0.0, "distance": 0.0, "penalty": 0.0}
            status = None
            for _ in range(steps):
                for _ in range(int(settings.critic_steps)):
                    noise, cond, picked = draw()
                    if picked is None:
                        rows = rng.integers(n, size=batch)
                    else:
                        rows = transformer.real_rows(index, picked[0], picked[1], rng)
                    real = real_data[torch.as_tensor(rows, device=device)]
                    if cond is not None:
                        real = torch.cat([real, cond], dim=1)
                    _, fake = fake_rows(noise, cond)
                    fake = fake.detach()
                    with autocast(device, dtype):
                        gap = critic(real).float().mean() - critic(fake).float().mean()
                    penalty = gradient_penalty(critic, real, fake)
                    loss_c = -gap + settings.gp_weight * penalty
                    opt_c.zero_grad(set_to_none=True)
                    loss_c.backward()
                    opt_c.step()
                    sched_c.step()
                noise, cond, picked = draw()
                raw, fake = fake_rows(noise, cond)
                with autocast(device, dtype):
                    loss_g = -critic(fake).float().mean()
                if picked is not None:
                    column = torch.as_tensor(picked[0], device=device)
                    slot = torch.as_tensor(picked[1], device=device)
                    loss_g = loss_g + condition_loss(raw, cond_spans, column, slot)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                sched_g.step()
                c_value, g_value = float(loss_c.detach()), float(loss_g.detach())
                if not (math.isfinite(c_value) and math.isfinite(g_value)):
                    status = "diverged"
                    break
                sums["critic_loss"] += c_value
                sums["generator_loss"] += g_value
                sums["distance"] += float(gap.detach())
                sums["penalty"] += float(penalty.detach())
                if deadline is not None and time.monotonic() > deadline:
                    status = "time_limit"
                    break
            if status == "diverged":
                if last_good is None:
                    raise RuntimeError(
                        "GAN training diverged: a loss became NaN or infinite in the first "
                        "epoch; lower generator_lr and critic_lr")
                generator.load_state_dict(last_good)
                result.stop_reason = "diverged"
                break
            last_good = {k: v.detach().clone() for k, v in generator.state_dict().items()}
            result.epochs = epoch
            record: dict[str, float] = {"epoch": epoch}
            record.update({k: v / steps for k, v in sums.items()})
            record["seconds"] = time.monotonic() - epoch_started
            result.history.append(record)
            if status == "time_limit" or (deadline is not None and time.monotonic() > deadline
                                          and epoch < settings.max_epochs):
                result.stop_reason = "time_limit"
                break
        result.generator = generator.cpu().eval()
    result.seconds = time.monotonic() - started
    return result
