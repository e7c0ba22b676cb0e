"""Numeric parameters: :class:`Float` and :class:`Int`.

Private: import them from :mod:`search.parameters` (or :mod:`search`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from search._base import Parameter
from search._values import _check_resolution, _dedupe, _plain, _unit, _when_identity


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
        Parent name -> allowed value or list/tuple/set of values; all must hold.

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
        Parent name -> allowed value or list/tuple/set of values; all must hold.

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
