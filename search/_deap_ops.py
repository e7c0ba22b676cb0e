"""DEAP plumbing for :mod:`search.genetic`: classes, seeded randomness and variation.

``creator.create`` adds classes to the global ``deap.creator`` module, so each
is created once, under a name of our own, and looked up by that name (which
also keeps DEAP individuals picklable). DEAP's operators draw from Python's
global :mod:`random`; :func:`seeded_random` seeds it for a block and puts the
previous state back afterwards.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from deap import base, creator, tools

from search.parameters import Categorical, _value_key
from search.space import Space

__all__ = [
    "CrowdedFitness",
    "crossover_units",
    "individual_class",
    "seeded_random",
    "vary",
]

_PREFIX = "SearchGenetic"
_CREATOR_LOCK = threading.Lock()
_RANDOM_LOCK = threading.Lock()


def _creator_class(name: str, base_class: type, **attributes: Any) -> type:
    """Return ``deap.creator.<name>``, creating it on first use."""
    with _CREATOR_LOCK:
        if not hasattr(creator, name):
            creator.create(name, base_class, **attributes)
        return getattr(creator, name)


def individual_class(n_objectives: int) -> type:
    """Return the DEAP individual class minimising ``n_objectives`` objectives.

    Individuals are lists of unit-cube codes with a ``fitness`` whose weights
    are all -1 (minimisation). Classes are created lazily, once per count.
    """
    fitness = _creator_class(
        f"{_PREFIX}Fitness{n_objectives}", base.Fitness, weights=(-1.0,) * n_objectives
    )
    return _creator_class(f"{_PREFIX}Individual{n_objectives}", list, fitness=fitness)


CrowdedFitness = _creator_class(f"{_PREFIX}Crowded", base.Fitness, weights=(-1.0, 1.0))
"""Fitness ``(front rank, crowding distance)``: the crowded-comparison order of NSGA-II."""

individual_class(1)
individual_class(2)


@contextlib.contextmanager
def seeded_random(*words: int) -> Iterator[None]:
    """Seed Python's global :mod:`random` (which DEAP's operators use) for a block.

    The previous global state is put back afterwards, so other users of
    :mod:`random` are not affected. A lock keeps two threads of this module
    from interleaving their seeded blocks.
    """
    seed = int(np.random.SeedSequence([int(w) for w in words]).generate_state(2, np.uint64)[0])
    with _RANDOM_LOCK:
        state = random.getstate()
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(state)


def vary(
    space: Space,
    first: Sequence[float],
    second: Sequence[float],
    *,
    crossover_rate: float,
    mutation_rate: float | None,
    mutation_eta: float,
) -> list[float]:
    """Cross and mutate two parents' unit-cube codes (uses the seeded global random).

    See :class:`search.GeneticSearch` for the operators; ``mutation_rate=None``
    means one over the number of parameters active in the child.
    """
    params = space.params
    configs = [space.decode(first), space.decode(second)]
    codes = [
        [
            u if p.name in config else random.random()
            for p, u in zip(params, parent, strict=True)
        ]
        for config, parent in zip(configs, (first, second), strict=True)
    ]
    if random.random() < crossover_rate:
        units = crossover_units(space, *configs)
        ind1 = [tuple(codes[0][i] for i in unit) for unit in units]
        ind2 = [tuple(codes[1][i] for i in unit) for unit in units]
        tools.cxUniform(ind1, ind2, 0.5)
        child = [0.0] * len(params)
        for unit, values in zip(units, ind1, strict=True):
            for i, u in zip(unit, values, strict=True):
                child[i] = u
    else:
        child = codes[0]
    rate = mutation_rate
    if rate is None:
        rate = 1.0 / max(1, len(space.decode(child)))
    numeric = [i for i, p in enumerate(params) if not isinstance(p, Categorical)]
    genes = [child[i] for i in numeric]
    tools.mutPolynomialBounded(genes, mutation_eta, 0.0, 1.0, rate)
    for i, u in zip(numeric, genes, strict=True):
        child[i] = u
    for i, p in enumerate(params):
        if isinstance(p, Categorical) and len(p.choices) > 1 and random.random() < rate:
            k = len(p.choices)
            current = min(int(child[i] * k), k - 1)
            other = random.randrange(k - 1)
            child[i] = (other + (other >= current) + 0.5) / k
    return child


def crossover_units(
    space: Space, first: Mapping[str, Any], second: Mapping[str, Any]
) -> list[list[int]]:
    """Group gene indices that crossover must keep together.

    A parameter joins the unit of each parent categorical on which the two
    configurations differ (or which is inactive in one of them), so a
    branch moves with the choice that activates it.
    """
    names = space.names
    index = {name: i for i, name in enumerate(names)}
    root = list(range(len(names)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, p in enumerate(space.params):
        for parent in p.parents:
            same = (
                parent in first
                and parent in second
                and _value_key(first[parent]) == _value_key(second[parent])
            )
            if not same:
                root[find(i)] = find(index[parent])
    units: dict[int, list[int]] = {}
    for i in range(len(names)):
        units.setdefault(find(i), []).append(i)
    return list(units.values())
