"""How the engine validates and evaluates tabular generators (``task="generation"``).

``AutoML(task="generation").fit(table)`` searches generator specs (tasks
``{"generation"}``: ``fit(X)`` then ``sample(n, random_state)``) on one
seeded holdout split: each trial fits on 70% of the rows and is scored by the
classifier two-sample test of :func:`~automl.tasks.generation.scoring.c2st_auc`
between the held-out rows and as many sampled rows (``c2st_auc``, 0.5 is
perfect, lower is better). Scores of generators do not average, so there is
no ensemble: the best generator is refitted on every row, and ``sample``
(:class:`~automl.tasks.generation.sampling.GeneratorMixin`) returns rows in
the user's column types.

``fit(X, y)`` learns the rows of ``X`` with ``y`` as one more column (named
after ``y``, or ``"target"``), and every trial also records how well a model
trained on as many synthetic rows as the training split predicts that column
of the held-out real rows (:func:`~automl.tasks.generation.scoring.tstr_score`;
recorded in ``TrialRecord.extras`` as ``tstr_roc_auc``, ``tstr_accuracy`` or
``tstr_r2``). The search still selects by the C2ST AUC.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Dataset, Schema, as_frame, infer_task, target_values
from automl.engine.evaluation import Evaluation, Splits
from automl.specs import Context
from automl.tasks.base import Evaluator, Task
from automl.tasks.generation.scoring import (
    GENERATION_HOLDOUT,
    c2st_auc,
    tstr_measure,
    tstr_score,
)
from automl.tasks.generation.table import check_generation_table

DEFAULT_TARGET_NAME = "target"
"""The column name of an unnamed ``y`` in a generation table."""


def target_name(y: Any) -> str | None:
    """The column ``y`` becomes in a generation table (None without ``y``)."""
    if y is None:
        return None
    name = getattr(y, "name", None)
    return str(name) if name is not None else DEFAULT_TARGET_NAME


def generation_frame(X: Any, y: Any = None) -> tuple[pd.DataFrame, bool]:
    """The table a generator learns: ``X`` as a frame, with ``y`` as its last column.

    Returns the frame and whether ``X`` was an array (unnamed columns).

    Raises
    ------
    ValueError
        When ``y`` is not one column as long as ``X``, or its name is already
        a column of ``X``.
    """
    frame, from_array = as_frame(X)
    if y is None:
        return frame, from_array
    name = target_name(y)
    values = target_values(y)
    if len(values) != len(frame):
        raise ValueError(f"y must be one column with a value per row of X ({len(frame)}); "
                         f"got {len(values)} values")
    if name in frame.columns:
        raise ValueError(f"y's name {name!r} is already a column of X; rename y or drop "
                         "that column from X")
    return frame.assign(**{name: values}), from_array


def validate_generation_data(X: Any, y: Any = None) -> Dataset:
    """Validate a table to learn to generate (with ``y`` as one more column).

    Raises
    ------
    ValueError
        When ``y`` does not fit ``X``, the table has no rows or columns, or
        nothing in it varies (see :func:`~automl.tasks.generation.table.check_generation_table`).
    """
    frame, from_array = generation_frame(X, y)
    if frame.shape[0] < 2 or frame.shape[1] == 0:
        raise ValueError(f"X has shape {frame.shape}: generation needs a table with rows "
                         "and at least one column")
    schema = Schema.infer(frame, from_array)
    table = schema.transform(frame)
    check_generation_table(table)
    return Dataset(table, None, "generation", None, schema, target=target_name(y))


def generation_splits(n_rows: int, seed: int) -> Splits:
    """The seeded holdout split every generation trial shares."""
    order = np.random.default_rng(seed).permutation(n_rows)
    held = max(1, int(round(n_rows * GENERATION_HOLDOUT)))
    return [(np.sort(order[held:]), np.sort(order[:held]))]


@dataclass(frozen=True)
class GenerationEvaluation:
    """Scores one generator trial (``TrialData.evaluate`` for ``task="generation"``)."""

    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    n_threads: int = 1
    target: str | None = None

    def __call__(self, build: Callable[[], Any], X: pd.DataFrame, y: Any, splits: Any,
                 metric: Any, n_classes: Any, deadline: float | None = None,
                 train_fraction: float = 1.0, seed: int = 0) -> Evaluation:
        """Fit on the training rows, sample, and return the C2ST AUC on held-out rows.

        With a :attr:`target`, the train-on-synthetic score goes into ``extras``.
        """
        train, valid = splits[0]
        if train_fraction < 1.0:
            keep = max(2, int(round(len(train) * train_fraction)))
            train = np.sort(np.random.default_rng(seed).choice(train, keep, replace=False))
        generator = build()
        if deadline is not None and "time_limit" in generator.get_params():
            # stop training between batches (keeping the last epoch) rather than be killed
            left = 0.8 * (deadline - time.monotonic())
            generator.set_params(time_limit=max(left, 1.0))
        started = time.perf_counter()
        generator.fit(X.iloc[train].reset_index(drop=True))
        fit_time = time.perf_counter() - started
        synthetic = generator.sample(len(valid), random_state=seed)
        real = X.iloc[valid].reset_index(drop=True)
        score = c2st_auc(real, synthetic, self.numeric_columns, self.categorical_columns, seed,
                         n_threads=self.n_threads)
        extras = {}
        if self.target is not None:
            training = generator.sample(len(train), random_state=seed + 1)
            extras = self._tstr(training, real, X[self.target], seed)
        return Evaluation(score=float(score), fold_scores=[float(score)],
                          oof=np.full(len(X), np.nan), fit_time=fit_time, extras=extras)

    def _tstr(self, synthetic: pd.DataFrame, real: pd.DataFrame, column: pd.Series,
              seed: int) -> dict[str, float]:
        """``{"tstr_<measure>": score}``: the target predicted by a model fit on synthetic rows."""
        if self.target in self.categorical_columns:
            task = "classification"
        else:
            task = infer_task(column.dropna().to_numpy(dtype=float))
        measure = tstr_measure(task, real[self.target])
        value = tstr_score(synthetic, real, self.target, task, seed,
                           numeric_columns=self.numeric_columns,
                           categorical_columns=self.categorical_columns,
                           n_threads=self.n_threads)
        return {f"tstr_{measure}": float(value)}


def column_dtypes(X: Any, y: Any = None) -> tuple[tuple[str, str], ...]:
    """The user's column types (``y``'s last), to restore in samples."""
    frame, _ = generation_frame(X, y)
    return tuple((str(name), str(dtype)) for name, dtype in frame.dtypes.items())


class GenerationTask(Task):
    """Learn to draw rows like a table's (``AutoML(task="generation")``).

    ``predict`` does not apply; ``AutoML.sample`` draws rows, in the column
    types kept in ``column_dtypes_``.
    """

    default_metrics = {"generation": "c2st_auc"}

    def validate(self, X: Any, y: Any, params: Mapping[str, Any]) -> Dataset:
        """Validate the table, ``y`` its last column (see :func:`validate_generation_data`)."""
        return validate_generation_data(X, y)

    def context(self, data: Dataset, **facts: Any) -> Context:
        """The table's context, with the column fit's ``y`` became as ``Context.target``."""
        return replace(super().context(data, **facts), target=data.target)

    def splits(self, data: Dataset, ctx: Context, cv: Any) -> Splits:
        """One seeded holdout (:func:`generation_splits`); ``cv`` does not apply."""
        return generation_splits(len(data.X), ctx.seed)

    def evaluator(self, ctx: Context) -> Evaluator:
        """The two-sample test of each trial's sample (:class:`GenerationEvaluation`)."""
        return GenerationEvaluation(ctx.numeric_columns, ctx.categorical_columns,
                                    ctx.n_threads, ctx.target)

    def ensembles(self, task: str) -> bool:
        """Never: two-sample scores of generators do not average."""
        return False

    def fitted_attributes(self, data: Dataset, X: Any, y: Any) -> dict[str, Any]:
        """``column_dtypes_``: the user's column types, restored in samples."""
        return {"column_dtypes_": column_dtypes(X, y)}
