import math
import pickle

import pytest

from search import Float, Int, Observation, Space, Strategy, Trial


class Counter(Strategy):
    """Deterministic toy strategy: config i is {'x': i % 10, 'c': ...}; records tells."""

    def __init__(self, space, *, seed=None):
        super().__init__(space, seed=seed)
        self.told = []

    def _suggest(self, n):
        return [{"x": (self.n_asked + i) % 10} for i in range(n)]

    def _on_tell(self, trial, observation):
        self.told.append((trial.number, observation.status))


SPACE = Space([Int("x", 0, 9)])


# --- records -----------------------------------------------------------------------------


def test_observation_validation():
    with pytest.raises(ValueError, match=r"unknown observation status 'done'; known: \['ok'"):
        Observation(1.0, status="done")
    with pytest.raises(ValueError, match='an "ok" observation needs value'):
        Observation()
    with pytest.raises(ValueError, match="not both"):
        Observation(value=1.0, values=(1.0, 2.0))
    with pytest.raises(ValueError, match="cost must be a number of seconds >= 0"):
        Observation(1.0, cost=-1)
    with pytest.raises(ValueError, match="value must be a number"):
        Observation("bad")
    with pytest.raises(ValueError, match="at least one objective"):
        Observation(values=())
    obs = Observation(values=[1, 2], cost=3)
    assert obs.values == (1.0, 2.0) and obs.cost == 3.0 and obs.objectives == (1.0, 2.0)


def test_observation_failed_and_finite():
    failed = Observation.failed(cost=1.5, status="timeout")
    assert failed.status == "timeout" and failed.value is None and failed.cost == 1.5
    assert not failed.finite
    with pytest.raises(ValueError, match="other than"):
        Observation.failed(status="ok")
    assert Observation(0.5).finite
    assert not Observation(math.nan).finite
    assert not Observation(values=(1.0, math.inf)).finite
    assert not Observation(1.0, status="pruned").finite


def test_trial_record():
    config = {"x": 1}
    trial = Trial(3, config)
    config["x"] = 2  # the trial keeps its own copy
    assert trial.config == {"x": 1} and trial.fidelity is None
    assert hash(trial) == hash(Trial(3, {"x": 1}))
    with pytest.raises(ValueError, match="number must be an integer >= 0"):
        Trial(-1, {})
    with pytest.raises(AttributeError, match="cannot assign to field 'number'"):
        trial.number = 4


# --- strategy base -----------------------------------------------------------------------


def test_empty_space_and_seed_checks():
    with pytest.raises(ValueError, match="search space is empty; add at least one parameter"):
        Counter(Space())
    with pytest.raises(TypeError, match="must be a search.Space"):
        Counter([Int("x", 0, 1)])
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        Counter(SPACE, seed=-1)
    drawn = Counter(SPACE)
    assert isinstance(drawn.seed, int) and 0 <= drawn.seed < 2**32
    assert Counter(SPACE, seed=5).seed == 5


def test_ask_numbers_pending_and_tell():
    s = Counter(SPACE, seed=0)
    trials = s.ask(3)
    assert [t.number for t in trials] == [0, 1, 2] and s.n_asked == 3
    assert [t.config for t in trials] == [{"x": 0}, {"x": 1}, {"x": 2}]
    assert s.pending == trials
    s.tell(trials[1], Observation(2.0))
    assert [t.number for t in s.pending] == [0, 2]
    assert s.history == [(trials[1], Observation(2.0))] and s.told == [(1, "ok")]
    with pytest.raises(ValueError, match="trial 1 was already told"):
        s.tell(trials[1], Observation(2.0))
    with pytest.raises(ValueError, match="trial 7 is not pending"):
        s.tell(Trial(7, {"x": 7}), Observation(2.0))
    with pytest.raises(ValueError, match="trial 0 was asked with config"):
        s.tell(Trial(0, {"x": 5}), Observation(2.0))
    with pytest.raises(TypeError, match="needs an Observation"):
        s.tell(trials[0], 1.0)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n >= 1"):
            s.ask(bad)


def test_non_finite_ok_is_stored_as_failed_and_best_ignores_it():
    s = Counter(SPACE, seed=0)
    a, b, c, d = s.ask(4)
    s.tell(a, Observation(math.nan))
    s.tell(b, Observation(3.0))
    s.tell(c, Observation(-math.inf))
    s.tell(d, Observation(1.0, status="pruned"))
    statuses = [obs.status for _, obs in s.history]
    assert statuses == ["failed", "ok", "failed", "pruned"]
    assert s.best == (b, Observation(3.0))
    assert Counter(SPACE).best is None


