"""Conformance checks that every search strategy, ours or a third party's, must pass.

A strategy is given as a *factory* ``factory(space, seed) -> Strategy``. Run
all checks with :func:`check_strategy`, or each one on its own (they are
listed in :data:`CHECKS`, so a test suite can parametrize over them)::

    import pytest
    from search import testing

    @pytest.mark.parametrize("check", testing.CHECKS, ids=lambda c: c.__name__)
    def test_my_strategy(check):
        check(lambda space, seed: MyStrategy(space, seed=seed))

Every check takes the parameters of :func:`check_strategy` (``factory``,
``n_trials`` and ``may_exhaust``), described there; a check that does not
need one accepts it unused, so every check has the same signature. Every
check raises ``AssertionError`` with a message naming what went wrong.

Strategies that walk a finite set of points and may run out (grid search)
pass ``may_exhaust=True``: they may then return fewer trials than asked for,
and once they do, must keep returning ``[]``.

Multi-fidelity strategies (successive halving) propose a configuration again
at a higher fidelity (a *promotion*), so the checks tell trials apart by
``(config, fidelity)``. For a strategy that never sets
:attr:`~search.strategy.Trial.fidelity` (it stays ``None``) that is the
configuration alone, so nothing is relaxed for it.

The spaces and the objective used by the checks are public so that strategy
authors can reuse them: :func:`mixed_space`, :func:`continuous_space`,
:func:`finite_space` and :func:`objective`.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from search._testing_spaces import (
    Factory,
    _ask,
    _identity,
    _make,
    _name,
    _run,
    _summary,
    continuous_space,
    finite_space,
    mixed_space,
    objective,
)
from search.space import Space, config_key
from search.strategy import Observation, Trial

__all__ = [
    "CHECKS",
    "check_ask_and_tell_errors",
    "check_distinct_batch",
    "check_enqueue_first",
    "check_finite_space",
    "check_picklable",
    "check_rejects_empty_space",
    "check_reproducible",
    "check_respects_space",
    "check_resume",
    "check_strategy",
    "check_survives_failures",
    "continuous_space",
    "finite_space",
    "mixed_space",
    "objective",
]

# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------


def check_rejects_empty_space(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that building a strategy on an empty space raises ``ValueError``."""
    try:
        factory(Space(), 0)
    except ValueError:
        return
    raise AssertionError("the strategy accepted an empty search space; expected ValueError")


