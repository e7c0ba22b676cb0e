"""The scripted-search driver: search, failures, budgets, storage and resume, workers."""

import math
import sqlite3
import time

import pytest

from search import (
    Categorical,
    Float,
    Int,
    OptimizeResult,
    RandomSearch,
    Space,
    SuccessiveHalving,
    optimize,
)


def plane():
    return Space([Float("x", -3.0, 3.0), Float("y", -3.0, 3.0)])


def quadratic(config):
    return (config["x"] - 1.0) ** 2 + (config["y"] + 0.5) ** 2


def test_finds_the_minimum_of_a_quadratic():
    result = optimize(quadratic, plane(), n_trials=25, seed=0)
    assert isinstance(result, OptimizeResult)
    assert result.best_value < 0.05
    assert result.best_config["x"] == pytest.approx(1.0, abs=0.25)
    assert result.best_config["y"] == pytest.approx(-0.5, abs=0.25)
    assert [t.number for t, _, _ in result.trials] == list(range(25))
    assert result.best_value == min(o.value for _, o, _ in result.trials)
    assert result.best_trial.config == result.best_config


def test_maximize():
    result = optimize(lambda c: -quadratic(c), plane(), strategy="random", n_trials=30, seed=1,
                      direction="maximize")
    values = [o.value for _, o, _ in result.trials]
    assert result.best_value == max(values) <= 0  # values as the objective returned them
    model_view = [o.value for _, o in result.strategy.history]
    assert model_view == [-v for v in values]  # the strategy minimises the negation


def flaky(config):
    if config["x"] > 1.5:
        raise RuntimeError("diverged")
    if config["x"] < -1.5:
        return float("nan")
    if config["y"] > 2.0:
        return "not a number"
    return quadratic(config)


def test_failures_and_nan_are_recorded_not_fatal(caplog):
    result = optimize(flaky, plane(), strategy="random", n_trials=30, seed=2)
    assert len(result.trials) == 30
    errors = {e for _, _, e in result.trials if e is not None}
    assert "RuntimeError: diverged" in errors
    assert "objective returned nan" in errors
    assert any("not a number" in e and "expected a number" in e for e in errors)
    for _, obs, error in result.trials:
        assert (obs.status == "ok") == (error is None)
    ok = [o.value for _, o, _ in result.trials if o.status == "ok"]
    assert result.best_value == min(ok)
    assert "diverged" in caplog.text


def test_all_failed_gives_no_best():
    result = optimize(lambda c: 1 / 0, plane(), strategy="random", n_trials=4, seed=3)
    assert result.best_config is None and result.best_value is None
    assert all(e == "ZeroDivisionError: division by zero" for _, _, e in result.trials)


def test_uncaught_exceptions_propagate_and_finished_trials_stay(tmp_path):
    path = tmp_path / "study.db"

    def objective(config):
        if objective.calls == 3:
            raise KeyError("stop")
        objective.calls += 1
        return quadratic(config)

    objective.calls = 0
    with pytest.raises(KeyError, match="stop"):
        optimize(objective, plane(), strategy="random", n_trials=10, seed=4, storage=path,
                 catch=(ValueError,))
    resumed = optimize(quadratic, plane(), strategy="random", n_trials=2, storage=path)
    # trials 0-2 were stored; trial 3 raised and was not: numbering resumes at 3
    assert [t.number for t, _, _ in resumed.trials] == [0, 1, 2, 3, 4]
    assert all(o.status == "ok" for _, o, _ in resumed.trials)


def test_timeout_is_respected():
    def slow(config):
        time.sleep(0.02)
        return quadratic(config)

    start = time.perf_counter()
    result = optimize(slow, plane(), strategy="random", timeout=0.25, seed=5)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.25 + 0.5
    assert 1 <= len(result.trials) <= 0.25 / 0.02 + 1


def test_timeout_alone_gives_the_strategy_a_cost_budget():
    timed, counted = RandomSearch(plane(), seed=0), RandomSearch(plane(), seed=0)
    optimize(quadratic, plane(), strategy=timed, timeout=0.2)
    optimize(quadratic, plane(), strategy=counted, n_trials=3, timeout=5.0)
    assert 0 < timed.cost_budget <= 0.2  # one worker's seconds
    assert counted.cost_budget is None  # a trial budget keeps seeded runs repeatable


