"""The search loop: ask the strategy, run trials on a pool, record them, tell the strategy.

The engine joins the eligible model specs into one conditional space whose root
is the categorical ``model``, queues each spec's known-good defaults first (a
portfolio, round-robin over models), then lets the strategy propose. Budgets
are a global time limit, a trial count and a per-trial limit. A failing trial
is recorded with its error and the search goes on.

Reproducibility whatever the parallelism: the strategy is told results in
trial-number order and with a fixed lag (trial ``k`` is asked once trials
``0 .. k - lag`` are told, and only those), so with ``max_trials`` and a seed the
same trials are proposed with one worker or several (up to ``lag``). Under a
budget of seconds alone the strategy is also given a ``cost_budget`` (the
seconds its workers have), so it may prefer cheaper trials while time is short.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from automl.metrics import Metric
from automl.records import TrialRecord
from automl.specs import ModelSpec
from automl.workers import TrialJob
from search import Observation, Space, Strategy, Trial

logger = logging.getLogger(__name__)

MODEL_KEY = "model"
"""Name of the root categorical parameter of the joined space."""

FAILURES_BEFORE_GIVING_UP = 50
"""A search whose first this-many trials all failed stops (fit then reports their
errors) instead of failing for the rest of its budget."""

TELL_LAG = 4
"""Trial ``k`` is proposed knowing the results of trials ``0 .. k - TELL_LAG`` exactly."""

__all__ = ["Budget", "MODEL_KEY", "Search", "TrialRecord", "join_spaces", "leaderboard",
           "portfolio"]


def join_spaces(specs: Mapping[str, ModelSpec]) -> Space:
    """One conditional space over model choice and every model's hyperparameters."""
    return Space.conditional(MODEL_KEY, {name: spec.space for name, spec in specs.items()})


