"""Scores of tabular generators (``task="generation"``), with numpy, pandas and scikit-learn.

A generator is a scikit-learn style estimator with ``fit(X) -> self`` and
``sample(n, random_state=None) -> DataFrame`` that returns rows of the
training table's columns, in order, in the canonical form (see
:mod:`automl.tasks.generation.table`). Its samples are scored by:

:func:`c2st_auc`
    Classifier two-sample test: the cross-validated ROC AUC of a
    histogram gradient boosting classifier telling real rows from synthetic
    ones. 0.5 means the classifier cannot tell them apart (the ideal), 1.0
    means every synthetic row is recognisable. Values below 0.5 are noise
    around 0.5 (the raw AUC is reported; read anything below 0.5 as 0.5).
:func:`tstr_score`
    "Train on synthetic, test on real": how well a model fitted on synthetic
    rows predicts a target column of real rows (ROC AUC for two classes,
    accuracy for more, R^2 for regression).
:func:`evaluate_generator`
    One generator scored as a whole (the benchmarks' measure): fit on a
    seeded share of the rows, sample as many rows as were held out, return
    the C2ST AUC of the held-out rows against the sample (lower is better)
    and details. The search scores its trials the same way
    (:class:`automl.tasks.generation.task.GenerationEvaluation`).

References
----------
.. [Lopez2017] D. Lopez-Paz, M. Oquab. "Revisiting Classifier Two-Sample
   Tests". ICLR 2017.
.. [Esteban2017] C. Esteban, S. L. Hyland, G. Ratsch. "Real-valued (Medical)
   Time Series Generation with Recurrent Conditional GANs". 2017 (TSTR).

"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from automl.tasks.generation.table import as_strings, generation_columns

if TYPE_CHECKING:  # the scoring models are imported when a score is computed
    from sklearn.ensemble import HistGradientBoostingClassifier

__all__ = [
    "C2ST_MAX_ROWS",
    "GENERATION_HOLDOUT",
    "MIN_CATEGORY_COUNT",
    "MIN_EVALUATION_ROWS",
    "c2st_auc",
    "evaluate_generator",
    "tstr_measure",
    "tstr_score",
]

GENERATION_HOLDOUT = 0.3
"""Share of the rows held out to score samples against (a trial's split, too)."""

C2ST_MAX_ROWS = 5_000
"""Most rows (real and synthetic together, half each) the C2ST classifier sees."""

MIN_CATEGORY_COUNT = 5
"""In the scoring classifiers, categories seen fewer times than this (over real
and synthetic rows together) share one "rare" code: an ID-like column, whose
held-out values never occur in training, must not give the sample away."""

MIN_EVALUATION_ROWS = 10
"""Fewest rows :func:`evaluate_generator` accepts."""

_MAX_CODES = 250  # HistGradientBoosting needs categorical codes below max_bins (255)
_CLASSIFICATION = ("classification", "binary", "multiclass")


# -- encoding for the scoring classifiers -----------------------------------


def _encode(frames: Sequence[pd.DataFrame], numeric: Sequence[str],
            categorical: Sequence[str]) -> tuple[list[np.ndarray], list[int]]:
    """Numeric matrices (categorical codes last) sharing one encoding, and the code positions."""
    # a numeric column missing everywhere tells nothing apart (and breaks HGB's binning)
    numeric = [c for c in numeric if any(f[c].notna().any() for f in frames)]
    categorical = list(categorical)
    blocks = [f[numeric].to_numpy(dtype=np.float64) if numeric
              else np.zeros((len(f), 0)) for f in frames]
    code_blocks = [np.full((len(f), len(categorical)), np.nan) for f in frames]
    for j, name in enumerate(categorical):
        parts = [as_strings(f[name]) for f in frames]
        union = pd.concat(parts, ignore_index=True)
        counts = union.value_counts(dropna=True)
        kept = sorted((v for v, c in counts.items() if c >= MIN_CATEGORY_COUNT),
                      key=lambda v: (-int(counts[v]), v))[:_MAX_CODES]
        rare_code = len(kept)
        index = pd.Index(kept, dtype=object)
        for k, part in enumerate(parts):
            present = part.notna().to_numpy()
            codes = index.get_indexer(part.to_numpy(dtype=object))
            codes = np.where(codes < 0, rare_code, codes).astype(np.float64)
            codes[~present] = np.nan
            code_blocks[k][:, j] = codes
    matrices = [np.hstack([b, c]) for b, c in zip(blocks, code_blocks, strict=True)]
    return matrices, list(range(len(numeric), len(numeric) + len(categorical)))


def _hgb_classifier(categorical: list[int], seed: int) -> HistGradientBoostingClassifier:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False,
        categorical_features=categorical or None, random_state=seed,
    )


