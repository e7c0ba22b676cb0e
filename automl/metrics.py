"""Metrics registry: a metric scores out-of-fold predictions for one task family.

Classification metrics receive the encoded labels ``0 .. K-1`` and a probability
matrix of shape ``(n, K)``; regression and rating metrics receive the true and
predicted values; ranking metrics (implicit-feedback recommendation) receive
the 0-based rank of each held-out item among its candidates. Built-in metrics
are registered through the same hook as a plugin's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from automl import hookimpl


@dataclass(frozen=True)
class Metric:
    """A named score with its direction and the tasks it applies to.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"roc_auc"``.
    func : callable
        ``func(y_true, prediction) -> float``: for classification the
        prediction is an ``(n, K)`` probability matrix and ``y_true`` holds
        encoded labels; for regression both are 1-D float arrays.
    greater_is_better : bool
        Direction of the score.
    tasks : frozenset of str
        Concrete tasks served: ``"binary"``, ``"multiclass"``, ``"regression"``,
        ``"rating"``, ``"ranking"``, ``"generation"``. Each task names its default
        metric (``automl.tasks.Task.default_metrics``).
    """

    name: str
    func: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool
    tasks: frozenset[str]

    def __call__(self, y_true: np.ndarray, prediction: np.ndarray) -> float:
        """Score ``prediction`` against ``y_true``."""
        return float(self.func(np.asarray(y_true), np.asarray(prediction)))

    def loss(self, y_true: np.ndarray, prediction: np.ndarray) -> float:
        """The score as a value to minimise (negated when greater is better)."""
        return self.to_loss(self(y_true, prediction))

    def to_loss(self, score: float) -> float:
        """Turn a score of this metric into a value to minimise."""
        return -score if self.greater_is_better else score


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.argmax(proba, axis=1)


def _accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    return float(np.mean(_labels(proba) == y))


def _balanced_accuracy(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return balanced_accuracy_score(y, _labels(proba))


def _roc_auc(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return roc_auc_score(y, proba[:, 1])
    present = np.unique(y)
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-15, None)
    return roc_auc_score(y, sub, multi_class="ovr", labels=present)


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import log_loss

    proba = np.clip(proba, 1e-15, 1.0)
    # stored out-of-fold probabilities are float32: rows sum to 1 only to ~1e-7
    proba = proba / proba.sum(axis=1, keepdims=True)
    return log_loss(y, proba, labels=np.arange(proba.shape[1]))


def _f1(y: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    average = "binary" if proba.shape[1] == 2 else "macro"
    return f1_score(y, _labels(proba), average=average,
                    labels=np.arange(proba.shape[1]) if average == "macro" else None)


def _rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def _mae(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y - pred)))


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return r2_score(y, pred)


def _ndcg_at_10(_: np.ndarray, ranks: np.ndarray) -> float:
    from automl.tasks.recommendation.ranking import ndcg_at_k

    return ndcg_at_k(ranks, 10)


def _hit_rate_at_10(_: np.ndarray, ranks: np.ndarray) -> float:
    from automl.tasks.recommendation.ranking import hit_rate_at_k

    return hit_rate_at_k(ranks, 10)


_CLASSIFICATION = frozenset({"binary", "multiclass"})
_REGRESSION = frozenset({"regression", "rating"})
_RANKING = frozenset({"ranking"})
_GENERATION = frozenset({"generation"})


def _c2st_auc(is_synthetic: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(is_synthetic, scores)

BUILTIN_METRICS = (
    Metric("accuracy", _accuracy, True, _CLASSIFICATION),
    Metric("balanced_accuracy", _balanced_accuracy, True, _CLASSIFICATION),
    Metric("roc_auc", _roc_auc, True, _CLASSIFICATION),
    Metric("log_loss", _log_loss, False, _CLASSIFICATION),
    Metric("f1", _f1, True, _CLASSIFICATION),
    Metric("rmse", _rmse, False, _REGRESSION),
    Metric("mae", _mae, False, _REGRESSION),
    Metric("r2", _r2, True, _REGRESSION),
    Metric("ndcg_at_10", _ndcg_at_10, True, _RANKING),
    Metric("hit_rate_at_10", _hit_rate_at_10, True, _RANKING),
    # generation trials are scored by automl.tasks.generation.GenerationEvaluation, which
    # runs the two-sample test; the metric names it and gives its direction
    Metric("c2st_auc", _c2st_auc, False, _GENERATION),
)


@hookimpl
def automl_register_metrics(register: Callable[[Metric], None]) -> None:
    """Register the built-in metrics."""
    for metric in BUILTIN_METRICS:
        register(metric)
