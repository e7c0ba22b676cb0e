"""Which configurations build the same model (used by the search loop).

Parameters a model rounds, such as a forest's share of a few features, let a
strategy propose a configuration that differs from an earlier one yet builds
the very same estimator. The search loop then reuses the earlier result
instead of fitting the model again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from automl.specs import Context, ModelSpec

__all__ = ["model_key", "model_keys"]


def model_key(spec: ModelSpec, params: Mapping[str, Any], ctx: Context) -> Hashable | None:
    """Return a key that is equal for configurations building the same estimator.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    params : mapping
        The model's own parameters.
    ctx : Context
        What the estimator is built for.

    Returns
    -------
    hashable or None
        The estimator's parameters as built (scikit-learn's
        ``get_params(deep=True)``, nested estimators through their own
        parameters), or ``None`` when it cannot be built or has no
        ``get_params``: such configurations are never taken for another.
    """
    try:
        values = spec.build(dict(params), ctx).get_params(deep=True)
    except Exception:  # a spec that cannot say: never a twin
        return None
    return tuple(sorted((name, repr(value)) for name, value in values.items()
                        if not hasattr(value, "get_params")))


def model_keys(specs: Mapping[str, ModelSpec],
               ctx: Context) -> Callable[[str, Mapping[str, Any]], Hashable | None]:
    """Return ``key(model, params)``: :func:`model_key` for the named spec (None if unknown).

    Parameters
    ----------
    specs : mapping of str to ModelSpec
        The models searched.
    ctx : Context
        What their estimators are built for.

    Returns
    -------
    callable
        The key function the search loop uses.
    """
    def key(model: str, params: Mapping[str, Any]) -> Hashable | None:
        spec = specs.get(model)
        return None if spec is None else model_key(spec, params, ctx)

    return key
