"""The search loop of :func:`search.optimize`: run trials, record them, tell the strategy.

Private: trials run inline (``n_jobs=1``) or in loky worker processes, and
the strategy is told results in trial-number order with a lag of ``n_jobs``
(see :mod:`search.optimize`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search._storage import StoredTrial, TrialStore
from search.strategy import Observation, Strategy, Trial

logger = logging.getLogger("search.optimize")


@dataclass
class _Outcome:
    """What evaluating one trial gave: objectives (raw) or an error, and seconds spent."""

    objectives: float | tuple[float, ...] | None
    error: str | None
    cost: float


def _evaluate(
    objective: Callable[..., Any],
    config: dict[str, Any],
    fidelity: float | None,
    pass_fidelity: bool,
    catch: tuple[type[BaseException], ...],
) -> _Outcome:
    """Run the objective once (in this process or a worker)."""
    start = time.perf_counter()
    try:
        if pass_fidelity:
            result = objective(config, 1.0 if fidelity is None else fidelity)
        else:
            result = objective(config)
    except catch as exc:
        return _Outcome(None, f"{type(exc).__name__}: {exc}", time.perf_counter() - start)
    cost = time.perf_counter() - start
    try:
        objectives = _as_objectives(result)
    except ValueError as exc:
        return _Outcome(None, str(exc), cost)
    return _Outcome(objectives, None, cost)


def _as_objectives(result: Any) -> float | tuple[float, ...]:
    def number(x: Any) -> float:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.number)):
            raise ValueError(
                f"objective returned {x!r} ({type(x).__name__}); expected a number or a "
                "sequence of numbers"
            )
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"objective returned {value}")
        return value

    if isinstance(result, np.ndarray):
        if result.ndim == 0:
            return number(result[()])
        if result.ndim == 1:
            result = list(result)
    if isinstance(result, (list, tuple)):
        if not result:
            raise ValueError("objective returned an empty sequence")
        values = tuple(number(x) for x in result)
        return values[0] if len(values) == 1 else values
    return number(result)


class _InlinePool:
    """Runs each trial at once, in this process."""

    slots = 1

    def __init__(self) -> None:
        self._done: list[tuple[int, _Outcome]] = []

    @property
    def running(self) -> int:
        return len(self._done)

    def submit(self, number: int, args: tuple[Any, ...]) -> None:
        self._done.append((number, _evaluate(*args)))

    def collect(self) -> list[tuple[int, _Outcome]]:
        done, self._done = self._done, []
        return done

    def close(self, kill: bool = False) -> None:
        pass


class _ProcessPool:
    """Runs trials in loky worker processes (the objective travels by cloudpickle)."""

    def __init__(self, slots: int) -> None:
        from joblib.externals.loky import ProcessPoolExecutor

        self.slots = slots
        self._executor = ProcessPoolExecutor(max_workers=slots)
        self._futures: dict[Any, int] = {}

    @property
    def running(self) -> int:
        return len(self._futures)

    def submit(self, number: int, args: tuple[Any, ...]) -> None:
        self._futures[self._executor.submit(_evaluate, *args)] = number

    def collect(self) -> list[tuple[int, _Outcome]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            number = self._futures.pop(future)
            out.append((number, future.result()))  # re-raises what catch lets through
        return out

    def close(self, kill: bool = False) -> None:
        self._executor.shutdown(wait=not kill, kill_workers=kill)


class _Runner:
    """Ask, run, record and tell, with lagged in-order tells (see :mod:`search.optimize`)."""

    def __init__(
        self,
        objective: Callable[..., Any],
        strategy: Strategy,
        directions: tuple[str, ...],
        catch: tuple[type[BaseException], ...],
        pass_fidelity: bool,
        store: TrialStore | None,
        study: str,
        n_trials: int | None,
        timeout: float | None,
        n_jobs: int,
    ) -> None:
        self.objective, self.strategy, self.directions = objective, strategy, directions
        self.catch, self.pass_fidelity = catch, pass_fidelity
        self.store, self.study = store, study
        self.n_trials = n_trials
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.n_jobs = n_jobs
        self.records: list[StoredTrial] = []
        self._asked: dict[int, Trial] = {}
        self._finished: dict[int, StoredTrial] = {}
        self._started = 0

    def run(self) -> list[StoredTrial]:
        slots = _effective_n_jobs(self.n_jobs)
        if self.n_trials is None and self.deadline is not None:  # seconds alone
            self.strategy.plan_time(self.deadline - time.monotonic(), slots)
        pool: _InlinePool | _ProcessPool = _InlinePool() if slots == 1 else _ProcessPool(slots)
        lag = pool.slots
        ok = False
        try:
            exhausted = False
            while True:
                while not exhausted and pool.running < pool.slots:
                    if not self._tell_up_to(self.strategy.n_asked - lag):
                        break  # an older trial must finish before the next ask
                    if self._out_of_budget():
                        exhausted = True
                        break
                    trials = self.strategy.ask(1)
                    if not trials and self._asked:
                        if pool.running:
                            break  # pending results may let the strategy propose more
                        self._tell_up_to(math.inf)
                        trials = self.strategy.ask(1)
                    if not trials:
                        logger.info("the strategy has nothing left to propose")
                        exhausted = True
                        break
                    self._submit(pool, trials[0])
                if pool.running == 0 and (exhausted or not self._asked):
                    break
                for number, outcome in pool.collect():
                    self._finish(number, outcome)
            self._tell_up_to(math.inf)
            ok = True
        finally:
            pool.close(kill=not ok)
        return self.records

    def _submit(self, pool: _InlinePool | _ProcessPool, trial: Trial) -> None:
        if trial.fidelity is not None and not self.pass_fidelity:
            raise TypeError(
                f"{type(self.strategy).__name__} proposes fidelities, so the objective must "
                "take (config, fidelity); it takes a configuration only"
            )
        self._asked[trial.number] = trial
        self._started += 1
        args = (self.objective, dict(trial.config), trial.fidelity, self.pass_fidelity,
                self.catch)
        pool.submit(trial.number, args)

    def _finish(self, number: int, outcome: _Outcome) -> None:
        trial = self._asked[number]
        objectives, error = outcome.objectives, outcome.error
        width = len(self.directions)
        if objectives is not None and width > 1:
            returned = len(objectives) if isinstance(objectives, tuple) else 1
            if returned != width:
                objectives = None
                error = f"objective returned {returned} value(s) for {width} directions"
        if objectives is None:
            observation = Observation.failed(cost=outcome.cost, fidelity=trial.fidelity)
            logger.warning("trial %d failed: %s", number, error)
        elif isinstance(objectives, tuple):
            observation = Observation(values=objectives, cost=outcome.cost,
                                      fidelity=trial.fidelity)
        else:
            observation = Observation(value=objectives, cost=outcome.cost,
                                      fidelity=trial.fidelity)
        record = StoredTrial(trial, observation, error)
        if self.store is not None:
            self.store.add(self.study, record)
        self.records.append(record)
        self._finished[number] = record

    def _tell_up_to(self, last: float) -> bool:
        """Tell every asked trial numbered up to ``last``, in order; False if one is running."""
        for number in sorted(n for n in self._asked if n <= last):
            record = self._finished.pop(number, None)
            if record is None:
                return False
            trial = self._asked.pop(number)
            self.strategy.tell(trial, _minimised(record.observation, self.directions))
        return True

    def _out_of_budget(self) -> bool:
        if self.n_trials is not None and self._started >= self.n_trials:
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline


def _sign(direction: str) -> float:
    return -1.0 if direction == "maximize" else 1.0


def _signed(objectives: Sequence[float], signs: Sequence[float]) -> tuple[float, ...]:
    if len(signs) == 1:
        signs = list(signs) * len(objectives)
    return tuple(s * v for s, v in zip(signs, objectives, strict=True))


def _minimised(observation: Observation, directions: tuple[str, ...]) -> Observation:
    """The observation as the strategy sees it: every objective to be minimised."""
    if observation.status != "ok" or all(d == "minimize" for d in directions):
        return observation
    signed = _signed(observation.objectives, [_sign(d) for d in directions])
    if observation.values is not None:
        return dataclasses.replace(observation, values=signed)
    return dataclasses.replace(observation, value=signed[0])



def _effective_n_jobs(n_jobs: int) -> int:
    if n_jobs == 1:
        return 1
    from joblib import effective_n_jobs

    return max(1, int(effective_n_jobs(int(n_jobs))))
