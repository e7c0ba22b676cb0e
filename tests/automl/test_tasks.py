"""The task registry: every task word has a task, every task its metrics and splits."""

import numpy as np
import pytest

from automl import AutoML
from automl.metrics import BUILTIN_METRICS
from automl.specs import KNOWN_FAMILIES, TASK_FAMILIES
from automl.tasks import TASKS, Task, fitted_task, task_for
from automl.tasks.generation import GenerationTask
from automl.tasks.recommendation import RecommendationTask
from automl.tasks.supervised import SupervisedTask


def test_every_family_a_spec_declares_has_a_task():
    assert KNOWN_FAMILIES <= set(TASKS)
    assert all(isinstance(task, Task) for task in TASKS.values())


@pytest.mark.parametrize("concrete", sorted(TASK_FAMILIES))
def test_a_fitted_task_finds_its_task_and_default_metric(concrete):
    task = fitted_task(concrete)
    metric = task.default_metrics[concrete]
    assert concrete in next(m for m in BUILTIN_METRICS if m.name == metric).tasks


def test_names_choose_tasks():
    assert isinstance(task_for(None), SupervisedTask)
    for name in ("auto", "classification", "binary", "multiclass", "regression"):
        assert task_for(name) is task_for(None)
    assert isinstance(task_for("recommendation"), RecommendationTask)
    assert isinstance(task_for("generation"), GenerationTask)
    with pytest.raises(ValueError, match="unknown task 'clustering'; known tasks: auto"):
        task_for("clustering")


def test_an_unknown_task_is_named_by_fit():
    with pytest.raises(ValueError, match="unknown task 'clustering'"):
        AutoML(task="clustering", max_trials=1).fit(np.zeros((4, 1)), [0, 1, 0, 1])


def test_which_tasks_ensemble_and_classify():
    assert task_for(None).ensembles("binary") and task_for(None).ensembles("regression")
    assert task_for("recommendation").ensembles("rating")
    assert not task_for("recommendation").ensembles("ranking")
    assert not task_for("generation").ensembles("generation")
    assert task_for(None).classifies(None) and not task_for(None).classifies("regression")
    assert not task_for("recommendation").classifies("rating")
    assert hasattr(AutoML(), "predict_proba") and hasattr(AutoML(task="clustering"),
                                                          "predict_proba")
    assert not hasattr(AutoML(task="regression"), "predict_proba")
    assert not hasattr(AutoML(task="generation"), "predict_proba")
