"""GeneticSearch: conformance, evolution (elitism, NSGA-II), conditions, batches, resume."""

import math
import pickle
import random

import numpy as np
import pytest
from deap import creator, tools

import search.genetic as genetic
from search import (
    Categorical,
    Float,
    GeneticSearch,
    Int,
    Observation,
    RandomSearch,
    Space,
    testing,
)

FACTORIES = {
    "default": lambda space, seed: GeneticSearch(space, seed=seed),
    # small generations so that the 15-30 trial checks span several of them
    "small": lambda space, seed: GeneticSearch(
        space, seed=seed, population_size=4, offspring_size=3
    ),
    "random-init": lambda space, seed: GeneticSearch(
        space, seed=seed, population_size=5, initial="random", mutation_rate=0.3
    ),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_conformance(name):
    testing.check_strategy(FACTORIES[name], n_trials=40)


# --- helpers -------------------------------------------------------------------------------


def rosenbrock_space(d=4):
    return Space([Float(f"x{i}", -5.0, 10.0) for i in range(d)])


def rosenbrock(config):
    x = np.array([config[f"x{i}"] for i in range(len(config))])
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def zdt1(config):
    x = [config[f"x{i}"] for i in range(len(config))]
    g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
    return (x[0], g * (1.0 - math.sqrt(x[0] / g)))


def hypervolume(points, ref=(1.1, 11.0)):
    """Area dominated by 2-D points (minimised) up to ``ref``."""
    total, ceiling = 0.0, ref[1]
    for f1, f2 in sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1]):
        if f2 < ceiling:
            total += (ref[0] - f1) * (ceiling - f2)
            ceiling = f2
    return total


def run(strategy, n_trials, observe, batch=4):
    while strategy.n_asked < n_trials:
        for trial in strategy.ask(min(batch, n_trials - strategy.n_asked)):
            strategy.tell(trial, observe(trial))
    return strategy


def best_value(strategy):
    return strategy.best[1].value


# --- optimisation quality ------------------------------------------------------------------


def test_beats_random_search_on_rosenbrock():
    space = rosenbrock_space()

    def observe(trial):
        return Observation(value=rosenbrock(trial.config))

    ga, rs = [], []
    for seed in range(5):
        ga.append(best_value(run(GeneticSearch(space, seed=seed), 200, observe)))
        rs.append(best_value(run(RandomSearch(space, seed=seed), 200, observe)))
    # measured: GA median ~9, random median ~420 (best of 200 draws)
    assert np.median(ga) < np.median(rs) / 5, (ga, rs)
    assert sum(g < r for g, r in zip(ga, rs, strict=True)) >= 4, (ga, rs)


def test_elitism_keeps_the_best_config_in_the_population():
    space = rosenbrock_space(3)
    strategy = GeneticSearch(space, seed=3, population_size=6, offspring_size=4)
    assert strategy.population == []
    while strategy.n_asked < 78:
        for trial in strategy.ask(min(3, 78 - strategy.n_asked)):
            strategy.tell(trial, Observation(value=rosenbrock(trial.config)))
            if strategy.generation < 0:
                continue
            # the best of the trials of every generation selected so far survives
            selected = 6 + 4 * strategy.generation
            values = [(o.value, t.number) for t, o in strategy.history if t.number < selected]
            numbers = [t.number for t, _ in strategy.population]
            assert len(numbers) == strategy.population_size
            assert min(values)[1] in numbers
    assert strategy.generation == (78 - 6) // 4
    assert strategy.best[0].number in [t.number for t, _ in strategy.population]


def test_several_objectives_use_nsga2_and_approach_the_pareto_front(monkeypatch):
    calls = []
    real = tools.selNSGA2

    def spy(individuals, k, *args, **kwargs):
        calls.append((len(individuals), k))
        return real(individuals, k, *args, **kwargs)

    monkeypatch.setattr(tools, "selNSGA2", spy)
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(4)])

    def observe(trial):
        return Observation(values=zdt1(trial.config))

    ga, rs = [], []
    for seed in range(5):
        strategy = run(GeneticSearch(space, seed=seed), 200, observe)
        population = strategy.population
        assert len({t.number for t, _ in population}) == len(population) == 20
        ga.append(hypervolume([obs.values for _, obs in population]))
        random_run = run(RandomSearch(space, seed=seed), 200, observe)
        rs.append(hypervolume([obs.values for _, obs in random_run.history]))
    assert calls and all(k == 20 and n == 40 for n, k in calls)
    # the 20 survivors dominate more than all 200 random points (measured ~11.4 vs ~10.3)
    assert np.median(ga) > np.median(rs), (ga, rs)
    assert min(ga) > max(rs) - 0.5, (ga, rs)


