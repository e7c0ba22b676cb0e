"""Successive halving and Hyperband: conformance, promotion rules, resume, and real benefit."""

import math
import pickle

import numpy as np
import pytest

from search import (
    BayesianSearch,
    Float,
    Hyperband,
    Observation,
    RandomSearch,
    Space,
    SuccessiveHalving,
    testing,
)
from search.space import config_key

FACTORIES = {
    "sh": lambda space, seed: SuccessiveHalving(space, seed=seed),
    "hyperband": lambda space, seed: Hyperband(space, seed=seed),
}


@pytest.mark.parametrize("check", testing.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", list(FACTORIES))
def test_conformance(name, check):
    check(FACTORIES[name], n_trials=30)


@pytest.mark.parametrize(
    "check", [testing.check_reproducible, testing.check_resume], ids=lambda c: c.__name__
)
def test_conformance_with_a_model_based_base(check):
    check(lambda space, seed: SuccessiveHalving(space, seed=seed, base="bayesian"), n_trials=15)


def test_kit_catches_a_repeated_config_at_the_same_fidelity():
    class Doubler(SuccessiveHalving):
        def _suggest(self, n):
            out = super()._suggest(n)
            return [out[0]] * len(out)

    with pytest.raises(AssertionError, match="repeated configs"):
        testing.check_distinct_batch(lambda space, seed: Doubler(space, seed=seed))


def line(lo=0.0, hi=1.0):
    return Space([Float("x", lo, hi)])


def tell_all(strategy, trials, value=lambda t: t.config["x"]):
    for trial in trials:
        strategy.tell(trial, Observation(value=value(trial), fidelity=trial.fidelity))


# --- rungs and arguments ---------------------------------------------------------------


def test_rungs_and_brackets():
    assert SuccessiveHalving(line(), seed=0).rungs == pytest.approx((1 / 9, 1 / 3, 1.0))
    assert SuccessiveHalving(line(), seed=0, min_fidelity=0.1).rungs == pytest.approx(
        (0.1, 0.3, 0.9, 1.0)
    )
    assert SuccessiveHalving(line(), seed=0, min_fidelity=1.0).rungs == (1.0,)
    hb = Hyperband(line(), seed=0)
    assert hb.rungs == pytest.approx((1 / 27, 1 / 9, 1 / 3, 1.0))
    assert hb.brackets == pytest.approx(hb.rungs)
    assert [hb.schedule.count(s) for s in range(4)] == [27, 12, 6, 4]
    assert hb.schedule[:4] == (0, 1, 0, 2)  # interleaved, not in blocks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_fidelity": 0.0}, r"min_fidelity must be in \(0, 1\], got 0.0"),
        ({"min_fidelity": 1.5}, r"min_fidelity must be in \(0, 1\], got 1.5"),
        ({"min_fidelity": "low"}, r"min_fidelity must be a number in \(0, 1\], got 'low'"),
        ({"eta": 1}, "eta must be a finite number > 1, got 1.0"),
        ({"eta": 0.5}, "eta must be a finite number > 1, got 0.5"),
        ({"base": "annealing"}, "unknown base strategy 'annealing'; known: "),
        ({"min_fidelity": 1e-12, "eta": 1.01}, "more than 30 rungs; raise min_fidelity or eta"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SuccessiveHalving(line(), seed=0, **kwargs)


def test_base_factory_must_build_a_strategy():
    with pytest.raises(TypeError, match="must return a search.Strategy"):
        SuccessiveHalving(line(), seed=0, base=lambda space, seed: object())


# --- promotions ----------------------------------------------------------------------------


def test_new_configs_start_at_the_lowest_rung():
    sh = SuccessiveHalving(line(), seed=0)
    trials = sh.ask(5)
    assert [t.fidelity for t in trials] == pytest.approx([1 / 9] * 5)
    assert all(t.fidelity is not None for t in trials)


def test_only_the_top_third_is_promoted():
    sh = SuccessiveHalving(line(), seed=1)
    first = sh.ask(9)
    tell_all(sh, first)
    best3 = sorted(first, key=lambda t: t.config["x"])[:3]
    batch = sh.ask(9)  # promotions come first, then new configurations
    promoted = [t for t in batch if t.fidelity > 1 / 9 + 1e-12]
    assert [t.fidelity for t in batch[:3]] == pytest.approx([1 / 3] * 3)
    assert [config_key(t.config) for t in promoted] == [config_key(t.config) for t in best3]
    assert all(t.fidelity == pytest.approx(1 / 9) for t in batch[3:])
    # the three at 1/3 finish: only the best of them goes to full fidelity
    tell_all(sh, batch[:3])
    [top] = sh.ask(1)
    assert top.fidelity == 1.0
    assert top.config == best3[0].config
    # nothing more to promote until more trials finish
    assert all(t.fidelity == pytest.approx(1 / 9) for t in sh.ask(2))


def test_pending_trials_do_not_count_toward_a_rung():
    sh = SuccessiveHalving(line(), seed=2)
    trials = sh.ask(9)
    tell_all(sh, trials[:2])  # two finished: floor(2 / 3) = 0 promotions
    assert all(t.fidelity == pytest.approx(1 / 9) for t in sh.ask(3))


@pytest.mark.parametrize(
    "failure",
    [
        lambda t: Observation.failed(fidelity=t.fidelity),
        lambda t: Observation.failed(status="timeout"),
        lambda t: Observation(value=float("nan")),
        lambda t: Observation(value=float("inf")),
    ],
    ids=["failed", "timeout", "nan", "inf"],
)
def test_failed_trials_are_never_promoted(failure):
    sh = SuccessiveHalving(line(), seed=3)
    trials = sh.ask(9)
    good = trials[0]
    for trial in trials:
        if trial is good:
            sh.tell(trial, Observation(value=5.0))
        else:
            sh.tell(trial, failure(trial))
    batch = sh.ask(6)
    promoted = [t for t in batch if t.fidelity > 1 / 9 + 1e-12]
    # 9 finished -> 3 slots at the top, but only one trial succeeded
    assert [t.config for t in promoted] == [good.config]


def test_all_failed_means_no_promotion():
    sh = SuccessiveHalving(line(), seed=4)
    for trial in sh.ask(9):
        sh.tell(trial, Observation.failed())
    assert all(t.fidelity == pytest.approx(1 / 9) for t in sh.ask(4))


def test_base_is_told_lowest_rung_results_only():
    sh = SuccessiveHalving(line(), seed=5)
    for _ in range(40):
        [trial] = sh.ask()
        sh.tell(trial, Observation(value=trial.config["x"]))
    fidelities = {t.fidelity for t, _ in sh.history}
    assert fidelities == set(sh.rungs)
    base_history = sh.base_strategy.history
    new_configs = [t for t, _ in sh.history if t.fidelity == sh.rungs[0]]
    assert len(base_history) == len(new_configs)
    assert {o.fidelity for _, o in base_history} == {sh.rungs[0]}


def test_base_sees_the_same_share_of_the_cost_budget_left():
    sh = SuccessiveHalving(line(), seed=5, base=BayesianSearch)
    sh.plan_time(40.0)
    assert sh.cost_budget == 40.0
    checked = 0
    for _ in range(30):
        [trial] = sh.ask()
        spent = sum(o.cost for _, o in sh.history)
        base_spent = sum(o.cost for _, o in sh.base_strategy.history)
        if trial.fidelity == sh.rungs[0] and base_spent < spent:  # new config, after promotions
            assert base_spent / sh.base_strategy.cost_budget == pytest.approx(spent / 40.0)
            checked += 1
        sh.tell(trial, Observation(value=trial.config["x"], cost=trial.fidelity))
    assert checked >= 5


def test_no_cost_budget_leaves_the_base_without_one():
    sh = SuccessiveHalving(line(), seed=5, base=BayesianSearch)
    for _ in range(15):
        [trial] = sh.ask()
        sh.tell(trial, Observation(value=trial.config["x"], cost=trial.fidelity))
    assert sh.base_strategy.cost_budget is None


def test_enqueued_configs_come_first_at_the_lowest_rung():
    sh = SuccessiveHalving(line(), seed=6)
    tell_all(sh, sh.ask(9))
    assert sh.enqueue({"x": 0.5})
    assert not sh.enqueue({"x": 0.5})
    batch = sh.ask(3)
    assert batch[0].config == {"x": 0.5} and batch[0].fidelity == pytest.approx(1 / 9)
    assert batch[1].fidelity == pytest.approx(1 / 3)  # then the promotions


def test_incumbent_compares_like_with_like():
    sh = SuccessiveHalving(line(), seed=7)
    trials = sh.ask(9)
    tell_all(sh, trials, value=lambda t: -100.0 if t.number == 8 else t.config["x"])
    promoted = sh.ask(3)
    tell_all(sh, promoted)
    [full] = sh.ask(1)
    sh.tell(full, Observation(value=3.0))
    assert sh.best[0].number == 8  # the raw best compares across fidelities
    assert sh.incumbent[0].number == full.number


def test_resume_with_pending_trials():
    def run(strategy, pending):
        for _ in range(6):
            batch = strategy.ask(3)
            tell_all(strategy, batch)
        return strategy, strategy.ask(pending)

    for cls in (SuccessiveHalving, Hyperband):
        a, pending = run(cls(line(), seed=8), 2)
        b = cls(line(), seed=8)
        b.restore(a.history + [(t, None) for t in pending])
        assert [t.number for t in b.pending] == [t.number for t in pending]
        tell_all(a, pending)
        tell_all(b, pending)
        assert a.ask(4) == b.ask(4)


def test_restore_rejects_a_history_from_other_rungs():
    a = SuccessiveHalving(line(), seed=9, min_fidelity=0.25, eta=2)
    tell_all(a, a.ask(4))
    with pytest.raises(ValueError, match="not one of the rungs"):
        SuccessiveHalving(line(), seed=9).restore(a.history)


def test_pickles_with_a_lambda_base():
    sh = SuccessiveHalving(line(), seed=10, base=lambda space, seed: RandomSearch(space, seed=seed))
    tell_all(sh, sh.ask(9))
    copy = pickle.loads(pickle.dumps(sh))
    assert copy.ask(4) == sh.ask(4)


def test_bayesian_base_by_class():
    sh = SuccessiveHalving(line(), seed=11, base=BayesianSearch)
    assert isinstance(sh.base_strategy, BayesianSearch)
    tell_all(sh, sh.ask(6))
    assert len(sh.ask(3)) == 3


def test_hyperband_deals_new_configs_to_brackets_in_turn():
    hb = Hyperband(line(), seed=12)
    trials = hb.ask(8)  # nothing finished: all new configurations
    expected = [hb.brackets[s] for s in hb.schedule[:8]]
    assert [t.fidelity for t in trials] == pytest.approx(expected)
    assert {t.fidelity for t in trials} == set(hb.rungs)


# --- the point of it all ---------------------------------------------------------------


DIM = 6


def toy_space():
    return Space([Float(f"x{i}", 0.0, 1.0) for i in range(DIM)])


def true_loss(config):
    return sum((config[f"x{i}"] - 0.3) ** 2 for i in range(DIM))


def run_with_budget(strategy, budget, seed, noise=0.01):
    """Evaluate f(x) + noise / fidelity until the summed fidelity (the cost) reaches budget."""
    spent = 0.0
    while spent < budget - 1e-9:
        [trial] = strategy.ask()
        fidelity = trial.fidelity or 1.0
        rng = np.random.default_rng([seed, trial.number])
        value = true_loss(trial.config) + noise * rng.standard_normal() / fidelity
        strategy.tell(trial, Observation(value=value, cost=fidelity, fidelity=fidelity))
        spent += fidelity
    full = [(o.value, t) for t, o in strategy.history if math.isclose(t.fidelity or 1.0, 1.0)]
    chosen = min(full, key=lambda pair: pair[0])[1]
    return true_loss(chosen.config)


@pytest.mark.parametrize("cls", [SuccessiveHalving, Hyperband])
def test_beats_random_search_at_the_same_cost(cls):
    seeds = range(5)
    plain = [run_with_budget(RandomSearch(toy_space(), seed=s), 20, s) for s in seeds]
    halving = [run_with_budget(cls(toy_space(), seed=s), 20, s) for s in seeds]
    assert np.median(halving) < 0.85 * np.median(plain)
    assert sum(h < p for h, p in zip(halving, plain, strict=True)) >= 3
