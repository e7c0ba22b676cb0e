"""What a ``ctgan`` training run is asked to do and what it reports.

:class:`GANSettings` holds every knob of :func:`~plugins.neural.gan.loop.train_gan`,
:class:`GANResult` what it returns; :func:`effective_batch` sizes the batch
to the table and the critic's packs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from .._training import StopReason

__all__ = ["ADAM_BETAS", "MIN_GAN_BATCH", "GANResult", "GANSettings", "effective_batch"]

ADAM_BETAS = (0.5, 0.9)
"""Adam's moment decay for both networks (Gulrajani et al., as CTGAN uses)."""

MIN_GAN_BATCH = 32
"""The batch is lowered to ``n_rows // 4`` (at least this) on small tables, so
that every epoch has several steps."""


@dataclass
class GANSettings:
    """Every knob of :func:`~plugins.neural.gan.loop.train_gan`.

    The fields are the parameters of :class:`plugins.neural.gan.TabularGAN`
    of the same names, plus ``tau`` (the Gumbel-softmax temperature) and
    ``seed``.
    """

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
    """What :func:`train_gan` returns.

    Attributes
    ----------
    generator : torch.nn.Module
        The trained generator (on the CPU, in eval mode, once training ends).
    history : list of dict
        Per epoch: ``epoch``, mean ``critic_loss``, ``generator_loss``,
        ``distance`` (the critic's Wasserstein estimate), ``penalty`` and ``seconds``.
    epochs : int
        Completed epochs.
    stop_reason : StopReason
        ``"max_epochs"``, ``"time_limit"`` or ``"diverged"``.
    seconds : float
        Wall-clock time of the whole call.
    device : str
        Where it trained.
    batch_size : int
        The batch used (:func:`effective_batch`).

    """

    generator: torch.nn.Module
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    stop_reason: StopReason = "max_epochs"
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
