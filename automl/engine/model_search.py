"""The search loop: ask the strategy, run trials on a pool, record them, tell the strategy.

The engine joins the eligible model specs into one conditional space whose root
is the categorical ``model``, queues each spec's known-good defaults first (a
portfolio, round-robin over models), then lets the strategy propose. Budgets
are a global time limit, a trial count and a per-trial limit. A failing trial
is recorded with its error and the search goes on. A proposal that repeats a
configuration already fitted (same model, parameters and fidelity) is answered
from that trial, not fitted again; one that ran beside it on another worker is
dropped when it finishes; neither is kept, so the leaderboard lists each
configuration once.

The loop is :mod:`search._loop`'s, shared with :func:`search.optimize`.
Reproducibility whatever the parallelism: the strategy is told results in
trial-number order and with a fixed lag, ``max(TELL_LAG, n_jobs)`` (trial ``k``
is asked once trials ``0 .. k - lag`` are told, and only those), so with
``max_trials`` and a seed the same trials are proposed with one worker or
several (up to ``TELL_LAG``), and a resumed study proposes what an
uninterrupted one would have. Under a budget of seconds alone the strategy is
also given a ``cost_budget`` (the seconds its workers have), so it may prefer
cheaper trials while time is short.
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

from automl.engine.records import TrialRecord
from automl.engine.workers import TrialJob
from automl.metrics import Metric
from automl.specs import ModelSpec
from search import Observation, Space, Strategy, Trial
from search._loop import AskTellLoop
from search.space import config_key

logger = logging.getLogger(__name__)

MODEL_KEY = "model"
"""Name of the root categorical parameter of the joined space."""

FAILURES_BEFORE_GIVING_UP = 50
"""A search whose first this-many trials all failed stops (fit then reports their
errors) instead of failing for the rest of its budget."""

REPEATS_BEFORE_GIVING_UP = 50
"""A search whose last this-many proposals all repeated finished trials stops: the
strategy has, in effect, nothing new to propose."""


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
    """What the engine needs of a worker pool (see ``automl.engine.workers``)."""

    slots: int

    @property
    def running(self) -> int:  # noqa: D102
        ...

    def submit(self, job: TrialJob) -> None:  # noqa: D102
        ...

    def collect(self, timeout: float = 0.0) -> list[TrialRecord]:  # noqa: D102
        ...


class Store(Protocol):
    """What the engine needs of a trial store (see ``automl.engine.storage``)."""

    def add(self, record: TrialRecord) -> TrialRecord:  # noqa: D102
        ...

    def load_others(self, known: Iterable[int]) -> list[TrialRecord]:  # noqa: D102
        ...


class ModelSearch:
    """Runs trials until the budget or the strategy is exhausted.

    The loop itself (lagged in-order tells, budgets, resume) is
    :class:`search._loop.AskTellLoop`'s; this class brings what is the
    engine's own: the joined space and its portfolio of defaults, trial jobs
    with their time limits, trial records, the reserve for the final model,
    the trial count of a resumed study, and giving up when every trial fails.
    (Formerly ``automl.engine.Search``: the name read like the ``search`` package.)

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
        on_trial: Callable[[TrialRecord, ModelSearch], None] | None = None,
    ) -> None:
        self.specs, self.strategy, self.metric = dict(specs), strategy, metric
        self.pool, self.budget, self.store = pool, budget, store
        self.reserve = reserve or (lambda records: 0.0)
        self.on_trial = on_trial
        self.records: list[TrialRecord] = list(loaded)
        self.interrupted = False  # set by run() when Ctrl-C stopped it
        self._repeats_in_a_row = 0
        self._finished = {_trial_key(r.model, r.params, r.fidelity): r
                          for r in self.records if r.status == "ok"}
        self.started = time.monotonic()
        for config in portfolio(self.specs):
            self.strategy.enqueue(config)
        limit = budget.max_trials
        self._loop = AskTellLoop(
            strategy, _JobPool(pool, self._job, self._earlier), self._record,
            max_trials=None if limit is None else max(0, limit - len(self.records)),
            deadline=self.started + budget.time_budget, stop=self._should_stop,
        )
        self._loop.restore(self._history(self.records))
        self.lag = self._loop.lag

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
        """Run the search and return every trial record (loaded ones first).

        A ``KeyboardInterrupt`` (Ctrl-C) stops the search: the trials that
        finished are returned (and were stored as they finished), trials still
        running are left to the caller's ``pool.close()``, and
        :attr:`interrupted` is set.
        """
        try:
            self._loop.run()
        except KeyboardInterrupt:
            self.interrupted = True
        self._take_in_other_writers()  # the final model sees every writer's trials
        return self.records

    def _job(self, trial: Trial) -> TrialJob:
        """The job of a trial, with the seconds it may run."""
        model, params = Space.branch(trial.config, MODEL_KEY)
        limit = (self.deadline - time.monotonic()) / (1.0 + self.budget.refit_share)
        if self.budget.trial_time_limit is not None:
            limit = min(limit, self.budget.trial_time_limit)
        return TrialJob(trial.number, model, dict(params), max(limit, 0.0), trial.fidelity)

    def _earlier(self, trial: Trial) -> TrialRecord | None:
        """The finished, successful trial of the same configuration and fidelity, if any."""
        model, params = Space.branch(trial.config, MODEL_KEY)
        return self._finished.get(_trial_key(model, params, trial.fidelity))

    def _record(self, trial: Trial, record: TrialRecord) -> Observation:
        """Keep a finished trial (the store may renumber it); what the strategy is told.

        A proposal answered from an earlier trial of its configuration (see
        :class:`_JobPool`), or fitted beside one that finished first (parallel
        workers), is told that trial's result and kept nowhere: the leaderboard
        lists each configuration once.
        """
        self._take_in_other_writers()
        earlier = self._earlier(trial)
        if earlier is not None:
            self._repeats_in_a_row += 1
            logger.debug("trial %d repeats trial %d; not kept", trial.number, earlier.number)
            return observation(earlier, self.metric)
        self._repeats_in_a_row = 0
        if self.store is not None:
            record = self.store.add(record)
        self.records.append(record)
        if record.status == "ok":
            self._finished.setdefault(_trial_key(record.model, record.params,
                                                 record.fidelity), record)
        if self.on_trial is not None:
            self.on_trial(record, self)
        return observation(record, self.metric)

    def _take_in_other_writers(self) -> None:
        """Add the trials other processes stored in this study since the last look.

        They join the leaderboard and the final model's candidates, and answer
        proposals of their configurations (not fitted again); the strategy is
        not told them, so its own proposals stay reproducible.
        """
        if self.store is None:
            return
        for record in self.store.load_others(r.number for r in self.records):
            self.records.append(record)
            if record.status == "ok":
                self._finished.setdefault(_trial_key(record.model, record.params,
                                                     record.fidelity), record)

    def _should_stop(self) -> bool:
        """Whether to start no more trials (the loop checks the count and the clock)."""
        self._take_in_other_writers()
        if self._failing_throughout():
            logger.warning("the first %d trials all failed; stopping the search",
                           len(self.records))
            return True
        if self._repeats_in_a_row >= REPEATS_BEFORE_GIVING_UP:
            logger.info("the last %d proposals repeated finished trials; stopping the search",
                        self._repeats_in_a_row)
            return True
        remaining = self.deadline - time.monotonic()  # with the final model's reserve
        if remaining <= 0:
            return True
        # Do not start a trial that cannot finish one fold of the cheapest model seen.
        per_fold = [r.duration / max(1, len(r.fold_scores)) for r in self.records
                    if r.status == "ok"]
        return bool(per_fold) and remaining < min(per_fold)

    def _failing_throughout(self) -> bool:
        """Whether every trial so far failed, and enough ran to call it a pattern."""
        return len(self.records) >= FAILURES_BEFORE_GIVING_UP and all(
            r.status in ("failed", "out_of_memory") for r in self.records)