def _cap_rows(frame: pd.DataFrame, limit: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    rows = np.sort(rng.choice(len(frame), size=limit, replace=False))
    return frame.iloc[rows].reset_index(drop=True)


def c2st_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    numeric_columns: Sequence[str],
    categorical_columns: Sequence[str],
    seed: int = 0,
    n_splits: int = 3,
    *,
    max_rows: int = C2ST_MAX_ROWS,
    n_threads: int = 1,
) -> float:
    """Classifier two-sample test: can a classifier tell real rows from synthetic ones.

    The rows of both tables (each capped at ``max_rows // 2``, a seeded
    subsample) are labelled real (0) or synthetic (1); a
    ``HistGradientBoostingClassifier`` with native categorical support is
    cross-validated on the union (stratified, shuffled, seeded folds) and the
    ROC AUC of its out-of-fold probabilities is returned. Categories seen
    fewer than :data:`MIN_CATEGORY_COUNT` times over both tables share one
    code, so values that are unique by nature (IDs) do not give the sample
    away.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables with (at least) the given columns.
    numeric_columns, categorical_columns : sequence of str
        Columns compared.
    seed : int, default=0
        Seed of the subsample, the folds and the classifier.
    n_splits : int, default=3
        Cross-validation folds.
    max_rows : int, default=C2ST_MAX_ROWS
        Most rows used in all.
    n_threads : int, default=1
        OpenMP threads of the classifier.

    Returns
    -------
    float
        The raw ROC AUC: 0.5 means indistinguishable (the ideal), 1.0 means
        every synthetic row is recognised. Values below 0.5 are chance
        fluctuations: read them as 0.5. With few rows (under a few hundred
        per side) expect noise of several hundredths.

    Raises
    ------
    ValueError
        When either table has fewer than ``n_splits`` rows, or no column is
        named.

    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    numeric, categorical = list(numeric_columns), list(categorical_columns)
    if not numeric and not categorical:
        raise ValueError("c2st_auc needs at least one column to compare")
    rng = np.random.default_rng(seed)
    half = max(int(max_rows) // 2, n_splits)
    real = _cap_rows(real, half, rng)
    synthetic = _cap_rows(synthetic, half, rng)
    if min(len(real), len(synthetic)) < n_splits:
        raise ValueError(f"c2st_auc needs at least {n_splits} rows in each table, got "
                         f"{len(real)} real and {len(synthetic)} synthetic")
    (Xr, Xs), cat_positions = _encode([real, synthetic], numeric, categorical)
    X = np.vstack([Xr, Xs])
    y = np.r_[np.zeros(len(Xr)), np.ones(len(Xs))].astype(int)
    oof = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    model = _hgb_classifier(cat_positions, seed)
    with threadpool_limits(limits=max(int(n_threads), 1)):
        for train, test in folds.split(X, y):
            fitted = clone(model).fit(X[train], y[train])
            oof[test] = fitted.predict_proba(X[test])[:, 1]
    return float(roc_auc_score(y, oof))


def tstr_score(
    synthetic: pd.DataFrame,
    real: pd.DataFrame,
    target: str,
    task: str,
    seed: int = 0,
    *,
    numeric_columns: Sequence[str] | None = None,
    categorical_columns: Sequence[str] | None = None,
    n_threads: int = 1,
) -> float:
    """Train on synthetic rows, test on real ones.

    A ``HistGradientBoostingClassifier`` (or ``Regressor``) with native
    categorical support is fitted on the synthetic rows to predict ``target``
    from the other columns and scored on the real rows. Rows whose target is
    missing are dropped from both tables.

    Parameters
    ----------
    synthetic : pandas.DataFrame
        Training rows (from a generator).
    real : pandas.DataFrame
        Test rows (held out from the generator's training).
    target : str
        Column to predict.
    task : {"classification", "binary", "multiclass", "regression"}
        How to treat the target. For classification the target's values are
        compared as strings.
    seed : int, default=0
        Seed of the model.
    numeric_columns, categorical_columns : sequence of str, optional
        Feature kinds; None infers them from the dtypes of ``real``.
    n_threads : int, default=1
        OpenMP threads of the model.

    Returns
    -------
    float
        Classification: ROC AUC when the real rows hold two classes (the
        second in sorted order is positive), else accuracy. Regression:
        R^2 (can be negative). A classifier trained on a single synthetic
        class predicts that class (AUC 0.5).

    Raises
    ------
    ValueError
        For an unknown task, a missing target column, or no real rows with a
        target.

    """
    if task not in (*_CLASSIFICATION, "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    for name, frame in (("synthetic", synthetic), ("real", real)):
        if target not in frame.columns:
            raise ValueError(f"target {target!r} is not a column of the {name} table")
    if numeric_columns is None and categorical_columns is None:
        _, numeric_columns, categorical_columns = generation_columns(real)
    numeric = [c for c in numeric_columns or () if c != target]
    categorical = [c for c in categorical_columns or () if c != target]
    synthetic = synthetic[synthetic[target].notna()].reset_index(drop=True)
    real = real[real[target].notna()].reset_index(drop=True)
    if len(real) == 0:
        raise ValueError(f"no real row has a value in the target {target!r}")
    if len(synthetic) == 0:
        return 0.5 if task != "regression" else float("-inf")
    with threadpool_limits(limits=max(int(n_threads), 1)):
        return _tstr(synthetic, real, target, task, seed, numeric, categorical)


def tstr_measure(task: str, real_target: pd.Series) -> str:
    """The measure :func:`tstr_score` reports for ``task`` on these real target values.

    ``"r2"`` for regression; for classification ``"roc_auc"`` when the real
    values hold two classes, else ``"accuracy"``.
    """
    if task == "regression":
        return "r2"
    return "roc_auc" if as_strings(real_target).dropna().nunique() == 2 else "accuracy"


def _tstr(synthetic: pd.DataFrame, real: pd.DataFrame, target: str, task: str, seed: int,
          numeric: list[str], categorical: list[str]) -> float:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    (Xs, Xr), cat_positions = _encode([synthetic, real], numeric, categorical)
    if task == "regression":
        ys = pd.to_numeric(synthetic[target], errors="coerce").to_numpy(dtype=np.float64)
        yr = pd.to_numeric(real[target], errors="coerce").to_numpy(dtype=np.float64)
        model = HistGradientBoostingRegressor(
            max_iter=100, max_leaf_nodes=15, early_stopping=False,
            categorical_features=cat_positions or None, random_state=seed)
        model.fit(Xs, ys)
        return float(r2_score(yr, model.predict(Xr)))
    ys = as_strings(synthetic[target]).to_numpy(dtype=object).astype(str)
    yr = as_strings(real[target]).to_numpy(dtype=object).astype(str)
    classes = np.unique(yr)
    trained = np.unique(ys)
    if len(trained) == 1:
        proba = np.ones((len(yr), 1))
    else:
        model = _hgb_classifier(cat_positions, seed).fit(Xs, ys)
        trained, proba = model.classes_, model.predict_proba(Xr)
    if tstr_measure(task, real[target]) == "roc_auc":  # two real classes
        where = np.flatnonzero(trained == classes[1])
        score = proba[:, where[0]] if where.size else np.zeros(len(yr))
        return float(roc_auc_score(yr == classes[1], score))
    return float(accuracy_score(yr, trained[np.argmax(proba, axis=1)]))


# -- one trial --------------------------------------------------------------


def _estimator(build: Any) -> Any:
    if hasattr(build, "fit") and hasattr(build, "get_params"):
        return clone(build)
    if callable(build):
        return build()
    raise TypeError("build must be an unfitted generator or a callable returning one")


def evaluate_generator(
    build: Callable[[], Any] | Any,
    X: pd.DataFrame,
    seed: int = 0,
    holdout: float = GENERATION_HOLDOUT,
    *,
    numeric_columns: Sequence[str] | None = None,
    categorical_columns: Sequence[str] | None = None,
    target: str | None = None,
    task: str | None = None,
    max_rows: int = C2ST_MAX_ROWS,
    time_limit: float | None = None,
    n_threads: int = 1,
) -> tuple[float, dict[str, Any]]:
    """Fit a generator on part of a table and score its sample against the rest.

    A pure function of its inputs: the seeded split puts ``holdout`` of the
    rows aside, the generator is fitted on the others, ``sample(n_holdout,
    random_state=seed)`` is drawn, and :func:`c2st_auc` compares the sample
    with the held-out rows.

    Parameters
    ----------
    build : callable or estimator
        ``build() -> generator`` (e.g. ``lambda: spec.build(config, ctx)``)
        or an unfitted generator (cloned).
    X : pandas.DataFrame
        The canonical table.
    seed : int, default=0
        Seed of the split, the sample and the scoring.
    holdout : float, default=0.3
        Share of rows held out, in (0, 1) (:data:`GENERATION_HOLDOUT`).
    numeric_columns, categorical_columns : sequence of str, optional
        Column kinds; None infers them from the dtypes.
    target : str, optional
        A column to also report :func:`tstr_score` for, in ``details``.
    task : str, optional
        Task of ``target`` (``"classification"`` or ``"regression"``);
        None: regression for a numeric target with more than 20 values,
        else classification.
    max_rows : int, default=C2ST_MAX_ROWS
        Most rows the C2ST classifier sees.
    time_limit : float, optional
        Seconds for the whole evaluation; a generator with a ``time_limit``
        parameter gets 80% of it for training (stopping between batches).
    n_threads : int, default=1
        OpenMP threads of the scoring classifiers.

    Returns
    -------
    score : float
        C2ST ROC AUC of held-out real rows against the sample (lower is
        better; 0.5 is ideal).
    details : dict
        ``c2st_auc``, ``tstr`` (when ``target`` is given), ``n_train``,
        ``n_holdout``, ``fit_seconds``, ``sample_seconds``, ``score_seconds``.

    Raises
    ------
    ValueError
        When ``holdout`` is outside (0, 1) or the table has fewer than
        :data:`MIN_EVALUATION_ROWS` rows.

    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must lie in (0, 1), got {holdout!r}")
    frame, numeric, categorical = generation_columns(X, numeric_columns, categorical_columns)
    train, held = _holdout_rows(frame, holdout, seed)
    sample, timings = _fit_and_sample(_estimator(build), train, len(held), seed, time_limit)
    scoring = time.monotonic()
    score = c2st_auc(held, sample, numeric, categorical, seed, max_rows=max_rows,
                     n_threads=n_threads)
    details: dict[str, Any] = {"c2st_auc": score}
    if target is not None:
        task = _target_task(frame, target, numeric) if task is None else task
        details["tstr"] = tstr_score(sample, held, target, task, seed, numeric_columns=numeric,
                                     categorical_columns=categorical, n_threads=n_threads)
    details.update(n_train=len(train), n_holdout=len(held), **timings,
                   score_seconds=time.monotonic() - scoring)
    return score, details


def _holdout_rows(frame: pd.DataFrame, holdout: float,
                  seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The seeded training rows and held-out rows of ``frame``, at least 3 of each."""
    n = len(frame)
    if n < MIN_EVALUATION_ROWS:
        raise ValueError(f"evaluate_generator needs at least {MIN_EVALUATION_ROWS} rows, "
                         f"got {n}")
    n_holdout = min(max(int(round(holdout * n)), 3), n - 3)
    order = np.random.default_rng(seed).permutation(n)
    held = frame.iloc[np.sort(order[:n_holdout])].reset_index(drop=True)
    train = frame.iloc[np.sort(order[n_holdout:])].reset_index(drop=True)
    return train, held


def _fit_and_sample(generator: Any, train: pd.DataFrame, n: int, seed: int,
                    time_limit: float | None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit on ``train`` (80% of ``time_limit``, if it takes one) and draw ``n`` rows.

    Returns the sample and the seconds each step took (``fit_seconds``,
    ``sample_seconds``).
    """
    if time_limit is not None and "time_limit" in generator.get_params():
        generator.set_params(time_limit=0.8 * float(time_limit))
    started = time.monotonic()
    generator.fit(train)
    fitted = time.monotonic()
    sample = generator.sample(n, random_state=seed)
    sampled = time.monotonic()
    if list(sample.columns) != list(train.columns):
        raise ValueError("the generator's sample does not have the training columns "
                         f"{list(train.columns)}: got {list(sample.columns)}")
    return sample, {"fit_seconds": fitted - started, "sample_seconds": sampled - fitted}


def _target_task(frame: pd.DataFrame, target: str, numeric: Sequence[str]) -> str:
    """Regression for a numeric target with more than 20 values, else classification."""
    many = target in numeric and frame[target].nunique() > 20
    return "regression" if many else "classification"
