"""The engine of :mod:`search.fidelity`: rungs, brackets and ASHA promotions (private).

:class:`_MultiFidelity` runs asynchronous successive halving over one or
more brackets; :class:`~search.fidelity.SuccessiveHalving` and
:class:`~search.fidelity.Hyperband` only choose the brackets and the order
new configurations are dealt to them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search.bayesian import BayesianSearch
from search.genetic import GeneticSearch
from search.grid import GridSearch
from search.random import RandomSearch
from search.space import Space, config_key
from search.strategy import Observation, Strategy, Trial

BASES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "grid": GridSearch,
    "bayesian": BayesianSearch,
    "genetic": GeneticSearch,
}
"""Names accepted as ``base``, and the strategy classes they stand for."""

BaseFactory = Callable[..., Strategy]

_MAX_RUNGS = 30


@dataclass
class _Entry:
    """A configuration on one rung of one bracket (repeats of it share the entry)."""

    config: dict[str, Any]
    number: int  # the first trial of it on this rung: breaks ties
    pending: int = 0
    failed: int = 0
    best: float | None = None
    promoted: bool = False

    @property
    def finished(self) -> bool:
        return self.failed > 0 or self.best is not None


@dataclass
class _Info:
    """Where an asked trial sits, and the base trial it stands for (if a new config)."""

    bracket: int
    rung: int
    base_trial: Trial | None = None


@dataclass
class _Bracket:
    start: int  # index of its first rung
    rungs: dict[int, dict[Hashable, _Entry]] = field(default_factory=dict)


def _rung_fidelities(min_fidelity: Any, eta: Any) -> tuple[float, ...]:
    if isinstance(min_fidelity, bool) or not isinstance(min_fidelity, (int, float, np.number)):
        raise ValueError(f"min_fidelity must be a number in (0, 1], got {min_fidelity!r}")
    if isinstance(eta, bool) or not isinstance(eta, (int, float, np.number)):
        raise ValueError(f"eta must be a number > 1, got {eta!r}")
    min_fidelity, eta = float(min_fidelity), float(eta)
    if not 0.0 < min_fidelity <= 1.0:
        raise ValueError(f"min_fidelity must be in (0, 1], got {min_fidelity!r}")
    if not (eta > 1.0 and math.isfinite(eta)):
        raise ValueError(f"eta must be a finite number > 1, got {eta!r}")
    rungs: list[float] = []
    k = 0
    while True:
        fidelity = min_fidelity * eta**k
        if fidelity >= 1.0 - 1e-9:
            break
        rungs.append(fidelity)
        k += 1
        if len(rungs) >= _MAX_RUNGS:
            raise ValueError(
                f"min_fidelity={min_fidelity!r} with eta={eta!r} gives more than "
                f"{_MAX_RUNGS} rungs; raise min_fidelity or eta"
            )
    rungs.append(1.0)
    return tuple(rungs)


def _base_seed(seed: int) -> int:
    return int(np.random.SeedSequence([seed, 0x5EED]).generate_state(1)[0])


def _rank_value(observation: Observation) -> float | None:
    """The value promotions rank by, or None for a failure."""
    if not observation.finite:
        return None
    return observation.objectives[0]


class _MultiFidelity(Strategy):
    """ASHA over one or more brackets; see :mod:`search.fidelity` (private base class)."""

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None,
        base: str | BaseFactory,
        min_fidelity: float,
        eta: float,
        starts: tuple[int, ...],
        schedule: tuple[int, ...] | None,
    ) -> None:
        super().__init__(space, seed=seed)
        self.rungs = _rung_fidelities(min_fidelity, eta)
        self.min_fidelity = self.rungs[0]
        self.eta = float(eta)
        self.base = base if isinstance(base, str) else getattr(base, "__name__", repr(base))
        strategy = _base_factory(base)(space, seed=_base_seed(self.seed))
        if not isinstance(strategy, Strategy):
            raise TypeError(
                f"the base factory must return a search.Strategy, got {type(strategy).__name__}"
            )
        if strategy.space != space:
            raise ValueError("the base strategy must search the same space")
        self._base = strategy
        self._brackets = [_Bracket(start) for start in starts]
        self._schedule = schedule if schedule is not None else tuple(range(len(starts)))
        self._n_new = 0
        self._info: dict[int, _Info] = {}
        self._front: list[dict[str, Any]] = []
        self._restoring = False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(<space of {len(self.space)} params>, seed={self.seed}, "
            f"base={self.base!r}, min_fidelity={self.min_fidelity:.4g}, eta={self.eta:g})"
        )

    # public extras --------------------------------------------------------------
    @property
    def base_strategy(self) -> Strategy:
        """The base strategy (read it; asking or telling it directly breaks the search)."""
        return self._base

    @property
    def incumbent(self) -> tuple[Trial, Observation] | None:
        """The best told pair at the highest fidelity where any trial succeeded.

        :attr:`best` compares values across fidelities; this compares like
        with like, and is the configuration to use.
        """
        ok = [(t, o) for t, o in self._history if _rank_value(o) is not None]
        if not ok:
            return None
        top = max(t.fidelity or 1.0 for t, _ in ok)
        at_top = [(t, o) for t, o in ok if math.isclose(t.fidelity or 1.0, top)]
        return min(at_top, key=lambda pair: (_rank_value(pair[1]), pair[0].number))

    def enqueue(self, config: Mapping[str, Any]) -> bool:
        """Queue a configuration to be asked, at the lowest rung, before any suggestion.

        It is handed to the base strategy (of the bracket whose turn it is)
        when asked, so the base learns its result like that of its own
        proposals.

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
        if key in self._seen or any(config_key(c) == key for c in self._front):
            return False
        self._front.append(config)
        return True

    def restore(self, history: Iterable[tuple[Trial, Observation | None]]) -> None:
        """Rebuild the state from stored trials, base strategies included.

        Each trial is recognised, in trial-number order, as a promotion (its
        configuration finished successfully, unpromoted, on the rung just
        below, in some bracket) or else as a new configuration of the
        bracket whose turn it was; the base strategies are restored from
        their configurations' starting-rung results. (On a small finite
        space, where a base may propose a configuration again, a new
        configuration can be mistaken for a promotion; the resumed search
        then differs from the original.)

        Parameters
        ----------
        history : iterable of (Trial, Observation or None)
            Stored pairs, in any order.

        Raises
        ------
        ValueError
            As :meth:`Strategy.restore`, or when a fidelity is not one of
            :attr:`rungs` or does not fit the bracket schedule (the history
            comes from a strategy with other settings).

        """
        self._restoring = True
        try:
            super().restore(history)
        finally:
            self._restoring = False
        observed = {trial.number: (trial, obs) for trial, obs in self._history}
        observed.update({trial.number: (trial, None) for trial in self._pending.values()})
        base_pairs: list[tuple[Trial, Observation | None]] = []
        for number in sorted(observed):
            trial, obs = observed[number]
            rung = self._rung_index(trial.fidelity, number)
            key = config_key(trial.config)
            source = self._bracket_of_source(key, rung)
            if source is not None:
                self._brackets[source].rungs[rung - 1][key].promoted = True
                info = _Info(source, rung)
            else:
                bracket_index = self._schedule[self._n_new % len(self._schedule)]
                bracket = self._brackets[bracket_index]
                if bracket.start != rung:
                    raise ValueError(
                        f"stored trial {number} at fidelity {trial.fidelity!r} is neither a "
                        f"promotion nor a new configuration of bracket {bracket_index} "
                        f"(which starts at fidelity {self.rungs[bracket.start]:.4g}); was the "
                        "history made with other min_fidelity, eta or strategy?"
                    )
                base_trial = Trial(len(base_pairs), trial.config)
                base_pairs.append((base_trial, self._for_base(trial, obs)))
                self._n_new += 1
                info = _Info(bracket_index, rung, base_trial)
            entry = self._add_entry(info, trial)
            if obs is None:
                self._info[number] = info
            else:
                entry.pending -= 1
                _finish(entry, obs)
        self._base.restore(base_pairs)
        self._front = [c for c in self._front if config_key(c) not in self._seen]

    # strategy hooks -------------------------------------------------------------
    def _suggest(self, n: int) -> list[tuple[dict[str, Any], float]]:
        slots: list[tuple[str, int, Any]] = []  # (kind, bracket, config or entry)
        position = self._n_new
        while self._front and len(slots) < n:
            config = self._front.pop(0)
            if config_key(config) in self._seen:
                continue
            slots.append(("new", self._schedule[position % len(self._schedule)], config))
            position += 1
        while len(slots) < n:
            promotion = self._next_promotion()
            if promotion is None:
                break
            promotion[1][0].promoted = True  # so the next slot promotes another one
            slots.append(("promote", *promotion))
        while len(slots) < n:
            slots.append(("new", self._schedule[position % len(self._schedule)], None))
            position += 1

        out: list[tuple[dict[str, Any], float]] = []
        i = 0
        while i < len(slots):
            kind, bracket_index, item = slots[i]
            number = self.n_asked + len(out)
            if kind == "promote":
                entry, rung = item
                info = _Info(bracket_index, rung + 1)
                self._add_entry(info, Trial(number, entry.config, self.rungs[rung + 1]))
                self._info[number] = info
                out.append((dict(entry.config), self.rungs[rung + 1]))
                i += 1
                continue
            # a run of consecutive new configurations of one bracket: one base ask
            j = i
            while j < len(slots) and slots[j][0] == "new" and slots[j][1] == bracket_index:
                j += 1
            bracket = self._brackets[bracket_index]
            for _, _, config in slots[i:j]:
                if config is not None:
                    self._base.enqueue(config)
            self._share_cost_budget()
            base_trials = self._base.ask(j - i)
            for base_trial in base_trials:
                number = self.n_asked + len(out)
                fidelity = self.rungs[bracket.start]
                info = _Info(bracket_index, bracket.start, base_trial)
                self._add_entry(info, Trial(number, base_trial.config, fidelity))
                self._info[number] = info
                self._n_new += 1
                out.append((dict(base_trial.config), fidelity))
            if len(base_trials) < j - i:
                break  # the base is exhausted: a shorter batch
            i = j
        return out

    def _on_tell(self, trial: Trial, observation: Observation) -> None:
        if self._restoring:
            return  # restore rebuilds the rungs and the bases itself
        info = self._info.pop(trial.number)
        entry = self._brackets[info.bracket].rungs[info.rung][config_key(trial.config)]
        entry.pending -= 1
        _finish(entry, observation)
        if info.base_trial is not None:
            self._base.tell(info.base_trial, self._for_base(trial, observation))

    # internals ------------------------------------------------------------------
    def _share_cost_budget(self) -> None:
        """Set the base's cost budget so that it sees the share of this one left.

        The base is told only the trials of new configurations, not the
        promotions, so its budget is scaled by its part of the cost spent:
        both then see the same share of the budget left.
        """
        if self.cost_budget is None:
            return
        spent, base_spent = self.cost_spent, self._base.cost_spent
        if spent > 0 and base_spent > 0:
            self._base.cost_budget = self.cost_budget * base_spent / spent
        else:
            self._base.cost_budget = self.cost_budget

    def _rung_index(self, fidelity: float | None, number: int) -> int:
        if fidelity is not None:
            for index, rung in enumerate(self.rungs):
                if math.isclose(fidelity, rung, rel_tol=1e-9, abs_tol=1e-12):
                    return index
        raise ValueError(
            f"stored trial {number} has fidelity {fidelity!r}, not one of the rungs "
            f"{[round(r, 6) for r in self.rungs]} of this {type(self).__name__}"
        )

    def _add_entry(self, info: _Info, trial: Trial) -> _Entry:
        rung = self._brackets[info.bracket].rungs.setdefault(info.rung, {})
        key = config_key(trial.config)
        entry = rung.get(key)
        if entry is None:
            entry = rung[key] = _Entry(dict(trial.config), trial.number)
        entry.pending += 1
        return entry

    def _bracket_of_source(self, key: Hashable, rung: int) -> int | None:
        """The bracket where ``key`` succeeded, unpromoted, one rung below ``rung``."""
        if rung == 0:
            return None
        for index, bracket in enumerate(self._brackets):
            entry = bracket.rungs.get(rung - 1, {}).get(key)
            if entry is not None and entry.best is not None and not entry.promoted:
                return index
        return None

    def _next_promotion(self) -> tuple[int, tuple[_Entry, int]] | None:
        """The best promotable entry of the highest rung that has one, and its bracket."""
        for rung in range(len(self.rungs) - 2, -1, -1):
            for index, bracket in enumerate(self._brackets):
                entries = bracket.rungs.get(rung)
                if not entries:
                    continue
                finished = [e for e in entries.values() if e.finished]
                ranked = sorted(
                    (e for e in finished if e.best is not None),
                    key=lambda e: (e.best, e.number),
                )
                top = math.floor(len(finished) / self.eta + 1e-9)
                for entry in ranked[:top]:
                    if not entry.promoted:
                        return index, (entry, rung)
        return None

    def _for_base(self, trial: Trial, observation: Observation | None) -> Observation | None:
        if observation is None or observation.fidelity is not None:
            return observation
        return dataclasses.replace(observation, fidelity=trial.fidelity)


def _finish(entry: _Entry, observation: Observation) -> None:
    value = _rank_value(observation)
    if value is None:
        entry.failed += 1
    elif entry.best is None or value < entry.best:
        entry.best = value


def _base_factory(base: str | BaseFactory) -> BaseFactory:
    if isinstance(base, str):
        try:
            return BASES[base]
        except KeyError:
            raise ValueError(
                f"unknown base strategy {base!r}; known: {sorted(BASES)}, or give a "
                "factory(space, seed=...) returning a Strategy"
            ) from None
    if not callable(base):
        raise TypeError(
            f"base must be a strategy name or a factory(space, seed=...), got {base!r}"
        )
    return base

