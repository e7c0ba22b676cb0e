"""Grid search: walk the full-factorial grid of a space, lazily."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from search.space import Space
from search.strategy import Strategy

__all__ = ["GridSearch"]


class GridSearch(Strategy):
    """Propose the points of ``space.grid(resolution)`` one after another.

    The grid is walked lazily, so huge grids cost nothing up front. Points
    already asked (for instance enqueued defaults, or trials restored from
    storage) are skipped. When the grid is done, :meth:`ask` returns fewer
    trials than asked for, then ``[]``.

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of the shuffle (unused without ``shuffle``).
    resolution : int, default 5
        Points per Float parameter, and at most per Int parameter (see
        :meth:`search.Space.grid`).
    shuffle : bool, default False
        Visit the grid in a seeded random order. The grid is then
        materialised, so it may hold at most :attr:`max_shuffle` points.

    Raises
    ------
    ValueError
        If ``shuffle`` is set and the grid is larger than :attr:`max_shuffle`.

    """

    max_shuffle: int = 100_000
    """Largest grid that ``shuffle=True`` accepts."""

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None = None,
        resolution: int = 5,
        shuffle: bool = False,
    ) -> None:
        super().__init__(space, seed=seed)
        self.resolution = resolution
        self.shuffle = bool(shuffle)
        size = space.grid_size(resolution)  # also checks the resolution
        if self.shuffle and size > self.max_shuffle:
            raise ValueError(
                f"the grid has {size:,} points; shuffle=True materialises it and accepts at "
                f"most {self.max_shuffle:,}; lower the resolution, use shuffle=False, or "
                "use RandomSearch"
            )
        self._position = 0
        self._iterator: Iterator[dict[str, Any]] | None = None
        self._points: list[dict[str, Any]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_iterator"] = None  # generators do not pickle; rebuilt from _position
        state["_points"] = None  # rebuilt deterministically from the seed
        return state

    def _next_point(self) -> dict[str, Any] | None:
        if self.shuffle:
            if self._points is None:
                points = list(self.space.grid(self.resolution))
                order = np.random.default_rng(self.seed).permutation(len(points))
                self._points = [points[i] for i in order]
            if self._position >= len(self._points):
                return None
            point = self._points[self._position]
        else:
            if self._iterator is None:
                grid = self.space.grid(self.resolution)
                self._iterator = itertools.islice(grid, self._position, None)
            point = next(self._iterator, None)
            if point is None:
                return None
        self._position += 1
        return point

    def _suggest(self, n: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while len(out) < n:
            point = self._next_point()
            if point is None:
                break
            if self._is_new(point):
                out.append(point)
        return out
