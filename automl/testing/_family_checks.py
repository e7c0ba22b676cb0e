"""Conformance checks of recommender and generator specs; run by ``check_model_spec``.

Part of :mod:`automl.testing`: a spec whose tasks include ``"recommendation"``
or ``"generation"`` is checked here on generated interactions or tables.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from automl.testing._interaction_data import make_interaction_context, make_interaction_data
from automl.testing._steps import _build, _call, _check_clone, _check_reload, _fail, _fit, _reloaded
from automl.testing._tabular_data import make_tabular_data


def check_recommender(spec: Any, configs: list[tuple[str, dict[str, Any], bool]],
                      seed: int) -> None:
    """Fit on generated ratings and implicit interactions; predict known and unknown pairs.

    Checks: ``fit`` returns self; ``predict`` gives one finite score per pair,
    also for users and items unseen in fit (code ``-1``); a second build,
    cloned, gives the same scores.
    """
    for implicit in (False, True):
        X, y, kwargs = make_interaction_data(n_users=30, n_items=20, density=0.3,
                                             implicit=implicit, side_features=True, seed=seed)
        ctx = make_interaction_context(kwargs)
        ctx = replace(ctx, task="ranking" if implicit else "rating", n_users=30, n_items=20,
                      implicit=implicit)
        target = None if implicit else y
        pairs = X.head(12).copy()
        pairs.loc[pairs.index[:2], "user"] = -1
        pairs.loc[pairs.index[2:4], "item"] = -1
        for i, (label, config, _) in enumerate(configs):
            where = f"{ctx.task}, {label}"
            estimator = _check_clone(spec.name, where, _build(spec, config, ctx, where))
            _fit(spec.name, where, estimator, X, target)
            first = _scores(spec.name, where, estimator, pairs)
            _check_reload(spec, where, estimator,
                          lambda m, w=where, p=pairs: _scores(spec.name, w, m, p), first)
            if i == 0:
                twin = _check_clone(spec.name, where, _build(spec, config, ctx, where))
                _fit(spec.name, where + " (second fit)", twin, X, target)
                if not np.allclose(first, _scores(spec.name, where, twin, pairs)):
                    raise _fail(spec.name, where, "two fits with the same config and "
                                "ctx.seed gave different scores; seed every random source")


def _scores(name: str, where: str, estimator: Any, pairs: pd.DataFrame) -> np.ndarray:
    scores = np.asarray(_call(name, where, estimator, "predict", pairs), dtype=float)
    if scores.shape != (len(pairs),) or not np.all(np.isfinite(scores)):
        raise _fail(name, where, "predict must give one finite score per pair, also for "
                                 "users and items unseen in fit (code -1)")
    return scores


_SAMPLER = ("fit", "sample", "get_params")


def check_generator(spec: Any, configs: list[tuple[str, dict[str, Any], bool]],
                    seed: int) -> None:
    """Fit on the kit's awkward table and sample from it.

    Checks: ``fit(X)`` returns self; ``sample(n, random_state)`` returns ``n``
    rows with the training columns in order, numeric columns numeric and
    categorical ones strings or missing; the same ``random_state`` gives the
    same rows, and a second build, cloned, samples the same rows.
    """
    X, _, ctx = make_tabular_data("regression", n_rows=120, seed=seed)
    ctx = replace(ctx, task="generation")
    for i, (label, config, sampled) in enumerate(configs):
        where = f"generation, {label}"
        if sampled and spec.fidelity is not None:
            config = {**config, spec.fidelity.param: spec.fidelity.low}
        estimator = _check_clone(spec.name, where, _build(spec, config, ctx, where, _SAMPLER))
        if estimator.fit(X) is not estimator:
            raise _fail(spec.name, where, "fit must return self")
        rows = _sample(spec.name, where, estimator, X, ctx)
        if not rows.equals(_sample(spec.name, where, estimator, X, ctx)):
            raise _fail(spec.name, where, "sample with the same random_state gave other rows")
        if not rows.equals(_sample(spec.name, where, _reloaded(spec, where, estimator), X, ctx)):
            raise _fail(spec.name, where, "the generator samples other rows after a skops "
                                          "save and load; keep every fitted value in its state")
        if i == 0:
            twin = _check_clone(spec.name, where,
                                _build(spec, config, ctx, where, _SAMPLER)).fit(X)
            if not rows.equals(_sample(spec.name, where, twin, X, ctx)):
                raise _fail(spec.name, where, "two fits with the same config and ctx.seed "
                                              "sampled different rows")


def _sample(name: str, where: str, estimator: Any, X: pd.DataFrame, ctx: Any) -> pd.DataFrame:
    try:
        rows = estimator.sample(25, random_state=3)
    except Exception as exc:
        raise _fail(name, where, f"sample raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(rows, pd.DataFrame) or list(rows.columns) != list(X.columns) \
            or len(rows) != 25:
        raise _fail(name, where, "sample(n) must return a DataFrame of n rows with the "
                                 "training columns in order")
    for column in ctx.numeric_columns:
        if not pd.api.types.is_numeric_dtype(rows[column]):
            raise _fail(name, where, f"numeric column {column!r} came back as "
                                     f"{rows[column].dtype}")
    for column in ctx.categorical_columns:
        if not all(isinstance(v, str) for v in rows[column].dropna()):
            raise _fail(name, where, f"categorical column {column!r} must hold strings "
                                     "or missing values")
    return rows
