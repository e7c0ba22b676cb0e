"""Cost-aware acquisition: a surrogate of log trial cost and the weight its prediction gets.

Under a budget of seconds rather than of trials, a configuration that takes ten
times as long costs the search the nine trials it could have run instead.
Expected improvement per second (Snoek et al., 2012) divides EI by the
predicted cost; used throughout, it keeps to cheap regions even once they stop
paying. Cost-cooled EI (Lee et al., 2020, "CArBO") divides by ``cost ** alpha``
with ``alpha`` falling from 1 to 0 as the budget is spent: cheap trials first,
plain EI at the end. In log space, log-EI minus ``alpha`` times the predicted
log cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["LogCostModel", "cost_exponent", "fit_log_cost"]

MIN_COST = 1e-3
"""Costs below this many seconds count as this many (log of zero guard)."""


class LogCostModel:
    """Predicted natural log of a trial's cost in seconds.

    Parameters
    ----------
    model : Any
        A surrogate fitted to standardised log costs (``predict(x) -> (mean, var)``).
    mean, scale : float
        The standardisation undone on prediction.
    """

    def __init__(self, model: Any, mean: float, scale: float) -> None:
        self.model, self.mean, self.scale = model, mean, scale

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the predicted log cost at surrogate inputs ``x``, shape ``(m,)``."""
        return self.mean + self.scale * self.model.predict(x)[0]


def fit_log_cost(
    fit: Callable[[np.ndarray, np.ndarray], Any], x: np.ndarray, costs: np.ndarray
) -> LogCostModel | None:
    """Fit a surrogate to the log of measured trial costs.

    Parameters
    ----------
    fit : callable
        ``fit(x, y) -> surrogate`` for standardised targets ``y`` (the
        strategy's own kind of surrogate).
    x : numpy.ndarray
        Surrogate inputs of the told trials, shape ``(n, D)``.
    costs : numpy.ndarray
        Their costs in seconds, shape ``(n,)``.

    Returns
    -------
    LogCostModel or None
        ``None`` when fewer than two trials have a cost, or all costs are
        equal: nothing then tells configurations apart by cost.
    """
    known = np.isfinite(costs) & (costs > 0)
    if known.sum() < 2:
        return None
    log_cost = np.log(np.maximum(costs[known], MIN_COST))
    scale = float(log_cost.std())
    if not scale > 0:
        return None
    mean = float(log_cost.mean())
    return LogCostModel(fit(x[known], (log_cost - mean) / scale), mean, scale)


def cost_exponent(spent: float, budget: float | None) -> float:
    """Return the weight of the predicted log cost: the share of the budget left.

    Parameters
    ----------
    spent : float
        Seconds of trial cost told so far.
    budget : float or None
        Seconds of trial cost the caller plans to spend; ``None`` or not
        positive: cost is ignored (0).

    Returns
    -------
    float
        In ``[0, 1]``: 1 before anything is spent, 0 once the budget is.
    """
    if budget is None or not budget > 0 or not math.isfinite(budget):
        return 0.0
    return float(np.clip(1.0 - spent / budget, 0.0, 1.0))
