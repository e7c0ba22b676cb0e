"""The registration hook of the built-in spec modules (private).

Every built-in plugin module defines ``model_specs()`` and exposes it to the
host through one ``automl_register_models`` hook; :func:`register_hook`
writes that hook once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import automl

__all__ = ["register_hook"]


def register_hook(model_specs: Callable[[], Sequence[Any]],
                  family: str) -> Callable[[Any], None]:
    """The ``automl_register_models`` hook of a spec module.

    Parameters
    ----------
    model_specs : callable
        ``model_specs()`` returning the module's ``ModelSpec`` objects.
    family : str
        Words naming the family, for the hook's docstring.

    Returns
    -------
    callable
        ``automl_register_models(register)``, marked as an ``automl`` hook;
        assign it to that name at module level.

    """

    @automl.hookimpl
    def automl_register_models(register: Any) -> None:
        for spec in model_specs():
            register(spec)

    automl_register_models.__doc__ = (
        f"Register the {family}.\n\n"
        "Parameters\n----------\nregister : callable\n"
        "    ``register(ModelSpec)``, supplied by the host.\n"
    )
    return automl_register_models
