"""Conformance kit for model specs: what every ``ModelSpec`` must pass.

Plugin authors run it in their own test suite, as our built-in plugins do::

    from automl.testing import check_model_spec

    def test_my_spec():
        check_model_spec(my_plugin.MY_SPEC)

:func:`check_model_spec` fits the spec's estimators on small generated tables
(numeric columns with NaN, an all-NaN and a constant column, string
categorical columns with NaN, an all-missing one and an ID-like one) and
predicts on a copy holding categories unseen at fit time, for every task the
spec declares. Specs of images, sequences or texts are checked the same way on
data from :func:`make_modality_data` (predictions on fresh rows; for texts,
rows holding words never seen in fit). :func:`make_tabular_data` builds such a
table with its matching :class:`~automl.specs.Context` for authors' own tests,
and :func:`with_unseen_categories` adds the unseen categories.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from automl._modality_data import NON_TABULAR, make_modality_data
from automl._tabular_data import TASKS, UNSEEN_CATEGORY, make_tabular_data, with_unseen_categories
from automl.specs import Context, ModelSpec

__all__ = [
    "TASKS",
    "UNSEEN_CATEGORY",
    "check_model_spec",
    "make_modality_data",
    "make_tabular_data",
    "with_unseen_categories",
]

_FAMILY_TASKS = {"classification": ("binary", "multiclass"), "regression": ("regression",)}
_THREAD_PARAMS = ("n_jobs", "nthread", "n_threads", "num_threads", "thread_count")


def _fail(spec_name: str, where: str, message: str) -> AssertionError:
    return AssertionError(f"model spec {spec_name!r} [{where}]: {message}")


def _params(estimator: Any) -> dict[str, Any]:
    try:
        return dict(estimator.get_params(deep=True))
    except Exception:  # noqa: BLE001 - reported by the clone check
        return {}


def _fidelity_value(low: float, high: float) -> float | int:
    if float(low).is_integer() and float(high).is_integer():
        return int(low)
    return float(low)


def _param_values(params: Mapping[str, Any], name: str) -> list[Any]:
    return [v for k, v in params.items() if k == name or k.endswith("__" + name)]


def _check_threads(spec_name: str, where: str, estimator: Any, ctx: Context) -> None:
    params = _params(estimator)
    for key, value in params.items():
        short = key.rsplit("__", 1)[-1]
        if short not in _THREAD_PARAMS or value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | np.integer) \
                or not 1 <= value <= ctx.n_threads:
            raise _fail(
                spec_name, where,
                f"estimator parameter {key}={value!r} may start more threads than "
                f"ctx.n_threads={ctx.n_threads}; set it from ctx.n_threads",
            )


def _build(spec: Any, config: Mapping[str, Any], ctx: Context, where: str,
           methods: tuple[str, ...] = ("fit", "predict", "get_params")) -> Any:
    given = dict(config)
    try:
        estimator = spec.build(given, ctx)
    except Exception as exc:
        raise _fail(spec.name, where, f"build raised {type(exc).__name__}: {exc}") from exc
    if given != dict(config):
        raise _fail(spec.name, where, f"build modified the config it was given: {given!r}")
    for method in methods:
        if not callable(getattr(estimator, method, None)):
            raise _fail(
                spec.name, where,
                f"build returned {type(estimator).__name__}, which has no {method}(); "
                "return a scikit-learn compatible estimator",
            )
    return estimator


def _check_clone(spec_name: str, where: str, estimator: Any) -> Any:
    from sklearn.base import clone

    try:
        return clone(estimator)
    except Exception as exc:
        raise _fail(
            spec_name, where,
            f"sklearn.base.clone failed ({type(exc).__name__}: {exc}); __init__ must only "
            "store its keyword arguments and get_params must return them",
        ) from exc


def _fit(spec_name: str, where: str, estimator: Any, X: Any, y: np.ndarray) -> Any:
    try:
        fitted = estimator.fit(X, y)
    except Exception as exc:
        raise _fail(spec_name, where, f"fit raised {type(exc).__name__}: {exc}") from exc
    if fitted is not estimator:
        raise _fail(spec_name, where, "fit must return self")
    return estimator


def _call(spec_name: str, where: str, estimator: Any, method: str, X: Any) -> Any:
    try:
        return getattr(estimator, method)(X)
    except Exception as exc:
        raise _fail(
            spec_name, where,
            f"{method} raised {type(exc).__name__}: {exc} (tables hold categories "
            "unseen in fit, NaN, an all-NaN and a constant column; texts hold unseen words)",
        ) from exc


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


def _reloaded(spec: Any, where: str, estimator: Any) -> Any:
    """``estimator`` saved with skops and loaded back under the allow-list of the engine.

    Fails, naming the types, when the file holds a type that loading would
    refuse: one the spec does not declare in ``persisted_types``. Types that
    carry a program (a TorchScript backbone) load only when the user names
    them, by design, so they pass here.
    """
    import skops.io as sio

    from automl.persistence import TRUSTED_ONLY_BY_NAME, refused_types

    try:
        content = sio.dumps(estimator)
    except Exception as exc:
        raise _fail(spec.name, where, f"saving the fitted estimator with skops raised "
                    f"{type(exc).__name__}: {exc}") from exc
    found = sio.get_untrusted_types(data=content)
    refused = refused_types(found, trusted=TRUSTED_ONLY_BY_NAME, allowed=spec.persisted_types)
    if refused:
        raise _fail(spec.name, where, f"a saved model holding this estimator would not load: "
                    f"it stores {refused}; declare them in ModelSpec.persisted_types")
    try:
        return sio.loads(content, trusted=found)
    except Exception as exc:
        raise _fail(spec.name, where, f"loading the saved estimator raised "
                    f"{type(exc).__name__}: {exc}") from exc


def _check_reload(spec: Any, where: str, estimator: Any, predict: Any,
                  expected: np.ndarray) -> None:
    """Save and reload ``estimator``; ``predict(reloaded)`` must equal ``expected``."""
    again = predict(_reloaded(spec, where, estimator))
    if not np.allclose(expected, again, rtol=1e-6, atol=1e-9):
        raise _fail(spec.name, where, "the estimator predicts differently after a skops "
                    "save and load; keep every fitted value in its state")


def _configs(spec: Any, n_configs: int, seed: int) -> list[tuple[str, dict[str, Any], bool]]:
    """Defaults (validated) then sampled configs: (label, config, sampled)."""
    out: list[tuple[str, dict[str, Any], bool]] = []
    for i, default in enumerate(spec.defaults):
        try:
            config = spec.space.validate(dict(default))
        except Exception as exc:
            raise _fail(
                spec.name, f"default {i}",
                f"default {dict(default)!r} is not a valid config of the spec's space: {exc}",
            ) from exc
        out.append((f"default {i} {config!r}", config, False))
    rng = np.random.default_rng(seed)
    for i in range(n_configs):
        config = spec.space.sample(rng)
        try:
            config = spec.space.validate(config)
        except Exception as exc:  # a Space bug rather than the spec's, but say so
            raise _fail(
                spec.name, f"sample {i}", f"sampled config {config!r} invalid: {exc}"
            ) from exc
        out.append((f"sample {i} {config!r}", config, True))
    return out


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


def _same(a: Any, b: Any) -> bool:
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except (TypeError, ValueError):
        return False


def _space_names(space: Any) -> tuple[str, ...]:
    names = getattr(space, "names", None)
    if names is not None:
        return tuple(names)
    return tuple(p.name for p in space)


def check_model_spec(spec: ModelSpec, *, n_configs: int = 3, seed: int = 0) -> None:
    """Check that a model spec honours the plugin contract.

    For each modality the spec declares among tabular, image, sequence and
    text, and each concrete task it serves (binary and multiclass for
    ``"classification"``, regression for ``"regression"``), on a table from
    :func:`make_tabular_data` with predictions made on
    :func:`with_unseen_categories` of it (other modalities: data from
    :func:`make_modality_data`, predictions on fresh rows), checks that:

    * the description is a non-empty string and one of those modalities is
      declared;
    * every default validates against the space;
    * ``build`` works for every default and ``n_configs`` sampled configs
      (sampled ones with the fidelity, if any, at its low value), does not
      modify the config, and returns an estimator that
      ``sklearn.base.clone`` can copy and whose thread parameters
      (``n_jobs`` and the like) stay within ``ctx.n_threads``;
    * ``fit`` returns ``self``; ``predict`` returns one finite value per
      row; a classifier exposes ``classes_ == [0 .. k-1]`` and a
      ``predict_proba`` of shape ``(n, k)``, finite, in ``[0, 1]``, rows
      summing to 1;
    * two estimators built from the same config and context (the second
      cloned before fitting) give the same predictions;
    * a declared fidelity names a parameter of the space, or one that the
      built estimator exposes and takes the value given in the config;
    * every fitted estimator saves with skops and loads back under the
      engine's allow-list (the spec's ``persisted_types``), predicting the
      same (recommenders and generators too).

    Recommender specs are fitted on generated ratings and implicit
    interactions and must score pairs with unseen users and items; generator
    specs are fitted on the same awkward table and must sample rows with its
    columns, reproducibly (``automl._family_checks``).

    The checks run with BLAS and OpenMP thread pools capped at one thread
    (the generated context's ``n_threads``), so that they are quick and do
    not depend on the machine.

    Parameters
    ----------
    spec : ModelSpec
        The spec to check.
    n_configs : int, default=3
        Sampled configurations to check besides the defaults.
    seed : int, default=0
        Seed of the data, the context and the sampling.

    Raises
    ------
    AssertionError
        At the first violation, naming the spec, the task and the config.

    """
    from threadpoolctl import threadpool_limits

    from automl._family_checks import check_generator, check_recommender

    family_checks = {"recommendation": check_recommender, "generation": check_generator}
    if set(spec.tasks) & set(family_checks):
        configs = _configs(spec, n_configs, seed)
        with threadpool_limits(limits=1):
            for family in sorted(set(spec.tasks) & set(family_checks)):
                family_checks[family](spec, configs, seed)
        return
    modalities, tasks = _check_declaration(spec)
    configs = _configs(spec, n_configs, seed)
    # The generated context allows one thread; capping BLAS/OpenMP pools keeps
    # the kit fast and its results independent of the machine's core count.
    with threadpool_limits(limits=1):
        for modality in modalities:
            _check_tasks(spec, modality, tasks, configs, seed)


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
