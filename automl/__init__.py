"""AutoML engine: ``AutoML().fit(X, y)`` searches models and hyperparameters.

Only light names are imported here; the estimator, the plugins and torch are
loaded on first use so that ``import automl`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from automl.specs import Context, Fidelity, ModelSpec

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("automl")
"""Marker for plugin hook implementations (``@automl.hookimpl``)."""

__all__ = ["AutoML", "AutoMLClassifier", "AutoMLRegressor", "Context", "Fidelity",
           "ModelSpec", "hookimpl", "__version__"]

_ESTIMATORS = ("AutoML", "AutoMLClassifier", "AutoMLRegressor")

if TYPE_CHECKING:
    from automl.estimator import AutoML, AutoMLClassifier, AutoMLRegressor


def __getattr__(name: str) -> Any:
    if name in _ESTIMATORS:
        from automl import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
