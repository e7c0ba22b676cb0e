import math
import pickle
import time

import numpy as np
import pytest

from search import (
    BayesianSearch,
    Categorical,
    Float,
    Int,
    Observation,
    RandomSearch,
    Space,
    Trial,
    testing,
)
from search.space import config_key


def branin(config):
    x1, x2 = config["x1"], config["x2"]
    return (
        (x2 - 5.1 / (4 * math.pi**2) * x1**2 + 5 / math.pi * x1 - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1)
        + 10
    )


BRANIN = Space([Float("x1", -5.0, 10.0), Float("x2", 0.0, 15.0)])


def run(strategy, objective, n_trials, batch=1):
    while len(strategy.history) < n_trials:
        for trial in strategy.ask(min(batch, n_trials - len(strategy.history))):
            strategy.tell(trial, Observation(value=objective(trial.config)))
    return strategy


def large_conditional_space():
    branch = Space([
        Float("a", 1e-4, 1.0, log=True),
        Int("b", 1, 50),
        Categorical("c", ["x", "y", "z"]),
        Float("d", 0.0, 1.0, when={"c": ["x", "y"]}),
    ])
    return Space.conditional("model", {f"m{i}": branch for i in range(8)})


def test_conformance():
    # n_initial=5 so that the surrogate, not only the Sobol design, is checked
    testing.check_strategy(
        lambda space, seed: BayesianSearch(space, seed=seed, n_initial=5), n_trials=20
    )


def test_conformance_with_defaults():
    testing.check_strategy(lambda space, seed: BayesianSearch(space, seed=seed), n_trials=10)


@pytest.mark.parametrize(
    "check",
    [testing.check_reproducible, testing.check_resume, testing.check_picklable],
    ids=lambda c: c.__name__,
)
def test_forest_surrogate_is_deterministic(check):
    check(
        lambda space, seed: BayesianSearch(space, seed=seed, n_initial=5, surrogate="forest"),
        n_trials=12,
    )


def test_beats_random_search_on_branin():
    bayes, random = [], []
    for seed in range(5):
        for strategy, results in ((BayesianSearch, bayes), (RandomSearch, random)):
            s = run(strategy(BRANIN, seed=seed), branin, 30)
            results.append(s.best[1].value)
    # the global minimum is 0.397887; random search gets ~1-3 from 30 draws
    assert np.median(bayes) < np.median(random)
    assert np.median(bayes) < 1.0


def test_initial_design_is_sobol_then_model_based():
    s = BayesianSearch(BRANIN, seed=3, n_initial=6)
    first = [t.config for t in s.ask(6)]
    again = [t.config for t in BayesianSearch(BRANIN, seed=3, n_initial=6).ask(6)]
    assert first == again
    other = [t.config for t in BayesianSearch(BRANIN, seed=4, n_initial=6).ask(6)]
    assert first != other


def test_batch_gives_distinct_new_points_after_initial_design():
    s = run(BayesianSearch(BRANIN, seed=0), branin, 8)
    earlier = {config_key(t.config) for t, _ in s.history}
    for _ in range(2):
        batch = s.ask(4)
        keys = {config_key(t.config) for t in batch}
        assert len(batch) == 4 and len(keys) == 4
        assert not keys & earlier
        points = np.array([[t.config["x1"], t.config["x2"]] for t in batch])
        gaps = np.linalg.norm(points[:, None] - points[None], axis=-1)[np.triu_indices(4, 1)]
        assert gaps.min() > 1e-3  # a spread of points, not one point jittered
        earlier |= keys
        for trial in batch:
            s.tell(trial, Observation(value=branin(trial.config)))