def test_three_objectives():
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(3)])
    strategy = GeneticSearch(space, seed=0, population_size=6)

    def observe(trial):
        x = trial.config
        return Observation(values=(x["x0"], x["x1"], 2.0 - x["x0"] - x["x1"] + x["x2"]))

    run(strategy, 30, observe)
    assert strategy.generation >= 3
    assert hasattr(creator, "SearchGeneticIndividual3")
    assert genetic._individual_class(3) is genetic._individual_class(3)


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("objectives", [1, 2])
def test_failures_never_outrank_results(objectives):
    space = rosenbrock_space(2)
    strategy = GeneticSearch(space, seed=1, population_size=6, offspring_size=5)
    bad = [
        Observation.failed(),
        Observation(value=float("nan")),
        Observation.failed(status="timeout"),
        Observation(value=-float("inf")),
    ]
    while strategy.n_asked < 60:
        for trial in strategy.ask(4):
            if trial.number % 3 == 0:
                obs = bad[trial.number % len(bad)]
            else:
                value = rosenbrock(trial.config)
                obs = Observation(value=value) if objectives == 1 else Observation(
                    values=(value, trial.config["x0"])
                )
            strategy.tell(trial, obs)
    n_finite = sum(obs.finite for _, obs in strategy.history)
    finite_in_population = sum(obs.finite for _, obs in strategy.population)
    # NSGA-II puts every failed trial behind every result; the tournament always keeps an
    # elite; either way far more results than failures survive
    assert n_finite > strategy.population_size
    if objectives == 2:
        assert finite_in_population == strategy.population_size
    else:
        assert strategy.population[0][1].finite
        assert finite_in_population > strategy.population_size // 2


def test_all_failures_then_results():
    strategy = GeneticSearch(rosenbrock_space(2), seed=0, population_size=4)
    run(strategy, 12, lambda t: Observation.failed())
    assert strategy.generation == 2
    run(strategy, 24, lambda t: Observation(value=rosenbrock(t.config)))
    assert strategy.population[0][1].finite


def test_objective_count_must_not_change():
    strategy = GeneticSearch(rosenbrock_space(2), seed=0)
    first, second = strategy.ask(2)
    strategy.tell(first, Observation(values=(1.0, 2.0)))
    with pytest.raises(ValueError, match="objective"):
        strategy.tell(second, Observation(value=1.0))
    strategy.tell(second, Observation.failed())  # still pending, and failures always fit


# --- conditional spaces --------------------------------------------------------------------


def test_mixed_space_proposals_always_validate():
    space = testing.mixed_space()
    strategy = GeneticSearch(space, seed=5, population_size=8, offspring_size=6)
    models = set()
    while strategy.n_asked < 150:
        for trial in strategy.ask(5):
            assert space.validate(trial.config) == trial.config
            for p in space:
                assert space.is_active(p.name, trial.config) == (p.name in trial.config)
            models.add(trial.config["model"])
            strategy.tell(trial, Observation(value=testing.objective(trial.config)))
    assert models == {"linear", "tree", "knn", "dummy"}
    assert len({tuple(sorted(t.config.items())) for t, _ in strategy.history}) == 150


def branch_space():
    return Space.conditional(
        "model",
        {
            "a": Space([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)]),
            "b": Space([Float("z", 0.0, 1.0), Int("n", 1, 100)]),
        },
    )


def test_crossover_moves_a_branch_with_its_parameters():
    space = branch_space()
    strategy = GeneticSearch(space, seed=0, crossover_rate=1.0, mutation_rate=0.0)
    pa = {"model": "a", "a:x": 0.1, "a:y": 0.2}
    pb = {"model": "b", "b:z": 0.3, "b:n": 42}
    seen_models = set()
    for k in range(40):
        with genetic._seeded_random(k):
            child = space.decode(strategy._vary(space.encode(pa), space.encode(pb)))
        seen_models.add(child["model"])
        assert child == (pa if child["model"] == "a" else pb)
    assert seen_models == {"a", "b"}


