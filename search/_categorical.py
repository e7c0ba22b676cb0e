"""The :class:`Categorical` parameter.

Private: import it from :mod:`search.parameters` (or :mod:`search`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from search._base import Parameter
from search._values import _check_resolution, _is_scalar, _plain, _unit, _value_key, _when_identity


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
        Parent name -> allowed value or list/tuple/set of values; all must hold.

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
