"""Resampling and scoring of one configuration, keeping its out-of-fold predictions.

Every trial is evaluated on the same splits, which its task makes
(:meth:`automl.tasks.Task.splits`); the task also chooses the evaluator
(:meth:`automl.tasks.Task.evaluator`), :func:`cross_validate` or one with its
signature. Preprocessing lives inside the estimator a spec builds, so it is
fitted on each training fold only.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.metrics import Metric
from automl.modalities import take

logger = logging.getLogger(__name__)

Splits = list[tuple[np.ndarray, np.ndarray]]
"""(training rows, validation rows) pairs; each task makes its own (``Task.splits``)."""


class TrialTimeout(Exception):
    """Raised between folds when a trial has used up its time limit."""


@dataclass
class Evaluation:
    """The outcome of resampling one configuration.

    Attributes
    ----------
    score : float
        The metric on all out-of-fold predictions pooled.
    fold_scores : list of float
        The metric on each validation fold.
    oof : numpy.ndarray
        Out-of-fold predictions: ``(n, K)`` probabilities for classification,
        ``(n,)`` values for regression; NaN for rows never validated (holdout).
    fit_time : float
        Seconds spent fitting, summed over folds.
    extras : dict of str to float
        Further measures, recorded but not optimised (``TrialRecord.extras``).
    """

    score: float
    fold_scores: list[float]
    oof: np.ndarray
    fit_time: float
    extras: dict[str, float] = field(default_factory=dict)


def predict_matrix(estimator: Any, X: pd.DataFrame, n_classes: int | None) -> np.ndarray:
    """Predict probabilities over all ``n_classes`` (or values for regression).

    A fold that misses a class gets a zero column for it.
    """
    if n_classes is None:
        return np.asarray(estimator.predict(X), dtype=float).ravel()
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    classes = np.asarray(getattr(estimator, "classes_", np.arange(proba.shape[1])))
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((len(proba), n_classes))
    full[:, classes.astype(int)] = proba
    return full


def cross_validate(
    build: Callable[[], Any],
    X: pd.DataFrame,
    y: np.ndarray,
    splits: Splits,
    metric: Metric,
    n_classes: int | None,
    deadline: float | None = None,
    train_fraction: float = 1.0,
    seed: int = 0,
    predictor: Callable[[Any, Any, np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Evaluation:
    """Fit a fresh estimator on each training fold and score its predictions.

    Parameters
    ----------
    build : callable
        Returns a new unfitted estimator.
    deadline : float, optional
        ``time.monotonic()`` value after which no new fold starts
        (:class:`TrialTimeout` is raised instead).
    train_fraction : float
        Fit on this seeded share of each training fold (a low-fidelity look);
        validation folds stay whole so scores remain comparable.
    seed : int
        Seed of that subsample.
    predictor : callable, optional
        ``predictor(estimator, X, train_rows, valid_rows) -> predictions`` in
        place of predicting the validation rows (ranking evaluation of
        recommenders). ``y`` may then be None: estimators are fitted without
        a target.
    """
    n_rows = len(X)
    if n_classes is None:
        oof = np.full(n_rows, np.nan)
    else:
        oof = np.full((n_rows, n_classes), np.nan)
    fold_scores: list[float] = []
    fit_time = 0.0
    folds_started = time.monotonic()
    for fold, (train, valid) in enumerate(splits):
        if deadline is not None and fold > 0:
            now = time.monotonic()
            if now + (now - folds_started) / fold > deadline:  # a fold takes the mean so far
                raise TrialTimeout(f"time limit reached after {fold} of {len(splits)} folds")
        if train_fraction < 1.0:
            train = _subsample(train, y if y is not None else np.zeros(len(oof)),
                               train_fraction, seed + fold, n_classes is not None)
        estimator = build()
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            warnings.filterwarnings("ignore", category=FutureWarning)
            _silence_convergence_warnings()
            estimator.fit(take(X, train), None if y is None else y[train])
            fit_time += time.perf_counter() - started
            if predictor is None:
                prediction = predict_matrix(estimator, take(X, valid), n_classes)
            else:
                prediction = predictor(estimator, X, train, valid)
        if not np.all(np.isfinite(prediction)):
            raise ValueError("the model predicted NaN or infinite values")
        # score what is stored (float32): this also drops the last-bit noise of models
        # that sum predictions in threads (forests), which would reorder near-ties
        prediction = np.asarray(prediction, dtype=np.float32).astype(float)
        oof[valid] = prediction
        fold_scores.append(metric(None if y is None else y[valid], prediction))
    covered = np.unique(np.concatenate([valid for _, valid in splits]))
    score = metric(None if y is None else y[covered], oof[covered])
    return Evaluation(score=score, fold_scores=fold_scores, oof=oof, fit_time=fit_time)


def _subsample(rows: np.ndarray, y: np.ndarray, fraction: float, seed: int,
               stratify: bool) -> np.ndarray:
    """A seeded share of ``rows``, stratified so every class keeps at least one row."""
    from sklearn.model_selection import train_test_split

    keep = max(2, int(round(len(rows) * fraction)))
    if keep >= len(rows):
        return rows
    labels = y[rows] if stratify else None
    try:
        chosen, _ = train_test_split(rows, train_size=keep, random_state=seed,
                                     stratify=labels)
    except ValueError:  # a class too rare to stratify
        chosen, _ = train_test_split(rows, train_size=keep, random_state=seed)
    return np.sort(chosen)


def _silence_convergence_warnings() -> None:
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", category=ConvergenceWarning)