def test_crossover_mixes_parameters_within_a_shared_branch():
    space = branch_space()
    strategy = GeneticSearch(space, seed=0, crossover_rate=1.0, mutation_rate=0.0)
    p1 = {"model": "a", "a:x": 0.1, "a:y": 0.2}
    p2 = {"model": "a", "a:x": 0.7, "a:y": 0.8}
    children = set()
    for k in range(40):
        with genetic._seeded_random(k):
            child = space.decode(strategy._vary(space.encode(p1), space.encode(p2)))
        assert child["model"] == "a"
        children.add((round(child["a:x"], 6), round(child["a:y"], 6)))
    assert children == {(0.1, 0.2), (0.7, 0.8), (0.1, 0.8), (0.7, 0.2)}


# --- batches, resume, pickling, determinism ------------------------------------------------


def test_batch_ask_spans_generations():
    space = rosenbrock_space(2)
    strategy = GeneticSearch(space, seed=2, population_size=4, offspring_size=3)
    run(strategy, 4, lambda t: Observation(value=rosenbrock(t.config)))
    assert strategy.generation == 0
    batch = strategy.ask(7)  # generation 1 (4..6), generation 2 (7..9), generation 3 (10)
    assert [t.number for t in batch] == list(range(4, 11))
    assert len({tuple(t.config.values()) for t in batch}) == 7
    for trial in reversed(batch):  # told out of order
        strategy.tell(trial, Observation(value=rosenbrock(trial.config)))
    assert strategy.generation == 2
    [last_of_3, first_of_4] = strategy.ask(2)
    strategy.tell(first_of_4, Observation(value=1.0))
    assert strategy.generation == 2
    strategy.tell(last_of_3, Observation(value=1.0))
    assert strategy.generation == 3


def test_restore_with_pending_and_out_of_order_tells():
    space = testing.mixed_space()
    a = GeneticSearch(space, seed=9, population_size=5, offspring_size=4)
    rng = random.Random(0)
    pending = []
    while a.n_asked < 40:
        pending.extend(a.ask(rng.randint(1, 6)))
        rng.shuffle(pending)
        while len(pending) > 3:  # keep a few running, like parallel workers
            trial = pending.pop()
            a.tell(trial, Observation(value=testing.objective(trial.config)))
    stored = a.history + [(t, None) for t in a.pending]
    b = GeneticSearch(space, seed=9, population_size=5, offspring_size=4)
    b.restore(reversed(stored))
    assert b.generation == a.generation
    assert [t.number for t, _ in b.population] == [t.number for t, _ in a.population]
    c = pickle.loads(pickle.dumps(a))
    nxt = [(t.number, t.config) for t in a.ask(6)]
    assert [(t.number, t.config) for t in b.ask(6)] == nxt
    assert [(t.number, t.config) for t in c.ask(6)] == nxt


def test_same_proposals_whatever_the_batching():
    space = rosenbrock_space(3)

    def trials(batch):
        strategy = GeneticSearch(space, seed=4, population_size=5, offspring_size=5)
        run(strategy, 30, lambda t: Observation(value=rosenbrock(t.config)), batch=batch)
        pairs = sorted(strategy.history, key=lambda pair: pair[0].number)
        return [(t.number, t.config) for t, _ in pairs]

    # asking whole generations at once or one trial at a time gives the same search
    assert trials(5) == trials(1)


def test_global_random_state_is_left_alone():
    random.seed(123)
    before = random.getstate()
    run(GeneticSearch(rosenbrock_space(2), seed=0, population_size=4), 20,
        lambda t: Observation(value=rosenbrock(t.config)))
    assert random.getstate() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"population_size": 1}, "population_size"),
        ({"offspring_size": 0}, "offspring_size"),
        ({"mutation_rate": 1.5}, "mutation_rate"),
        ({"crossover_rate": -0.1}, "crossover_rate"),
        ({"tournament_size": 0}, "tournament_size"),
        ({"mutation_eta": 0}, "mutation_eta"),
        ({"initial": "lhs"}, "initial"),
    ],
)
def test_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GeneticSearch(rosenbrock_space(2), **kwargs)


def test_categorical_only_space():
    space = Space([Categorical(f"c{i}", ["a", "b", "c"]) for i in range(3)])
    strategy = GeneticSearch(space, seed=0, population_size=4)
    run(strategy, 27, lambda t: Observation(value=sum(v == "a" for v in t.config.values())))
    assert len({tuple(t.config.values()) for t, _ in strategy.history}) == 27
