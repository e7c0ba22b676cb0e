"""Build the final model after the search: an ensemble of refitted trials, or the best one.

:func:`build_final` goes through its options in order and keeps the first
that holds:

1. no trial scored: the first trial that ran out of time, refitted unscored;
2. ``method="stacking"``: a linear model over the best trial of each model
   family, when it scores at least as well as the best trial and every member
   refits in time;
3. greedy selection over the out-of-fold predictions of the candidates
   (:func:`~automl.final.candidates.ensemble_candidates`), kept unless it
   scores worse than the best trial; its members are refitted on all rows,
   heaviest first, while the budget allows, a member that cannot be refitted
   in time (or fails) being dropped and the weights renormalised;
4. the best trial alone (its refit from step 3 kept, if it had one).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.engine.memory import megabytes
from automl.engine.records import TrialRecord
from automl.final.candidates import ensemble_candidates, full_share, ranked
from automl.final.ensemble import Ensemble, select_ensemble
from automl.final.model import FinalModel
from automl.final.reserve import REFIT_MARGIN, refit_seconds
from automl.final.stacking import stack
from automl.metrics import Metric
from automl.specs import Context, ModelSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinalChoice:
    """What :func:`build_final` chose: the final model, and the greedy ensemble it combines."""

    model: FinalModel
    """The refitted estimators behind ``predict`` (``AutoML.final_``)."""

    ensemble: Ensemble | None = None
    """The greedy ensemble (``AutoML.ensemble_``); None for stacking and a single trial."""


def build_final(
    records: Sequence[TrialRecord],
    X: pd.DataFrame,
    y: np.ndarray,
    ctx: Context,
    specs: Mapping[str, ModelSpec],
    metric: Metric,
    deadline: float,
    ensemble_size: int,
    method: str = "greedy",
    memory_limit: int | None = None,
    row_share: float = 1.0,
) -> FinalChoice:
    """Refit the ensemble's members (or the best trials, one after another).

    ``method`` is ``"greedy"`` (ensemble selection) or ``"stacking"`` (a
    regularised linear model over the best trial of each model family);
    ``ensemble_size`` 0 leaves the ensemble out. A refit expected to need
    more than ``memory_limit`` is skipped (see :class:`Refits`).

    Raises
    ------
    RuntimeError
        When no trial could be refitted.
    """
    refits = Refits(X, y, ctx, specs, deadline, memory_limit, row_share)
    candidates = ranked(records, metric)
    if not candidates:
        return FinalChoice(model=_unscored_final(records, refits))
    if full_share(candidates[0]) < 1.0:
        warnings.warn(f"no trial reached full fidelity; the final model is built from the "
                      f"trials at fidelity {full_share(candidates[0]):.2g}, refitted in "
                      "full: raise max_trials or time_budget", stacklevel=5)
    if method == "stacking" and len(candidates) > 1:
        stacked = _stacked_final(candidates, y, metric, refits)
        if stacked is not None:
            return FinalChoice(model=stacked)
    ensemble = _greedy_ensemble(candidates, y, metric, ensemble_size, ctx.device)
    by_number = {r.number: r for r in candidates}
    fitted: dict[int, Any] = {}
    if ensemble is not None:
        fitted = _refit_members(ensemble, by_number, refits)
        if len(fitted) > 1:
            model = _weighted_final(ensemble, fitted, by_number, y, metric, ctx.n_classes)
            return FinalChoice(model=model, ensemble=ensemble)
    return FinalChoice(model=_best_single_final(candidates, by_number, fitted, refits))


def _unscored_final(records: Sequence[TrialRecord], refits: Refits) -> FinalModel:
    """No trial scored: refit the first that ran out of time, with a warning."""
    unscored = [r for r in records if r.status == "timeout"]
    if unscored:
        warnings.warn(
            f"no trial finished within the budget; refitting trial {unscored[0].number} "
            f"({unscored[0].model}) without a score: raise time_budget for a real search",
            stacklevel=5,
        )
    by_number = {r.number: r for r in unscored}
    fitted = refits.fit(list(by_number), by_number, required=1, stop_after=1)
    if not fitted:
        errors = "; ".join(f"trial {r.number} ({r.model}): {r.error}" for r in records[:5])
        raise RuntimeError(
            f"all {len(records)} trials failed; first errors: {errors or 'none ran'}. "
            "Raise time_budget or check the data"
        )
    number = next(iter(fitted))
    return FinalModel(estimators=fitted, weights={number: 1.0},
                      n_classes=refits.ctx.n_classes, score=float("nan"))


def _stacked_final(candidates: Sequence[TrialRecord], y: np.ndarray, metric: Metric,
                   refits: Refits) -> FinalModel | None:
    """Stack the best trial of each family, if it beats the best trial and all refit."""
    members = ensemble_candidates(candidates, top=1, per_model=1)
    if len(members) < 2:
        return None
    ctx = refits.ctx
    try:
        stacker = stack(members, y, metric, ctx.task, ctx.seed, max_models=len(members))
    except ValueError as exc:
        logger.warning("no stacking: %s", exc)
        return None
    if metric.to_loss(stacker.score) > metric.to_loss(candidates[0].score):
        return None
    by_number = {r.number: r for r in members}
    fitted = refits.fit(stacker.members, by_number, required=1)
    if len(fitted) < len(stacker.members):
        logger.warning("stacking dropped: not every member could be refitted in time")
        return None
    weights = {n: 1.0 / len(fitted) for n in fitted}
    return FinalModel(estimators=fitted, weights=weights, n_classes=ctx.n_classes,
                      score=stacker.score, stacker=stacker)


def _greedy_ensemble(candidates: Sequence[TrialRecord], y: np.ndarray, metric: Metric,
                     size: int, device: str) -> Ensemble | None:
    """The greedy ensemble of the candidates, if it has two members and beats the best trial."""
    if size <= 0 or len(candidates) < 2:
        return None
    choices = ensemble_candidates(candidates)
    try:
        ensemble = select_ensemble(choices, y, metric, size=size, max_models=len(choices),
                                   device=device)
    except ValueError as exc:
        logger.warning("no ensemble: %s", exc)
        return None
    if len(ensemble.members) > 1 and \
            metric.to_loss(ensemble.score) <= metric.to_loss(candidates[0].score):
        return ensemble
    return None


def _refit_members(ensemble: Ensemble, by_number: Mapping[int, TrialRecord],
                   refits: Refits) -> dict[int, Any]:
    """The ensemble's members refitted heaviest first; those too late are dropped (warned)."""
    weights = dict(zip(ensemble.members, ensemble.weights, strict=True))
    order = sorted(weights, key=lambda n: (-weights[n], n))
    fitted = refits.fit(order, by_number, required=1)
    dropped = len(weights) - len(fitted)
    if dropped:
        logger.warning("the final model leaves out %d of the ensemble's %d members: their "
                       "refits did not fit in the time budget", dropped, len(weights))
    return fitted


