import time

import numpy as np

from search import Categorical, Float, Int, Observation, RandomSearch, Space
from search.space import config_key
from search.testing import continuous_space, mixed_space


def ten_params():
    return Space(
        [Float(f"f{i}", 0.0, 1.0) for i in range(4)]
        + [
            Float("lr", 1e-5, 1.0, log=True),
            Int("n", 1, 100),
            Int("trees", 10, 2000, log=True),
            Categorical("kind", ["a", "b", "c"]),
            Categorical("flag", [True, False]),
            Float("z", -1.0, 1.0),
        ]
    )


def test_proposals_do_not_depend_on_batching():
    one_by_one = RandomSearch(mixed_space(), seed=4)
    batched = RandomSearch(mixed_space(), seed=4)
    singles = [one_by_one.ask()[0] for _ in range(9)]
    batches = batched.ask(2) + batched.ask(4) + batched.ask(3)
    assert singles == batches


def test_seed_changes_proposals():
    a = RandomSearch(continuous_space(), seed=1).ask(5)
    b = RandomSearch(continuous_space(), seed=2).ask(5)
    assert [t.config for t in a] != [t.config for t in b]


def test_log_parameters_are_sampled_log_uniformly():
    s = RandomSearch(Space([Float("lr", 1e-6, 1.0, log=True)]), seed=0)
    values = np.array([t.config["lr"] for t in s.ask(2000)])
    assert 0.45 < np.mean(values < 1e-3) < 0.55


def test_small_space_is_covered_before_repeating():
    space = Space([Categorical("a", ["x", "y", "z"]), Categorical("b", [1, 2])])
    s = RandomSearch(space, seed=0)
    first = s.ask(6)
    assert len({config_key(t.config) for t in first}) == 6
    again = s.ask(4)  # space exhausted: repeats allowed, but not inside one batch
    assert len(again) == 4
    assert len({config_key(t.config) for t in again}) == 4


def test_ask_is_fast_on_ten_parameters():
    s = RandomSearch(ten_params(), seed=0)
    s.ask()  # warm up
    start = time.perf_counter()
    for _ in range(200):
        [trial] = s.ask()
        s.tell(trial, Observation(1.0))
    per_ask = (time.perf_counter() - start) / 200
    assert per_ask < 1e-3, f"ask+tell took {per_ask * 1e6:.0f} us"


def test_enqueued_defaults_then_random():
    s = RandomSearch(mixed_space(), seed=0)
    default = {"model": "dummy", "scale": 0.0, "flag": None}
    s.enqueue(default)
    trials = s.ask(3)
    assert trials[0].config == default
    assert all(t.config != default for t in trials[1:])
