"""Random search: independent draws from the space, seeded per trial number."""

from __future__ import annotations

from typing import Any

from search.space import Space, config_key
from search.strategy import Strategy

__all__ = ["RandomSearch"]


class RandomSearch(Strategy):
    """Sample configurations at random (log-uniformly for ``log=True`` parameters).

    Trial ``k`` is drawn from a generator seeded by ``(seed, k)``, so the
    proposals do not depend on how asks are batched, and a restored search
    continues exactly where the original one stopped. A draw equal to an
    earlier configuration (or to another one of the same batch) is redrawn,
    up to :attr:`max_tries` times; on a small space whose configurations have
    all been asked, repeats of earlier batches are then allowed (a batch stays
    free of repeats whenever the space holds enough configurations).

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness.

    Examples
    --------
    >>> from search import Float, Space
    >>> strategy = RandomSearch(Space([Float("x", 0.0, 1.0)]), seed=0)
    >>> [trial] = strategy.ask()
    >>> 0.0 <= trial.config["x"] <= 1.0
    True

    """

    max_tries: int = 100
    """Draws per trial before a repeated configuration is accepted."""

    def __init__(self, space: Space, *, seed: int | None = None) -> None:
        super().__init__(space, seed=seed)

    def _suggest(self, n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        batch: set[Any] = set()
        for i in range(n):
            chosen = self._draw_new(self.n_asked + i, batch, self.max_tries)
            batch.add(config_key(chosen))
            out.append(chosen)
        return out
