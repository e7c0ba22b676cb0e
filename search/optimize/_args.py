"""Argument checks of :func:`search.optimize` (private)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_DIRECTIONS = ("minimize", "maximize")


def _takes_fidelity(objective: Callable[..., Any]) -> bool:
    """Whether the objective accepts ``(config, fidelity)``; TypeError if not even ``config``."""
    try:
        parameters = list(inspect.signature(objective).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: assume config only
        return False
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True
    positional = [
        p for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if not positional:
        raise TypeError("objective must take the configuration as its first argument")
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    if len(required) > 2:
        raise TypeError(
            f"objective takes {len(required)} required arguments; it must take (config) "
            "or (config, fidelity)"
        )
    return len(positional) >= 2


def _check_count(n_trials: Any) -> int | None:
    if n_trials is None:
        return None
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be an integer >= 1 or None, got {n_trials!r}")
    return int(n_trials)


def _check_timeout(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float, np.number)):
        raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
    if not float(timeout) > 0:
        raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
    return float(timeout)


def _check_directions(direction: Any) -> tuple[str, ...]:
    items = [direction] if isinstance(direction, str) else direction
    if not isinstance(items, Sequence) or not items:
        raise ValueError(
            f"direction must be 'minimize', 'maximize' or a list of them, got {direction!r}"
        )
    out = []
    for item in items:
        if item not in _DIRECTIONS:
            raise ValueError(
                f"direction must be 'minimize' or 'maximize', got {item!r}"
            )
        out.append(item)
    return tuple(out)


def _check_catch(catch: Any) -> tuple[type[BaseException], ...]:
    items = catch if isinstance(catch, tuple) else (catch,)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise ValueError(f"catch must hold exception classes, got {item!r}")
    return items

