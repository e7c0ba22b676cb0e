"""The ask/tell interface every search strategy implements, and its records.

A strategy proposes :class:`Trial` objects with :meth:`Strategy.ask` and learns
from :class:`Observation` objects given to :meth:`Strategy.tell`. It sees the
search space and past observations only, minimises, is seeded and picklable,
and can be rebuilt from stored observations with :meth:`Strategy.restore`.

Writing a strategy means subclassing :class:`Strategy` and implementing
``_suggest(n)`` (and, for a model-based strategy, ``_on_tell``)::

    class MyStrategy(Strategy):
        def _suggest(self, n):
            return [self.space.sample(self._rng_for(self.n_asked + i)) for i in range(n)]

Check it with :func:`search.testing.check_strategy`. (The records, :class:`Trial`
and :class:`Observation`, are written in the private ``search._trial``.)
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np

from search._trial import STATUSES, Observation, Trial
from search.space import Space, config_key

__all__ = ["STATUSES", "Observation", "Strategy", "Trial"]


def _check_seed(seed: Any) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy) % (2**32)
    if isinstance(seed, np.integer):
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 or None, got {seed!r}")
    return seed


class Strategy(abc.ABC):
    """Base class of search strategies: ``ask`` for trials, ``tell`` outcomes.

    Strategies minimise. Subclasses implement :meth:`_suggest` and may
    override :meth:`_on_tell`; the base class numbers trials, serves enqueued
    configurations first, validates proposals, keeps the history and rebuilds
    it with :meth:`restore`.

    Parameters
    ----------
    space : Space
        The search space; must hold at least one parameter.
    seed : int or None, default None
        Seed of all randomness. ``None`` draws one, kept in :attr:`seed` so
        the run can be repeated.

    Attributes
    ----------
    space : Space
        The search space.
    seed : int
        The seed in use.

    """

    cost_budget: float | None = None
    """Seconds of trial cost (the sum of told :attr:`Observation.cost`) the caller
    plans to spend, set when its budget is time rather than a number of trials.
    A strategy may then weigh a proposal's expected gain against its predicted
    cost. ``None`` (the default): proposals never depend on measured costs, so
    a seeded run repeats exactly."""

    def __init__(self, space: Space, *, seed: int | None = None) -> None:
        if not isinstance(space, Space):
            raise TypeError(f"space must be a search.Space, got {type(space).__name__}")
        if len(space) == 0:
            raise ValueError("search space is empty; add at least one parameter")
        self.space = space
        self.seed = _check_seed(seed)
        self._next_number = 0
        self._pending: dict[int, Trial] = {}
        self._history: list[tuple[Trial, Observation]] = []
        self._told: set[int] = set()
        self._queue: list[dict[str, Any]] = []
        self._seen: set[Hashable] = set()

    @property
    def cost_spent(self) -> float:
        """Seconds of trial cost told so far (the sum of :attr:`Observation.cost`)."""
        return float(sum(obs.cost for _, obs in self._history))

    def plan_time(self, seconds: float, workers: int = 1) -> None:
        """Set :attr:`cost_budget` for a budget of seconds, unless already set.

        The budget is :attr:`cost_spent` plus ``seconds`` of each worker.
        Callers whose budget is a number of trials do not call this, so their
        seeded runs repeat exactly.
        """
        if self.cost_budget is None:
            self.cost_budget = self.cost_spent + max(seconds, 0.0) * workers

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<space of {len(self.space)} params>, seed={self.seed})"

    # public API -----------------------------------------------------------------
    @property
    def history(self) -> list[tuple[Trial, Observation]]:
        """Told ``(trial, observation)`` pairs, in the order they were told."""
        return list(self._history)

    @property
    def pending(self) -> list[Trial]:
        """Trials asked but not yet told, by trial number."""
        return [self._pending[k] for k in sorted(self._pending)]

    @property
    def n_asked(self) -> int:
        """Number of trials asked so far (the next trial gets this number)."""
        return self._next_number

    @property
    def best(self) -> tuple[Trial, Observation] | None:
        """The told pair with the lowest finite single ``value``, or None."""
        best = None
        for trial, obs in self._history:
            if obs.finite and obs.value is not None and (best is None or obs.value < best[1].value):
                best = (trial, obs)
        return best

    def ask(self, n: int = 1) -> list[Trial]:
        """Propose up to ``n`` new trials.

        Enqueued configurations come first, then the strategy's own
        suggestions. The configurations of one batch are distinct from each
        other and, whenever the space allows, from every one asked before.

        Parameters
        ----------
        n : int, default 1
            Number of trials wanted (>= 1).

        Returns
        -------
        list of Trial
            ``n`` trials, or fewer when the strategy is exhausted (``[]``:
            nothing left), numbered consecutively and now pending.

        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"ask(n) needs an integer n >= 1, got {n!r}")
        n = int(n)
        trials: list[Trial] = []
        while self._queue and len(trials) < n:
            config = self._queue.pop(0)
            key = config_key(config)
            if key in self._seen:
                continue
            trials.append(self._register(config, None, key))
        if len(trials) < n:
            want = n - len(trials)
            suggestions = list(self._suggest(want))[:want]
            for item in suggestions:
                config, fidelity = _split_suggestion(item)
                try:
                    config = self.space.validate(config)
                except ValueError as exc:
                    raise ValueError(
                        f"{type(self).__name__} proposed an invalid configuration "
                        f"{dict(config)!r}: {exc}"
                    ) from None
                trials.append(self._register(config, fidelity, config_key(config)))
        return trials

    def tell(self, trial: Trial, observation: Observation) -> None:
        """Report the outcome of a pending trial.

        An ``"ok"`` observation with a NaN or infinite objective is stored
        with status ``"failed"``.

        Parameters
        ----------
        trial : Trial
            A trial returned by :meth:`ask` (or pending after :meth:`restore`).
        observation : Observation
            Its outcome.

        Raises
        ------
        ValueError
            If the trial is not pending (unknown, or already told).

        """
        if not isinstance(observation, Observation):
            raise TypeError(
                f"tell needs an Observation, got {type(observation).__name__}"
            )
        number = getattr(trial, "number", None)
        pending = self._pending.get(number) if isinstance(number, int) else None
        if pending is None:
            if number in self._told:
                raise ValueError(f"trial {number} was already told")
            raise ValueError(
                f"trial {number!r} is not pending; tell only trials returned by ask"
            )
        if config_key(trial.config) != config_key(pending.config):
            raise ValueError(
                f"trial {number} was asked with config {pending.config!r}, "
                f"told with {dict(trial.config)!r}"
            )
        del self._pending[number]
        self._record(pending, observation)

    def enqueue(self, config: Mapping[str, Any]) -> bool:
        """Queue a configuration to be asked before any suggestion.

        Use it for known-good defaults. Configurations already asked or
        queued are skipped.

        Parameters
        ----------
        config : mapping
            A configuration, validated against the space.

        Returns
        -------
        bool
            True if queued, False if skipped as a repeat.

        """
        config = self.space.validate(config)
        key = config_key(config)
        if key in self._seen or any(config_key(c) == key for c in self._queue):
            return False
        self._queue.append(config)
        return True

    def restore(
        self, history: Iterable[tuple[Trial, Observation | None]]
    ) -> None:
        """Rebuild the state of a strategy from stored trials.

        Call it on a fresh strategy built with the same space and seed as the
        one that produced ``history``; the next proposals are then those the
        original strategy would have made. Pairs are replayed in trial-number
        order; a pair whose observation is ``None`` (a trial that was running
        when the search stopped) becomes pending again. The trial counter
        continues after the largest number, and queued configurations
        already in ``history`` are dropped.

        Parameters
        ----------
        history : iterable of (Trial, Observation or None)
            Stored pairs, in any order.

        Raises
        ------
        ValueError
            If the strategy has already asked trials, a trial number repeats,
            or a stored configuration does not fit the space.

        """
        if self._next_number or self._history or self._pending:
            raise ValueError("restore needs a fresh strategy that has not asked any trial")
        pairs = sorted(history, key=lambda pair: pair[0].number)
        numbers = [trial.number for trial, _ in pairs]
        if len(set(numbers)) != len(numbers):
            raise ValueError("restore got the same trial number more than once")
        for trial, observation in pairs:
            try:
                config = self.space.validate(trial.config)
            except ValueError as exc:
                raise ValueError(
                    f"stored trial {trial.number} does not fit the space: {exc}"
                ) from None
            trial = dataclasses.replace(trial, config=config)
            self._seen.add(config_key(config))
            if observation is None:
                self._pending[trial.number] = trial
            else:
                self._record(trial, observation)
        if pairs:
            self._next_number = numbers[-1] + 1
        self._queue = [c for c in self._queue if config_key(c) not in self._seen]

    # subclass hooks -------------------------------------------------------------
    @abc.abstractmethod
    def _suggest(self, n: int) -> list[Mapping[str, Any]]:
        """Propose ``n`` configurations (fewer when exhausted).

        The ``i``-th returned configuration becomes trial number
        ``self.n_asked + i``. Items may also be ``(config, fidelity)`` pairs.
        Configurations should be distinct from each other and, when
        possible, from those already asked (see :meth:`_is_new`).
        """

    def _on_tell(self, trial: Trial, observation: Observation) -> None:  # noqa: B027
        """Learn from a told trial (default: nothing)."""

    # helpers for subclasses -----------------------------------------------------
    def _rng_for(self, number: int) -> np.random.Generator:
        """Return a generator seeded by ``(seed, number)``.

        Randomness drawn from it depends only on the seed and the trial
        number, not on how asks were batched or on :meth:`restore`.
        """
        return np.random.default_rng([self.seed, int(number)])

    def _is_new(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` was neither asked nor restored before."""
        return config_key(config) not in self._seen

    def _draw_new(self, number: int, batch: set[Hashable], tries: int = 100) -> dict[str, Any]:
        """Draw trial ``number`` at random: a new configuration, else a repeat.

        Up to ``tries`` draws from :meth:`_rng_for` ``(number)``: the first one
        never asked before wins; failing that, the first one new to ``batch``
        (the keys of the configurations already chosen for this ask); failing
        that, the last draw. A batch thus stays free of repeats whenever the
        space allows.
        """
        rng = self._rng_for(number)
        fallback = config = None
        for _ in range(tries):
            config = self.space.sample(rng)
            if config_key(config) in batch:
                continue
            if self._is_new(config):
                return config
            if fallback is None:
                fallback = config
        assert config is not None
        return fallback if fallback is not None else config

    # internals ------------------------------------------------------------------
    def _register(self, config: dict[str, Any], fidelity: float | None, key: Hashable) -> Trial:
        trial = Trial(self._next_number, config, fidelity)
        self._next_number += 1
        self._pending[trial.number] = trial
        self._seen.add(key)
        return trial

    def _record(self, trial: Trial, observation: Observation) -> None:
        if not isinstance(observation, Observation):
            raise TypeError(f"expected an Observation, got {type(observation).__name__}")
        if observation.status == "ok" and not observation.finite:
            observation = dataclasses.replace(observation, status="failed")
        self._history.append((trial, observation))
        self._told.add(trial.number)
        self._on_tell(trial, observation)


def _split_suggestion(item: Any) -> tuple[Mapping[str, Any], float | None]:
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mapping):
        config, fidelity = item
        return config, None if fidelity is None else float(fidelity)
    if isinstance(item, Mapping):
        return item, None
    raise TypeError(
        f"_suggest must return dicts (or (dict, fidelity) pairs), got {type(item).__name__}"
    )
