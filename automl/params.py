"""Checks of the ``AutoML`` constructor arguments, run first in ``fit``."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_search_params(model: Any) -> None:
    """Raise a ``ValueError`` naming the first invalid ``AutoML`` argument and its fix."""
    budget = model.time_budget
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int | float)
                               or not np.isfinite(budget) or budget <= 0):
        raise ValueError(
            f"time_budget must be a positive number of seconds or None, got {budget!r}; "
            "e.g. time_budget=60"
        )
    if model.max_trials is not None and (
            isinstance(model.max_trials, bool) or not isinstance(model.max_trials, int)
            or model.max_trials < 1):
        raise ValueError(f"max_trials must be a positive integer or None, "
                         f"got {model.max_trials!r}")
    if model.trial_time_limit is not None and not model.trial_time_limit > 0:
        raise ValueError(f"trial_time_limit must be positive seconds or None, "
                         f"got {model.trial_time_limit!r}")
    if isinstance(model.n_jobs, bool) or not isinstance(model.n_jobs, int) \
            or model.n_jobs == 0 or model.n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {model.n_jobs!r}")
    if model.ensemble not in ("greedy", "stacking", None):
        raise ValueError(f"ensemble must be 'greedy', 'stacking' or None, got "
                         f"{model.ensemble!r}")
    if isinstance(model.ensemble_size, bool) or not isinstance(model.ensemble_size, int) \
            or model.ensemble_size < 0:
        raise ValueError(f"ensemble_size must be an integer >= 0, got {model.ensemble_size!r}")
    if not isinstance(model.early_stopping, bool):
        raise ValueError(f"early_stopping must be True or False, got "
                         f"{model.early_stopping!r}")
    if model.backend not in ("auto", "processes", "inprocess", "dask"):
        raise ValueError(f"unknown backend {model.backend!r}; use 'auto', 'processes', "
                         "'inprocess' or 'dask'")
    if model.device not in ("auto", "cpu", "cuda") and not str(model.device).startswith(
            "cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {model.device!r}")
