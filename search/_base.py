"""The :class:`Parameter` base class of the search-space parameters.

Private: import :class:`Parameter` from :mod:`search.parameters`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from search._values import _check_name, _normalize_when, _when_repr


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Parameter:
    """Recreate a parameter when unpickling (runs the constructor checks again)."""
    return cls(**kwargs)


class Parameter:
    """Base class of the search-space parameters (immutable).

    Subclasses are :class:`Float`, :class:`Int` and :class:`Categorical`. Use
    ``isinstance(p, Parameter)`` to recognise any of them.

    Attributes
    ----------
    name : str
        Name of the parameter; the key of its value in a configuration.
    when : dict of str to tuple
        Conditions: parent name -> allowed values. The parameter is active
        only while every parent takes one of its allowed values.

    """

    __slots__ = ("_when", "name")
    _kind = "Parameter"

    name: str
    _when: tuple[tuple[str, tuple[Any, ...]], ...]

    def _init_common(self, name: str, when: Mapping[str, Any] | None) -> None:
        object.__setattr__(self, "name", _check_name(name, self._kind))
        object.__setattr__(self, "_when", _normalize_when(when, self._kind, name))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{self._kind} is immutable; use .replace({key}=...) for a copy")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"{self._kind} is immutable")

    @property
    def when(self) -> dict[str, tuple[Any, ...]]:
        """Conditions of this parameter: parent name -> tuple of allowed values."""
        return {parent: allowed for parent, allowed in self._when}

    @property
    def parents(self) -> tuple[str, ...]:
        """Names of the parameters this one is conditioned on."""
        return tuple(parent for parent, _ in self._when)

    def _kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _identity(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def replace(self, **changes: Any) -> Parameter:
        """Return a copy with some constructor arguments changed.

        Parameters
        ----------
        **changes
            Constructor arguments to change, e.g. ``name="svm:C"``.

        Returns
        -------
        Parameter
            A new parameter of the same class.

        """
        kwargs = self._kwargs()
        unknown = set(changes) - set(kwargs)
        if unknown:
            raise ValueError(
                f"{self._kind}.replace got unknown arguments {sorted(unknown)}; "
                f"known: {sorted(kwargs)}"
            )
        kwargs.update(changes)
        return type(self)(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible description (see :meth:`Space.from_dict`).

        Returns
        -------
        dict
            ``{"type": ..., "name": ..., ...}``; ``when`` values are lists.

        """
        out: dict[str, Any] = {"type": self._kind.lower()}
        for key, value in self._kwargs().items():
            if key == "when":
                if value:
                    out["when"] = {parent: list(allowed) for parent, allowed in value.items()}
            elif key == "choices":
                out[key] = list(value)
            else:
                out[key] = value
        return out

    # subclasses implement these -------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value at random (log-uniformly for ``log=True``)."""
        raise NotImplementedError

    def encode(self, value: Any) -> float:
        """Map a valid value to its code in ``[0, 1]``."""
        raise NotImplementedError

    def decode(self, u: float) -> Any:
        """Map a code in ``[0, 1]`` (clipped) back to a value."""
        raise NotImplementedError

    def grid(self, resolution: int = 5) -> list[Any]:
        """Return the values this parameter takes in a grid."""
        raise NotImplementedError

    def validate(self, value: Any) -> Any:
        """Check a value and return it normalised, else raise ``ValueError``."""
        raise NotImplementedError

    # dunder ---------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._identity() == other._identity()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._identity()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._kwargs()))

    def __repr__(self) -> str:
        args = self._repr_args()
        if self._when:
            args.append(f"when={_when_repr(self._when)}")
        return f"{type(self).__name__}({', '.join(args)})"

    def _repr_args(self) -> list[str]:
        raise NotImplementedError
