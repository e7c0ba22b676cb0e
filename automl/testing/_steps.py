"""The steps every check of ``check_model_spec`` is made of: build, clone, fit, reload.

Each raises an ``AssertionError`` that names the spec, where it failed and
what to fix (:func:`_fail`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from automl.persistence import TRUSTED_ONLY_BY_NAME, refused_types
from automl.specs import Context

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


def _reloaded(spec: Any, where: str, estimator: Any) -> Any:
    """``estimator`` saved with skops and loaded back under the allow-list of the engine.

    Fails, naming the types, when the file holds a type that loading would
    refuse: one the spec does not declare in ``persisted_types``. Types that
    carry a program (a TorchScript backbone) load only when the user names
    them, by design, so they pass here.
    """
    import skops.io as sio

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
