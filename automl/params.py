"""``AutoML``'s arguments: their checks, run first in ``fit``, and the search they settle.

:func:`resolve_metric`, :func:`resolve_models` and :func:`make_strategy` turn
the ``metric``, ``models`` and ``strategy`` arguments into registered objects,
with errors that list what is known; :func:`plan_search` settles everything a
search needs before its first trial (a :class:`SearchPlan`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from automl.engine import Budget, join_spaces
from automl.engine.evaluation import Splits
from automl.engine.memory import parse_memory, resolve_limit
from automl.engine.workers import fit_time_limit, threads_per_trial, worker_count
from automl.final import REFIT_MARGIN
from automl.metrics import Metric
from automl.registry import Registry
from automl.specs import Context, ModelSpec
from automl.tasks import Evaluator, Task
from search import Strategy, SuccessiveHalving


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
    parse_memory(model.memory_limit)  # raises, naming the accepted forms
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


def resolve_metric(name: str | None, registry: Registry, defaults: Mapping[str, str],
                   task: str) -> Metric:
    """The registered metric ``name`` (the task's default when None), checked against ``task``.

    ``defaults`` maps concrete tasks to metric names (``Task.default_metrics``).
    """
    name = name or defaults[task]
    metric = registry.metric(name)
    if task not in metric.tasks:
        usable = sorted(n for n, m in registry.metrics.items() if task in m.tasks)
        raise ValueError(f"metric {name!r} does not apply to {task}; use one of {usable}")
    return metric


def resolve_models(models: Any, registry: Registry, ctx: Context) -> dict[str, ModelSpec]:
    """The specs ``AutoML(models=...)`` names that support ``ctx`` (all eligible when None).

    Names and unregistered ``ModelSpec`` objects, or a dict name -> space
    overrides; specs that do not support the data are dropped with a warning,
    and naming only such specs is an error.
    """
    if models is None:
        specs = {n: s for n, s in registry.models.items() if s.supports(ctx)}
        if not specs:
            raise ValueError(f"no registered model supports {ctx.task} on {ctx.modality} "
                             f"data; loaded models: {sorted(registry.models)}")
        return specs
    if isinstance(models, Mapping):
        overrides = {name: dict(space or {}) for name, space in models.items()}
        given: dict[str, ModelSpec] = {}
    else:
        items = [models] if isinstance(models, str | ModelSpec) else list(models)
        given = {m.name: m for m in items if isinstance(m, ModelSpec)}
        overrides = {m if isinstance(m, str) else m.name: {} for m in items}
    if not overrides:
        raise ValueError("models is empty; pass model names or None for all")
    specs = {}
    for name, space in overrides.items():
        spec = given.get(name) or registry.model(name)
        specs[name] = spec.with_overrides(space) if space else spec
    unfit = [n for n, s in specs.items() if not s.supports(ctx)]
    if len(unfit) == len(specs):
        usable = sorted(n for n, s in registry.models.items() if s.supports(ctx))
        raise ValueError(f"models {unfit} do not support {ctx.task} on {ctx.modality} "
                         f"data; usable models: {usable}")
    if unfit:
        warnings.warn(f"models {unfit} do not support {ctx.task}; searching the others",
                      stacklevel=4)
    return {n: s for n, s in specs.items() if n not in unfit}


def make_strategy(strategy: Any, early_stopping: bool, registry: Registry,
                  specs: Mapping[str, ModelSpec], seed: int) -> Strategy:
    """The strategy ``AutoML(strategy=...)`` names, on the joined space of ``specs``.

    A registered name, a ``Strategy`` class or ``factory(space, seed=...)``, or
    a new ``Strategy`` built on that space; wrapped in successive halving when
    ``early_stopping``.
    """
    space = join_spaces(specs)
    if isinstance(strategy, Strategy):
        if strategy.space != space or strategy.n_asked:
            raise ValueError(
                "a Strategy instance must be new and built on this search's space; pass "
                "its class or a factory(space, seed=...) instead"
            )
        return strategy
    factory = registry.strategy(strategy) if isinstance(strategy, str) else strategy
    if not callable(factory):
        raise ValueError(f"strategy must be a registered name, a Strategy or a factory, "
                         f"got {strategy!r}; known: {sorted(registry.strategies)}")
    if early_stopping:
        return SuccessiveHalving(space, seed=seed, base=factory)
    return factory(space, seed=seed)


@dataclass(frozen=True)
class SearchPlan:
    """What ``fit`` settles before the first trial runs.

    Attributes
    ----------
    ctx : Context
        What every spec's ``build`` gets, with each fold's fit limit.
    specs : dict of str to ModelSpec
        The models searched.
    strategy : search.Strategy
        Proposes their configurations.
    splits : list of (ndarray, ndarray)
        The task's resampling, shared by every trial.
    evaluate : callable
        How a trial is fitted and scored (the task's evaluator).
    limits : Budget
        Time budget, trial count and per-trial limit, defaults filled in.
    ensemble_size : int
        Steps of greedy selection; 0 when the task's trials do not ensemble
        or ``ensemble=None``.
    memory_limit : int or None
        Bytes each trial's worker may hold (``"auto"`` resolved); None: no limit.
    """

    ctx: Context
    specs: dict[str, ModelSpec]
    strategy: Any
    splits: Splits
    evaluate: Evaluator
    limits: Budget
    ensemble_size: int
    memory_limit: int | None = None


def plan_search(model: Any, task: Task, registry: Registry, data: Any, seed: int) -> SearchPlan:
    """Settle the context, models, strategy, splits, evaluator and limits of the search.

    Parameters
    ----------
    model : AutoML
        Its arguments (``models``, ``strategy``, ``cv``, budgets, ``n_jobs``...).
    task : Task
        The task searched.
    registry : Registry
        Where names resolve.
    data : Dataset
        The validated training data.
    seed : int
        The study's seed.
    """
    ctx = task.context(data, seed=seed, n_threads=threads_per_trial(model.n_jobs),
                       device=model.device)
    specs = resolve_models(model.models, registry, ctx)
    strategy = make_strategy(model.strategy, model.early_stopping, registry, specs, seed)
    splits = task.splits(data, ctx, model.cv)
    limits = Budget.resolve(model.time_budget, model.max_trials, model.trial_time_limit,
                            refit_share=REFIT_MARGIN / len(splits))
    if limits.trial_time_limit is not None:
        # each fold's fit may use its share of the trial's limit, less a margin for
        # predicting and scoring, so that epoch-trained models stop instead of dying
        ctx = replace(ctx, time_limit=fit_time_limit(limits.trial_time_limit, len(splits)))
    ensemble_size = model.ensemble_size if model.ensemble and task.ensembles(data.task) else 0
    memory_limit = resolve_limit(parse_memory(model.memory_limit), worker_count(model.n_jobs))
    return SearchPlan(ctx, specs, strategy, splits, task.evaluator(ctx), limits, ensemble_size,
                      memory_limit)
