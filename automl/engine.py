"""The search loop: ask the strategy, evaluate trials, record them, tell the strategy.

The engine joins the eligible model specs into one conditional space whose root
is the categorical ``model``, queues each spec's known-good defaults first (a
portfolio, round-robin over models), then lets the strategy propose. Budgets
are a global time limit, a trial count and a per-trial limit. A failing trial
is recorded with its error and the search goes on.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.evaluation import Splits, TrialTimeout, cross_validate
from automl.metrics import Metric
from automl.specs import Context, ModelSpec
from search import Observation, Space, Strategy, Trial

logger = logging.getLogger(__name__)

MODEL_KEY = "model"
"""Name of the root categorical parameter of the joined space."""


@dataclass
class TrialRecord:
    """One finished trial, as the leaderboard and the ensemble see it.

    Attributes
    ----------
    number : int
        Trial number, in the order the strategy proposed it.
    model : str
        Name of the model spec.
    params : dict
        The spec's own hyperparameters.
    status : str
        ``"ok"``, ``"failed"`` or ``"timeout"``.
    score : float or None
        The search metric on out-of-fold predictions (None unless ok).
    fold_scores : list of float
        The metric per validation fold.
    duration : float
        Wall-clock seconds of the trial.
    error : str or None
        Why the trial failed.
    oof : numpy.ndarray or None
        Out-of-fold predictions (float32) for ensembles.
    """

    number: int
    model: str
    params: dict[str, Any]
    status: str
    score: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    duration: float = 0.0
    error: str | None = None
    oof: np.ndarray | None = None


def join_spaces(specs: Mapping[str, ModelSpec]) -> Space:
    """One conditional space over model choice and every model's hyperparameters."""
    return Space.conditional(MODEL_KEY, {name: spec.space for name, spec in specs.items()})


def portfolio(specs: Mapping[str, ModelSpec]) -> list[dict[str, Any]]:
    """Known-good configurations in the joined space: first default of every model, then
    the second ones, and so on."""
    configs = []
    depth = max((len(spec.defaults) for spec in specs.values()), default=0)
    for level in range(depth):
        for name, spec in specs.items():
            if level < len(spec.defaults):
                joint = {MODEL_KEY: name}
                joint.update({f"{name}:{k}": v for k, v in spec.defaults[level].items()})
                configs.append(joint)
    return configs


@dataclass
class Budget:
    """Limits of one search.

    Attributes
    ----------
    time_budget : float
        Seconds for the whole ``fit``, refit included.
    max_trials : int or None
        Stop after this many trials.
    trial_time_limit : float or None
        Seconds after which a trial starts no new fold.
    """

    time_budget: float
    max_trials: int | None = None
    trial_time_limit: float | None = None


