"""Generation (``AutoML(task="generation")``): learn a table, then draw rows like it.

The helpers generator plugins share, the scores of samples, and the task:

* :mod:`~automl.tasks.generation.table`: the canonical table, its checks and
  the post-processing of generated columns;
* :mod:`~automl.tasks.generation.scoring`: the classifier two-sample test
  (:func:`c2st_auc`), train-on-synthetic scores (:func:`tstr_score`) and
  :func:`evaluate_generator`;
* :mod:`~automl.tasks.generation.task`: validation, the holdout split and the
  evaluation of one trial;
* :mod:`~automl.tasks.generation.sampling`: ``AutoML.sample``.
"""

from automl.tasks.generation.sampling import GeneratorMixin
from automl.tasks.generation.scoring import (
    C2ST_MAX_ROWS,
    GENERATION_HOLDOUT,
    MIN_CATEGORY_COUNT,
    MIN_EVALUATION_ROWS,
    c2st_auc,
    evaluate_generator,
    tstr_measure,
    tstr_score,
)
from automl.tasks.generation.table import (
    canonical_frame,
    check_generation_table,
    finish_numeric,
    generation_columns,
    numeric_facts,
)
from automl.tasks.generation.task import (
    GenerationEvaluation,
    GenerationTask,
    column_dtypes,
    generation_frame,
    generation_splits,
    target_name,
    validate_generation_data,
)

__all__ = [
    "C2ST_MAX_ROWS",
    "GENERATION_HOLDOUT",
    "MIN_CATEGORY_COUNT",
    "MIN_EVALUATION_ROWS",
    "GenerationEvaluation",
    "GenerationTask",
    "GeneratorMixin",
    "c2st_auc",
    "canonical_frame",
    "check_generation_table",
    "column_dtypes",
    "evaluate_generator",
    "finish_numeric",
    "generation_columns",
    "generation_frame",
    "generation_splits",
    "numeric_facts",
    "target_name",
    "tstr_measure",
    "tstr_score",
    "validate_generation_data",
]