def check_respects_space(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that every proposal is a valid, normalized config of a conditional space.

    Uses :func:`mixed_space`; trials must be numbered 0, 1, 2, ... and stay
    pending until told.

    """
    space = mixed_space()
    strategy = _make(factory, space, 0)
    assert strategy.space == space, f"{_name(strategy)} does not keep the space it was given"
    assert isinstance(strategy.seed, int), f"{_name(strategy)}.seed is not an int"
    trials = _ask(strategy, 3, may_exhaust, "respecting the space")
    pending = [t.number for t in strategy.pending]
    assert pending == [t.number for t in trials], (
        f"{_name(strategy)}: pending is {pending} after asking {[t.number for t in trials]}"
    )
    for trial in trials:
        strategy.tell(trial, Observation(value=objective(trial.config)))
    assert not strategy.pending, f"{_name(strategy)}: trials still pending after tell"
    _run(strategy, n_trials, may_exhaust, "respecting the space")


def check_reproducible(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that two strategies with the same seed and observations propose the same trials."""
    runs = []
    for _ in range(2):
        strategy = _make(factory, mixed_space(), 42)
        runs.append(_summary(_run(strategy, n_trials, may_exhaust, "reproducibility")))
    for a, b in zip(*runs, strict=False):
        assert a == b, (
            f"{_name(strategy)} is not reproducible: with seed 42 trial {a[0]} was "
            f"{a[1]!r} in one run and {b[1]!r} in the other"
        )
    assert len(runs[0]) == len(runs[1]), (
        f"{_name(strategy)} is not reproducible: {len(runs[0])} vs {len(runs[1])} trials"
    )


def check_distinct_batch(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that ``ask(8)`` gives distinct configs, also distinct from earlier ones.

    Uses :func:`continuous_space`. Trials are compared by ``(config,
    fidelity)``: a promotion to a higher fidelity is a new trial.

    """
    strategy = _make(factory, continuous_space(), 1)
    seen: set[Any] = set()
    for round_ in range(3):
        trials = _ask(strategy, 8, may_exhaust, "asking a batch of 8")
        keys = {_identity(t) for t in trials}
        assert not keys & seen, (
            f"{_name(strategy)}: batch {round_} of ask(8) repeats configs of earlier "
            "batches on a continuous space"
        )
        seen |= keys
        for trial in trials:
            strategy.tell(trial, Observation(value=objective(trial.config)))


def check_survives_failures(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that failed, timed-out and NaN/inf trials do not break the strategy.

    The first trials all fail; later ones mix failures and results. NaN and
    infinite values must be stored as ``"failed"`` and never be the best.

    """
    outcomes = [
        lambda t: Observation.failed(cost=0.1),
        lambda t: Observation(value=float("nan")),
        lambda t: Observation(value=float("inf")),
        lambda t: Observation.failed(status="timeout", cost=2.0),
        lambda t: Observation(value=-float("inf")),
        lambda t: Observation(value=objective(t.config)),
    ]

    def observe(trial: Trial) -> Observation:
        # the first 8 trials all fail one way or another; later ones sometimes succeed
        kind = trial.number % 5 if trial.number < 8 else trial.number % len(outcomes)
        return outcomes[kind](trial)

    strategy = _make(factory, mixed_space(), 3)
    trials = _run(strategy, n_trials, may_exhaust, "after failed trials", observe)
    assert len(strategy.history) == len(trials), (
        f"{_name(strategy)}: history holds {len(strategy.history)} of {len(trials)} told trials"
    )
    for trial, obs in strategy.history:
        if obs.status == "ok":
            assert all(np.isfinite(obs.objectives)), (
                f"{_name(strategy)}: trial {trial.number} told a non-finite value is stored "
                f'with status "ok"; it must be "failed"'
            )
    best = strategy.best
    if best is not None:
        assert best[1].finite, f"{_name(strategy)}: best is a non-finite observation"
        finite = [o.value for _, o in strategy.history if o.finite and o.value is not None]
        assert best[1].value == min(finite), f"{_name(strategy)}: best is not the lowest value"


def check_resume(factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False) -> None:
    """Check that a strategy restored from another's history proposes what it would.

    Strategy A runs 15 trials told with :func:`objective`; a fresh strategy B
    with the same seed restores A's history (given in reverse order); A's and
    B's next ``ask(3)`` must be equal.

    """
    space = mixed_space()
    a = _make(factory, space, 7)
    _run(a, 15, may_exhaust, "before resuming")
    b = _make(factory, space, 7)
    b.restore(list(reversed(a.history)))
    assert b.n_asked == a.n_asked, (
        f"{_name(b)}: n_asked is {b.n_asked} after restore, expected {a.n_asked}"
    )
    assert len(b.history) == len(a.history), (
        f"{_name(b)}: history holds {len(b.history)} pairs after restoring {len(a.history)}"
    )
    next_a = _summary(_ask(a, 3, may_exhaust, "continuing"))
    next_b = _summary(_ask(b, 3, may_exhaust, "after restore"))
    assert next_a == next_b, (
        f"{_name(b)} does not resume: the original proposes {next_a!r}, the restored "
        f"copy {next_b!r}"
    )


def check_enqueue_first(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that enqueued configs are asked first, once each."""
    space = mixed_space()
    rng = np.random.default_rng(2024)
    first, second = space.sample(rng), space.sample(rng)
    strategy = _make(factory, space, 5)
    strategy.enqueue(first)
    strategy.enqueue(second)
    strategy.enqueue(first)  # a repeat: skipped
    [t0] = _ask(strategy, 1, False, "asking the first enqueued config")
    assert t0.config == space.validate(first), (
        f"{_name(strategy)}: first trial {dict(t0.config)!r} is not the enqueued {first!r}"
    )
    batch = _ask(strategy, 3, may_exhaust, "asking after enqueue")
    assert batch and batch[0].config == space.validate(second), (
        f"{_name(strategy)}: the second enqueued config {second!r} did not come next"
    )
    strategy.enqueue(first)  # already asked: skipped
    later = _ask(strategy, 4, may_exhaust, "asking after enqueue")
    keys = {config_key(space.validate(first)), config_key(space.validate(second))}
    repeats = [dict(t.config) for t in batch[1:] + later if config_key(t.config) in keys]
    assert not repeats, f"{_name(strategy)}: enqueued configs were asked again: {repeats!r}"


def check_picklable(factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False) -> None:
    """Check that a pickled copy of a running strategy proposes the same next trials."""
    strategy = _make(factory, mixed_space(), 11)
    _run(strategy, 10, may_exhaust, "before pickling")
    try:
        copy = pickle.loads(pickle.dumps(strategy))
    except Exception as exc:  # noqa: BLE001 - any failure means "not picklable"
        raise AssertionError(f"{_name(strategy)} cannot be pickled: {exc!r}") from None
    original = _summary(_ask(strategy, 3, may_exhaust, "after pickling"))
    copied = _summary(_ask(copy, 3, may_exhaust, "unpickled"))
    assert original == copied, (
        f"{_name(strategy)}: the unpickled copy proposes {copied!r}, the original {original!r}"
    )


def check_ask_and_tell_errors(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check that misuse of ask and tell raises ``ValueError``.

    ``ask(0)``, telling a trial twice and telling an unknown trial must fail.

    """
    space = mixed_space()
    strategy = _make(factory, space, 13)
    cases: list[tuple[str, Callable[[], Any]]] = [("ask(0)", lambda: strategy.ask(0))]
    [trial] = _ask(strategy, 1, False, "checking errors")
    strategy.tell(trial, Observation(value=1.0))
    cases.append(("telling a trial twice", lambda: strategy.tell(trial, Observation(value=1.0))))
    stranger = Trial(10_000, space.sample(np.random.default_rng(0)))
    cases.append(("telling an unknown trial", lambda: strategy.tell(stranger, Observation(1.0))))
    for what, call in cases:
        try:
            call()
        except ValueError:
            continue
        raise AssertionError(f"{_name(strategy)}: {what} did not raise ValueError")


def check_finite_space(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Check behaviour on :func:`finite_space` (6 configs), asked for more than it holds.

    The first six proposals must cover the space without repeats. A strategy
    that may exhaust must then return ``[]``; any other must keep returning
    full batches of valid configs. For a strategy that sets fidelities, the
    first six must be distinct ``(config, fidelity)`` pairs (promotions
    repeat configs), and all its proposals together must cover the space.

    """
    space = finite_space()
    strategy = _make(factory, space, 17)
    trials: list[Trial] = []
    exhausted = False
    for _ in range(5):
        batch = _ask(strategy, 4, may_exhaust, "on a finite space")
        if exhausted:
            assert not batch, (
                f"{_name(strategy)} returned trials after signalling it was exhausted"
            )
        exhausted = len(batch) < 4
        for trial in batch:
            strategy.tell(trial, Observation(value=objective(trial.config)))
        trials.extend(batch)
    first = {_identity(t) for t in trials[:6]}
    assert len(first) == 6, (
        f"{_name(strategy)}: the first six proposals on a 6-config space hold only "
        f"{len(first)} distinct configs"
    )
    if any(t.fidelity is not None for t in trials):
        covered = {config_key(t.config) for t in trials}
        assert len(covered) == 6, (
            f"{_name(strategy)}: {len(trials)} proposals on a 6-config space cover only "
            f"{len(covered)} configs"
        )
    if may_exhaust:
        assert len(trials) <= 6, (
            f"{_name(strategy)}: {len(trials)} trials on a space of 6 configs"
        )


CHECKS: tuple[Callable[..., None], ...] = (
    check_rejects_empty_space,
    check_respects_space,
    check_reproducible,
    check_distinct_batch,
    check_survives_failures,
    check_resume,
    check_enqueue_first,
    check_picklable,
    check_ask_and_tell_errors,
    check_finite_space,
)
"""Every check, in the order :func:`check_strategy` runs them."""


def check_strategy(
    factory: Factory, *, n_trials: int = 30, may_exhaust: bool = False
) -> None:
    """Run every conformance check on a strategy.

    Parameters
    ----------
    factory : callable
        ``factory(space, seed) -> Strategy``; must build a fresh strategy
        on each call.
    n_trials : int, default 30
        Trials run by the longer checks.
    may_exhaust : bool, default False
        Set for strategies that walk a finite set of points (grids): they may
        return fewer trials than asked for once done.

    Raises
    ------
    AssertionError
        From the first check that fails, naming the problem.

    Examples
    --------
    >>> from search import RandomSearch
    >>> check_strategy(lambda space, seed: RandomSearch(space, seed=seed), n_trials=10)

    """
    for check in CHECKS:
        check(factory, n_trials=n_trials, may_exhaust=may_exhaust)
