"""Test spaces, objective and helpers shared by the checks of :mod:`search.testing`.

The spaces and :func:`objective` are re-exported (and documented) there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from search.space import Categorical, Float, Int, Space, config_key
from search.strategy import Observation, Strategy, Trial

__all__ = ["Factory", "continuous_space", "finite_space", "mixed_space", "objective"]

Factory = Callable[[Space, int], Strategy]


# ---------------------------------------------------------------------------
# test spaces and objective
# ---------------------------------------------------------------------------


def mixed_space() -> Space:
    """Return a conditional space mixing every kind of parameter.

    It joins four model branches with :meth:`Space.conditional` (root
    ``"model"``; one branch is empty), has nested conditions (``linear:l1_ratio``
    depends on ``linear:penalty``, ``knn:p`` on ``knn:weights``), log-scaled
    Float and Int parameters, a condition with several allowed values, and
    two unconditional parameters.

    Returns
    -------
    Space
        The space.

    """
    joined = Space.conditional(
        "model",
        {
            "linear": Space([
                Float("C", 1e-4, 1e4, log=True),
                Categorical("penalty", ["l1", "l2", "elasticnet"]),
                Float("l1_ratio", 0.0, 1.0, when={"penalty": ["elasticnet", "l1"]}),
            ]),
            "tree": Space([
                Int("max_depth", 1, 64, log=True),
                Int("min_samples", 2, 20),
                Categorical("criterion", ["gini", "entropy"]),
            ]),
            "knn": Space([
                Int("k", 1, 50),
                Categorical("weights", ["uniform", "distance"]),
                Categorical("p", [1, 2], when={"weights": "distance"}),
            ]),
            "dummy": Space(),
        },
    )
    return Space([
        *joined.params,
        Float("scale", -1.0, 1.0),
        Categorical("flag", [True, False, None]),
    ])


def continuous_space() -> Space:
    """Return a space of four Float parameters, one on a log scale.

    Returns
    -------
    Space
        The space.

    """
    return Space([
        Float("x0", -5.0, 5.0),
        Float("x1", -5.0, 5.0),
        Float("x2", 0.0, 1.0),
        Float("lr", 1e-5, 1.0, log=True),
    ])


def finite_space() -> Space:
    """Return a conditional space of exactly six configurations.

    Returns
    -------
    Space
        ``kind`` in {a, b}; ``a`` has an Int in 1..3, ``b`` a flag with 2
        choices, and ``c`` is not a choice, so 3 + 2 + 1 = 6 configurations.

    """
    return Space([
        Categorical("kind", ["a", "b", "c"]),
        Int("n", 1, 3, when={"kind": "a"}),
        Categorical("flag", [True, False], when={"kind": "b"}),
    ])


def objective(config: Mapping[str, Any]) -> float:
    """Score a configuration of any space, deterministically (lower is better).

    Parameters
    ----------
    config : mapping
        Any configuration.

    Returns
    -------
    float
        A finite value that depends on every parameter.

    """
    total = 0.0
    for name, value in sorted(config.items()):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            x = float(value)
            total += math.sin(0.7 * math.copysign(math.log1p(abs(x)), x) + len(name)) ** 2
        else:
            total += (sum(map(ord, f"{name}={value!r}")) % 11) / 11
    return total


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

_BATCHES = (1, 3, 2, 4)


def _make(factory: Factory, space: Space, seed: int) -> Strategy:
    strategy = factory(space, seed)
    assert isinstance(strategy, Strategy), (
        f"the factory must return a search.Strategy, got {type(strategy).__name__}"
    )
    return strategy


def _name(strategy: Strategy) -> str:
    return type(strategy).__name__


def _check_config(strategy: Strategy, trial: Trial, where: str) -> None:
    space = strategy.space
    try:
        normalized = space.validate(trial.config)
    except ValueError as exc:
        raise AssertionError(
            f"{_name(strategy)} {where}: trial {trial.number} has an invalid config "
            f"{dict(trial.config)!r}: {exc}"
        ) from None
    assert normalized == dict(trial.config), (
        f"{_name(strategy)} {where}: trial {trial.number} config {dict(trial.config)!r} "
        f"is not normalized (expected {normalized!r})"
    )
    for p in space:
        active = space.is_active(p.name, trial.config)
        assert active == (p.name in trial.config), (
            f"{_name(strategy)} {where}: trial {trial.number} breaks the condition of "
            f"{p.name!r} (active={active}) in {dict(trial.config)!r}"
        )


def _ask(strategy: Strategy, n: int, may_exhaust: bool, where: str) -> list[Trial]:
    before = strategy.n_asked
    try:
        trials = strategy.ask(n)
    except ValueError as exc:
        raise AssertionError(f"{_name(strategy)} {where}: ask({n}) raised {exc}") from exc
    assert isinstance(trials, list), (
        f"{_name(strategy)} {where}: ask must return a list, got {type(trials).__name__}"
    )
    assert len(trials) <= n, (
        f"{_name(strategy)} {where}: ask({n}) returned {len(trials)} trials"
    )
    if not may_exhaust:
        assert len(trials) == n, (
            f"{_name(strategy)} {where}: ask({n}) returned {len(trials)} trials; only "
            "strategies checked with may_exhaust=True may return fewer"
        )
    numbers = [t.number for t in trials]
    expected = list(range(before, before + len(trials)))
    assert numbers == expected, (
        f"{_name(strategy)} {where}: trial numbers {numbers}, expected {expected}"
    )
    for trial in trials:
        assert isinstance(trial, Trial), (
            f"{_name(strategy)} {where}: ask returned {type(trial).__name__}, not Trial"
        )
        _check_config(strategy, trial, where)
    keys = [_identity(t) for t in trials]
    assert len(set(keys)) == len(keys), (
        f"{_name(strategy)} {where}: ask({n}) returned repeated configs "
        f"{[_shown(t) for t in trials]!r}"
    )
    return trials


def _run(
    strategy: Strategy,
    n_trials: int,
    may_exhaust: bool,
    where: str,
    observe: Callable[[Trial], Observation] | None = None,
) -> list[Trial]:
    """Ask in batches of varying size and tell each trial; return all trials."""
    observe = observe or (lambda t: Observation(value=objective(t.config)))
    done: list[Trial] = []
    i = 0
    while len(done) < n_trials:
        n = min(_BATCHES[i % len(_BATCHES)], n_trials - len(done))
        i += 1
        trials = _ask(strategy, n, may_exhaust, where)
        for trial in trials:
            strategy.tell(trial, observe(trial))
        done.extend(trials)
        if len(trials) < n:
            break
    return done


def _identity(trial: Trial) -> tuple[Any, float | None]:
    """What must differ between trials: the config, and the fidelity if the strategy sets one."""
    return config_key(trial.config), trial.fidelity


def _shown(trial: Trial) -> Any:
    config = dict(trial.config)
    return config if trial.fidelity is None else (config, trial.fidelity)


def _summary(trials: list[Trial]) -> list[tuple[int, dict[str, Any], float | None]]:
    return [(t.number, dict(t.config), t.fidelity) for t in trials]