def test_failures_do_not_crash_and_are_avoided():
    space = Space([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    failures = [
        lambda: Observation.failed(),
        lambda: Observation(value=float("nan")),
        lambda: Observation.failed(status="timeout", cost=3.0),
        lambda: Observation(value=float("inf")),
    ]
    s = BayesianSearch(space, seed=1, n_initial=8)
    later = []
    for i in range(30):
        [trial] = s.ask()
        x, y = trial.config["x"], trial.config["y"]
        if x > 0.6:  # the optimum (0.55, 0.3) lies next to the failing region
            s.tell(trial, failures[i % len(failures)]())
        else:
            s.tell(trial, Observation(value=(x - 0.55) ** 2 + (y - 0.3) ** 2))
        if i >= 8:
            later.append(x > 0.6)
    assert sum(later) <= 6  # random search would fail ~40% of the time (9 of 22)
    assert s.best[1].value < 0.01


def test_all_failures_keep_exploring():
    s = BayesianSearch(BRANIN, seed=2, n_initial=3)
    for _ in range(6):
        for trial in s.ask(2):
            s.tell(trial, Observation.failed())
    assert len({config_key(t.config) for t, _ in s.history}) == 12
    assert s.best is None


def test_mixed_conditional_space_uses_the_gp():
    space = testing.mixed_space()
    s = BayesianSearch(space, seed=0, n_initial=10)
    assert s.surrogate_kind == "gp"
    run(s, testing.objective, 24, batch=3)
    for trial, _ in s.history:
        assert space.validate(trial.config) == trial.config
    assert len({config_key(t.config) for t, _ in s.history}) == 24


def test_large_conditional_space_uses_one_gp_per_branch():
    space = large_conditional_space()
    s = BayesianSearch(space, seed=0, n_initial=8)
    assert s.surrogate_kind == "branch-gp"
    run(s, testing.objective, 20, batch=3)
    for trial, _ in s.history:
        assert space.validate(trial.config) == trial.config
    batch = s.ask(4)
    assert len({config_key(t.config) for t in batch}) == 4


def test_forest_fallback_on_a_large_conditional_space():
    space = large_conditional_space()
    s = BayesianSearch(space, seed=0, n_initial=8, surrogate="forest")
    run(s, testing.objective, 20, batch=3)
    for trial, _ in s.history:
        assert space.validate(trial.config) == trial.config
    batch = s.ask(4)
    assert len({config_key(t.config) for t in batch}) == 4


def test_conformance_of_the_branch_gp():
    def factory(space, seed):
        kind = "branch-gp" if BayesianSearch(space)._layout is not None else "auto"
        return BayesianSearch(space, seed=seed, n_initial=5, surrogate=kind)

    testing.check_strategy(factory, n_trials=10)


def _one_parameter_branches(n_branches):
    return Space.conditional(
        "m", {f"b{i}": [Float("x", 0.0, 1.0)] for i in range(n_branches)}
    )


def _branch_objective(config):
    # every branch is flat at 1.0 except b3, which drops to 0 near x = 0.9; the
    # portfolio below only tries x = 0.2 and 0.3, where b3 looks like the rest
    choice, params = Space.branch(config, "m")
    x = params["x"]
    if choice == "b3":
        return 1.0 - math.exp(-(((x - 0.9) / 0.15) ** 2))
    return 1.0 + 0.05 * (x - 0.5) ** 2 + 0.01 * int(choice[1:])


def test_branch_gp_explores_a_branch_known_only_at_its_defaults():
    space = _one_parameter_branches(6)
    found = {}
    for kind in ("branch-gp", "forest"):
        s = BayesianSearch(space, seed=0, n_initial=1, surrogate=kind)
        for i in range(6):
            for x in (0.2, 0.3):
                s.enqueue({"m": f"b{i}", f"b{i}:x": x})
        run(s, _branch_objective, 30)
        found[kind] = s.best[1].value
    assert found["branch-gp"] < 1e-3  # the GP of b3 is unsure far from 0.2-0.3
    assert found["branch-gp"] < found["forest"]


def test_branch_gp_predicts_per_branch_and_the_prior_for_empty_branches():
    from search._branching import branch_layout, fit_branch_gp
    from search._encoding import CubeEncoder

    space = _one_parameter_branches(5)
    enc = CubeEncoder(space)
    layout = branch_layout(enc)
    assert [len(c) for c in layout.columns] == [1] * 5
    configs = [{"m": "b0", "b0:x": x} for x in (0.1, 0.5, 0.9)] + [{"m": "b1", "b1:x": 0.5}]
    X = enc.gp_features(*enc.encode(configs))
    y = np.array([-1.0, 0.0, 1.0, 2.0])
    model = fit_branch_gp(layout, X, y, np.random.default_rng(0))
    mean, var = model.predict(X)
    assert np.allclose(mean, y, atol=0.3) and (var < 0.1).all()
    empty = enc.gp_features(*enc.encode([{"m": "b4", "b4:x": 0.5}]))
    assert np.allclose(model.predict(empty), ([0.0], [1.0]))
    more = model.condition_on(empty, np.array([-3.0]))
    assert more.predict(empty)[0][0] < -2.0 and model.predict(empty)[0][0] == 0.0
    value, variance, dmean, dvar = more.predict_with_grad(X[0])
    assert np.isclose(value, mean[0]) and dmean.shape == X[0].shape


@pytest.mark.parametrize("kind", ["forest", "branch-gp"])
def test_never_repeats_a_decoded_configuration(kind):
    # Int codes that round to the same value decode to the same configuration
    space = Space.conditional("m", {
        f"b{i}": [Int("n", 1, 3), Categorical("c", ["u", "v"])] for i in range(5)
    })
    s = BayesianSearch(space, seed=1, n_initial=4, surrogate=kind)
    run(s, testing.objective, 30)
    keys = [config_key(t.config) for t, _ in s.history]
    assert len(set(keys)) == 30  # of the 30 configurations the space holds


def test_forest_skips_near_repeats_of_asked_trials():
    # the optimum in a corner: without the gap, the trees' local search proposes
    # points within 0.02 of earlier ones again and again (19 times in these runs)
    space = Space([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
    for seed in range(3):
        s = BayesianSearch(space, seed=seed, n_initial=5, surrogate="forest")
        for _ in range(25):
            [trial] = s.ask()
            if trial.number >= s.n_initial and not s._interleaved(trial.number):
                new = space.encode(trial.config)
                for old, _ in s.history:
                    assert np.abs(space.encode(old.config) - new).max() > s.forest_min_gap
            s.tell(trial, Observation(value=trial.config["x"] + trial.config["y"]))
        assert s.best[1].value < 0.1


def test_forest_interleaves_random_trials():
    s = BayesianSearch(BRANIN, seed=0, n_initial=5, surrogate="forest")
    assert [n for n in range(5, 17) if s._interleaved(n)] == [8, 12, 16]
    assert not any(BayesianSearch(BRANIN, seed=0)._interleaved(n) for n in range(40))


def test_refinement_finds_the_optimum_of_a_quadratic():
    from search._acquisition import maximize_from_starts, top_distinct

    centre = np.array([0.3, 0.8, 0.55])

    def quadratic(z):
        return -float(((z - centre) ** 2).sum()), -2.0 * (z - centre)

    starts = np.random.default_rng(0).random((3, 3))
    points, values = maximize_from_starts(quadratic, starts)
    assert np.abs(points - centre).max() < 1e-4 and np.abs(values).max() < 1e-8
    # outside the cube, the optimum is on its face
    far = np.array([1.4, 0.5, 0.5])
    [point], _ = maximize_from_starts(
        lambda z: (-float(((z - far) ** 2).sum()), -2.0 * (z - far)), starts[:1]
    )
    assert np.allclose(point, [1.0, 0.5, 0.5], atol=1e-5)
    scores = np.array([3.0, 5.0, 5.0, 1.0])
    rows = np.array([[0.0], [1.0], [1.0], [2.0]])
    assert top_distinct(scores, rows, 3) == [1, 0, 3]


def test_margin_stops_resampling_the_incumbent():
    # Branin with this seed once spent 25 of 50 evaluations within 0.01 of one
    # boundary point (regret 1.5); asking for a margin of improvement moves on
    s = run(BayesianSearch(BRANIN, seed=4), branin, 40)
    points = np.array([[t.config["x1"], t.config["x2"]] for t, _ in s.history])
    best = points[np.argmin([o.value for _, o in s.history])]
    close = np.abs(points - best).max(axis=1) < 0.15
    assert close.sum() <= 12
    assert s.best[1].value - 0.397887 < 0.05


def test_restore_with_pending_trials_continues_identically():
    a = run(BayesianSearch(BRANIN, seed=5, n_initial=5), branin, 9)
    pending = a.ask(2)
    b = BayesianSearch(BRANIN, seed=5, n_initial=5)
    b.restore(a.history + [(t, None) for t in pending])
    assert [t.config for t in b.pending] == [t.config for t in pending]
    assert b.ask(3) == a.ask(3)
    c = pickle.loads(pickle.dumps(a))
    trial = a.pending[0]
    for strategy in (a, c):
        strategy.tell(trial, Observation(value=branin(trial.config)))
    assert a.ask(2) == c.ask(2)


def test_rejects_bad_arguments_and_several_objectives():
    with pytest.raises(ValueError, match="n_initial"):
        BayesianSearch(BRANIN, n_initial=0)
    with pytest.raises(ValueError, match="surrogate"):
        BayesianSearch(BRANIN, surrogate="svm")
    s = BayesianSearch(BRANIN, seed=0, n_initial=2)
    for trial in s.ask(2):
        s.tell(trial, Observation(values=(1.0, 2.0)))
    with pytest.raises(ValueError, match="one objective"):
        s.ask()


def test_ask_with_200_observations_is_fast():
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(6)])
    rng = np.random.default_rng(0)
    history = []
    for i in range(200):
        config = space.sample(rng)
        value = float(np.sum((space.encode(config) - 0.3) ** 2) + 0.01 * rng.normal())
        history.append((Trial(i, config), Observation(value=value)))
    s = BayesianSearch(space, seed=0)
    s.restore(history)
    start = time.perf_counter()
    [trial] = s.ask()
    assert time.perf_counter() - start < 5.0  # typically ~0.1 s; the bound only catches blow-ups
    assert space.validate(trial.config)


# trial cost ------------------------------------------------------------------------
COSTLY = Space([Float("x", 0.0, 1.0), Float("z", 0.0, 1.0)])


def run_with_cost(strategy, n_trials):
    """z alone sets the value; x alone sets the cost (1 to 55 seconds)."""
    while len(strategy.history) < n_trials:
        [trial] = strategy.ask()
        x, z = trial.config["x"], trial.config["z"]
        strategy.tell(trial, Observation(value=(z - 0.3) ** 2, cost=math.exp(4 * x)))
    return strategy


def model_based_x(strategy):
    trials = [t for t, _ in strategy.history if t.number >= strategy.n_initial]
    return np.array([t.config["x"] for t in trials])


def test_cost_budget_steers_proposals_to_cheap_configurations():
    plain = run_with_cost(BayesianSearch(COSTLY, seed=0, n_initial=6), 20)
    aware = BayesianSearch(COSTLY, seed=0, n_initial=6)
    aware.cost_budget = 1e9  # nothing spent yet, in effect: EI per second
    run_with_cost(aware, 20)
    assert np.median(model_based_x(aware)) < 0.1 < np.median(model_based_x(plain))
    # the objective is still minimised
    assert aware.best[1].value < 0.01


def test_spent_cost_budget_gives_plain_proposals():
    plain = run_with_cost(BayesianSearch(COSTLY, seed=1, n_initial=6), 12)
    spent = BayesianSearch(COSTLY, seed=1, n_initial=6)
    spent.cost_budget = 1.0  # the first trial spends it all: alpha is 0
    run_with_cost(spent, 12)
    assert [t.config for t, _ in spent.history] == [t.config for t, _ in plain.history]


def test_cost_exponent_falls_from_one_to_zero():
    from search._cost import cost_exponent

    assert cost_exponent(0.0, 100.0) == 1.0
    assert cost_exponent(25.0, 100.0) == pytest.approx(0.75)
    assert cost_exponent(150.0, 100.0) == 0.0
    assert cost_exponent(10.0, None) == 0.0


def test_the_trees_take_over_from_the_gp_past_its_observation_limit():
    from search import Observation
    from search.bayesian import GP_MAX_OBSERVATIONS

    s = BayesianSearch(Space([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)]), seed=0)
    rng = np.random.default_rng(0)
    for trial in s.ask(GP_MAX_OBSERVATIONS):  # told at random: only the count matters
        s.tell(trial, Observation(value=float(rng.normal())))
    assert s.surrogate_kind == "gp"
    trial = s.ask(1)[0]
    s.tell(trial, Observation(value=0.0))
    assert s.surrogate_kind == "forest"
    proposed = s.ask(1)[0]
    assert proposed.config not in [t.config for t, _ in s.history]