def test_grid_runs_until_exhausted():
    space = Space([Categorical("a", ["x", "y"]), Int("n", 1, 3)])
    result = optimize(lambda c: c["n"], space, strategy="grid")
    assert len(result.trials) == 6
    assert result.best_value == 1


def test_resume_continues_numbering_and_proposals(tmp_path):
    path = tmp_path / "study.db"
    straight = optimize(quadratic, plane(), n_trials=12, seed=6)
    first = optimize(quadratic, plane(), n_trials=7, seed=6, storage=path, study="s")
    assert len(first.trials) == 7
    resumed = optimize(quadratic, plane(), n_trials=5, storage=str(path), study="s")  # seed kept
    assert [t.number for t, _, _ in resumed.trials] == list(range(12))
    assert [t.config for t, _, _ in resumed.trials] == [t.config for t, _, _ in straight.trials]
    assert resumed.best_value == straight.best_value
    # another study in the same file starts afresh
    other = optimize(quadratic, plane(), n_trials=2, seed=6, storage=path, study="other")
    assert [t.number for t, _, _ in other.trials] == [0, 1]


def test_storage_holds_every_finished_trial(tmp_path):
    path = tmp_path / "study.db"
    optimize(flaky, plane(), strategy="random", n_trials=12, seed=7, storage=path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = conn.execute(
            "SELECT number, status, error, cost, fidelity FROM trials ORDER BY number"
        ).fetchall()
    assert [r[0] for r in rows] == list(range(12))
    assert {r[1] for r in rows} <= {"ok", "failed"}
    assert all((r[1] == "ok") == (r[2] is None) for r in rows)
    assert all(r[3] >= 0 for r in rows)


def test_resume_of_a_multi_fidelity_search(tmp_path):
    path = tmp_path / "study.db"

    def objective(config, fidelity):
        return quadratic(config) + 0.1 / fidelity

    straight = optimize(objective, plane(), strategy="sh", n_trials=20, seed=8)
    optimize(objective, plane(), strategy="sh", n_trials=11, seed=8, storage=path)
    resumed = optimize(objective, plane(), strategy="sh", n_trials=9, seed=8, storage=path)
    pairs = [(t.config, t.fidelity) for t, _, _ in resumed.trials]
    assert pairs == [(t.config, t.fidelity) for t, _, _ in straight.trials]
    assert {t.fidelity for t, _, _ in straight.trials} >= {1 / 9, 1 / 3}


def test_resume_with_another_direction_fails(tmp_path):
    path = tmp_path / "study.db"
    optimize(quadratic, plane(), strategy="random", n_trials=2, seed=0, storage=path)
    with pytest.raises(ValueError, match="direction"):
        optimize(quadratic, plane(), strategy="random", n_trials=2, storage=path,
                 direction="maximize")
    with pytest.raises(ValueError, match="does not fit the space"):
        optimize(quadratic, Space([Float("z", 0.0, 1.0)]), strategy="random", n_trials=2,
                 storage=path)


def test_two_workers_give_the_same_history_as_one():
    def objective(config):
        if config["x"] > 2.0:
            raise ValueError("too far")
        return quadratic(config)

    runs = [
        optimize(objective, plane(), strategy="random", n_trials=8, seed=9, n_jobs=n_jobs)
        for n_jobs in (1, 2)
    ]
    histories = [
        [(t.number, t.config, o.status, o.value, e) for t, o, e in run.trials] for run in runs
    ]
    assert histories[0] == histories[1]
    assert any(e == "ValueError: too far" for *_, e in histories[1])


def test_multi_fidelity_objective_gets_the_fidelity():
    seen = []

    def objective(config, fidelity):
        seen.append(fidelity)
        return quadratic(config) + 0.05 / fidelity

    result = optimize(objective, plane(), strategy="hyperband", n_trials=30, seed=10)
    assert set(seen) <= set(result.strategy.rungs) and 1.0 in seen
    assert result.best_trial.fidelity == 1.0  # only full-fidelity results compete
    # a plain strategy passes fidelity 1.0 to a two-argument objective
    seen.clear()
    optimize(objective, plane(), strategy="random", n_trials=2, seed=0)
    assert seen == [1.0, 1.0]


def test_strategy_as_instance_or_factory():
    result = optimize(quadratic, plane(), strategy=RandomSearch(plane(), seed=11), n_trials=3)
    assert result.strategy.seed == 11
    factory = lambda space, seed: SuccessiveHalving(space, seed=seed, min_fidelity=1 / 3)  # noqa: E731
    result = optimize(lambda c, f: quadratic(c), plane(), strategy=factory, n_trials=3, seed=0)
    assert result.strategy.rungs == pytest.approx((1 / 3, 1.0))


def test_several_objectives():
    result = optimize(lambda c: (c["x"] ** 2, c["y"]), plane(), strategy="random", n_trials=20,
                      seed=12, direction=["minimize", "maximize"])
    assert result.best_config is None
    front = result.best_trials
    assert front
    for _, obs in front:
        for _, o in front:
            assert not (o.values[0] < obs.values[0] and o.values[1] > obs.values[1])
    frame = result.history_frame()
    assert list(frame.columns[:4]) == ["number", "status", "value_0", "value_1"]


def test_history_frame():
    space = Space([Categorical("kind", ["a", "b"]), Float("x", 0.0, 1.0, when={"kind": "a"})])
    result = optimize(lambda c: c.get("x", 0.5), space, strategy="random", n_trials=6, seed=13)
    frame = result.history_frame()
    assert list(frame.columns) == [
        "number", "status", "value", "cost", "fidelity", "error", "params_kind", "params_x",
    ]
    assert len(frame) == 6
    assert frame.loc[frame.params_kind == "b", "params_x"].isna().all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"space": Space()}, ValueError, "empty"),
        ({"space": {"x": (0, 1)}}, TypeError, "search.Space"),
        ({"strategy": "annealing"}, ValueError, "unknown strategy"),
        ({"strategy": 3}, TypeError, "strategy must be"),
        ({"strategy": RandomSearch(Space([Float("z", 0.0, 1.0)]))}, ValueError, "another space"),
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"n_jobs": 0}, ValueError, "n_jobs"),
        ({"direction": "up"}, ValueError, "direction"),
        ({"study": ""}, ValueError, "study"),
        ({"catch": "Exception"}, ValueError, "catch"),
        ({"objective": 3}, TypeError, "callable"),
        ({"objective": lambda: 1.0}, TypeError, "first argument"),
        ({"strategy": "sh"}, TypeError, "config, fidelity"),
    ],
)
def test_bad_input(kwargs, error, match):
    arguments = {"objective": quadratic, "space": plane(), "n_trials": 3, "seed": 0, **kwargs}
    objective, space = arguments.pop("objective"), arguments.pop("space")
    with pytest.raises(error, match=match):
        optimize(objective, space, **arguments)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Space([Float("x", 1.0, 1.0)]),
         r"Float 'x': low \(1.0\) must be smaller than high \(1.0\); swap them"),
        (lambda: Space([Float("lr", 0.0, 1.0, log=True)]),
         "Float 'lr': log=True needs low > 0, got low=0.0"),
        (lambda: Space([Float("x", 0.0, 1.0, when={"missing": "a"})]),
         "Float 'x': when refers to unknown parent 'missing'"),
    ],
    ids=["low>=high", "log-low<=0", "unknown-parent"],
)
def test_bad_space_raises_a_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        optimize(quadratic, make(), n_trials=1)


def test_values_are_finite_floats():
    result = optimize(lambda c: int(c["x"] > 0), plane(), strategy="random", n_trials=4, seed=14)
    assert all(isinstance(o.value, float) and math.isfinite(o.value) for _, o, _ in result.trials)


def test_resume_with_another_seed_warns(tmp_path):
    path = tmp_path / "study.db"
    optimize(quadratic, plane(), strategy="random", n_trials=2, seed=0, storage=path)
    with pytest.warns(UserWarning, match="started with seed 0"):
        result = optimize(quadratic, plane(), strategy="random", n_trials=1, seed=1,
                          storage=path)
    assert [t.number for t, _, _ in result.trials] == [0, 1, 2]