def _weighted_final(ensemble: Ensemble, fitted: dict[int, Any],
                    by_number: Mapping[int, TrialRecord], y: np.ndarray, metric: Metric,
                    n_classes: int | None) -> FinalModel:
    """The refitted members with their weights renormalised, scored again if any dropped."""
    weights = dict(zip(ensemble.members, ensemble.weights, strict=True))
    kept = {n: weights[n] for n in fitted}
    total = sum(kept.values())
    kept = {n: w / total for n, w in kept.items()}
    dropped = len(weights) > len(fitted)
    score = ensemble.score if not dropped else _weighted_score(kept, by_number, y, metric)
    return FinalModel(estimators=fitted, weights=kept, n_classes=n_classes, score=score)


def _best_single_final(candidates: Sequence[TrialRecord], by_number: Mapping[int, TrialRecord],
                       fitted: dict[int, Any], refits: Refits) -> FinalModel:
    """The best trial alone (its refit for the ensemble kept), else the next that refits."""
    if candidates[0].number not in fitted:
        fitted = refits.fit([r.number for r in candidates], by_number, required=1,
                            stop_after=1)
    if not fitted:
        raise RuntimeError("refitting every successful trial failed; see the log")
    number = next(iter(fitted))
    return FinalModel(estimators=fitted, weights={number: 1.0},
                      n_classes=refits.ctx.n_classes, score=by_number[number].score)