def joint_config(model: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A model's own parameters as a configuration of the joined space."""
    joint = {MODEL_KEY: model}
    joint.update({f"{model}{Space.SEPARATOR}{k}": v for k, v in params.items()})
    return joint


def portfolio(specs: Mapping[str, ModelSpec]) -> list[dict[str, Any]]:
    """Known-good configurations in the joined space, round-robin over models.

    The first default of every model comes first, then the second ones, and so on.
    """
    configs = []
    depth = max((len(spec.defaults) for spec in specs.values()), default=0)
    for level in range(depth):
        for name, spec in specs.items():
            if level < len(spec.defaults):
                configs.append(joint_config(name, spec.defaults[level]))
    return configs


def observation(record: TrialRecord, metric: Metric) -> Observation:
    """What the strategy is told about a finished trial (a loss to minimise)."""
    if record.status != "ok":
        return Observation(status=record.status, cost=record.duration)
    return Observation(value=metric.to_loss(record.score), cost=record.duration)


DEFAULT_TIME_BUDGET = 60.0
"""Seconds of a fit that sets neither ``time_budget`` nor ``max_trials``."""


@dataclass
class Budget:
    """Limits of one search.

    Attributes
    ----------
    time_budget : float
        Seconds the search may run (``math.inf``: no time limit).
    max_trials : int or None
        Stop once this many trials exist (loaded ones included).
    trial_time_limit : float or None
        Seconds after which a trial starts no new fold (worker processes are
        killed shortly after).
    refit_share : float
        Seconds a final refit of a trial would take per second of the trial
        (``final.REFIT_MARGIN`` over the number of folds). Near the end of
        the budget a trial gets only the time that leaves room for its own
        refit, should it win.
    """

    time_budget: float
    max_trials: int | None = None
    trial_time_limit: float | None = None
    refit_share: float = 0.0

    @classmethod
    def resolve(cls, time_budget: float | None, max_trials: int | None,
                trial_time_limit: float | None, refit_share: float = 0.0) -> Budget:
        """The limits of a fit from its settings, with their defaults filled in.

        ``time_budget`` None is :data:`DEFAULT_TIME_BUDGET`, or no time limit
        when ``max_trials`` bounds the search; ``trial_time_limit`` None is a
        third of a finite budget, else no limit.
        """
        if time_budget is None:
            seconds = math.inf if max_trials is not None else DEFAULT_TIME_BUDGET
        else:
            seconds = float(time_budget)
        if trial_time_limit is None and math.isfinite(seconds):
            trial_time_limit = seconds / 3
        return cls(seconds, max_trials, trial_time_limit, refit_share)


class Pool(Protocol):
    """What the engine needs of a worker pool (see ``automl.workers``)."""

    slots: int

    @property
    def running(self) -> int:  # noqa: D102
        ...

    def submit(self, job: TrialJob) -> None:  # noqa: D102
        ...

    def collect(self, timeout: float = 0.0) -> list[TrialRecord]:  # noqa: D102
        ...


class Store(Protocol):
    """What the engine needs of a trial store (see ``automl.storage``)."""

    def add(self, record: TrialRecord) -> TrialRecord:  # noqa: D102
        ...


class Search:
    """Runs trials until the budget or the strategy is exhausted.

    Parameters
    ----------
    specs : mapping of str to ModelSpec
        Eligible models (the strategy searches ``join_spaces(specs)``).
    strategy : search.Strategy
        Proposes configurations.
    metric : Metric
        Score of every trial.
    pool : Pool
        Where trials run.
    budget : Budget
        Limits of the search.
    store : Store, optional
        Receives every finished trial as soon as it finishes.
    loaded : sequence of TrialRecord
        Trials of an earlier run of the same study; the strategy is rebuilt
        from them.
    reserve : callable, optional
        ``reserve(records) -> seconds`` kept free at the end of the budget
        (for the final refit).
    on_trial : callable, optional
        Called with each finished ``TrialRecord`` and the search.
    """

    def __init__(
        self,
        specs: Mapping[str, ModelSpec],
        strategy: Strategy,
        metric: Metric,
        pool: Pool,
        budget: Budget,
        store: Store | None = None,
        loaded: Sequence[TrialRecord] = (),
        reserve: Callable[[Sequence[TrialRecord]], float] | None = None,
        on_trial: Callable[[TrialRecord, Search], None] | None = None,
    ) -> None:
        self.specs, self.strategy, self.metric = dict(specs), strategy, metric
        self.pool, self.budget, self.store = pool, budget, store
        self.reserve = reserve or (lambda records: 0.0)
        self.on_trial = on_trial
        self.records: list[TrialRecord] = list(loaded)
        self.lag = max(TELL_LAG, pool.slots)
        self.started = time.monotonic()
        self._asked: dict[int, Trial] = {}
        self._finished: dict[int, TrialRecord] = {}
        for config in portfolio(self.specs):
            self.strategy.enqueue(config)
        history = self._history(self.records)
        if history:
            self.strategy.restore(history)
        if budget.max_trials is None:  # a budget of seconds alone
            strategy.plan_time(budget.time_budget, pool.slots)

    def _history(self, records: Iterable[TrialRecord]) -> list[tuple[Trial, Observation]]:
        history = []
        for record in records:
            if record.model not in self.specs:
                continue  # a model no longer searched: kept on the board, not told
            trial = Trial(record.number, joint_config(record.model, record.params),
                          record.fidelity)
            history.append((trial, observation(record, self.metric)))
        return history

    @property
    def deadline(self) -> float:
        """``time.monotonic()`` at which the search must have stopped."""
        return self.started + self.budget.time_budget - self.reserve(self.records)

    def run(self) -> list[TrialRecord]:
        """Run the search and return every trial record (loaded ones first)."""
        exhausted = False
        while True:
            while not exhausted and self.pool.running < self.pool.slots:
                if not self._tell_up_to(self.strategy.n_asked - self.lag):
                    break  # an older trial must finish before the next ask
                if self._out_of_budget():
                    exhausted = True
                    break
                trials = self.strategy.ask(1)
                if not trials:
                    logger.info("the strategy has nothing left to propose")
                    exhausted = True
                    break
                self._submit(trials[0])
            if self.pool.running == 0 and (exhausted or not self._asked):
                break
            for record in self.pool.collect(timeout=0.05):
                self._finish(record)
        self._tell_up_to(self.strategy.n_asked)
        return self.records

    def _submit(self, trial: Trial) -> None:
        model, params = Space.branch(trial.config, MODEL_KEY)
        limit = (self.deadline - time.monotonic()) / (1.0 + self.budget.refit_share)
        if self.budget.trial_time_limit is not None:
            limit = min(limit, self.budget.trial_time_limit)
        self._asked[trial.number] = trial
        self.pool.submit(TrialJob(trial.number, model, dict(params), max(limit, 0.0),
                                  trial.fidelity))

    def _finish(self, record: TrialRecord) -> None:
        asked_as = record.number
        if self.store is not None:
            record = self.store.add(record)
        self.records.append(record)
        self._finished[asked_as] = record
        if self.on_trial is not None:
            self.on_trial(record, self)

    def _tell_up_to(self, last: int) -> bool:
        """Tell the strategy every asked trial numbered up to ``last``, in order.

        Returns False when one of them has not finished yet.
        """
        for number in sorted(n for n in self._asked if n <= last):
            record = self._finished.pop(number, None)
            if record is None:
                return False
            self.strategy.tell(self._asked.pop(number), observation(record, self.metric))
        return True

    def _out_of_budget(self) -> bool:
        if self._failing_throughout():
            logger.warning("the first %d trials all failed; stopping the search",
                           len(self.records))
            return True
        limit = self.budget.max_trials
        if limit is not None and len(self.records) + self.pool.running >= limit:
            return True
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return True
        # Do not start a trial that cannot finish one fold of the cheapest model seen.
        per_fold = [r.duration / max(1, len(r.fold_scores)) for r in self.records
                    if r.status == "ok"]
        return bool(per_fold) and remaining < min(per_fold)


    def _failing_throughout(self) -> bool:
        """Whether every trial so far failed, and enough ran to call it a pattern."""
        return len(self.records) >= FAILURES_BEFORE_GIVING_UP and all(
            r.status == "failed" for r in self.records)


def leaderboard(records: Sequence[TrialRecord], metric: Metric) -> pd.DataFrame:
    """One row per trial, best first; failed trials last with their error.

    Extra measures of the trials (``TrialRecord.extras``) follow the metric's
    column, one column each.
    """
    extras = sorted({name for r in records for name in r.extras})
    rows = [{
        "trial": r.number,
        "model": r.model,
        metric.name: r.score,
        **{name: r.extras.get(name) for name in extras},
        "status": r.status,
        "duration_s": round(r.duration, 3),
        "fidelity": r.fidelity,
        "fold_std": float(np.std(r.fold_scores)) if r.fold_scores else None,
        "params": r.params,
        "error": r.error,
    } for r in records]
    columns = ["trial", "model", metric.name, *extras, "status", "duration_s", "fidelity",
               "fold_std", "params", "error"]
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table
    loss = table[metric.name].astype(float)
    table["_key"] = (-loss if metric.greater_is_better else loss).fillna(np.inf)
    table = table.sort_values(["_key", "trial"], kind="stable").drop(columns="_key")
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


def add_ensemble_row(board: pd.DataFrame, final: Any, metric: Metric) -> pd.DataFrame:
    """Put the final ensemble on the leaderboard, ranked among the trials.

    Its ``params`` hold the member trial numbers and their weights.
    """
    if not final.is_ensemble:
        return board
    row = {"trial": -1, "model": "ensemble", metric.name: final.score, "status": "ok",
           "duration_s": None, "fidelity": None, "fold_std": None,
           "params": {int(n): round(w, 4) for n, w in final.weights.items()}, "error": None}
    table = pd.concat([board.drop(columns="rank"), pd.DataFrame([row])], ignore_index=True)
    scores = board[metric.name].astype(float)
    better = (scores > final.score) if metric.greater_is_better else (scores < final.score)
    rank = int(better.sum())
    order = list(range(rank)) + [len(table) - 1] + list(range(rank, len(table) - 1))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table
