"""The records of a search: :class:`Trial` (what a strategy proposes) and :class:`Observation`.

Private: both are public as :mod:`search.strategy`'s (and :mod:`search`'s),
where they are documented and pickled from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.space import config_key

__all__ = ["STATUSES", "Observation", "Trial"]

STATUSES = ("ok", "failed", "timeout", "pruned", "out_of_memory")
"""Known values of :attr:`Observation.status`."""


@dataclass(frozen=True)
class Trial:
    """A configuration proposed by a strategy.

    Parameters
    ----------
    number : int
        0, 1, 2, ... assigned by the strategy in ask order.
    config : mapping
        The configuration (active parameters only).
    fidelity : float or None, default None
        Budget at which to evaluate it (multi-fidelity strategies), else None.

    """

    number: int
    config: Mapping[str, Any]
    fidelity: float | None = None

    def __post_init__(self) -> None:
        number = self.number
        if isinstance(number, np.integer):
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"Trial number must be an integer >= 0, got {self.number!r}")
        if not isinstance(self.config, Mapping):
            raise ValueError(f"Trial config must be a dict, got {type(self.config).__name__}")
        object.__setattr__(self, "number", number)
        object.__setattr__(self, "config", dict(self.config))
        if self.fidelity is not None:
            object.__setattr__(self, "fidelity", float(self.fidelity))

    def __hash__(self) -> int:
        return hash((self.number, config_key(self.config), self.fidelity))


@dataclass(frozen=True)
class Observation:
    """The outcome of evaluating a trial.

    Parameters
    ----------
    value : float or None
        The objective, minimised (single-objective strategies).
    values : tuple of float or None
        Several objectives, each minimised. Give ``value`` or ``values``, not both.
    status : {"ok", "failed", "timeout", "pruned", "out_of_memory"}, default "ok"
        ``"ok"`` requires ``value`` or ``values``; the others may omit both.
    cost : float, default 0.0
        Seconds spent evaluating.
    fidelity : float or None, default None
        Budget the trial was evaluated at.

    Raises
    ------
    ValueError
        On an unknown status, an ``"ok"`` observation without a value, both
        ``value`` and ``values``, or a negative cost.

    """

    value: float | None = None
    values: tuple[float, ...] | None = None
    status: str = "ok"
    cost: float = 0.0
    fidelity: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(
                f"unknown observation status {self.status!r}; known: {list(STATUSES)}"
            )
        if self.value is not None and self.values is not None:
            raise ValueError("give value (one objective) or values (several), not both")
        if self.status == "ok" and self.value is None and self.values is None:
            raise ValueError(
                'an "ok" observation needs value (or values); use status="failed" '
                "for a trial without a result"
            )
        if self.value is not None:
            object.__setattr__(self, "value", _as_float(self.value, "value"))
        if self.values is not None:
            if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Iterable):
                raise ValueError(f"values must be a sequence of floats, got {self.values!r}")
            values = tuple(_as_float(v, "values") for v in self.values)
            if not values:
                raise ValueError("values must hold at least one objective")
            object.__setattr__(self, "values", values)
        cost = _as_float(self.cost, "cost")
        if not cost >= 0:
            raise ValueError(f"cost must be a number of seconds >= 0, got {self.cost!r}")
        object.__setattr__(self, "cost", cost)
        if self.fidelity is not None:
            object.__setattr__(self, "fidelity", _as_float(self.fidelity, "fidelity"))

    @classmethod
    def failed(
        cls, cost: float = 0.0, status: str = "failed", fidelity: float | None = None
    ) -> Observation:
        """Make an observation of a trial that produced no result.

        Parameters
        ----------
        cost : float, default 0.0
            Seconds spent.
        status : {"failed", "timeout", "pruned"}, default "failed"
            Why there is no result.
        fidelity : float or None, default None
            Budget the trial was evaluated at.

        Returns
        -------
        Observation
            An observation without value.

        """
        if status == "ok":
            raise ValueError('Observation.failed needs a status other than "ok"')
        return cls(status=status, cost=cost, fidelity=fidelity)

    @property
    def objectives(self) -> tuple[float, ...]:
        """All objective values: ``values``, or ``(value,)``, or ``()``."""
        if self.values is not None:
            return self.values
        if self.value is not None:
            return (self.value,)
        return ()

    @property
    def finite(self) -> bool:
        """Whether the status is ``"ok"`` and every objective is finite."""
        objectives = self.objectives
        return (
            self.status == "ok"
            and bool(objectives)
            and all(math.isfinite(v) for v in objectives)
        )


def _as_float(value: Any, what: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None


Trial.__module__ = Observation.__module__ = "search.strategy"  # their public home