@dataclass(frozen=True)
class Refits:
    """Refits trials on all rows, each with the time the budget has left.

    Attributes
    ----------
    X, y : training data
        All rows.
    ctx : Context
        The search's context (each refit gets :func:`refit_context` of it).
    specs : mapping of str to ModelSpec
        Builds the estimators.
    deadline : float or None
        ``time.monotonic()`` by which the final model must be built.
    memory_limit : int or None
        Bytes a refit may need: one whose trial's peak memory, scaled by
        ``1 / row_share`` to all rows, passes it is skipped.
    row_share : float
        Share of the rows a trial's folds were fitted on.
    """

    X: Any
    y: np.ndarray
    ctx: Context
    specs: Mapping[str, ModelSpec]
    deadline: float | None
    memory_limit: int | None = None
    row_share: float = 1.0

    def fit(self, order: Sequence[int], by_number: Mapping[int, TrialRecord], required: int,
            stop_after: int | None = None) -> dict[int, Any]:
        """Refit the trials numbered ``order``, in order; trial number -> fitted estimator.

        A trial whose expected refit would end past the deadline is skipped
        once ``required`` are fitted; a failing refit is logged and skipped;
        fitting stops after ``stop_after``.
        """
        fitted: dict[int, Any] = {}
        for number in order:
            record = by_number[number]
            late = self.deadline is not None and \
                time.monotonic() + refit_seconds(record) > self.deadline
            if late and len(fitted) >= required:
                continue
            if self._too_large(record):
                continue
            try:
                refit_ctx = refit_context(self.ctx, self.deadline)
                estimator = self.specs[record.model].build(dict(record.params), refit_ctx)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    estimator.fit(self.X, self.y)
            except Exception as exc:
                logger.warning("refit of trial %d (%s) failed: %s", number, record.model, exc)
                continue
            fitted[number] = estimator
            if stop_after is not None and len(fitted) >= stop_after:
                break
        return fitted

    def _too_large(self, record: TrialRecord) -> bool:
        """Whether the refit of ``record`` is expected to pass the memory limit (warns)."""
        if self.memory_limit is None or record.peak_memory is None:
            return False
        expected = record.peak_memory / self.row_share
        if expected <= self.memory_limit:
            return False
        warnings.warn(f"the refit of trial {record.number} ({record.model}) is skipped: its "
                      f"trial peaked at {megabytes(record.peak_memory)} on "
                      f"{self.row_share:.0%} of the rows, so all rows would need about "
                      f"{megabytes(int(expected))}, over memory_limit "
                      f"({megabytes(self.memory_limit)})", stacklevel=6)
        return True


def refit_context(ctx: Context, deadline: float | None) -> Context:
    """The refit's context: its fit limit, capped by the time left in the budget.

    A final refit sees all rows, so its fit may take :data:`REFIT_MARGIN`
    times a fold's ``time_limit``; never less than a fold's own limit: a
    network refitted with less time than its trial had would be worse than the
    trial that earned its place.
    """
    if ctx.time_limit is None:
        return ctx
    limit = REFIT_MARGIN * ctx.time_limit
    if deadline is not None:
        limit = min(limit, max(deadline - time.monotonic(), ctx.time_limit))
    return replace(ctx, time_limit=limit)


def _weighted_score(weights: Mapping[int, float], by_number: Mapping[int, TrialRecord],
                    y: np.ndarray, metric: Metric) -> float:
    oofs = [weights[n] * by_number[n].oof.astype(float) for n in weights]
    combined = np.sum(oofs, axis=0)
    rows = np.all(np.isfinite(combined.reshape(len(y), -1)), axis=1)
    return metric(y[rows], combined[rows])
