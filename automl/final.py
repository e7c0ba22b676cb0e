"""The final model: the greedy ensemble of refitted trials, or the best single trial.

After the search, an ensemble is selected over the out-of-fold predictions of
the best full-fidelity trials (``automl.ensemble``). Its members are refitted on
all rows, heaviest first, while the time budget allows; a member that cannot be
refitted in time (or fails) is dropped and the weights renormalised. The
ensemble is kept unless its out-of-fold score is worse than the best single
trial's.
"""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.ensemble import Ensemble, StackedEnsemble, select_ensemble, stack
from automl.evaluation import predict_matrix
from automl.metrics import Metric
from automl.records import TrialRecord
from automl.specs import Context, ModelSpec

logger = logging.getLogger(__name__)

REFIT_MARGIN = 1.5
"""Refitting on all rows is budgeted at this multiple of one fold's fit time."""

RESERVE_SHARE = 0.25
"""The optional refits of other families' best trials may reserve up to this share
of the time budget (see :class:`FinalReserve`)."""

POOL_TOP = 10
POOL_PER_MODEL = 3


@dataclass
class FinalModel:
    """Fitted estimators of the chosen trials and their weights.

    Attributes
    ----------
    estimators : dict of int to estimator
        Trial number -> estimator refitted on all rows.
    weights : dict of int to float
        Trial number -> weight (sums to 1).
    n_classes : int or None
        Classes of a classification task.
    score : float
        Out-of-fold score of this combination (cross-validated for stacking).
    stacker : StackedEnsemble or None
        When set, members' predictions go through this linear model instead
        of being averaged with ``weights``.
    """

    estimators: dict[int, Any]
    weights: dict[int, float]
    n_classes: int | None
    score: float
    stacker: StackedEnsemble | None = None
    """The linear model over members' predictions (``ensemble="stacking"``)."""

    @property
    def is_ensemble(self) -> bool:
        """Whether more than one trial contributes."""
        return len(self.estimators) > 1

    def predict_matrix(self, X: Any) -> np.ndarray:
        """Combined probabilities (classification) or values (regression)."""
        if self.stacker is not None:
            return self.stacker.predict_matrix(
                {n: predict_matrix(e, X, self.n_classes) for n, e in self.estimators.items()})
        total = None
        for number, estimator in self.estimators.items():
            part = self.weights[number] * predict_matrix(estimator, X, self.n_classes)
            total = part if total is None else total + part
        return total


def refit_seconds(record: TrialRecord) -> float:
    """Expected seconds to refit a trial on all rows."""
    return REFIT_MARGIN * record.duration / max(1, len(record.fold_scores))


def ranked(records: Sequence[TrialRecord], metric: Metric) -> list[TrialRecord]:
    """Successful full-fidelity trials, best first (ties to the earlier trial)."""
    ok = [r for r in records if r.status == "ok" and r.fidelity in (None, 1.0)]
    return sorted(ok, key=lambda r: (metric.to_loss(r.score), r.number))


class FinalReserve:
    """Seconds to keep free at the end of the search for building the final model.

    The refit of the best trial and the greedy selection (estimated from one
    timed metric call) are always kept. The refits of the best trial of every
    other model family (the likely ensemble members) are kept up to
    ``ceiling`` in all: a member that cannot be refitted in time is dropped
    from the ensemble, while a reserve for a slow family that selection
    would not pick anyway (a weak network on a large table) can take half of
    a short budget from the search.

    Parameters
    ----------
    metric : Metric
        The search metric.
    y : numpy.ndarray
        Encoded training target.
    ensemble_size : int
        Greedy selection steps (0: no ensemble).
    ceiling : float, default=inf
        Seconds the optional refits may bring the reserve up to.
    """

    def __init__(self, metric: Metric, y: np.ndarray, ensemble_size: int,
                 ceiling: float = float("inf")) -> None:
        self.metric, self.y, self.ensemble_size = metric, y, ensemble_size
        self.ceiling = ceiling
        self._metric_seconds: float | None = None

    def __call__(self, records: Sequence[TrialRecord]) -> float:
        """Seconds to reserve given the trials so far."""
        candidates = ranked(records, self.metric)
        if not candidates:
            return 0.0
        required = refit_seconds(candidates[0])
        if self.ensemble_size == 0:
            return required
        # copies are counted too (an upper bound): the deadline is checked before
        # every trial, and finding them would hash every trial's predictions each time
        pool = len(_top_and_per_model(candidates, POOL_TOP, POOL_PER_MODEL))
        required += pool * self.ensemble_size * self._time_metric(candidates[0])
        family_best: dict[str, TrialRecord] = {}
        for record in candidates[1:]:
            if record.model != candidates[0].model:
                family_best.setdefault(record.model, record)
        optional = sum(refit_seconds(r) for r in family_best.values())
        return max(required, min(required + optional, self.ceiling))

    def _time_metric(self, record: TrialRecord) -> float:
        """Seconds of one metric call on the out-of-fold predictions, measured once.

        The first call is not timed: it pays one-off costs (a metric's lazy
        imports, for one, 0.7 s for ``roc_auc``) that the thousands of calls
        of greedy selection do not, and timing it made the reserve several
        times too large on big tables.
        """
        if self._metric_seconds is None:
            rows = np.all(np.isfinite(record.oof.reshape(len(self.y), -1)), axis=1)
            y, prediction = self.y[rows], record.oof[rows].astype(float)
            self.metric(y, prediction)
            started = time.perf_counter()
            self.metric(y, prediction)
            self._metric_seconds = time.perf_counter() - started
        return self._metric_seconds


