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

__all__ = ["AutoML", "Context", "Fidelity", "ModelSpec", "hookimpl", "__version__"]

if TYPE_CHECKING:
    from automl.estimator import AutoML


def __getattr__(name: str) -> Any:
    if name == "AutoML":
        from automl.estimator import AutoML

        return AutoML
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
