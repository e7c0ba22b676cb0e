import pickle

import pytest

from search import Categorical, Float, GridSearch, Int, Observation, Space
from search.space import config_key
from search.testing import mixed_space


def small_space():
    return Space([
        Categorical("model", ["a", "b"]),
        Int("n", 1, 3, when={"model": "a"}),
        Float("x", 0.0, 1.0),
    ])


def test_walks_the_grid_in_order_then_runs_out():
    space = small_space()
    s = GridSearch(space, resolution=2)
    expected = list(space.grid(2))
    assert len(expected) == (2 + 1) * 2  # Int 1..3 at resolution 2 gives [1, 3]
    got = s.ask(4) + s.ask(4)
    assert [t.config for t in got] == expected
    assert [t.number for t in got] == list(range(6))
    assert s.ask(3) == []
    assert s.n_asked == 6


def test_skips_enqueued_and_restored_points():
    space = small_space()
    s = GridSearch(space, resolution=2)
    s.enqueue({"model": "b", "x": 1.0})
    configs = [t.config for t in s.ask(10)]
    assert configs[0] == {"model": "b", "x": 1.0}
    assert len(configs) == 6 and len({config_key(c) for c in configs}) == 6


def test_restore_continues_where_the_original_stopped():
    space = small_space()
    a = GridSearch(space, resolution=2, shuffle=True, seed=3)
    for t in a.ask(3):
        a.tell(t, Observation(1.0))
    b = GridSearch(space, resolution=2, shuffle=True, seed=3)
    b.restore(a.history)
    assert a.ask(10) == b.ask(10)


def test_shuffle_is_seeded_and_covers_the_grid():
    space = small_space()
    plain = [t.config for t in GridSearch(space, resolution=2).ask(100)]
    one = [t.config for t in GridSearch(space, resolution=2, shuffle=True, seed=1).ask(100)]
    same = [t.config for t in GridSearch(space, resolution=2, shuffle=True, seed=1).ask(100)]
    other = [t.config for t in GridSearch(space, resolution=2, shuffle=True, seed=2).ask(100)]
    assert one == same and one != plain and one != other
    key = config_key
    assert sorted(map(key, one)) == sorted(map(key, plain))


def test_shuffle_refuses_huge_grids_but_plain_walk_is_lazy():
    space = Space([Float(f"x{i}", 0.0, 1.0) for i in range(12)])  # 5**12 = 244 million
    with pytest.raises(ValueError, match=r"the grid has 244,140,625 points; shuffle=True"):
        GridSearch(space, shuffle=True)
    s = GridSearch(space)
    trials = s.ask(3)
    assert [t.config["x11"] for t in trials] == [0.0, 0.25, 0.5]


def test_bad_resolution():
    with pytest.raises(ValueError, match="resolution must be an integer >= 1"):
        GridSearch(small_space(), resolution=0)


def test_pickle_mid_walk():
    s = GridSearch(mixed_space(), resolution=2)
    s.ask(4)
    clone = pickle.loads(pickle.dumps(s))
    assert clone.ask(5) == s.ask(5)
