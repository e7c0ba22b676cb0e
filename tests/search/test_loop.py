"""The one lagged ask/tell driver: in-order tells, reproducibility, resume, budgets."""

import time

import numpy as np
import pytest

from search import BayesianSearch, Categorical, Float, GridSearch, Int, Observation, Space
from search._loop import TELL_LAG, AskTellLoop, tell_lag
from search.random import RandomSearch


def plane():
    return Space([Float("x", -3.0, 3.0), Float("y", -3.0, 3.0)])


def quadratic(config):
    return (config["x"] - 1.0) ** 2 + (config["y"] + 0.5) ** 2


class ScrambledPool:
    """Runs trials at once but hands back a random subset of them at each collect."""

    def __init__(self, slots, seed=0, objective=quadratic):
        self.slots, self.objective = slots, objective
        self._rng = np.random.default_rng(seed)
        self._running = []

    @property
    def running(self):
        return len(self._running)

    def submit(self, trial):
        self._running.append(trial)

    def collect(self):
        k = int(self._rng.integers(1, len(self._running) + 1))
        chosen = set(self._rng.choice(len(self._running), size=k, replace=False).tolist())
        done = [t for i, t in enumerate(self._running) if i in chosen]
        self._running = [t for i, t in enumerate(self._running) if i not in chosen]
        return [(t.number, self.objective(t.config)) for t in done]


def record(trial, value):
    return Observation(value=value)


class Watched(RandomSearch):
    """Remembers which trials were told when each trial was asked."""

    def __init__(self, space, seed):
        super().__init__(space, seed=seed)
        self.known = {}

    def _suggest(self, n):
        self.known[self.n_asked] = sorted(t.number for t, _ in self._history)
        return super()._suggest(n)


def configs(strategy):
    return [(t.number, sorted(t.config.items())) for t, _ in sorted(
        strategy.history, key=lambda pair: pair[0].number)]


@pytest.mark.parametrize("slots", [1, 3, 6])
def test_trial_k_is_asked_knowing_exactly_the_trials_up_to_k_minus_lag(slots):
    strategy = Watched(plane(), seed=0)
    loop = AskTellLoop(strategy, ScrambledPool(slots, seed=slots), record, max_trials=20)
    loop.run()
    assert loop.lag == tell_lag(slots) == max(TELL_LAG, slots)
    for k, known in strategy.known.items():
        assert known == list(range(k - loop.lag + 1))
    assert len(strategy.history) == 20  # every trial told at the end


@pytest.mark.parametrize("slots", [1, 3])
def test_a_lag_of_the_slots_tells_one_worker_every_trial_before(slots):
    """search.optimize's rule: with one worker, trial k knows trials 0 .. k - 1."""
    strategy = Watched(plane(), seed=0)
    loop = AskTellLoop(strategy, ScrambledPool(slots, seed=slots), record, max_trials=12,
                       lag=slots)
    loop.run()
    for k, known in strategy.known.items():
        assert known == list(range(k - slots + 1))


def test_a_lag_below_the_slots_is_refused():
    with pytest.raises(ValueError, match="lag must be at least the pool's 3 slots, got 2"):
        AskTellLoop(Watched(plane(), seed=0), ScrambledPool(3), record, lag=2)


def test_model_based_search_gives_the_same_trials_whatever_the_slots_up_to_the_lag():
    runs = []
    for slots in (1, 2, TELL_LAG):
        strategy = BayesianSearch(plane(), seed=3, n_initial=5)
        AskTellLoop(strategy, ScrambledPool(slots, seed=slots), record, max_trials=12).run()
        runs.append(configs(strategy))
    assert runs[0] == runs[1] == runs[2]


def test_a_resumed_search_proposes_what_a_straight_one_does():
    straight = BayesianSearch(plane(), seed=4, n_initial=5)
    AskTellLoop(straight, ScrambledPool(2), record, max_trials=14).run()
    first = BayesianSearch(plane(), seed=4, n_initial=5)
    AskTellLoop(first, ScrambledPool(1), record, max_trials=8).run()
    resumed = BayesianSearch(plane(), seed=4, n_initial=5)
    loop = AskTellLoop(resumed, ScrambledPool(3), record, max_trials=6)
    loop.restore(first.history)
    assert [t.number for t in resumed.pending] == [5, 6, 7]  # held back by the lag
    loop.run()
    assert configs(resumed) == configs(straight)


def test_record_is_called_as_trials_finish_and_its_observation_is_told():
    seen = []

    def keep(trial, value):
        seen.append(trial.number)
        return Observation(value=-value)

    strategy = RandomSearch(plane(), seed=1)
    AskTellLoop(strategy, ScrambledPool(3), keep, max_trials=9).run()
    assert sorted(seen) == list(range(9))
    assert all(obs.value == -quadratic(t.config) for t, obs in strategy.history)


def test_budgets_stop_new_trials():
    strategy = RandomSearch(plane(), seed=2)
    loop = AskTellLoop(strategy, ScrambledPool(2), record, max_trials=5)
    loop.run()
    assert loop.started == 5 and strategy.cost_budget is None
    calls = []
    strategy = RandomSearch(plane(), seed=2)
    AskTellLoop(strategy, ScrambledPool(2), record,
                stop=lambda: calls.append(1) or len(calls) > 3).run()
    assert len(strategy.history) == 3
    strategy = RandomSearch(plane(), seed=2)
    loop = AskTellLoop(strategy, ScrambledPool(2), record, deadline=time.monotonic() - 1)
    loop.run()
    assert loop.started == 0
    assert strategy.cost_budget == 0.0  # seconds alone: the strategy gets a cost budget


def test_an_exhausted_strategy_ends_the_search():
    space = Space([Categorical("a", ["x", "y"]), Int("n", 1, 3)])
    strategy = GridSearch(space)
    loop = AskTellLoop(strategy, ScrambledPool(4, objective=lambda c: c["n"]), record)
    loop.run()
    assert len(strategy.history) == 6 and not strategy.pending
