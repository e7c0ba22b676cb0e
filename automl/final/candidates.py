"""Which trials the final model is built from, and the tie rule of greedy selection.

* :func:`ranked`: successful trials at the highest fidelity reached (full
  whenever one finished), best first;
* :func:`ensemble_candidates`: those an ensemble may choose from, the ten best
  and the three best of each model family, minus copies;
* :func:`candidate_predictions`: the best candidates with out-of-fold
  predictions, and those predictions on the rows every one predicts (the input
  of :func:`~automl.final.ensemble.select_ensemble` and
  :func:`~automl.final.stacking.stack`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from automl.engine.records import TrialRecord
from automl.metrics import Metric

CANDIDATES_TOP = 10
"""The best trials overall that an ensemble may choose from."""

CANDIDATES_PER_MODEL = 3
"""The best trials of each model family an ensemble may also choose from."""

_TIE_RTOL = 1e-12
"""Losses this close (relative) count as ties, broken towards the lower index.

It makes the numpy and torch paths agree whatever the last bits of their
reductions, and makes ties between identical models deterministic.
"""


def ranked(records: Sequence[TrialRecord], metric: Metric) -> list[TrialRecord]:
    """Successful trials at the highest fidelity reached, best first (ties to the earlier).

    That is the full-fidelity trials whenever one finished; under early stopping
    with few trials, none may have, and the best cheap looks stand in (their
    refits are full).
    """
    ok = [r for r in records if r.status == "ok"]
    highest = max((full_share(r) for r in ok), default=1.0)
    ok = [r for r in ok if full_share(r) == highest]
    return sorted(ok, key=lambda r: (metric.to_loss(r.score), r.number))


def full_share(record: TrialRecord) -> float:
    """The fidelity a trial ran at, 1.0 for a full one."""
    return 1.0 if record.fidelity is None else record.fidelity


def ensemble_candidates(candidates: Sequence[TrialRecord], top: int = CANDIDATES_TOP,
                        per_model: int = CANDIDATES_PER_MODEL) -> list[TrialRecord]:
    """The trials greedy selection may choose from, best first.

    The ``top`` best trials overall plus the ``per_model`` best of every model
    family: near-copies of one strong configuration add little, other families
    add the diversity an ensemble feeds on. Trials whose out-of-fold
    predictions are identical to a better one's (the same model, reached
    through parameters that differ only where the model rounds them, such as
    a forest's feature fraction) are left out, so they do not take the places
    of other models.
    """
    return top_and_per_model(_distinct_predictions(candidates), top, per_model)


def top_and_per_model(candidates: Sequence[TrialRecord], top: int,
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


def candidate_predictions(records: Sequence[TrialRecord], y: np.ndarray, metric: Metric,
                          max_models: int) -> tuple[list[TrialRecord], np.ndarray, np.ndarray]:
    """The ``max_models`` best successful trials with out-of-fold predictions, and those.

    Returns the trials, ``y`` on the rows every one of them predicts, and
    their stacked predictions ``(m, rows, ...)`` on those rows.

    Raises
    ------
    ValueError
        When no trial qualifies, the predictions do not match ``y`` or one
        another in shape, or no row has every trial's prediction.
    """
    chosen = _best_with_predictions(records, y, metric, max_models)
    preds = np.stack([np.asarray(r.oof) for r in chosen])
    finite = np.isfinite(preds).reshape(len(chosen), preds.shape[1], -1).all(axis=(0, 2))
    if not finite.any():
        raise ValueError("no row has an out-of-fold prediction from every candidate trial")
    return chosen, np.asarray(y)[finite], preds[:, finite]


def _best_with_predictions(records: Sequence[TrialRecord], y: np.ndarray, metric: Metric,
                           max_models: int) -> list[TrialRecord]:
    """Pick the ``max_models`` best successful trials with out-of-fold predictions."""
    n = len(y)
    usable = [r for r in records if r.status == "ok" and r.oof is not None]
    if not usable:
        raise ValueError("no successful trial with out-of-fold predictions to ensemble")

    def rank(record: TrialRecord) -> tuple[float, int]:
        score = record.score
        loss = math.inf if score is None else score_loss(metric, score)
        return loss, record.number

    chosen = sorted(usable, key=rank)[:max_models]
    shape = np.shape(chosen[0].oof)
    for record in chosen:
        oof = np.asarray(record.oof)
        if oof.ndim == 0 or oof.shape[0] != n:
            raise ValueError(f"trial {record.number} has out-of-fold shape {oof.shape}, "
                             f"y has {n} rows")
        if oof.shape != shape:
            raise ValueError(f"trial {record.number} has out-of-fold shape {oof.shape}, "
                             f"trial {chosen[0].number} has {shape}")
    return chosen


def score_loss(metric: Metric, score: float) -> float:
    """Turn a score into a loss, NaN counting as the worst."""
    return math.inf if math.isnan(score) else metric.to_loss(score)


def first_best(losses: np.ndarray) -> int:
    """Index of the first loss within the tie tolerance of the minimum."""
    best = float(np.min(losses))
    if not math.isfinite(best):
        return 0
    return int(np.flatnonzero(losses <= best + _TIE_RTOL * max(1.0, abs(best)))[0])
