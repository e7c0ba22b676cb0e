"""Stacking: a regularised linear model over the best trials' out-of-fold predictions.

:func:`stack` fits a logistic regression (classification) or ridge regression
on the members' out-of-fold predictions and scores it by its own
cross-validation. The other way to combine trials is greedy selection
(:mod:`automl.final.ensemble`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.engine.records import TrialRecord
from automl.final.candidates import candidate_predictions
from automl.metrics import Metric

__all__ = ["StackedEnsemble", "stack"]

_LOG_CLIP = 1e-6
"""Probabilities are clipped here before taking logs as stacking features."""


@dataclass
class StackedEnsemble:
    """A linear model over members' predictions, fitted by :func:`stack`.

    Attributes
    ----------
    members : list of int
        Trial numbers whose predictions are the model's inputs, in input order.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    n_classes : int or None
        Number of classes (None for regression).
    model : object
        The fitted scikit-learn model (a scaler and a logistic regression, or
        a scaler and a ridge regression).
    score : float
        The metric of the model's cross-validated predictions on the rows
        where every member has an out-of-fold prediction.

    """

    members: list[int]
    task: str
    n_classes: int | None
    model: Any
    score: float

    def predict_matrix(
        self, member_predictions: Mapping[int, np.ndarray] | Sequence[np.ndarray]
    ) -> np.ndarray:
        """Predict from the members' predictions on new data.

        Parameters
        ----------
        member_predictions : mapping of int to numpy.ndarray, or sequence
            Each member's predictions, keyed by trial number, or a sequence in
            the order of :attr:`members`.

        Returns
        -------
        numpy.ndarray
            ``(n, n_classes)`` probabilities for classification, ``(n,)``
            values for regression.

        """
        if isinstance(member_predictions, Mapping):
            missing = [m for m in self.members if m not in member_predictions]
            if missing:
                raise KeyError(f"no predictions for stacked member(s) {missing}")
            parts = [member_predictions[m] for m in self.members]
        else:
            parts = list(member_predictions)
            if len(parts) != len(self.members):
                raise ValueError(f"expected predictions of {len(self.members)} members, "
                                 f"got {len(parts)}")
        features = _stack_features([np.asarray(p) for p in parts], self.task)
        return _stack_predict(self.model, features, self.task, self.n_classes)


def stack(
    records: Sequence[TrialRecord],
    y: np.ndarray,
    metric: Metric,
    task: str,
    seed: int,
    *,
    max_models: int = 25,
    n_splits: int = 5,
) -> StackedEnsemble:
    """Fit a regularised linear model on the candidate trials' out-of-fold predictions.

    Classification uses a logistic regression on the standardised
    log-probabilities of every member; regression a ridge regression
    (:class:`~sklearn.linear_model.RidgeCV`, its penalty chosen by
    leave-one-out) on the standardised predictions.

    Parameters
    ----------
    records : sequence of TrialRecord
        Finished trials; the candidates are chosen as in
        :func:`~automl.final.ensemble.select_ensemble`.
    y : numpy.ndarray
        The training target, aligned with the records' ``oof`` rows.
    metric : Metric
        The metric reported as :attr:`StackedEnsemble.score`.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    seed : int
        Seed of the inner cross-validation's shuffling.
    max_models : int, default=25
        How many of the best trials are candidates.
    n_splits : int, default=5
        Folds of the inner cross-validation (fewer when the data are too few).

    Returns
    -------
    StackedEnsemble
        The model refitted on all usable rows, with its cross-validated score
        (a fair comparison for a trial's score; the greedy ensemble's score is
        optimistic, having been optimised on the same rows).

    Raises
    ------
    ValueError
        As :func:`~automl.final.ensemble.select_ensemble`, and for an unknown task or fewer than two
        usable rows.

    """
    from sklearn.model_selection import KFold, StratifiedKFold

    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"unknown task {task!r}")
    if max_models < 1:
        raise ValueError(f"max_models must be positive, got {max_models}")
    candidates, y_rows, preds = candidate_predictions(records, y, metric, max_models)
    if len(y_rows) < 2:
        raise ValueError("stacking needs at least two rows with every member's prediction")
    features = _stack_features(list(preds), task)
    classification = task != "regression"
    n_classes = int(preds.shape[2]) if classification else None
    if classification:
        y_rows = y_rows.astype(np.int64)
        least = int(np.bincount(y_rows)[np.unique(y_rows)].min())
        folds: Any = StratifiedKFold(max(2, min(n_splits, least)), shuffle=True,
                                     random_state=seed)
        cv_pred = np.zeros((len(y_rows), n_classes))
    else:
        folds = KFold(max(2, min(n_splits, len(y_rows))), shuffle=True, random_state=seed)
        cv_pred = np.zeros(len(y_rows))
    for train, test in folds.split(features, y_rows):
        model = _stack_fit(features[train], y_rows[train], task)
        cv_pred[test] = _stack_predict(model, features[test], task, n_classes)
    model = _stack_fit(features, y_rows, task)
    return StackedEnsemble(members=[r.number for r in candidates], task=task,
                           n_classes=n_classes, model=model,
                           score=float(metric(y_rows, cv_pred)))


def _stack_features(parts: Sequence[np.ndarray], task: str) -> np.ndarray:
    """Columns of the stacking model: members' log-probabilities, or their predictions."""
    if task == "regression":
        return np.column_stack([np.asarray(p, dtype=np.float64).ravel() for p in parts])
    return np.hstack([np.log(np.clip(np.asarray(p, dtype=np.float64), _LOG_CLIP, 1.0))
                      for p in parts])


def _stack_fit(features: np.ndarray, y: np.ndarray, task: str) -> Any:
    """Fit the stacking model (a class prior when only one class is present)."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "regression":
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    elif len(np.unique(y)) < 2:
        model = DummyClassifier(strategy="prior")
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    return model.fit(features, y)


def _stack_predict(model: Any, features: np.ndarray, task: str,
                   n_classes: int | None) -> np.ndarray:
    """Predictions of a stacking model, probabilities spread over all ``n_classes``."""
    if task == "regression":
        return np.asarray(model.predict(features), dtype=np.float64)
    assert n_classes is not None
    proba = np.zeros((len(features), n_classes))
    proba[:, np.asarray(model.classes_, dtype=np.int64)] = model.predict_proba(features)
    return proba
