"""Multi-fidelity search: successive halving (ASHA) and Hyperband over any strategy.

A *fidelity* is a fraction of the full evaluation budget, in ``(0, 1]``:
``1`` is the evaluation you actually care about, ``1/9`` costs about a ninth
of it. These strategies propose :class:`~search.strategy.Trial` objects with
:attr:`~search.strategy.Trial.fidelity` set; cheap, low-fidelity trials weed
out poor configurations and only the best ones are evaluated again at higher
fidelities (*promoted*).

Mapping fidelity to cost
------------------------
The caller turns the fraction into a budget of the model. Choose a resource
whose cost grows about linearly with it and whose low-budget results rank
configurations roughly as the full-budget results would:

- iterative learners (neural networks, boosting): epochs or trees,
  ``epochs = max(1, round(fidelity * max_epochs))``,
  ``n_estimators = max(1, round(fidelity * max_trees))``;
- any learner: a random subsample of the training rows,
  ``n_rows = max(min_rows, round(fidelity * n_rows))``, scored on the same
  validation data at every fidelity;
- simulations or iterative solvers: iterations or tolerance.

Pick ``min_fidelity`` so the cheapest rung is still informative (a network
after one epoch, a forest of ten trees), and make sure the rungs map to
*different* budgets once rounded. A promotion is a new trial: the caller
evaluates the configuration again at the higher fidelity (reusing a
checkpoint if it keeps one is the caller's business). Report the seconds
spent in :attr:`Observation.cost` so budgets can be accounted for.

Rungs and promotions
--------------------
Rungs sit at fidelities ``min_fidelity * eta**k`` for ``k = 0, 1, ...`` below
1, then at 1 (the last step is shorter when ``1 / min_fidelity`` is not a
power of ``eta``). Asynchronous successive halving (ASHA, Li et al., 2020)
never waits for a rung to fill up: on every ask it promotes a configuration
from the highest rung where one is among the best ``floor(n / eta)`` of the
``n`` finished trials of that rung and was not promoted yet; otherwise it
asks the *base* strategy for a new configuration at the lowest rung. A failed
trial (any status but ``"ok"``, or a non-finite value) ranks after every
success and is never promoted. Several objectives (``values``) are ranked by
the first one.

What the base strategy sees
---------------------------
One base strategy proposes every new configuration, and each one is told
back to it exactly once, with the result at the rung the configuration
started at (the observation carries that fidelity). Results of promotions
drive promotions only. Under :class:`SuccessiveHalving` every configuration
starts at the lowest rung, so the base compares like with like: a
model-based base (Bayesian, genetic) is never misled by comparing a 1/9
result with a full one. Under :class:`Hyperband` the brackets start at
different rungs, so the base sees results of several fidelities (random
search, the classic base, does not care; a model-based base treats the
difference as noise). One shared base keeps new configurations distinct
across brackets and lets an exhaustible base (grid) visit each point once.

A base that runs out (a grid) makes ``ask`` return fewer trials while
nothing is promotable; later asks may still promote, so a driver stops
when ``ask`` returns ``[]`` with no trial pending (as :func:`search.optimize`
does).
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

__all__ = ["BASES", "Hyperband", "SuccessiveHalving"]

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
    """ASHA over one or more brackets; see the module docstring (private base class)."""

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


class SuccessiveHalving(_MultiFidelity):
    """Asynchronous successive halving (ASHA) over any base strategy.

    New configurations come from the base strategy at ``min_fidelity``;
    the best ``1 / eta`` of each rung's finished trials are promoted, one at
    a time and as soon as they qualify, to the next rung, up to fidelity 1.
    See :mod:`search.fidelity` for the rungs, what the base sees, and how to
    map a fidelity to a model's budget.

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness (the base strategy gets a seed derived from it).
    base : str or callable, default "random"
        The strategy proposing new configurations: a name of :data:`BASES`
        (``"random"``, ``"grid"``, ``"bayesian"``, ``"genetic"``) or a
        factory ``base(space, seed=...) -> Strategy`` (a strategy class
        works). Only the built strategy is kept, so a lambda is fine for
        pickling.
    min_fidelity : float, default 1/9
        Fidelity of the lowest rung, in (0, 1].
    eta : float, default 3
        Reduction factor (> 1): one in ``eta`` trials of a rung is promoted,
        and each rung's fidelity is ``eta`` times the one below.

    Attributes
    ----------
    rungs : tuple of float
        The fidelities of the rungs, lowest first, ending at 1.
    base_strategy : Strategy
        The base strategy, built with a seed derived from ``seed``.
    incumbent : (Trial, Observation) or None
        The best result at the highest fidelity reached (:attr:`best`
        compares across fidelities).

    Raises
    ------
    ValueError
        On a bad ``min_fidelity``, ``eta`` or base name, or an empty space.

    Examples
    --------
    >>> from search import Float, Observation, Space
    >>> sh = SuccessiveHalving(Space([Float("x", -1.0, 1.0)]), seed=0)
    >>> [round(f, 4) for f in sh.rungs]
    [0.1111, 0.3333, 1.0]
    >>> for _ in range(30):
    ...     [trial] = sh.ask()
    ...     sh.tell(trial, Observation(value=trial.config["x"] ** 2))
    >>> sorted({t.fidelity for t, _ in sh.history}) == list(sh.rungs)
    True

    """

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None = None,
        base: str | BaseFactory = "random",
        min_fidelity: float = 1 / 9,
        eta: float = 3,
    ) -> None:
        super().__init__(
            space, seed=seed, base=base, min_fidelity=min_fidelity, eta=eta,
            starts=(0,), schedule=None,
        )


class Hyperband(_MultiFidelity):
    """Asynchronous Hyperband: successive-halving brackets with different starting rungs.

    Bracket ``s`` starts new configurations at rung ``s`` (bracket 0 is the
    most aggressive, the last one evaluates at full fidelity only) and
    promotes ASHA-style within itself. New configurations are dealt to the
    brackets in a fixed, interleaved cycle in the proportions of Hyperband
    (Li et al., 2018): with ``R`` rungs, bracket ``s`` gets
    ``ceil(R / (R - s) * eta**(R - 1 - s))`` configurations per cycle (27, 12,
    6, 4 for the defaults), so each bracket spends about the same budget and
    the search hedges against a low fidelity that ranks poorly. One base
    strategy proposes the new configurations of every bracket (see
    :mod:`search.fidelity`). Promotions go first, from the highest rung of
    any bracket (lower bracket first on ties).

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness.
    base : str or callable, default "random"
        As for :class:`SuccessiveHalving`.
    min_fidelity : float, default 1/27
        Fidelity of the lowest rung, in (0, 1].
    eta : float, default 3
        Reduction factor (> 1).

    Attributes
    ----------
    rungs : tuple of float
        The fidelities of the rungs, lowest first, ending at 1.
    brackets : tuple of float
        The starting fidelity of each bracket.
    schedule : tuple of int
        The bracket of each new configuration in one cycle.
    base_strategy : Strategy
        The base strategy, shared by the brackets.
    incumbent : (Trial, Observation) or None
        The best result at the highest fidelity reached.

    Examples
    --------
    >>> from search import Float, Space
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
