"""Classification and regression (``AutoML(task=None | "classification" | "regression" ...)``)."""

from automl.tasks.supervised.splits import make_splits
from automl.tasks.supervised.task import CLASSIFICATION_TASKS, SupervisedTask

__all__ = ["CLASSIFICATION_TASKS", "SupervisedTask", "make_splits"]