def test_best_picks_lowest_value_first_on_ties():
    s = Counter(SPACE, seed=0)
    trials = s.ask(4)
    for trial, value in zip(trials, [2.0, 1.0, 1.0, 5.0], strict=True):
        s.tell(trial, Observation(value))
    assert s.best[0].number == 1


def test_enqueue_comes_first_and_skips_repeats():
    s = Counter(SPACE, seed=0)
    assert s.enqueue({"x": 7}) is True
    assert s.enqueue({"x": 7.0}) is False  # same config once normalized
    assert s.enqueue({"x": 3}) is True
    with pytest.raises(ValueError, match="outside"):
        s.enqueue({"x": 99})
    first = s.ask(1)
    assert first[0].config == {"x": 7} and first[0].number == 0
    batch = s.ask(3)
    # queued {x: 3} first; then suggestions for numbers 2, 3 ({x: 2}, {x: 3} -> repeat)
    assert [t.config for t in batch] == [{"x": 3}, {"x": 2}, {"x": 3}]
    assert s.enqueue({"x": 7}) is False  # already asked


def test_invalid_suggestion_is_reported():
    class Broken(Counter):
        def _suggest(self, n):
            return [{"x": 100}]

    with pytest.raises(ValueError, match=r"Broken proposed an invalid configuration \{'x': 100\}"):
        Broken(SPACE).ask()


def test_suggestions_may_carry_a_fidelity_and_may_run_out():
    class Fid(Counter):
        def _suggest(self, n):
            return [({"x": 1}, 3)] if self.n_asked == 0 else []

    s = Fid(SPACE)
    [trial] = s.ask(5)
    assert trial.fidelity == 3.0
    assert s.ask(2) == []


def test_restore_rebuilds_state_in_number_order():
    a = Counter(SPACE, seed=3)
    trials = a.ask(4)
    for trial in reversed(trials[:3]):
        a.tell(trial, Observation(float(trial.number)))
    b = Counter(SPACE, seed=3)
    b.enqueue({"x": 1})  # already in the history: dropped
    b.enqueue({"x": 9})
    b.restore(a.history + [(trials[3], None)])
    assert b.told == [(0, "ok"), (1, "ok"), (2, "ok")]  # number order, not tell order
    assert b.n_asked == 4 and [t.number for t in b.pending] == [3]
    assert len(b.history) == 3
    b.tell(trials[3], Observation(1.0))  # a trial pending at restore can be told
    assert [t.config for t in b.ask(2)] == [{"x": 9}, {"x": 5}]


def test_restore_errors():
    a = Counter(SPACE, seed=0)
    [t] = a.ask()
    a.tell(t, Observation(1.0))
    with pytest.raises(ValueError, match="fresh strategy"):
        a.restore([])
    with pytest.raises(ValueError, match="same trial number more than once"):
        Counter(SPACE).restore([(t, Observation(1.0)), (t, Observation(2.0))])
    with pytest.raises(ValueError, match="stored trial 0 does not fit the space"):
        Counter(Space([Float("y", 0, 1)])).restore([(t, Observation(1.0))])
    fresh = Counter(SPACE)
    fresh.restore([(t, Observation(math.nan))])
    assert fresh.history[0][1].status == "failed"


def test_rng_for_depends_on_seed_and_number_only():
    s = Counter(SPACE, seed=9)
    assert s._rng_for(4).random() == Counter(SPACE, seed=9)._rng_for(4).random()
    assert s._rng_for(4).random() != s._rng_for(5).random()
    assert s._rng_for(4).random() != Counter(SPACE, seed=8)._rng_for(4).random()


def test_strategy_pickles_with_its_state():
    s = Counter(SPACE, seed=1)
    for trial in s.ask(2):
        s.tell(trial, Observation(1.0))
    s.enqueue({"x": 8})
    clone = pickle.loads(pickle.dumps(s))
    assert clone.history == s.history and clone.seed == 1 and clone.n_asked == 2
    assert "seed=1" in repr(clone)
    assert clone.ask(2) == s.ask(2)
    assert clone.ask(1)[0].config == {"x": 4}


def test_plan_time_counts_the_cost_already_told_and_keeps_a_set_budget():
    s = Counter(SPACE, seed=0)
    assert s.cost_budget is None
    [trial] = s.ask()
    s.tell(trial, Observation(value=1.0, cost=3.0))
    assert s.cost_spent == 3.0
    s.plan_time(10.0, workers=2)
    assert s.cost_budget == 23.0  # 3 s told + 10 s of each of 2 workers
    s.plan_time(100.0)
    assert s.cost_budget == 23.0
