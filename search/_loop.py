"""The one lagged ask/tell driver: ask, submit, collect, record, tell in order (private).

:func:`search.optimize` and the AutoML engine (``automl.engine``) both run
their searches through :class:`AskTellLoop`; each brings its own
:class:`Pool` (what runs a trial) and its own ``record`` callback (what
keeps a finished trial and says what the strategy is told about it).

**The lag rule.** The strategy is told results in trial-number order, with
a fixed lag: trial ``k`` is asked once trials ``0 .. k - lag`` are told, and
no later one is (those still running or waiting count as pending for the
strategy). The caller chooses the lag; it must be at least the number of
trials that run at once. Two rules are in use:

* ``slots`` (:func:`search.optimize`): with one worker every trial is
  proposed knowing all the trials before it, which is what a sample-efficient
  optimiser of an expensive objective needs; a seeded search is reproducible
  for a given ``n_jobs``.
* ``max(TELL_LAG, slots)`` (:func:`tell_lag`, the AutoML engine, whose promise
  is the same leaderboard whatever ``n_jobs``): what a trial is proposed from
  then depends only on trial numbers, so a seeded search with a trial budget
  proposes the same trials with 1, 2, 3 or 4 workers. The price: with one
  worker trial ``k`` is proposed without the results of the three trials
  before it (it knows them as pending).

Either way the lag is fixed for the whole search, so the order in which
workers finish never changes a proposal. Asking one trial per free slot,
rather than one batch of all free slots, keeps that: a batch ask's proposals
depend on the batch's size.

**Resume.** :meth:`AskTellLoop.restore` rebuilds the strategy from stored
trials and holds back the last ``lag - 1`` of them as pending, telling them
when the lag allows, exactly as an uninterrupted search would have: a
seeded search that is stopped and resumed proposes what one straight run
proposes.

**Budgets.** No trial starts once ``max_trials`` trials were started by
the loop, once the clock passes ``deadline``, or once the caller's ``stop``
predicate says so; running trials are always collected. With a deadline and
no trial budget, the strategy is also given a cost budget
(:meth:`Strategy.plan_time`) of the seconds its workers have.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

from search.strategy import Observation, Strategy, Trial

__all__ = ["TELL_LAG", "AskTellLoop", "Pool", "tell_lag"]

logger = logging.getLogger(__name__)

TELL_LAG = 4
"""The smallest lag: trial ``k`` is proposed knowing trials ``0 .. k - TELL_LAG`` exactly."""

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Pool(Protocol[R_co]):
    """What runs trials for the loop: it takes trials and hands back their results.

    Attributes
    ----------
    slots : int
        Trials it runs at once (>= 1); the loop submits no more.

    """

    slots: int

    @property
    def running(self) -> int:
        """Trials submitted whose results :meth:`collect` has not handed back yet."""
        ...

    def submit(self, trial: Trial) -> None:
        """Start running ``trial`` (or run it now: :meth:`collect` hands back its result)."""
        ...

    def collect(self) -> list[tuple[int, R_co]]:
        """Return ``(trial number, result)`` of finished trials; may wait a little for one."""
        ...


def tell_lag(slots: int) -> int:
    """The lag of a search whose pool runs ``slots`` trials at once (see the module)."""
    return max(TELL_LAG, int(slots))


class AskTellLoop(Generic[R]):
    """Run trials of ``strategy`` on ``pool`` until a budget or the strategy runs out.

    Parameters
    ----------
    strategy : Strategy
        Proposes the trials; told every finished one, in trial-number order.
    pool : Pool
        Runs them.
    record : callable
        ``record(trial, result) -> Observation``, called as soon as a trial
        finishes (to store it, report progress); returns what the strategy is
        told about it (minimised) when the lag allows.
    max_trials : int or None, default None
        Trials this loop may start.
    deadline : float or None, default None
        ``time.monotonic()`` after which no trial starts (None or infinity:
        no time limit).
    stop : callable or None, default None
        ``stop() -> bool``, asked before each trial starts: True starts no more.
    lag : int or None, default None
        The lag of the in-order tells (at least ``pool.slots``); None:
        :func:`tell_lag` of the pool's slots.

    Attributes
    ----------
    lag : int
        The lag of the in-order tells.
    started : int
        Trials started by this loop.

    """

    def __init__(
        self,
        strategy: Strategy,
        pool: Pool[R],
        record: Callable[[Trial, R], Observation],
        *,
        max_trials: int | None = None,
        deadline: float | None = None,
        stop: Callable[[], bool] | None = None,
        lag: int | None = None,
    ) -> None:
        if lag is not None and lag < pool.slots:
            raise ValueError(f"lag must be at least the pool's {pool.slots} slots, got {lag}")
        self.strategy, self.pool, self.record = strategy, pool, record
        self.max_trials = max_trials
        self.deadline = None if deadline is None or math.isinf(deadline) else deadline
        self.stop = stop
        self.lag = tell_lag(pool.slots) if lag is None else int(lag)
        self.started = 0
        self._asked: dict[int, Trial] = {}  # asked, not yet told
        self._finished: dict[int, Observation] = {}  # of those, finished: what to tell

    def restore(self, history: Iterable[tuple[Trial, Observation]]) -> None:
        """Rebuild the strategy from stored ``(trial, minimised observation)`` pairs.

        The pairs the lag would not have told yet (numbers above the largest
        one plus one minus :attr:`lag`) are restored as pending and told as
        the search goes on, so the resumed search proposes what an
        uninterrupted one would have.
        """
        pairs = sorted(history, key=lambda pair: pair[0].number)
        if not pairs:
            return
        last_told = pairs[-1][0].number + 1 - self.lag
        self.strategy.restore(
            [(trial, obs if trial.number <= last_told else None) for trial, obs in pairs]
        )
        for trial, obs in pairs:
            if trial.number > last_told:
                self._asked[trial.number] = trial
                self._finished[trial.number] = obs

    def run(self) -> None:
        """Run the search; on return every finished trial is recorded and told."""
        if self.max_trials is None and self.deadline is not None:  # a budget of seconds alone
            self.strategy.plan_time(self.deadline - time.monotonic(), self.pool.slots)
        done = False
        while True:
            if not done:
                done = self._fill()
            if self.pool.running == 0:
                break
            for number, result in self.pool.collect():
                self._finished[number] = self.record(self._asked[number], result)
        self._tell_up_to(math.inf)

    def _fill(self) -> bool:
        """Start trials while slots are free; True once no further trial will start."""
        while self.pool.running < self.pool.slots:
            if not self._tell_up_to(self.strategy.n_asked - self.lag):
                return False  # an older trial must finish before the next ask
            if self._out_of_budget():
                return True
            trials = self.strategy.ask(1)
            if not trials and self._asked:
                if self.pool.running:
                    return False  # pending results may let the strategy propose more
                self._tell_up_to(math.inf)
                trials = self.strategy.ask(1)
            if not trials:
                logger.info("the strategy has nothing left to propose")
                return True
            trial = trials[0]
            self._asked[trial.number] = trial
            self.started += 1
            self.pool.submit(trial)
        return False

    def _tell_up_to(self, last: float) -> bool:
        """Tell every asked trial numbered up to ``last``, in order; False if one is running."""
        for number in sorted(n for n in self._asked if n <= last):
            if number not in self._finished:
                return False
            self.strategy.tell(self._asked.pop(number), self._finished.pop(number))
        return True

    def _out_of_budget(self) -> bool:
        if self.max_trials is not None and self.started >= self.max_trials:
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return True
        return self.stop is not None and bool(self.stop())
