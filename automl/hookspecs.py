"""Every hook a plugin can implement. Hook names start with ``automl_``.

A plugin is a module (or object) with functions decorated by
``automl.hookimpl``; it is found through the ``automl`` entry-point group, or
registered in code with ``automl.registry.Registry.register_plugin``. Each hook
receives a ``register`` callback; the host validates what it is given and
reports duplicates, so a plugin only declares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("automl")


@hookspec
def automl_register_models(register: Callable[[Any], None]) -> None:
    """Register model families.

    Call ``register(ModelSpec(...))`` once per model. Names must be unique
    across all loaded plugins.
    """


@hookspec
def automl_register_strategies(register: Callable[[str, Any], None]) -> None:
    """Register search strategies.

    Call ``register(name, factory)`` where ``factory(space, seed=...)``
    returns a ``search.Strategy``. The name is what users pass as
    ``AutoML(strategy=name)``.
    """


@hookspec
def automl_register_metrics(register: Callable[[Any], None]) -> None:
    """Register evaluation metrics.

    Call ``register(Metric(...))`` (see ``automl.metrics.Metric``). The name
    is what users pass as ``AutoML(metric=name)``.
    """
