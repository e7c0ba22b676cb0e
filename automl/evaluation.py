"""Resampling and scoring of one configuration, keeping its out-of-fold predictions.

Every trial is evaluated on the same splits. Preprocessing lives inside the
estimator a spec builds, so it is fitted on each training fold only.
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
HOLDOUT_FRACTION = 0.2
AUTO_CV_FOLDS = 5
AUTO_CV_MAX_ROWS = 10_000
"""``cv="auto"``: k-fold up to this many rows, a holdout above (more trials per budget)."""


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


def make_splits(task: str, y: np.ndarray, cv: int | float | str, seed: int) -> Splits:
    """Build the resampling splits every trial shares.

    Parameters
    ----------
    task : str
        Stratified splits are used for classification.
    y : numpy.ndarray
        Encoded target.
    cv : int, float, "holdout" or "auto"
        Number of folds (>= 2), a holdout fraction in (0, 1), ``"holdout"``
        for a 20% holdout, or ``"auto"``: 5 folds up to 10,000 rows, a 20%
        holdout above.
    seed : int
        Shuffling seed.
    """
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

    classification = task != "regression"
    index = np.zeros(len(y))
    if cv == "auto":
        cv = AUTO_CV_FOLDS if len(y) <= AUTO_CV_MAX_ROWS else "holdout"
    if cv == "holdout" or (isinstance(cv, float) and 0 < cv < 1):
        fraction = HOLDOUT_FRACTION if cv == "holdout" else float(cv)
        splitter_cls = StratifiedShuffleSplit if classification else ShuffleSplit
        splitter = splitter_cls(n_splits=1, test_size=fraction, random_state=seed)
        return [(tr, va) for tr, va in splitter.split(index, y)]
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise ValueError(
            f"cv must be an integer >= 2, a fraction in (0, 1), 'holdout' or 'auto', got {cv!r}"
        )
    n_splits = int(cv)
    if classification:
        smallest = int(np.bincount(y).min())
        if smallest < n_splits:
            warnings.warn(
                f"the smallest class has {smallest} rows, fewer than cv={n_splits}; "
                f"using {smallest}-fold cross-validation",
                stacklevel=3,
            )
            n_splits = max(2, smallest)
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        if len(y) < n_splits:
            raise ValueError(f"{len(y)} rows are too few for cv={n_splits}; lower cv")
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in splitter.split(index, y)]


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


def evaluator_for(ctx: Any) -> Callable[..., Evaluation]:
    """How the trials of a search are evaluated (``TrialData.evaluate``).

    ``cross_validate`` for classification, regression and ratings; for
    implicit feedback the same with the held-out items ranked
    (:class:`automl.recommendation.RankingPredictor`); for generation a
    two-sample test on a holdout (:class:`automl.synthesis.GenerationEvaluation`).
    """
    from functools import partial

    if ctx.family == "generation":
        from automl.synthesis import GenerationEvaluation

        return GenerationEvaluation(ctx.numeric_columns, ctx.categorical_columns,
                                    ctx.n_threads, ctx.target)
    if ctx.implicit:
        from automl.recommendation import RankingPredictor

        return partial(cross_validate, predictor=RankingPredictor(ctx.n_items, ctx.seed))
    return cross_validate
