"""Tune your own training script: :func:`optimize` runs an objective under a strategy.

``optimize`` is the scripted counterpart of the AutoML engine, for people
who write their own training code (Optuna-style)::

    from search import Float, Int, Space, optimize

    def objective(config):
        model = train(lr=config["lr"], depth=config["depth"])   # your code
        return validation_loss(model)                            # minimised

    space = Space([Float("lr", 1e-4, 1e-1, log=True), Int("depth", 2, 12)])
    result = optimize(objective, space, n_trials=50, storage="tuning.db", seed=0)
    print(result.best_config, result.best_value)

**The objective** takes a configuration (a dict of the active parameters)
and returns a number, or a sequence of numbers for several objectives. If it
accepts a second positional argument it is called ``objective(config,
fidelity)`` with the fraction of the full budget to spend, in (0, 1]: set by
multi-fidelity strategies (``"sh"``, ``"hyperband"``), 1.0 under the others;
see :mod:`search.fidelity` for mapping it to epochs, trees or rows. A
multi-fidelity strategy with a one-argument objective is an error. An
objective that raises (an exception of a type in ``catch``), or returns NaN,
infinity or something that is not a number, makes a failed trial with its
error text; the search goes on.

**Reproducibility.** The strategy is told results in trial-number order
and with a fixed lag of ``n_jobs`` (see :mod:`search._loop`): trial ``k`` is
proposed knowing the results of trials ``0 .. k - n_jobs``, exactly those,
whatever order the workers finish in (the later ones it knows as pending).
With one worker every trial knows all the trials before it; a seeded search
with ``n_trials`` gives the same trials on every run with the same
``n_jobs``.

**Budgets.** ``n_trials`` counts the trials of this call; ``timeout`` stops
new trials from starting after that many seconds and waits for the running
ones. With neither, the search runs until the strategy has nothing left to
propose (a finished grid). With ``timeout`` alone the strategy's
:attr:`~search.Strategy.cost_budget` is set to the workers' seconds (unless
set), so the Bayesian search may prefer cheap trials early; proposals then
depend on measured durations and do not repeat exactly.

**Storage and resume.** With ``storage=path`` every finished trial is
written, in its own transaction, to a SQLite file (WAL mode) under the study
name. Calling ``optimize`` again with the same storage and study resumes:
the strategy is rebuilt from the stored trials with
:meth:`Strategy.restore`, numbering continues, and ``n_trials`` more trials
are run; a seeded search then proposes what an uninterrupted one would have
(the last trials within the lag are told as the search goes on). The study
remembers its direction(s) and seed (``seed=None`` reuses the stored one).
One search at a time may write a study. The file is the AutoML engine's
format too (:mod:`search._storage`); files of earlier versions are upgraded
when opened.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from search._storage import StoredTrial, TrialStore
from search.bayesian import BayesianSearch
from search.fidelity import Hyperband, SuccessiveHalving
from search.genetic import GeneticSearch
from search.grid import GridSearch
from search.optimize._args import (
    _check_catch,
    _check_count,
    _check_directions,
    _check_timeout,
    _takes_fidelity,
)
from search.optimize._runner import _sign, _signed, run_trials
from search.random import RandomSearch
from search.space import Space
from search.strategy import Observation, Strategy, Trial

if TYPE_CHECKING:
    import os

    import pandas as pd

__all__ = ["STRATEGIES", "OptimizeResult", "optimize"]

STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "grid": GridSearch,
    "bayesian": BayesianSearch,
    "genetic": GeneticSearch,
    "sh": SuccessiveHalving,
    "hyperband": Hyperband,
}
"""Strategy names accepted by :func:`optimize`, and the classes they stand for."""


@dataclass
class OptimizeResult:
    """What :func:`optimize` found.

    Values are as the objective returned them (not sign-flipped for
    ``"maximize"``).

    Attributes
    ----------
    best_config : dict or None
        Configuration of the best trial (single objective), or None when no
        trial succeeded or there are several objectives.
    best_value : float or None
        Its value.
    best_trial : Trial or None
        The best trial. Only trials at the highest fidelity reached by a
        successful trial compete (fidelity ``None`` counts as 1), so a lucky
        low-budget result never wins; ties go to the earlier trial.
    trials : list of (Trial, Observation, str or None)
        Every trial of the study, stored ones from earlier runs included, by
        number, with its error text (None when it succeeded).
    directions : tuple of str
        ``"minimize"`` or ``"maximize"``, one per objective (one entry applies
        to every objective).
    study : str
        The study name.
    strategy : Strategy
        The strategy, told every trial; ``ask`` it to continue by hand.

    """

    best_config: dict[str, Any] | None
    best_value: float | None
    best_trial: Trial | None
    trials: list[tuple[Trial, Observation, str | None]]
    directions: tuple[str, ...]
    study: str
    strategy: Strategy = field(repr=False)

    @property
    def best_trials(self) -> list[tuple[Trial, Observation]]:
        """The Pareto-optimal successful trials (several objectives), by number.

        Only trials at the highest successful fidelity compete. With one
        objective this is the best trial (and any trial tying with it).
        """
        candidates = _top_fidelity(self.trials)
        signs = [_sign(d) for d in self.directions]
        points = [
            (trial, obs, _signed(obs.objectives, signs)) for trial, obs in candidates
        ]
        front = []
        for trial, obs, point in points:
            dominated = any(
                all(o <= p for o, p in zip(other, point, strict=True)) and other != point
                for _, _, other in points
            )
            if not dominated:
                front.append((trial, obs))
        return front

    def history_frame(self) -> pd.DataFrame:
        """Return one row per trial as a pandas DataFrame.

        Columns: ``number``, ``status``, ``value`` (or ``value_0``,
        ``value_1``, ... for several objectives), ``cost`` (seconds),
        ``fidelity``, ``error``, then ``params_<name>`` for each parameter of
        the space (missing where inactive).

        Raises
        ------
        ImportError
            If pandas is not installed.

        """
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a dependency of the project
            raise ImportError("history_frame needs pandas; pip install pandas") from None
        width = max((len(o.objectives) for _, o, _ in self.trials), default=1)
        value_columns = ["value"] if width <= 1 else [f"value_{i}" for i in range(width)]
        names = list(self.strategy.space.names)
        rows = []
        for trial, obs, error in self.trials:
            row: dict[str, Any] = {"number": trial.number, "status": obs.status}
            objectives = obs.objectives
            for i, column in enumerate(value_columns):
                row[column] = objectives[i] if i < len(objectives) else math.nan
            row.update(cost=obs.cost, fidelity=trial.fidelity, error=error)
            for name in names:
                row[f"params_{name}"] = trial.config.get(name)
            rows.append(row)
        columns = ["number", "status", *value_columns, "cost", "fidelity", "error"]
        columns += [f"params_{name}" for name in names]
        return pd.DataFrame(rows, columns=columns)


def optimize(
    objective: Callable[..., Any],
    space: Space,
    *,
    strategy: str | Strategy | Callable[..., Strategy] = "bayesian",
    n_trials: int | None = None,
    timeout: float | None = None,
    n_jobs: int = 1,
    storage: str | os.PathLike[str] | None = None,
    study: str = "default",
    seed: int | None = None,
    direction: str | Sequence[str] = "minimize",
    catch: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
) -> OptimizeResult:
    """Search ``space`` for the configuration that minimises (or maximises) ``objective``.

    Parameters
    ----------
    objective : callable
        ``objective(config)`` or ``objective(config, fidelity)``, returning a
        float or a sequence of floats (see :mod:`search.optimize`); picklable
        by cloudpickle when ``n_jobs != 1`` (lambdas and closures are).
    space : Space
        The search space.
    strategy : str, Strategy or callable, default "bayesian"
        A name of :data:`STRATEGIES`, a fresh strategy on ``space`` (its own
        seed is used), or a factory ``strategy(space, seed=...) -> Strategy``.
    n_trials : int or None, default None
        Trials to run in this call (stored ones do not count).
    timeout : float or None, default None
        Seconds after which no new trial starts; running trials are waited
        for (see *Budgets* in :mod:`search.optimize`).
    n_jobs : int, default 1
        Trials run at once; above 1 (-1: every core), in loky worker processes.
    storage : str, path or None, default None
        SQLite file to record every finished trial to, and to resume from.
    study : str, default "default"
        Name of the study within ``storage``.
    seed : int or None, default None
        Seed of the strategy (None: the stored seed when resuming, else drawn).
    direction : {"minimize", "maximize"} or sequence of them, default "minimize"
        Whether to minimise or maximise; one per objective, or one for all.
    catch : exception class or tuple of them, default (Exception,)
        Exceptions of the objective recorded as failed trials; others
        propagate (finished trials stay stored).

    Returns
    -------
    OptimizeResult
        The best configuration and value, and every trial.

    Raises
    ------
    ValueError
        On an empty space, bad arguments, an unknown strategy, or a stored
        study made with other directions or another space.
    TypeError
        If ``objective`` is not callable, or takes no fidelity while the
        strategy sets them.

    Examples
    --------
    >>> from search import Float, Space
    >>> result = optimize(lambda c: (c["x"] - 1) ** 2, Space([Float("x", -2.0, 2.0)]),
    ...                   strategy="random", n_trials=40, seed=0)
    >>> abs(result.best_config["x"] - 1) < 0.2
    True

    """
    n_trials, timeout, directions, catch = _check_arguments(
        objective, space, n_trials, timeout, direction, catch, study, n_jobs
    )
    with TrialStore(storage, study) if storage is not None else nullcontext() as store:
        stored, seed = _resume(store, directions, seed)
        search = _start(store, strategy, space, seed, directions, stored)
        records = run_trials(objective, search, directions, catch, store, stored, n_trials,
                             timeout, n_jobs)
    trials = sorted([(s.trial, s.observation, s.error) for s in stored + records],
                    key=lambda item: item[0].number)
    return _result(trials, directions, study, search)


def _check_arguments(
    objective: Any, space: Any, n_trials: Any, timeout: Any, direction: Any, catch: Any,
    study: Any, n_jobs: Any,
) -> tuple[int | None, float | None, tuple[str, ...], tuple[type[BaseException], ...]]:
    """Check the arguments of :func:`optimize`.

    Returns the trial budget, the timeout, the directions and the exceptions
    to catch, normalised.
    """
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    if not isinstance(space, Space):
        raise TypeError(f"space must be a search.Space, got {type(space).__name__}")
    if len(space) == 0:
        raise ValueError("search space is empty; add at least one parameter")
    checked = (_check_count(n_trials), _check_timeout(timeout), _check_directions(direction),
               _check_catch(catch))
    if not isinstance(study, str) or not study:
        raise ValueError(f"study must be a non-empty string, got {study!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (-1: every core), got {n_jobs!r}")
    _takes_fidelity(objective)  # TypeError for an objective that takes no configuration
    return checked


def _resume(
    store: TrialStore | None, directions: tuple[str, ...], seed: int | None
) -> tuple[list[StoredTrial], int | None]:
    """The stored trials of the study and the seed to use (``seed``, else the stored one)."""
    attributes = None if store is None else store.study_attributes()
    if attributes is None:
        return [], seed
    assert store is not None
    stored_directions = attributes.get("directions")
    if stored_directions is None or tuple(stored_directions) != directions:
        raise ValueError(
            f"study {store.study!r} in {store.path} was run with direction "
            f"{stored_directions}, not {list(directions)}; use another study name"
        )
    return store.trials(), attributes.get("seed") if seed is None else seed


def _start(
    store: TrialStore | None,
    strategy: str | Strategy | Callable[..., Strategy],
    space: Space,
    seed: int | None,
    directions: tuple[str, ...],
    stored: list[StoredTrial],
) -> Strategy:
    """Build the strategy and create the study (warn when resuming with another seed)."""
    search = _build_strategy(strategy, space, seed)
    if store is None:
        return search
    attributes = store.create_study({"directions": list(directions), "seed": search.seed})
    if stored and attributes.get("seed") is not None and search.seed != attributes["seed"]:
        warnings.warn(
            f"resuming study {store.study!r} with seed {search.seed}, but it was started with "
            f"seed {attributes['seed']}: proposals will differ from an uninterrupted run",
            stacklevel=3,
        )
    return search


def _top_fidelity(
    trials: Iterable[tuple[Trial, Observation, str | None]],
) -> list[tuple[Trial, Observation]]:
    ok = [(t, o) for t, o, _ in trials if o.finite]
    if not ok:
        return []
    top = max(1.0 if t.fidelity is None else t.fidelity for t, _ in ok)
    return [
        (t, o) for t, o in ok if math.isclose(1.0 if t.fidelity is None else t.fidelity, top)
    ]


def _result(
    trials: list[tuple[Trial, Observation, str | None]],
    directions: tuple[str, ...],
    study: str,
    strategy: Strategy,
) -> OptimizeResult:
    best_trial = best_value = best_config = None
    candidates = [(t, o) for t, o in _top_fidelity(trials) if o.value is not None]
    if candidates and len(directions) == 1:
        sign = _sign(directions[0])
        trial, obs = min(candidates, key=lambda p: (sign * p[1].value, p[0].number))
        best_trial, best_value, best_config = trial, obs.value, dict(trial.config)
    return OptimizeResult(best_config, best_value, best_trial, trials, directions, study,
                          strategy)


def _build_strategy(
    strategy: str | Strategy | Callable[..., Strategy], space: Space, seed: int | None
) -> Strategy:
    if isinstance(strategy, Strategy):
        if strategy.space != space:
            raise ValueError("the strategy given searches another space than `space`")
        return strategy
    if isinstance(strategy, str):
        cls = STRATEGIES.get(strategy.lower())
        if cls is None:
            raise ValueError(
                f"unknown strategy {strategy!r}; known: {sorted(STRATEGIES)}, or give a "
                "Strategy or a factory(space, seed=...)"
            )
        return cls(space, seed=seed)
    if callable(strategy):
        built = strategy(space, seed=seed)
        if not isinstance(built, Strategy):
            raise TypeError(
                f"the strategy factory must return a search.Strategy, got "
                f"{type(built).__name__}"
            )
        return built
    raise TypeError(
        f"strategy must be a name, a Strategy or a factory, got {type(strategy).__name__}"
    )

