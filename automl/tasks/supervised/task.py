"""Classification and regression of tables, images, sequences, texts and multimodal rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from automl.data import Dataset, check_rare_classes, validate_training_data
from automl.engine.evaluation import Splits
from automl.specs import Context
from automl.tasks.base import Task
from automl.tasks.supervised.splits import make_splits

CLASSIFICATION_TASKS = ("binary", "multiclass")
"""The concrete tasks whose ``predict`` returns class labels."""


class SupervisedTask(Task):
    """Learn ``X -> y``: binary, multiclass or regression, inferred from ``y`` when not given.

    Every trial is cross-validated on the same (stratified) k-fold or holdout
    splits, its out-of-fold predictions being class probabilities or values;
    they average into ensembles. ``predict`` returns labels in the user's own
    type, or values.
    """

    default_metrics = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
    """Threshold-free for binary, proper scoring for multiclass."""

    def validate(self, X: Any, y: Any, params: Mapping[str, Any]) -> Dataset:
        """Validate features and target (see :func:`automl.data.validate_training_data`).

        Warns about classes with a single row.
        """
        data = validate_training_data(X, y, params["task"], params["modality"])
        if data.classes is not None:
            check_rare_classes(data.y, data.classes)
        return data

    def splits(self, data: Dataset, ctx: Context, cv: Any) -> Splits:
        """The splits of ``cv`` (:func:`~automl.tasks.supervised.splits.make_splits`).

        ``cv="auto"`` is one holdout split for images, sequences, texts and
        multimodal rows: their neural models train far slower than tabular ones.
        """
        if cv == "auto" and ctx.modality != "tabular":
            cv = "holdout"
        return make_splits(data.task, data.y, cv, ctx.seed)

    def predict(self, model: Any, prediction: np.ndarray) -> np.ndarray:
        """Labels in the user's type for classification (``model.classes_``), else values."""
        if model.task_ not in CLASSIFICATION_TASKS:
            return prediction
        return model.classes_[np.argmax(prediction, axis=1)]

    def classifies(self, task: str | None) -> bool:
        """Every task but regression (None and ``"auto"`` infer: a classifier until fit)."""
        return task != "regression"
