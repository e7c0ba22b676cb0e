"""The fitted final model behind ``AutoML.predict``: refitted trials and how they combine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.engine.evaluation import predict_matrix
from automl.final.stacking import StackedEnsemble


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

    def describe(self, models: dict[int, str], metric_name: str) -> str:
        """The final model in words, e.g. ``ensemble of 3 trials (xgboost #4 0.52, ...)``.

        Parameters
        ----------
        models : dict of int to str
            Trial number -> model name.
        metric_name : str
            Name of the score's metric.
        """
        score = f"out-of-fold {metric_name}={self.score:.4f}"
        if not self.is_ensemble:
            number = next(iter(self.estimators))
            return f"trial {number} ({models.get(number, '?')}), {score}"
        kind = "stacked ensemble" if self.stacker is not None else "ensemble"
        members = ", ".join(f"{models.get(n, '?')} #{n} {w:.2f}" for n, w in
                            sorted(self.weights.items(), key=lambda item: -item[1]))
        return f"{kind} of {len(self.estimators)} trials ({members}), {score}"

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