def ensemble_pool(candidates: Sequence[TrialRecord], top: int = POOL_TOP,
                  per_model: int = POOL_PER_MODEL) -> list[TrialRecord]:
    """The trials greedy selection may choose from, best first.

    The ``top`` best trials overall plus the ``per_model`` best of every model
    family: near-copies of one strong configuration add little, other families
    add the diversity an ensemble feeds on. Trials whose out-of-fold
    predictions are identical to a better one's (the same model, reached
    through parameters that differ only where the model rounds them, such as
    a forest's feature fraction) are left out, so they do not take the places
    of other models.
    """
    return _top_and_per_model(_distinct_predictions(candidates), top, per_model)


def _top_and_per_model(candidates: Sequence[TrialRecord], top: int,
                       per_model: int) -> list[TrialRecord]:
    """The ``top`` best candidates plus the ``per_model`` best of each family, best first."""
    chosen: dict[int, TrialRecord] = {r.number: r for r in candidates[:top]}
    counts: dict[str, int] = {}
    for record in candidates:
        if counts.get(record.model, 0) < per_model:
            chosen.setdefault(record.number, record)
            counts[record.model] = counts.get(record.model, 0) + 1
    return [r for r in candidates if r.number in chosen]


def _distinct_predictions(candidates: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The candidates minus those whose out-of-fold predictions repeat an earlier one's."""
    seen: set[bytes] = set()
    out = []
    for record in candidates:
        if record.oof is not None:
            oof = np.ascontiguousarray(record.oof)
            key = hashlib.sha1(oof.tobytes() + str(oof.shape).encode()).digest()
            if key in seen:
                continue
            seen.add(key)
        out.append(record)
    return out


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
) -> tuple[FinalModel, Ensemble | None]:
    """Refit the ensemble's members (or the best trials, one after another).

    ``method`` is ``"greedy"`` (ensemble selection) or ``"stacking"`` (a
    regularised linear model over the best trial of each model family).

    Returns the final model and the selected ensemble (None when the
    ensemble was not used).

    Raises
    ------
    RuntimeError
        When no trial could be refitted.
    """
    candidates = ranked(records, metric)
    if not candidates:
        unscored = [r for r in records if r.status == "timeout"]
        if unscored:
            warnings.warn(
                f"no trial finished within the budget; refitting trial {unscored[0].number} "
                f"({unscored[0].model}) without a score: raise time_budget for a real search",
                stacklevel=3,
            )
        by_number = {r.number: r for r in unscored}
        fitted = _refit(list(by_number), by_number, X, y, ctx, specs, deadline, 1, stop_after=1)
        if not fitted:
            errors = "; ".join(f"trial {r.number} ({r.model}): {r.error}" for r in records[:5])
            raise RuntimeError(
                f"all {len(records)} trials failed; first errors: {errors or 'none ran'}. "
                "Raise time_budget or check the data"
            )
        number = next(iter(fitted))
        return FinalModel(fitted, {number: 1.0}, ctx.n_classes, float("nan")), None
    if method == "stacking" and len(candidates) > 1:
        stacked = _stacked_final(candidates, X, y, ctx, specs, metric, deadline)
        if stacked is not None:
            return stacked, None
    ensemble = None
    if ensemble_size > 0 and len(candidates) > 1:
        pool = ensemble_pool(candidates)
        try:
            ensemble = select_ensemble(pool, y, metric, size=ensemble_size,
                                       max_models=len(pool), device=ctx.device)
        except ValueError as exc:
            logger.warning("no ensemble: %s", exc)
    by_number = {r.number: r for r in candidates}
    best = candidates[0].number
    fitted: dict[int, Any] = {}
    if ensemble is not None and len(ensemble.members) > 1 and \
            metric.to_loss(ensemble.score) <= metric.to_loss(by_number[best].score):
        weights = dict(zip(ensemble.members, ensemble.weights, strict=True))
        order = sorted(weights, key=lambda n: (-weights[n], n))
        fitted = _refit(order, by_number, X, y, ctx, specs, deadline, required=1)
        dropped = len(weights) - len(fitted)
        if dropped:
            warnings.warn(f"{dropped} ensemble members could not be refitted within the "
                          "budget and were dropped", stacklevel=3)
        if len(fitted) > 1:
            kept = {n: weights[n] for n in fitted}
            total = sum(kept.values())
            kept = {n: w / total for n, w in kept.items()}
            score = ensemble.score if not dropped else _weighted_score(kept, by_number, y, metric)
            return FinalModel(fitted, kept, ctx.n_classes, score), ensemble
    if best not in fitted:  # the best trial alone; its refit above, if any, is kept
        fitted = _refit([r.number for r in candidates], by_number, X, y, ctx, specs,
                        deadline, required=1, stop_after=1)
    if not fitted:
        raise RuntimeError("refitting every successful trial failed; see the log")
    number = next(iter(fitted))
    return FinalModel(fitted, {number: 1.0}, ctx.n_classes, by_number[number].score), None


