"""Value and condition helpers shared by the search-space parameters.

Private to :mod:`search.parameters`; nothing here is public API.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np

_SCALAR_TYPES = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """Turn a numpy scalar into the matching Python scalar; leave others alone."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _value_key(value: Any) -> tuple[Any, ...]:
    """Return a hashable identity for a categorical value.

    ``True`` and ``1`` are different choices; ``1`` and ``1.0`` are the same.
    """
    value = _plain(value)
    if value is None:
        return ("none",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("num", value)
    if isinstance(value, str):
        return ("str", value)
    try:
        hash(value)
    except TypeError:
        return ("unhashable", id(value))
    return ("other", type(value).__name__, value)


def _is_scalar(value: Any) -> bool:
    value = _plain(value)
    if isinstance(value, float) and math.isnan(value):
        return False
    return isinstance(value, _SCALAR_TYPES)


def _check_name(name: Any, kind: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"{kind} name must be a non-empty string, got {name!r}; "
            f'pass the name first, e.g. {kind}("learning_rate", ...)'
        )
    return name


def _check_resolution(resolution: Any) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)):
        raise ValueError(f"grid resolution must be an integer >= 1, got {resolution!r}")
    if resolution < 1:
        raise ValueError(f"grid resolution must be an integer >= 1, got {resolution!r}")
    return int(resolution)


def _normalize_when(
    when: Mapping[str, Any] | None, kind: str, name: str
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """Check a ``when`` mapping and return it as ``((parent, allowed values), ...)``."""
    if when is None:
        return ()
    if not isinstance(when, Mapping):
        raise ValueError(
            f"{kind} {name!r}: when must be a dict mapping a parent name to an allowed "
            f"value or a list of allowed values, got {when!r}"
        )
    out = []
    for parent, allowed in when.items():
        if not isinstance(parent, str) or not parent:
            raise ValueError(
                f"{kind} {name!r}: when keys must be parent parameter names, got {parent!r}"
            )
        if parent == name:
            raise ValueError(f"{kind} {name!r}: a parameter cannot depend on itself in when")
        if isinstance(allowed, (list, tuple, set, frozenset)):
            values = list(allowed)
            if isinstance(allowed, (set, frozenset)):
                values.sort(key=repr)
            if not values:
                raise ValueError(
                    f"{kind} {name!r}: when[{parent!r}] is an empty collection; "
                    "give at least one allowed value"
                )
        else:
            values = [allowed]
        unique: list[Any] = []
        seen: set[Hashable] = set()
        for value in values:
            if not _is_scalar(value):
                raise ValueError(
                    f"{kind} {name!r}: when[{parent!r}] holds {value!r}; allowed values "
                    "must be str, int, float, bool or None"
                )
            key = _value_key(value)
            if key not in seen:
                seen.add(key)
                unique.append(_plain(value))
        out.append((parent, tuple(unique)))
    return tuple(out)


def _when_identity(when: tuple[tuple[str, tuple[Any, ...]], ...]) -> frozenset[Any]:
    return frozenset(
        (parent, frozenset(_value_key(v) for v in allowed)) for parent, allowed in when
    )


def _when_repr(when: tuple[tuple[str, tuple[Any, ...]], ...]) -> str:
    parts = []
    for parent, allowed in when:
        shown = allowed[0] if len(allowed) == 1 else list(allowed)
        parts.append(f"{parent!r}: {shown!r}")
    return "{" + ", ".join(parts) + "}"


def _dedupe(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    seen: set[Any] = set()
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def _unit(u: Any) -> float:
    u = float(u)
    if math.isnan(u):
        raise ValueError("cannot decode NaN; unit-cube codes must be numbers in [0, 1]")
    return min(max(u, 0.0), 1.0)
