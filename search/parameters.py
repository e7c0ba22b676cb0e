"""Search-space parameters: :class:`Float`, :class:`Int` and :class:`Categorical`.

Each parameter is immutable and knows how to sample a value, validate one,
map it into the unit interval and back, and list its grid values:

* ``Float``: linear (or logarithmic with ``log=True``) between ``low`` and ``high``.
* ``Int``: the range ``[low - 0.5, high + 0.5]`` is mapped linearly (or
  logarithmically) onto ``[0, 1]`` and decoding rounds, so every integer owns
  a bin of equal width (equal log-width with ``log=True``); ``encode`` returns
  the centre of that bin.
* ``Categorical``: choice ``i`` of ``k`` is encoded as ``(i + 0.5) / k`` and
  ``u`` decodes to choice ``floor(u * k)``.

A parameter may be *conditional*: ``when={"model": "svm"}`` makes it active only
while its parent (a categorical of the same :class:`search.Space`) takes one
of the allowed values. The classes are re-exported by :mod:`search.space` and
:mod:`search`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Categorical", "Float", "Int", "Parameter"]

_SCALAR_TYPES = (str, int, float, bool, type(None))


# ---------------------------------------------------------------------------
# value helpers
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------


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


class _Numeric(Parameter):
    """Shared checks of :class:`Float` and :class:`Int`."""

    __slots__ = ("high", "log", "low")

    low: Any
    high: Any
    log: bool

    def _set_bounds(self, low: Any, high: Any, log: Any) -> None:
        if not isinstance(log, (bool, np.bool_)):
            raise ValueError(f"{self._kind} {self.name!r}: log must be True or False, got {log!r}")
        low = self._bound(low, "low")
        high = self._bound(high, "high")
        if low >= high:
            raise ValueError(
                f"{self._kind} {self.name!r}: low ({low!r}) must be smaller than high "
                f"({high!r}); swap them, or use Categorical({self.name!r}, [{low!r}]) "
                "for a fixed value"
            )
        if log and low <= 0:
            raise ValueError(
                f"{self._kind} {self.name!r}: log=True needs low > 0, got low={low!r}; "
                "raise low or use log=False"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "log", bool(log))

    def _bound(self, value: Any, which: str) -> Any:
        raise NotImplementedError

    def _kwargs(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "low": self.low,
            "high": self.high,
            "log": self.log,
            "when": self.when,
        }

    def _identity(self) -> tuple[Any, ...]:
        return (self.name, self.low, self.high, self.log, _when_identity(self._when))

    def _repr_args(self) -> list[str]:
        args = [repr(self.name), repr(self.low), repr(self.high)]
        if self.log:
            args.append("log=True")
        return args

    def _number(self, value: Any) -> float:
        value = _plain(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(
                f"{self._kind} {self.name!r}: expected a number in "
                f"[{self.low!r}, {self.high!r}], got {value!r}"
            )
        if math.isnan(value):
            raise ValueError(
                f"{self._kind} {self.name!r}: got NaN; expected a number in "
                f"[{self.low!r}, {self.high!r}]"
            )
        return value

    def _check_range(self, value: Any, original: Any) -> None:
        if not self.low <= value <= self.high:
            raise ValueError(
                f"{self._kind} {self.name!r}: {original!r} is outside "
                f"[{self.low!r}, {self.high!r}]"
            )


class Float(_Numeric):
    """A real-valued parameter in ``[low, high]``.

    Parameters
    ----------
    name : str
        Name of the parameter.
    low, high : float
        Bounds, both included; ``low < high``.
    log : bool, default False
        Sample and encode on a logarithmic scale (needs ``low > 0``).
    when : dict, optional
        Conditions: parent name -> allowed value, or a list/tuple/set of
        allowed values. All entries must hold for the parameter to be active.

    Examples
    --------
    >>> Float("C", 1e-3, 1e3, log=True, when={"model": "svm"})
    Float('C', 0.001, 1000.0, log=True, when={'model': 'svm'})

    """

    __slots__ = ()
    _kind = "Float"

    def __init__(
        self,
        name: str,
        low: float,
        high: float,
        *,
        log: bool = False,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        self._init_common(name, when)
        self._set_bounds(low, high, log)

    def _bound(self, value: Any, which: str) -> float:
        value = _plain(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"Float {self.name!r}: {which} must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"Float {self.name!r}: {which} must be finite, got {value!r}")
        return value

    def sample(self, rng: np.random.Generator) -> float:
        """Draw a value uniformly (log-uniformly when ``log=True``).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        float
            A value in ``[low, high]``.

        """
        return self.decode(float(rng.random()))

    def encode(self, value: Any) -> float:
        """Map a value to ``[0, 1]`` (linearly, or in log space when ``log=True``).

        Parameters
        ----------
        value : float
            A value in ``[low, high]``.

        Returns
        -------
        float
            Its code in ``[0, 1]``.

        """
        value = self.validate(value)
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            u = (math.log(value) - lo) / (hi - lo)
        else:
            u = (value - self.low) / (self.high - self.low)
        return min(max(u, 0.0), 1.0)

    def decode(self, u: float) -> float:
        """Map a code in ``[0, 1]`` (clipped) to a value in ``[low, high]``.

        Parameters
        ----------
        u : float
            The code.

        Returns
        -------
        float
            The value.

        """
        u = _unit(u)
        if u == 0.0 or u == 1.0:
            return self.low if u == 0.0 else self.high  # exact bounds, even on a log scale
        if self.log:
            lo, hi = math.log(self.low), math.log(self.high)
            value = math.exp(lo + u * (hi - lo))
        else:
            value = self.low + u * (self.high - self.low)
        return min(max(value, self.low), self.high)

    def grid(self, resolution: int = 5) -> list[float]:
        """Return ``resolution`` evenly spaced values, both bounds included.

        Values are log-spaced when ``log=True``; ``resolution=1`` gives the
        midpoint of the (log) range.

        Parameters
        ----------
        resolution : int, default 5
            Number of points.

        Returns
        -------
        list of float
            Increasing values.

        """
        resolution = _check_resolution(resolution)
        if resolution == 1:
            return [self.decode(0.5)]
        if self.log:
            points = np.geomspace(self.low, self.high, resolution)
        else:
            points = np.linspace(self.low, self.high, resolution)
        values = [float(x) for x in points]
        values[0], values[-1] = self.low, self.high
        return _dedupe(values)

    def validate(self, value: Any) -> float:
        """Check that ``value`` is a number in ``[low, high]``; return it as ``float``.

        Parameters
        ----------
        value : float
            The value to check.

        Returns
        -------
        float
            The value as a Python float.

        Raises
        ------
        ValueError
            If the value is not a number or is out of range.

        """
        number = self._number(value)
        self._check_range(number, value)
        return float(number)


class Int(_Numeric):
    """An integer parameter in ``[low, high]`` (both included).

    Parameters
    ----------
    name : str
        Name of the parameter.
    low, high : int
        Bounds, both included; ``low < high``.
    log : bool, default False
        Sample and encode on a logarithmic scale (needs ``low > 0``).
    when : dict, optional
        Conditions: parent name -> allowed value, or a list/tuple/set of
        allowed values. All entries must hold for the parameter to be active.

    Notes
    -----
    The code of an integer is the centre of its bin: ``[low - 0.5, high + 0.5]``
    is mapped onto ``[0, 1]`` (in log space with ``log=True``) and decoding
    rounds, so every integer is equally likely under a uniform code.

    """

    __slots__ = ()
    _kind = "Int"

    def __init__(
        self,
        name: str,
        low: int,
        high: int,
        *,
        log: bool = False,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        self._init_common(name, when)
        self._set_bounds(low, high, log)

    def _bound(self, value: Any, which: str) -> int:
        value = _plain(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
        if not ok:
            raise ValueError(f"Int {self.name!r}: {which} must be an integer, got {value!r}")
        return int(value)

    def _span(self) -> tuple[float, float]:
        lo, hi = self.low - 0.5, self.high + 0.5
        if self.log:
            return math.log(lo), math.log(hi)
        return lo, hi

    def sample(self, rng: np.random.Generator) -> int:
        """Draw an integer uniformly (log-uniformly when ``log=True``).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        int
            A value in ``[low, high]``.

        """
        if self.log:
            return self.decode(float(rng.random()))
        return int(rng.integers(self.low, self.high + 1))

    def encode(self, value: Any) -> float:
        """Map an integer to the centre of its bin in ``[0, 1]``.

        Parameters
        ----------
        value : int
            A value in ``[low, high]``.

        Returns
        -------
        float
            Its code in ``(0, 1)``.

        """
        value = self.validate(value)
        lo, hi = self._span()
        x = math.log(value) if self.log else float(value)
        return min(max((x - lo) / (hi - lo), 0.0), 1.0)

    def decode(self, u: float) -> int:
        """Map a code in ``[0, 1]`` (clipped) to an integer by rounding.

        Parameters
        ----------
        u : float
            The code.

        Returns
        -------
        int
            The value in ``[low, high]``.

        """
        u = _unit(u)
        lo, hi = self._span()
        x = lo + u * (hi - lo)
        if self.log:
            x = math.exp(x)
        return min(max(math.floor(x + 0.5), self.low), self.high)

    def grid(self, resolution: int = 5) -> list[int]:
        """Return grid values: all integers if at most ``resolution``, else a spread.

        With more than ``resolution`` integers in range, ``resolution`` evenly
        spaced points (log-spaced when ``log=True``) are rounded and
        de-duplicated, so fewer values may come back; ``resolution=1`` gives
        the middle value.

        Parameters
        ----------
        resolution : int, default 5
            Number of points wanted.

        Returns
        -------
        list of int
            Increasing values.

        """
        resolution = _check_resolution(resolution)
        if self.high - self.low + 1 <= resolution:
            return list(range(self.low, self.high + 1))
        if resolution == 1:
            return [self.decode(0.5)]
        if self.log:
            points = np.geomspace(self.low, self.high, resolution)
        else:
            points = np.linspace(self.low, self.high, resolution)
        values = [min(max(math.floor(float(x) + 0.5), self.low), self.high) for x in points]
        values[0], values[-1] = self.low, self.high
        return _dedupe(values)

    def validate(self, value: Any) -> int:
        """Check that ``value`` is an integer in ``[low, high]``; return it as ``int``.

        Integral floats such as ``3.0`` are accepted.

        Parameters
        ----------
        value : int
            The value to check.

        Returns
        -------
        int
            The value as a Python int.

        Raises
        ------
        ValueError
            If the value is not an integer or is out of range.

        """
        number = self._number(value)
        if isinstance(number, float):
            if not number.is_integer():
                raise ValueError(
                    f"Int {self.name!r}: expected an integer in [{self.low}, {self.high}], "
                    f"got {value!r}"
                )
            number = int(number)
        self._check_range(number, value)
        return int(number)


class Categorical(Parameter):
    """A parameter taking one of a fixed list of choices.

    Parameters
    ----------
    name : str
        Name of the parameter.
    choices : sequence
        Distinct values of type str, int, float, bool or None. ``True`` and
        ``1`` are different choices; ``1`` and ``1.0`` are the same.
    when : dict, optional
        Conditions: parent name -> allowed value, or a list/tuple/set of
        allowed values. All entries must hold for the parameter to be active.

    Notes
    -----
    Choice ``i`` of ``k`` is encoded as ``(i + 0.5) / k``; a code ``u`` decodes
    to choice ``floor(u * k)`` (clipped to the last choice).

    """

    __slots__ = ("_index", "choices")
    _kind = "Categorical"

    choices: tuple[Any, ...]
    _index: dict[Hashable, int]

    def __init__(
        self,
        name: str,
        choices: Sequence[Any],
        *,
        when: Mapping[str, Any] | None = None,
    ) -> None:
        self._init_common(name, when)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
            raise ValueError(
                f"Categorical {name!r}: choices must be a list of values, got {choices!r}"
            )
        values = [_plain(c) for c in choices]
        if not values:
            raise ValueError(f"Categorical {name!r}: choices is empty; give at least one value")
        index: dict[Hashable, int] = {}
        for i, value in enumerate(values):
            if not _is_scalar(value):
                raise ValueError(
                    f"Categorical {name!r}: choice {value!r} is not allowed; choices must be "
                    "str, int, float (not NaN), bool or None"
                )
            key = _value_key(value)
            if key in index:
                raise ValueError(
                    f"Categorical {name!r}: duplicate choice {value!r} "
                    f"(same as {values[index[key]]!r}); list each choice once"
                )
            index[key] = i
        object.__setattr__(self, "choices", tuple(values))
        object.__setattr__(self, "_index", index)

    def _kwargs(self) -> dict[str, Any]:
        return {"name": self.name, "choices": list(self.choices), "when": self.when}

    def _identity(self) -> tuple[Any, ...]:
        return (
            self.name,
            tuple(_value_key(c) for c in self.choices),
            _when_identity(self._when),
        )

    def _repr_args(self) -> list[str]:
        return [repr(self.name), repr(list(self.choices))]

    def index(self, value: Any) -> int:
        """Return the position of ``value`` among the choices.

        Parameters
        ----------
        value : object
            One of the choices.

        Returns
        -------
        int
            Its index in :attr:`choices`.

        Raises
        ------
        ValueError
            If ``value`` is not a choice.

        """
        position = self._index.get(_value_key(value))
        if position is None:
            raise ValueError(
                f"Categorical {self.name!r}: {value!r} is not a choice; "
                f"choices are {list(self.choices)!r}"
            )
        return position

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw a choice uniformly at random.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        object
            One of the choices.

        """
        return self.choices[int(rng.integers(len(self.choices)))]

    def encode(self, value: Any) -> float:
        """Encode choice ``i`` of ``k`` as ``(i + 0.5) / k``.

        Parameters
        ----------
        value : object
            One of the choices.

        Returns
        -------
        float
            Its code in ``(0, 1)``.

        """
        return (self.index(value) + 0.5) / len(self.choices)

    def decode(self, u: float) -> Any:
        """Decode ``u`` (clipped to ``[0, 1]``) to choice ``floor(u * k)``.

        Parameters
        ----------
        u : float
            The code.

        Returns
        -------
        object
            The choice.

        """
        k = len(self.choices)
        return self.choices[min(int(math.floor(_unit(u) * k)), k - 1)]

    def grid(self, resolution: int = 5) -> list[Any]:
        """Return every choice, whatever the resolution.

        Parameters
        ----------
        resolution : int, default 5
            Ignored (checked only).

        Returns
        -------
        list
            The choices in order.

        """
        _check_resolution(resolution)
        return list(self.choices)

    def validate(self, value: Any) -> Any:
        """Check that ``value`` is one of the choices; return the stored choice.

        Parameters
        ----------
        value : object
            The value to check.

        Returns
        -------
        object
            The matching element of :attr:`choices` (e.g. ``1`` for ``1.0``).

        Raises
        ------
        ValueError
            If the value is not a choice.

        """
        return self.choices[self.index(value)]


_PARAM_TYPES: dict[str, type[Parameter]] = {
    "float": Float,
    "int": Int,
    "categorical": Categorical,
}


def _param_from_dict(data: Mapping[str, Any]) -> Parameter:
    if not isinstance(data, Mapping) or "type" not in data:
        raise ValueError(f"a parameter description needs a 'type' key, got {data!r}")
    kind = data["type"]
    cls = _PARAM_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown parameter type {kind!r}; known: {sorted(_PARAM_TYPES)}")
    kwargs = {k: v for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad {kind} parameter description {dict(data)!r}: {exc}") from None
