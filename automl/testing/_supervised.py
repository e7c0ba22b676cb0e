"""Checks of classification and regression specs, on every modality they declare."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from automl.specs import Context
from automl.testing._modality_data import NON_TABULAR, make_modality_data
from automl.testing._steps import (
    _build,
    _call,
    _check_clone,
    _check_reload,
    _check_threads,
    _fail,
    _fidelity_value,
    _fit,
    _param_values,
    _params,
    _same,
    _space_names,
)
from automl.testing._tabular_data import make_tabular_data, with_unseen_categories

_FAMILY_TASKS = {"classification": ("binary", "multiclass"), "regression": ("regression",)}


def _predictions(
    spec_name: str, where: str, estimator: Any, X: Any, ctx: Context
) -> np.ndarray:
    """Check predict (and predict_proba) on ``X``; return what determinism compares."""
    n = len(X)
    pred = np.asarray(_call(spec_name, where, estimator, "predict", X))
    if pred.shape != (n,):
        raise _fail(spec_name, where, f"predict returned shape {pred.shape}, expected ({n},)")
    if not ctx.is_classification:
        if not np.issubdtype(pred.dtype, np.number) or not np.all(np.isfinite(pred)):
            raise _fail(spec_name, where, "predict returned non-numeric or non-finite values")
        return pred.astype(np.float64)

    k = ctx.n_classes or 0
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise _fail(spec_name, where, "a fitted classifier must expose classes_")
    if not np.array_equal(np.asarray(classes), np.arange(k)):
        raise _fail(
            spec_name, where,
            f"classes_ is {np.asarray(classes)!r}, expected the encoded labels 0..{k - 1}",
        )
    if not np.isin(pred, np.arange(k)).all():
        raise _fail(spec_name, where, f"predict returned labels outside 0..{k - 1}")
    if not callable(getattr(estimator, "predict_proba", None)):
        raise _fail(spec_name, where, "a classifier must implement predict_proba")
    proba = np.asarray(_call(spec_name, where, estimator, "predict_proba", X), dtype=np.float64)
    if proba.shape != (n, k):
        raise _fail(
            spec_name, where, f"predict_proba returned shape {proba.shape}, expected ({n}, {k})"
        )
    if not np.all(np.isfinite(proba)):
        raise _fail(spec_name, where, "predict_proba returned NaN or infinite values")
    if proba.min() < -1e-9 or proba.max() > 1 + 1e-9:
        raise _fail(
            spec_name, where,
            f"predict_proba values must lie in [0, 1]; got [{proba.min():.4g}, "
            f"{proba.max():.4g}]",
        )
    sums = proba.sum(axis=1)
    worst = int(np.argmax(np.abs(sums - 1.0)))
    if not math.isclose(sums[worst], 1.0, abs_tol=1e-6):
        raise _fail(
            spec_name, where,
            f"predict_proba rows must sum to 1; row {worst} sums to {sums[worst]:.6g}",
        )
    return proba


def _check_declaration(spec: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    name = getattr(spec, "name", None)
    if not isinstance(name, str) or not name:
        raise AssertionError(f"model spec {spec!r} has no name")
    description = getattr(spec, "description", "")
    if not isinstance(description, str) or not description.strip():
        raise _fail(name, "declaration", "description must be a non-empty line of text")
    modalities = tuple(m for m in ("tabular", *NON_TABULAR) if m in spec.modalities)
    if not modalities:
        raise _fail(
            name, "declaration",
            "check_model_spec checks tabular, image, sequence, text and multimodal specs; "
            f"modalities are {sorted(spec.modalities)}",
        )
    tasks = tuple(t for fam in ("classification", "regression") if fam in spec.tasks
                  for t in _FAMILY_TASKS[fam])
    if not tasks:
        raise _fail(
            name, "declaration",
            f"declares no classification or regression task: {sorted(spec.tasks)}",
        )
    return modalities, tasks


def _check_fidelity(
    spec: Any, config: Mapping[str, Any], ctx: Context, X: Any, y: np.ndarray
) -> None:
    """Check that the fidelity names a space parameter or one build sets."""
    fidelity = spec.fidelity
    param = fidelity.param
    where = f"{ctx.task}, fidelity {param}"
    if param in _space_names(spec.space):
        return
    value = _fidelity_value(fidelity.low, fidelity.high)
    estimator = _build(spec, {**config, param: value}, ctx, where)
    found = _param_values(_params(estimator), param)
    if not found:
        raise _fail(
            spec.name, where,
            f"fidelity parameter {param!r} is neither in the space nor a parameter of the "
            "built estimator",
        )
    if not any(_same(v, value) for v in found):
        raise _fail(
            spec.name, where,
            f"build ignores the fidelity: config {param}={value!r} gave estimator "
            f"parameter(s) {found!r}",
        )
    _fit(spec.name, where, estimator, X, y)


def _task_data(modality: str, task: str, seed: int) -> tuple[Any, np.ndarray, Any, Context]:
    """Training data, labels, predict-time data and context of one modality and task."""
    if modality == "tabular":
        X, y, ctx = make_tabular_data(task, seed=seed)
        return X, y, with_unseen_categories(X, ctx, seed=seed), ctx
    X, y, ctx = make_modality_data(modality, task, seed=seed)
    X_pred, _, _ = make_modality_data(modality, task, n_rows=40, seed=seed + 1)
    if modality == "text":
        X_pred = np.asarray([f"{text} unseenword{i}" for i, text in enumerate(X_pred)],
                            dtype=object)
    return X, y, X_pred, ctx


def _check_tasks(
    spec: Any, modality: str, tasks: tuple[str, ...],
    configs: list[tuple[str, dict[str, Any], bool]], seed: int,
) -> None:
    fidelity = getattr(spec, "fidelity", None)
    fidelity_in_space = fidelity is not None and fidelity.param in _space_names(spec.space)

    for task in tasks:
        X, y, X_pred, ctx = _task_data(modality, task, seed)
        for i, (label, config, sampled) in enumerate(configs):
            where = f"{task}, {label}" if modality == "tabular" else \
                f"{modality} {task}, {label}"
            if sampled and fidelity is not None and not fidelity_in_space:
                value = _fidelity_value(fidelity.low, fidelity.high)
                config = {**config, fidelity.param: value}
                where += f" with {fidelity.param}={value!r}"
            estimator = _build(spec, config, ctx, where)
            _check_threads(spec.name, where, estimator, ctx)
            _check_clone(spec.name, where, estimator)
            _fit(spec.name, where, estimator, X, y)
            first = _predictions(spec.name, where, estimator, X_pred, ctx)
            _check_reload(spec, where, estimator,
                          lambda m, w=where, X=X_pred, c=ctx: _predictions(
                              spec.name, w + " (reloaded)", m, X, c), first)
            if i == 0:  # determinism: a second build, cloned, fitted again
                twin = _check_clone(spec.name, where, _build(spec, config, ctx, where))
                _fit(spec.name, where + " (second fit)", twin, X, y)
                second = _predictions(spec.name, where + " (second fit)", twin, X_pred, ctx)
                if not np.allclose(first, second, rtol=1e-7, atol=1e-9):
                    raise _fail(
                        spec.name, where,
                        "two fits with the same config and ctx.seed gave different "
                        "predictions; seed every random source from ctx.seed",
                    )
        if fidelity is not None:
            _check_fidelity(spec, configs[0][1] if configs else {}, ctx, X, y)
