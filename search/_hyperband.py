"""Asynchronous Hyperband over any base strategy (re-exported by :mod:`search.fidelity`)."""

from __future__ import annotations

import math

from search._multifidelity import BaseFactory, _MultiFidelity, _rung_fidelities
from search.space import Space


class Hyperband(_MultiFidelity):
    """Asynchronous Hyperband: successive-halving brackets with different starting rungs.

    Bracket ``s`` starts new configurations at rung ``s`` (bracket 0 is the
    most aggressive, the last one evaluates at full fidelity only) and
    promotes ASHA-style within itself. New configurations are dealt to the
    brackets in a fixed, interleaved cycle in the proportions of Hyperband
    (Li et al., 2018): with ``R`` rungs, bracket ``s`` gets
    ``ceil(R / (R - s) * eta**(R - 1 - s))`` configurations per cycle (27, 12,
    6, 4 for the defaults), so each bracket spends about the same budget and
    the search hedges against a low fidelity that ranks poorly. Promotions
    go first, from the highest rung of any bracket (lower bracket first on
    ties).

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness.
    base : str or callable, default "random"
        As for :class:`~search.fidelity.SuccessiveHalving`.
    min_fidelity : float, default 1/27
        Fidelity of the lowest rung, in (0, 1].
    eta : float, default 3
        Reduction factor (> 1).

    Attributes
    ----------
    rungs, incumbent
        As for :class:`~search.fidelity.SuccessiveHalving`.
    brackets : tuple of float
        The starting fidelity of each bracket.
    schedule : tuple of int
        The bracket of each new configuration in one cycle.
    base_strategy : Strategy
        The base strategy, shared by every bracket (see :mod:`search.fidelity`).

    Examples
    --------
    >>> from search import Float, Hyperband, Space
    >>> hb = Hyperband(Space([Float("x", -1.0, 1.0)]), seed=0)
    >>> [round(f, 4) for f in hb.brackets]
    [0.037, 0.1111, 0.3333, 1.0]
    >>> [hb.schedule.count(s) for s in range(4)]
    [27, 12, 6, 4]

    """

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None = None,
        base: str | BaseFactory = "random",
        min_fidelity: float = 1 / 27,
        eta: float = 3,
    ) -> None:
        rungs = _rung_fidelities(min_fidelity, eta)
        n = len(rungs)
        quotas = [math.ceil(n / (n - s) * float(eta) ** (n - 1 - s) - 1e-9) for s in range(n)]
        super().__init__(
            space, seed=seed, base=base, min_fidelity=min_fidelity, eta=eta,
            starts=tuple(range(n)), schedule=_interleave(quotas),
        )

    @property
    def brackets(self) -> tuple[float, ...]:
        """The starting fidelity of each bracket."""
        return tuple(self.rungs[b.start] for b in self._brackets)

    @property
    def schedule(self) -> tuple[int, ...]:
        """The bracket of each new configuration in one cycle."""
        return self._schedule


def _interleave(quotas: list[int]) -> tuple[int, ...]:
    """Deal ``sum(quotas)`` slots to brackets, each as close to its share as possible."""
    total = sum(quotas)
    counts = [0] * len(quotas)
    out = []
    for position in range(total):
        lag = [q * (position + 1) / total - c for q, c in zip(quotas, counts, strict=True)]
        chosen = max(range(len(quotas)), key=lambda s: (lag[s], -s))
        counts[chosen] += 1
        out.append(chosen)
    return tuple(out)
