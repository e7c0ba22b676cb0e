"""Networks and losses of the ``ctgan`` generator (torch).

:class:`ResidualGenerator`
    ``[noise, condition]`` through ``depth`` residual blocks
    (``Linear -> BatchNorm -> ReLU``, the block's input concatenated to its
    output, as in CTGAN) and a linear layer to the raw data vector.
:class:`PackedCritic`
    An MLP (``Linear -> LeakyReLU(0.2) -> Dropout``) over ``pac`` rows
    packed into one input (PacGAN [Lin2018]_: the critic sees several samples
    at once, which penalises mode collapse), ending in one unbounded score.
:func:`activate`
    ``tanh`` on scalar blocks, Gumbel-softmax on one-hot blocks, so that
    generated rows look like encoded real ones to the critic.
:func:`gradient_penalty`
    The WGAN-GP penalty [Gulrajani2017]_ on packed interpolates.
:func:`condition_loss`
    Cross-entropy between the generated block of each conditioning column
    and the requested slot, for the rows conditioned on that column.

References
----------
.. [Gulrajani2017] I. Gulrajani, F. Ahmed, M. Arjovsky, V. Dumoulin, A.
   Courville. "Improved Training of Wasserstein GANs". NeurIPS 2017.
.. [Lin2018] Z. Lin, A. Khetan, G. Fanti, S. Oh. "PacGAN: The power of two
   samples in generative adversarial networks". NeurIPS 2018.

"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn

__all__ = [
    "PackedCritic",
    "ResidualGenerator",
    "activate",
    "condition_loss",
    "gradient_penalty",
]


class _Residual(nn.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)
        self.bn = nn.BatchNorm1d(n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class ResidualGenerator(nn.Module):
    """Residual MLP from ``[noise, condition]`` to a raw data vector.

    Parameters
    ----------
    input_dim : int
        Noise width plus condition width.
    width : int
        Units added by each residual block.
    depth : int
        Residual blocks.
    data_dim : int
        Width of the data vector.

    """

    def __init__(self, input_dim: int, width: int, depth: int, data_dim: int) -> None:
        super().__init__()
        blocks, dim = [], int(input_dim)
        for _ in range(int(depth)):
            blocks.append(_Residual(dim, int(width)))
            dim += int(width)
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(dim, int(data_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs (activate them with :func:`activate`)."""
        return self.out(self.blocks(x))


class PackedCritic(nn.Module):
    """WGAN critic over packs of ``pac`` rows.

    Parameters
    ----------
    input_dim : int
        Data width plus condition width (of one row).
    width : int
        Hidden units per layer.
    depth : int
        Hidden layers.
    dropout : float
        Dropout after each hidden layer.
    pac : int
        Rows per pack; batches must hold a multiple of it.

    """

    def __init__(self, input_dim: int, width: int, depth: int, dropout: float,
                 pac: int) -> None:
        super().__init__()
        self.pac = int(pac)
        self.packed_dim = int(input_dim) * self.pac
        layers: list[nn.Module] = []
        dim = self.packed_dim
        for _ in range(int(depth)):
            layers += [nn.Linear(dim, int(width)), nn.LeakyReLU(0.2), nn.Dropout(float(dropout))]
            dim = int(width)
        layers.append(nn.Linear(dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One score per pack, shape ``(len(x) // pac,)``."""
        return self.net(x.reshape(-1, self.packed_dim)).reshape(-1)


def activate(raw: torch.Tensor, spans: Sequence[tuple[int, int, str]],
             tau: float = 0.2) -> torch.Tensor:
    """Apply each block's activation to raw generator outputs.

    Parameters
    ----------
    raw : torch.Tensor of shape (n, data_dim)
        Generator outputs.
    spans : sequence of (start, width, activation)
        From the transformer; activation ``"tanh"`` or ``"softmax"``.
    tau : float, default=0.2
        Gumbel-softmax temperature (low: nearly one-hot, as real rows are).

    Returns
    -------
    torch.Tensor
        The activated data vectors.

    """
    parts = []
    for start, width, kind in spans:
        block = raw[:, start: start + width]
        if kind == "tanh":
            parts.append(torch.tanh(block))
        elif width == 1:
            parts.append(torch.ones_like(block))
        else:
            parts.append(F.gumbel_softmax(block.float(), tau=tau, hard=False).to(block.dtype))
    return torch.cat(parts, dim=1)


def gradient_penalty(critic: PackedCritic, real: torch.Tensor, fake: torch.Tensor
                     ) -> torch.Tensor:
    """WGAN-GP: ``mean((||grad critic(x_hat)|| - 1)^2)`` on interpolates of packs.

    Parameters
    ----------
    critic : PackedCritic
        The critic (its ``pac`` defines the packs).
    real, fake : torch.Tensor of shape (n, input_dim)
        Real and generated rows, conditions included; ``n`` a multiple of pac.

    Returns
    -------
    torch.Tensor
        The penalty (a scalar, fp32).

    """
    pac = critic.pac
    n, dim = real.shape
    alpha = torch.rand(n // pac, 1, 1, device=real.device)
    alpha = alpha.expand(n // pac, pac, dim).reshape(n, dim)
    mixed = (alpha * real.float() + (1 - alpha) * fake.float()).requires_grad_(True)
    score = critic(mixed)
    (grad,) = torch.autograd.grad(score.sum(), mixed, create_graph=True)
    norms = grad.reshape(-1, pac * dim).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


def condition_loss(raw: torch.Tensor, cond_spans: Sequence[tuple[int, int]],
                   column: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
    """Cross-entropy pushing each row's conditioned column to the requested slot.

    Parameters
    ----------
    raw : torch.Tensor of shape (n, data_dim)
        Generator outputs (logits).
    cond_spans : sequence of (start, width)
        Blocks of the conditioning columns in the data vector.
    column, slot : torch.Tensor of int64, shape (n,)
        Conditioning column (index into ``cond_spans``) and slot of each row.

    Returns
    -------
    torch.Tensor
        Summed over conditioned rows, divided by ``n`` (a scalar, fp32).

    """
    total = raw.new_zeros((), dtype=torch.float32)
    for j, (start, width) in enumerate(cond_spans):
        rows = column == j
        if not bool(rows.any()):
            continue
        logits = raw[rows, start: start + width].float()
        total = total + F.cross_entropy(logits, slot[rows], reduction="sum")
    return total / max(int(raw.shape[0]), 1)
