"""The tasks ``AutoML`` solves, one package each, and the registry it looks them up in.

Every task implements :class:`Task` (``automl.tasks.base``): validate the
data, describe it to the specs, make the splits, evaluate a trial, say
whether trials ensemble, set its fitted attributes and shape ``predict``.

* :mod:`automl.tasks.supervised`: classification and regression of tables,
  images, sequences, texts and multimodal rows;
* :mod:`automl.tasks.recommendation`: user-item interactions;
* :mod:`automl.tasks.generation`: tables to draw rows like.

A new task is a new package with a :class:`Task` and one entry in
:data:`TASKS` (plus its words in ``automl.specs.TASK_FAMILIES`` and
``KNOWN_FAMILIES``, the vocabulary of ``ModelSpec.tasks``).
"""

from __future__ import annotations

from automl.specs import TASK_FAMILIES
from automl.tasks.base import Evaluator, Task
from automl.tasks.generation import GenerationTask
from automl.tasks.recommendation import RecommendationTask
from automl.tasks.supervised import SupervisedTask

__all__ = ["TASKS", "Evaluator", "Task", "fitted_task", "task_for"]

_SUPERVISED = SupervisedTask()

TASKS: dict[str, Task] = {
    "auto": _SUPERVISED,
    "classification": _SUPERVISED,
    "binary": _SUPERVISED,
    "multiclass": _SUPERVISED,
    "regression": _SUPERVISED,
    "recommendation": RecommendationTask(),
    "generation": GenerationTask(),
}
"""``AutoML(task=...)`` -> the task that runs (None is ``"auto"``: classification or
regression, inferred from ``y``). Every family of ``automl.specs.TASK_FAMILIES`` is a
key, so a fitted model's task is found from its ``task_`` (:func:`fitted_task`)."""


def task_for(name: str | None) -> Task:
    """The task that ``AutoML(task=name)`` runs.

    Raises
    ------
    ValueError
        For a name that no task answers to, listing the known ones.
    """
    key = "auto" if name is None else name
    if not isinstance(key, str) or key not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[key]


def fitted_task(task: str) -> Task:
    """The task behind a fitted model's concrete ``task_`` (``"binary"``, ``"rating"``...)."""
    return TASKS[TASK_FAMILIES.get(task, task)]
