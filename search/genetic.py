"""Genetic search: a (mu + lambda) evolutionary algorithm on DEAP, asked and told.

Individuals are configurations, varied in the unit-cube encoding of the space
(:meth:`search.Space.encode`) and decoded back with :meth:`search.Space.decode`,
so every proposal is valid, conditions included. Trial numbers are cut into
generations: trials ``0 .. mu - 1`` form the initial population (a scrambled
Sobol sample or a random one), then each further block of ``lambda`` trials is
one generation of offspring. Once every trial of a generation is told, ``mu``
survivors are selected from the population and those offspring: by tournament
with elitism for one objective, by NSGA-II for several.

Everything random is seeded by ``(seed, trial number)`` or ``(seed,
generation)``, and the state depends only on *which* trials were told, not on
when; so batching, pickling and :meth:`~search.Strategy.restore` do not change
what is proposed next.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from deap import tools

from search._deap_ops import CrowdedFitness as _CrowdedFitness
from search._deap_ops import individual_class as _individual_class
from search._deap_ops import seeded_random as _seeded_random
from search._deap_ops import vary
from search.space import Space, config_key
from search.strategy import Observation, Strategy, Trial

__all__ = ["GeneticSearch"]

# Distinct first words of the seeds of each use of randomness.
_VARY, _SELECT, _SOBOL = 0x6E17, 0x5E1EC7, 0x50B0

_SOBOL_MAX_DIM = 21201  # scipy's Sobol direction numbers go this far


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_rate(value: Any, name: str) -> float:
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, (int, float, np.number))
        or not 0 <= float(value) <= 1
    ):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


class GeneticSearch(Strategy):
    """Evolve configurations with a (mu + lambda) genetic algorithm (DEAP operators).

    The first ``population_size`` trials are a scrambled Sobol sample of the
    unit cube (``initial="sobol"``) or random draws (``initial="random"``).
    Every later trial is an offspring of the current population:

    1. two parents are picked by tournament (``tools.selTournament``; for
       several objectives the tournament compares front rank, then crowding
       distance);
    2. with probability ``crossover_rate`` they are crossed with
       ``tools.cxUniform``. Genes travel in *units*: a parameter whose parent
       categorical differs between the two parents moves together with it, so
       a child inherits a whole branch (say ``model="svm"``) with the values
       its parameters had in the parent of that branch;
    3. each gene mutates with probability ``mutation_rate``: numeric codes by
       ``tools.mutPolynomialBounded`` within ``[0, 1]``, categorical ones by
       drawing another choice. Parameters inactive in a parent get random codes
       first, so a branch switched on by mutation starts at a random point;
    4. the codes are decoded with :meth:`Space.decode`, so the child is valid.
       A child equal to an earlier configuration is bred again, up to
       :attr:`max_tries` times, then replaced by a random draw.

    When all ``offspring_size`` trials of a generation are told, the next
    population is chosen from the current one and these offspring: the best
    configuration seen so far plus ``population_size - 1`` tournament winners
    (``tools.selTournament``) for one objective, ``tools.selNSGA2`` for
    several (observations with ``values``). Failed and non-finite trials get an
    infinite loss on every objective, so they never win over a finite one.

    Trials asked before the previous generation is complete are bred from the
    latest population available (or drawn at random before the first one is
    complete), so parallel workers are never kept waiting. Every asked trial
    should eventually be told (use :meth:`Observation.failed` for trials that
    produced nothing); otherwise evolution stops at that generation.

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness.
    population_size : int, default 20
        ``mu``: size of the initial population and of each selected one (>= 2).
    offspring_size : int or None, default None
        ``lambda``: trials per generation (>= 1); ``None`` means ``population_size``.
    mutation_rate : float or None, default None
        Probability that each gene of a child mutates, in ``[0, 1]``; ``None``
        means one over the number of parameters active in the child.
    crossover_rate : float, default 0.9
        Probability that a child comes from crossover rather than from one
        parent, in ``[0, 1]``.
    tournament_size : int, default 3
        Aspirants per tournament (>= 1).
    mutation_eta : float, default 20.0
        Distribution index of polynomial mutation (> 0): larger values keep
        children closer to their parents.
    initial : {"sobol", "random"}, default "sobol"
        How the initial population is drawn.

    Examples
    --------
    >>> from search import Float, Observation, Space
    >>> strategy = GeneticSearch(Space([Float("x", -1.0, 1.0)]), seed=0, population_size=4)
    >>> for _ in range(3):
    ...     for trial in strategy.ask(4):
    ...         strategy.tell(trial, Observation(value=trial.config["x"] ** 2))
    >>> strategy.generation
    2

    """

    max_tries: int = 20
    """Times a child equal to an earlier configuration is bred again."""

    random_tries: int = 100
    """Random draws tried after that, before a repeat is accepted."""

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None = None,
        population_size: int = 20,
        offspring_size: int | None = None,
        mutation_rate: float | None = None,
        crossover_rate: float = 0.9,
        tournament_size: int = 3,
        mutation_eta: float = 20.0,
        initial: str = "sobol",
    ) -> None:
        super().__init__(space, seed=seed)
        self.population_size = _check_int(population_size, "population_size", 2)
        self.offspring_size = (
            self.population_size
            if offspring_size is None
            else _check_int(offspring_size, "offspring_size", 1)
        )
        self.mutation_rate = (
            None
            if mutation_rate is None
            else _check_rate(mutation_rate, "mutation_rate")
        )
        self.crossover_rate = _check_rate(crossover_rate, "crossover_rate")
        self.tournament_size = _check_int(tournament_size, "tournament_size", 1)
        if (
            isinstance(mutation_eta, (bool, np.bool_))
            or not isinstance(mutation_eta, (int, float, np.number))
            or not 0 < float(mutation_eta) < math.inf
        ):
            raise ValueError(f"mutation_eta must be a finite number > 0, got {mutation_eta!r}")
        self.mutation_eta = float(mutation_eta)
        if initial not in ("sobol", "random"):
            raise ValueError(f'initial must be "sobol" or "random", got {initial!r}')
        self.initial = initial
        self._generation = -1
        # trial number -> (trial, objectives or None when failed, unit-cube codes)
        self._evaluated: dict[int, tuple[Trial, tuple[float, ...] | None, tuple[float, ...]]] = {}
        self._told_per_generation: dict[int, int] = {}
        self._population: list[int] = []  # trial numbers, in selection order
        self._n_objectives: int | None = None
        self._sobol: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_sobol"] = None  # recomputed from the seed when needed
        return state

    # public ---------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Last generation selected: -1 until the initial population is told, then 0, 1, ..."""
        return self._generation

    @property
    def population(self) -> list[tuple[Trial, Observation]]:
        """The current population as told ``(trial, observation)`` pairs.

        Empty until the initial population is fully told. A configuration may
        appear more than once (tournaments select with replacement).
        """
        observations = {trial.number: obs for trial, obs in self._history}
        return [(self._evaluated[n][0], observations[n]) for n in self._population]

    def tell(self, trial: Trial, observation: Observation) -> None:
        """Report the outcome of a pending trial.

        Parameters
        ----------
        trial : Trial
            A trial returned by :meth:`ask`.
        observation : Observation
            Its outcome; every finite observation must carry the same number of
            objectives (``value`` counts as one).

        Raises
        ------
        ValueError
            If the trial is not pending, or the number of objectives differs
            from earlier observations.

        """
        if (
            isinstance(observation, Observation)
            and observation.finite
            and self._n_objectives is not None
            and len(observation.objectives) != self._n_objectives
        ):
            raise ValueError(
                f"GeneticSearch got {len(observation.objectives)} objective(s) for trial "
                f"{getattr(trial, 'number', trial)!r}, but earlier observations had "
                f"{self._n_objectives}; every observation must have the same number"
            )
        super().tell(trial, observation)

    # generations ------------------------------------------------------------------
    def _generation_of(self, number: int) -> int:
        if number < self.population_size:
            return 0
        return 1 + (number - self.population_size) // self.offspring_size

    def _generation_size(self, generation: int) -> int:
        return self.population_size if generation == 0 else self.offspring_size

    def _generation_numbers(self, generation: int) -> range:
        if generation == 0:
            return range(self.population_size)
        start = self.population_size + (generation - 1) * self.offspring_size
        return range(start, start + self.offspring_size)

    def _on_tell(self, trial: Trial, observation: Observation) -> None:
        objectives = observation.objectives if observation.finite else None
        if objectives is not None and self._n_objectives is None:
            self._n_objectives = len(objectives)
        codes = tuple(float(u) for u in self.space.encode(trial.config))
        self._evaluated[trial.number] = (trial, objectives, codes)
        generation = self._generation_of(trial.number)
        self._told_per_generation[generation] = self._told_per_generation.get(generation, 0) + 1
        # evolve through every generation now complete, in order
        following = self._generation + 1
        while self._told_per_generation.get(following, 0) == self._generation_size(following):
            self._generation = following
            self._select(following)
            following += 1

    def _select(self, generation: int) -> None:
        """Choose the population after ``generation`` was told in full."""
        offspring = list(self._generation_numbers(generation))
        if generation == 0:
            self._population = offspring
            return
        pool = list(dict.fromkeys(self._population + offspring))  # unique, in order
        individuals = self._individuals(pool)
        mu = self.population_size
        with _seeded_random(_SELECT, self.seed, generation):
            if len(individuals[0].fitness.values) > 1:
                chosen = tools.selNSGA2(individuals, mu)
            else:
                elite = min(individuals, key=lambda ind: (ind.fitness.values[0], ind.number))
                chosen = [elite, *tools.selTournament(individuals, mu - 1, self.tournament_size)]
        self._population = [ind.number for ind in chosen]

    def _individuals(self, numbers: Sequence[int]) -> list[Any]:
        """Build DEAP individuals (codes, fitness and ``number``) for told trials.

        The number of objectives is the one of the finite observations among
        them (1 if there are none), so it depends on these trials only.
        """
        records = [self._evaluated[n] for n in numbers]
        n_objectives = next((len(obj) for _, obj, _ in records if obj is not None), 1)
        cls = _individual_class(n_objectives)
        worst = (math.inf,) * n_objectives
        individuals = []
        for number, (_, objectives, codes) in zip(numbers, records, strict=True):
            ind = cls(codes)
            ind.fitness.values = worst if objectives is None else objectives
            ind.number = number
            individuals.append(ind)
        return individuals

    # proposals --------------------------------------------------------------------
    def _suggest(self, n: int) -> list[dict[str, Any]]:
        parents = self._parents()
        out: list[dict[str, Any]] = []
        batch: set[Any] = set()
        for i in range(n):
            number = self.n_asked + i
            config = None
            if parents is not None and self._generation_of(number) > 0:
                config = self._breed(number, parents, batch)
            elif (
                self._generation_of(number) == 0
                and self.initial == "sobol"
                and len(self.space) <= _SOBOL_MAX_DIM
            ):
                candidate = self.space.decode(self._sobol_point(number))
                if self._is_new(candidate) and config_key(candidate) not in batch:
                    config = candidate
            if config is None:
                config = self._draw_new(number, batch, self.random_tries)
            batch.add(config_key(config))
            out.append(config)
        return out

    def _parents(self) -> list[Any] | None:
        """Return the population as DEAP individuals ready for parent tournaments."""
        if not self._population:
            return None
        individuals = self._individuals(self._population)
        if len(individuals[0].fitness.values) > 1:
            # crowded comparison: lower front rank first, then larger crowding distance
            fronts = tools.sortNondominated(individuals, len(individuals))
            for rank, front in enumerate(fronts):
                tools.emo.assignCrowdingDist(front)
                for ind in front:
                    ind.crowded = _CrowdedFitness((rank, ind.fitness.crowding_dist))
        else:
            for ind in individuals:
                ind.crowded = ind.fitness
        return individuals

    def _breed(self, number: int, parents: list[Any], batch: set[Any]) -> dict[str, Any] | None:
        """Breed a new child for trial ``number``, or None after :attr:`max_tries`."""
        with _seeded_random(_VARY, self.seed, number):
            for _ in range(self.max_tries):
                first, second = tools.selTournament(
                    parents, 2, self.tournament_size, fit_attr="crowded"
                )
                config = self.space.decode(self._vary(first, second))
                if self._is_new(config) and config_key(config) not in batch:
                    return config
        return None

    def _vary(self, first: Sequence[float], second: Sequence[float]) -> list[float]:
        """Cross and mutate two parents' codes (uses the seeded global random)."""
        return vary(
            self.space,
            first,
            second,
            crossover_rate=self.crossover_rate,
            mutation_rate=self.mutation_rate,
            mutation_eta=self.mutation_eta,
        )

    def _sobol_point(self, number: int) -> np.ndarray:
        if self._sobol is None:
            from scipy.stats import qmc  # imported here: scipy.stats is slow to import

            d = len(self.space)
            rng = np.random.default_rng([_SOBOL, self.seed])
            try:
                sampler = qmc.Sobol(d, scramble=True, rng=rng)
            except TypeError:  # scipy < 1.15 names it seed
                sampler = qmc.Sobol(d, scramble=True, seed=rng)
            m = max(0, math.ceil(math.log2(self.population_size)))
            self._sobol = sampler.random_base2(m)
        return self._sobol[number]