def _trial_key(model: str, params: Mapping[str, Any], fidelity: float | None) -> tuple:
    """What makes two trials the same fit: the model, its parameters and the fidelity."""
    return model, config_key(params), fidelity


class _JobPool:
    """The engine's worker pool as the loop sees it: trials in, ``(number, record)`` out.

    A trial whose configuration already finished (``earlier(trial)`` gives
    its record) is not submitted: the next :meth:`collect` hands back that
    earlier record under the new trial's number.
    """

    def __init__(self, pool: Pool, job: Callable[[Trial], TrialJob],
                 earlier: Callable[[Trial], TrialRecord | None]) -> None:
        self._pool, self._job, self._earlier = pool, job, earlier
        self._answered: list[tuple[int, TrialRecord]] = []
        self.slots = pool.slots

    @property
    def running(self) -> int:
        return self._pool.running + len(self._answered)

    def submit(self, trial: Trial) -> None:
        earlier = self._earlier(trial)
        if earlier is not None:
            self._answered.append((trial.number, earlier))
        else:
            self._pool.submit(self._job(trial))

    def collect(self) -> list[tuple[int, TrialRecord]]:
        answered, self._answered = self._answered, []
        # the number the trial was asked under (a store may renumber the record later)
        finished = self._pool.collect(timeout=0.0 if answered else 0.05)
        return answered + [(record.number, record) for record in finished]


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
        "fold_std": float(np.std(r.fold_scores)) if len(r.fold_scores or ()) > 1 else None,
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


def with_final_model(board: pd.DataFrame, final: Any, metric: Metric) -> pd.DataFrame:
    """Put the final model on the leaderboard as a person reads it.

    Each trial gets its ``weight`` in the final model (blank when it is not a
    member); an ensemble gets a row of its own, ``model`` naming its members
    (``"ensemble of 3: xgboost #4, mlp #9, knn #2"``), ranked by its
    out-of-fold score among the trials. Columns with no value in any row
    (``fidelity`` without early stopping, ``fold_std`` under a holdout) are
    left out.
    """
    board = board.copy()
    board.insert(board.columns.get_loc("status"), "weight",
                 [final.weights.get(n) for n in board["trial"]] if len(board) else [])
    if final.is_ensemble:
        board = _with_ensemble_row(board, final, metric)
    empty = [c for c in ("fidelity", "fold_std", "weight", "error") if board[c].isna().all()]
    return board.drop(columns=empty)


def _with_ensemble_row(board: pd.DataFrame, final: Any, metric: Metric) -> pd.DataFrame:
    models = dict(zip(board["trial"], board["model"], strict=True))
    members = sorted(final.weights, key=lambda n: -final.weights[n])
    name = f"ensemble of {len(members)}: " + ", ".join(f"{models.get(n, '?')} #{n}"
                                                       for n in members)
    row = {"trial": pd.NA, "model": name, metric.name: final.score, "weight": 1.0,
           "status": "ok", "duration_s": None, "fidelity": None, "fold_std": None,
           "params": None, "error": None}
    table = pd.concat([board.drop(columns="rank"), pd.DataFrame([row])], ignore_index=True)
    table["trial"] = table["trial"].astype("Int64")
    scores = board[metric.name].astype(float)
    better = (scores > final.score) if metric.greater_is_better else (scores < final.score)
    rank = int(better.sum())
    order = list(range(rank)) + [len(table) - 1] + list(range(rank, len(table) - 1))
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table