class Search:
    """Runs trials until the budget or the strategy is exhausted.

    Parameters
    ----------
    X, y : DataFrame and array
        Validated training data (see ``automl.data``).
    specs : mapping of str to ModelSpec
        Eligible models.
    strategy : search.Strategy
        Proposes configurations of ``join_spaces(specs)``.
    metric : Metric
        Score of every trial.
    splits : list of (train, valid) index arrays
        The resampling shared by every trial.
    ctx : Context
        Handed to every ``build``.
    budget : Budget
        Limits of the search.
    reserve : callable, optional
        ``reserve(records) -> seconds`` kept free at the end of the budget
        (for the final refit).
    on_trial : callable, optional
        Called with each finished ``TrialRecord`` and the search.
    """

    def __init__(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        specs: Mapping[str, ModelSpec],
        strategy: Strategy,
        metric: Metric,
        splits: Splits,
        ctx: Context,
        budget: Budget,
        reserve: Callable[[Sequence[TrialRecord]], float] | None = None,
        on_trial: Callable[[TrialRecord, Search], None] | None = None,
    ) -> None:
        self.X, self.y, self.specs = X, y, dict(specs)
        self.strategy, self.metric, self.splits = strategy, metric, splits
        self.ctx, self.budget = ctx, budget
        self.reserve = reserve or (lambda records: 0.0)
        self.on_trial = on_trial
        self.records: list[TrialRecord] = []
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds since the search started."""
        return time.monotonic() - self.started

    @property
    def deadline(self) -> float:
        """``time.monotonic()`` at which the search must have stopped."""
        return self.started + self.budget.time_budget - self.reserve(self.records)

    @property
    def best(self) -> TrialRecord | None:
        """The best successful trial so far."""
        ok = [r for r in self.records if r.status == "ok"]
        if not ok:
            return None
        return min(ok, key=lambda r: (self.metric.to_loss(r.score), r.number))

    def run(self) -> list[TrialRecord]:
        """Run the search and return every trial record."""
        for config in portfolio(self.specs):
            self.strategy.enqueue(config)
        while not self._exhausted():
            trials = self.strategy.ask(1)
            if not trials:
                logger.info("the strategy has nothing left to propose")
                break
            for trial in trials:
                record = self._run_trial(trial)
                self.records.append(record)
                self.strategy.tell(trial, self._observation(record))
                if self.on_trial is not None:
                    self.on_trial(record, self)
        return self.records

    def _exhausted(self) -> bool:
        limit = self.budget.max_trials
        if limit is not None and len(self.records) >= limit:
            return True
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return True
        # Do not start a trial that cannot finish one fold of the cheapest model seen.
        durations = [r.duration / max(1, len(r.fold_scores)) for r in self.records
                     if r.status == "ok"]
        return bool(durations) and remaining < min(durations)

    def _trial_deadline(self) -> float:
        deadline = self.deadline
        if self.budget.trial_time_limit is not None:
            deadline = min(deadline, time.monotonic() + self.budget.trial_time_limit)
        return deadline

    def _run_trial(self, trial: Trial) -> TrialRecord:
        model, params = Space.branch(trial.config, MODEL_KEY)
        spec = self.specs[model]
        started = time.monotonic()
        record = TrialRecord(number=trial.number, model=model, params=dict(params),
                             status="ok")
        try:
            evaluation = cross_validate(
                lambda: spec.build(dict(params), self.ctx),
                self.X, self.y, self.splits, self.metric, self.ctx.n_classes,
                deadline=self._trial_deadline(),
            )
        except TrialTimeout as exc:
            record.status, record.error = "timeout", str(exc)
        except Exception as exc:  # a failing trial never stops the search
            record.status = "failed"
            record.error = f"{type(exc).__name__}: {exc}"
            logger.debug("trial %d (%s) failed:\n%s", trial.number, model,
                         traceback.format_exc())
        else:
            if math.isfinite(evaluation.score):
                record.score = evaluation.score
                record.fold_scores = evaluation.fold_scores
                record.oof = evaluation.oof.astype(np.float32)
            else:
                record.status, record.error = "failed", "the metric is NaN or infinite"
        record.duration = time.monotonic() - started
        return record

    def _observation(self, record: TrialRecord) -> Observation:
        if record.status != "ok":
            return Observation(status=record.status, cost=record.duration)
        return Observation(value=self.metric.to_loss(record.score), cost=record.duration)


def leaderboard(records: Sequence[TrialRecord], metric: Metric) -> pd.DataFrame:
    """One row per trial, best first; failed trials last with their error."""
    rows = []
    for r in records:
        rows.append({
            "trial": r.number,
            "model": r.model,
            metric.name: r.score,
            "status": r.status,
            "duration_s": round(r.duration, 3),
            "fold_std": float(np.std(r.fold_scores)) if r.fold_scores else None,
            "params": r.params,
            "error": r.error,
        })
    columns = ["trial", "model", metric.name, "status", "duration_s", "fold_std",
               "params", "error"]
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table
    loss = table[metric.name].astype(float)
    table["_key"] = (-loss if metric.greater_is_better else loss).fillna(np.inf)
    table = table.sort_values(["_key", "trial"], kind="stable").drop(columns="_key")
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)
