"""Recursive enumeration and counting behind :meth:`search.Space.grid`.

Private to :mod:`search.space`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from search.space import Space


def _walk(
    space: Space, i: int, config: dict[str, Any], values: list[list[Any]]
) -> Iterator[dict[str, Any]]:
    """Yield the grid configurations from parameter ``i`` on, extending ``config``."""
    while i < len(space._params) and not space._holds(space._params[i].name, config):
        i += 1
    if i == len(space._params):
        yield dict(config)
        return
    name = space._params[i].name
    for value in values[i]:
        config[name] = value
        yield from _walk(space, i + 1, config, values)
    del config[name]


def _count(space: Space, i: int, config: dict[str, Any], values: list[list[Any]]) -> int:
    """Count what :func:`_walk` would yield, branching only on parent parameters."""
    factor = 1
    while i < len(space._params):
        p = space._params[i]
        if space._holds(p.name, config):
            if p.name in space._parent_names:
                total = 0
                for value in values[i]:
                    config[p.name] = value
                    total += _count(space, i + 1, config, values)
                del config[p.name]
                return factor * total
            factor *= len(values[i])
        i += 1
    return factor
