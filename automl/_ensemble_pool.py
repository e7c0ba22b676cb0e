"""The pool of trials an ensemble is built from, and the greedy tie rule.

Shared by :mod:`automl.ensemble`, :mod:`automl._ensemble_torch` and
:mod:`automl.stacking`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from automl.metrics import Metric
from automl.records import TrialRecord

_TIE_RTOL = 1e-12
"""Losses this close (relative) count as ties, broken towards the lower index.

It makes the numpy and torch paths agree whatever the last bits of their
reductions, and makes ties between identical models deterministic.
"""


def _pool(records: Sequence[TrialRecord], y: np.ndarray, metric: Metric,
          max_models: int) -> list[TrialRecord]:
    """Pick the ``max_models`` best successful trials with out-of-fold predictions."""
    n = len(y)
    usable = [r for r in records if r.status == "ok" and r.oof is not None]
    if not usable:
        raise ValueError("no successful trial with out-of-fold predictions to ensemble")

    def rank(record: TrialRecord) -> tuple[float, int]:
        score = record.score
        loss = math.inf if score is None else _loss(metric, score)
        return loss, record.number

    pool = sorted(usable, key=rank)[:max_models]
    shape = np.shape(pool[0].oof)
    for record in pool:
        oof = np.asarray(record.oof)
        if oof.ndim == 0 or oof.shape[0] != n:
            raise ValueError(f"trial {record.number} has out-of-fold shape {oof.shape}, "
                             f"y has {n} rows")
        if oof.shape != shape:
            raise ValueError(f"trial {record.number} has out-of-fold shape {oof.shape}, "
                             f"trial {pool[0].number} has {shape}")
    return pool


def _finite_rows(pool: Sequence[TrialRecord], y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and the stacked predictions ``(m, rows, ...)`` on rows every member predicts."""
    preds = np.stack([np.asarray(r.oof) for r in pool])
    finite = np.isfinite(preds).reshape(len(pool), preds.shape[1], -1).all(axis=(0, 2))
    if not finite.any():
        raise ValueError("no row has an out-of-fold prediction from every pooled trial")
    return np.asarray(y)[finite], preds[:, finite]


# -- greedy selection --------------------------------------------------------------------------


def _loss(metric: Metric, score: float) -> float:
    """Turn a score into a loss, NaN counting as the worst."""
    return math.inf if math.isnan(score) else metric.to_loss(score)


def _first_best(losses: np.ndarray) -> int:
    """Index of the first loss within the tie tolerance of the minimum."""
    best = float(np.min(losses))
    if not math.isfinite(best):
        return 0
    return int(np.flatnonzero(losses <= best + _TIE_RTOL * max(1.0, abs(best)))[0])
