"""The interface every task implements: what ``AutoML.fit`` and ``predict`` ask of a task.

A task is one kind of problem (classification and regression, recommendation,
generation): it turns the user's data into a :class:`~automl.data.Dataset`,
describes it to the model specs (a :class:`~automl.specs.Context`), makes the
splits every trial shares, says how a trial is evaluated (what its
out-of-fold output is and how it is scored), whether those outputs can be
averaged into an ensemble, which fitted attributes it sets, and what
``predict`` returns. ``AutoML`` finds the task in :data:`automl.tasks.TASKS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from automl.data import Dataset, context_for
from automl.engine.evaluation import Evaluation, Splits, cross_validate
from automl.specs import Context

Evaluator = Callable[..., Evaluation]
"""``evaluate(build, X, y, splits, metric, n_classes, deadline=, train_fraction=, seed=)``:
:func:`automl.engine.evaluation.cross_validate` or a callable with its signature."""


class Task(ABC):
    """How ``AutoML`` fits and serves one kind of problem.

    Subclasses implement :meth:`validate` and :meth:`splits`; the other
    steps have defaults that fit a supervised task scored by
    cross-validation.

    Attributes
    ----------
    default_metrics : mapping of str to str
        Concrete task (``Dataset.task``) -> the metric searched when
        ``AutoML(metric=None)``.
    """

    default_metrics: Mapping[str, str] = {}

    @abstractmethod
    def validate(self, X: Any, y: Any, params: Mapping[str, Any]) -> Dataset:
        """Check the user's data and put it in training form.

        Parameters
        ----------
        X, y : any
            What ``fit`` was given.
        params : mapping
            The estimator's parameters (``AutoML.get_params()``), for the
            options a task reads (``modality``, ``user_column``...).

        Returns
        -------
        Dataset
            ``Dataset.task`` is the concrete task (``"binary"``, ``"rating"``...).

        Raises
        ------
        ValueError
            Naming the problem and its fix, before any trial runs.
        """

    def context(self, data: Dataset, **facts: Any) -> Context:
        """The :class:`~automl.specs.Context` every spec of the search gets.

        ``facts`` are the run's settings (seed, threads, device).
        """
        return context_for(data.schema, task=data.task, n_rows=len(data.X),
                           n_classes=data.n_classes, **facts)

    @abstractmethod
    def splits(self, data: Dataset, ctx: Context, cv: Any) -> Splits:
        """The (train rows, validation rows) pairs every trial shares, seeded by ``ctx.seed``.

        ``cv`` is ``AutoML(cv=...)``; a task with its own splits may ignore it.
        """

    def evaluator(self, ctx: Context) -> Evaluator:
        """How one trial is fitted and scored; its out-of-fold output feeds the ensemble."""
        return cross_validate

    def ensembles(self, task: str) -> bool:
        """Whether trials' out-of-fold outputs of the concrete ``task`` can be averaged."""
        return True

    def fitted_attributes(self, data: Dataset, X: Any, y: Any) -> dict[str, Any]:
        """Fitted attributes (names ending in ``_``) this task adds to the estimator.

        ``X`` and ``y`` are what ``fit`` was given, ``data`` their validated form.
        """
        return {}

    def predict(self, model: Any, prediction: np.ndarray) -> np.ndarray:
        """What ``AutoML.predict`` returns, from the final model's prediction matrix."""
        return prediction

    def classifies(self, task: str | None) -> bool:
        """Whether ``task`` predicts classes, so that ``predict_proba`` is offered.

        ``task`` is a name ``AutoML(task=...)`` takes, or a fitted ``task_``.
        """
        return False
