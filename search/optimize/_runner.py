"""What :func:`search.optimize` runs trials with: its objective, its pools, its records.

Private. The ask/tell loop itself is :mod:`search._loop`'s, shared with
the AutoML engine; here are only what is the scripted search's own: calling
the objective (inline for ``n_jobs=1``, else in loky worker processes),
turning what it returns into a stored trial, and the sign flips of
``"maximize"``.
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

from search._loop import AskTellLoop
from search._processes import worker_executor
from search._storage import StoredTrial, TrialStore
from search.optimize._args import _takes_fidelity
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

    def __init__(self, run: _Objective) -> None:
        self._run = run
        self._done: list[tuple[int, _Outcome]] = []

    @property
    def running(self) -> int:
        return len(self._done)

    def submit(self, trial: Trial) -> None:
        self._run.check(trial)
        self._done.append((trial.number, self._run(trial)))

    def collect(self) -> list[tuple[int, _Outcome]]:
        done, self._done = self._done, []
        return done

    def close(self, kill: bool = False) -> None:
        pass


class _ProcessPool:
    """Runs trials in loky worker processes (the objective travels by cloudpickle)."""

    def __init__(self, run: _Objective, slots: int) -> None:
        self.slots = slots
        self._run = run
        self._executor = worker_executor(slots)
        self._futures: dict[Any, int] = {}

    @property
    def running(self) -> int:
        return len(self._futures)

    def submit(self, trial: Trial) -> None:
        self._run.check(trial)
        self._futures[self._executor.submit(self._run, trial)] = trial.number

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


@dataclass(frozen=True)
class _Objective:
    """The objective as a pool runs it: one trial in, one :class:`_Outcome` out (picklable)."""

    objective: Callable[..., Any]
    pass_fidelity: bool
    catch: tuple[type[BaseException], ...]
    strategy_name: str

    def check(self, trial: Trial) -> None:
        """Raise TypeError, before it runs, for a trial the objective cannot take."""
        if trial.fidelity is not None and not self.pass_fidelity:
            raise TypeError(
                f"{self.strategy_name} proposes fidelities, so the objective must "
                "take (config, fidelity); it takes a configuration only"
            )

    def __call__(self, trial: Trial) -> _Outcome:
        return _evaluate(self.objective, dict(trial.config), trial.fidelity,
                         self.pass_fidelity, self.catch)


def run_trials(
    objective: Callable[..., Any],
    strategy: Strategy,
    directions: tuple[str, ...],
    catch: tuple[type[BaseException], ...],
    store: TrialStore | None,
    stored: Sequence[StoredTrial],
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
) -> list[StoredTrial]:
    """Resume ``strategy`` from ``stored``, run the search and return the new trials.

    Trials run inline (``n_jobs=1``) or in loky worker processes; every
    finished one is added to ``store`` at once (see :mod:`search._loop`).
    """
    run = _Objective(objective, _takes_fidelity(objective), catch, type(strategy).__name__)
    slots = _effective_n_jobs(n_jobs)
    pool: _InlinePool | _ProcessPool = _InlinePool(run) if slots == 1 else _ProcessPool(run, slots)
    records: list[StoredTrial] = []

    def record(trial: Trial, outcome: _Outcome) -> Observation:
        stored_trial = _stored(trial, outcome, directions)
        if store is not None:
            store.add_trial(stored_trial)
        records.append(stored_trial)
        return _minimised(stored_trial.observation, directions)

    deadline = None if timeout is None else time.monotonic() + timeout
    # lag = workers: with one worker each trial knows every trial before it
    loop = AskTellLoop(strategy, pool, record, max_trials=n_trials, deadline=deadline,
                       lag=pool.slots)
    loop.restore([(s.trial, _minimised(s.observation, directions)) for s in stored])
    ok = False
    try:
        loop.run()
        ok = True
    finally:
        pool.close(kill=not ok)
    return records


def _stored(trial: Trial, outcome: _Outcome, directions: tuple[str, ...]) -> StoredTrial:
    """The finished trial as stored: objectives as the objective returned them, or an error."""
    objectives, error = outcome.objectives, outcome.error
    width = len(directions)
    if objectives is not None and width > 1:
        returned = len(objectives) if isinstance(objectives, tuple) else 1
        if returned != width:
            objectives = None
            error = f"objective returned {returned} value(s) for {width} directions"
    if objectives is None:
        observation = Observation.failed(cost=outcome.cost, fidelity=trial.fidelity)
        logger.warning("trial %d failed: %s", trial.number, error)
    elif isinstance(objectives, tuple):
        observation = Observation(values=objectives, cost=outcome.cost, fidelity=trial.fidelity)
    else:
        observation = Observation(value=objectives, cost=outcome.cost, fidelity=trial.fidelity)
    return StoredTrial(trial, observation, error)


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