def _stacked_final(candidates: Sequence[TrialRecord], X: Any, y: np.ndarray, ctx: Context,
                   specs: Mapping[str, ModelSpec], metric: Metric, deadline: float,
                   ) -> FinalModel | None:
    """Stack the best trial of each family, if it beats the best trial and all refit."""
    pool = ensemble_pool(candidates, top=1, per_model=1)
    if len(pool) < 2:
        return None
    try:
        stacker = stack(pool, y, metric, ctx.task, ctx.seed, max_models=len(pool))
    except ValueError as exc:
        logger.warning("no stacking: %s", exc)
        return None
    if metric.to_loss(stacker.score) > metric.to_loss(candidates[0].score):
        return None
    by_number = {r.number: r for r in pool}
    fitted = _refit(stacker.members, by_number, X, y, ctx, specs, deadline, required=1)
    if len(fitted) < len(stacker.members):
        logger.warning("stacking dropped: not every member could be refitted in time")
        return None
    weights = {n: 1.0 / len(fitted) for n in fitted}
    return FinalModel(fitted, weights, ctx.n_classes, stacker.score, stacker)


def _refit(order: Sequence[int], by_number: Mapping[int, TrialRecord], X: pd.DataFrame,
           y: np.ndarray, ctx: Context, specs: Mapping[str, ModelSpec],
           deadline: float | None, required: int, stop_after: int | None = None,
           ) -> dict[int, Any]:
    fitted: dict[int, Any] = {}
    for number in order:
        record = by_number[number]
        late = deadline is not None and time.monotonic() + refit_seconds(record) > deadline
        if late and len(fitted) >= required:
            continue
        try:
            refit_ctx = _refit_context(ctx, deadline)
            estimator = specs[record.model].build(dict(record.params), refit_ctx)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                estimator.fit(X, y)
        except Exception as exc:
            logger.warning("refit of trial %d (%s) failed: %s", number, record.model, exc)
            continue
        fitted[number] = estimator
        if stop_after is not None and len(fitted) >= stop_after:
            break
    return fitted


REFIT_TIME_FACTOR = 1.5
"""A final refit sees all rows: its fit may take this many times a fold's ``time_limit``."""


def _refit_context(ctx: Context, deadline: float | None) -> Context:
    """The refit's context: its fit limit, capped by the time left in the budget.

    Never below a fold's own limit: a network refitted with less time than
    its trial had would be worse than the trial that earned its place.
    """
    if ctx.time_limit is None:
        return ctx
    limit = REFIT_TIME_FACTOR * ctx.time_limit
    if deadline is not None:
        limit = min(limit, max(deadline - time.monotonic(), ctx.time_limit))
    return replace(ctx, time_limit=limit)


def _weighted_score(weights: Mapping[int, float], by_number: Mapping[int, TrialRecord],
                    y: np.ndarray, metric: Metric) -> float:
    oofs = [weights[n] * by_number[n].oof.astype(float) for n in weights]
    combined = np.sum(oofs, axis=0)
    rows = np.all(np.isfinite(combined.reshape(len(y), -1)), axis=1)
    return metric(y[rows], combined[rows])
