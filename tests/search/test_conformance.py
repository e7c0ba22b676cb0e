"""The conformance kit on our strategies, and proof that it catches broken ones."""

import pytest

from search import GridSearch, RandomSearch, Strategy, testing

FACTORIES = {
    "random": (lambda space, seed: RandomSearch(space, seed=seed), False),
    "grid": (lambda space, seed: GridSearch(space, seed=seed), True),
    "grid-shuffled": (lambda space, seed: GridSearch(space, seed=seed, shuffle=True), True),
}


@pytest.mark.parametrize("check", testing.CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", list(FACTORIES))
def test_builtin_strategies_conform(name, check):
    factory, may_exhaust = FACTORIES[name]
    check(factory, n_trials=30, may_exhaust=may_exhaust)


def test_check_strategy_runs_everything():
    testing.check_strategy(lambda space, seed: RandomSearch(space, seed=seed), n_trials=10)


# --- broken strategies must be caught -----------------------------------------------------


class Unseeded(RandomSearch):
    """Ignores its seed: not reproducible, not resumable."""

    _calls = 0

    def _rng_for(self, number):
        Unseeded._calls += 1
        return super()._rng_for(number + 1000 * Unseeded._calls)


class Stateful(RandomSearch):
    """Draws from one generator advanced by each ask: forgets its position on restore."""

    def _suggest(self, n):
        if not hasattr(self, "_gen"):
            import numpy as np

            self._gen = np.random.default_rng(self.seed)
        return [self.space.sample(self._gen) for _ in range(n)]


class Repeater(RandomSearch):
    """Returns the same point n times."""

    def _suggest(self, n):
        return [self.space.sample(self._rng_for(0))] * n


class Short(RandomSearch):
    """Returns fewer than asked for on an infinite space."""

    def _suggest(self, n):
        return super()._suggest(1)


class Ignorant(Strategy):
    """Proposes configs outside the space."""

    def _suggest(self, n):
        return [{"nope": 1}] * n


@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        (Unseeded, testing.check_reproducible, "not reproducible"),
        (Unseeded, testing.check_resume, "does not resume"),
        (Stateful, testing.check_resume, "does not resume"),
        (Repeater, testing.check_distinct_batch, "repeated configs"),
        (Short, testing.check_respects_space, "returned 1 trials"),
        (Ignorant, testing.check_respects_space, "proposed an invalid configuration"),
    ],
)
def test_kit_catches_broken_strategies(cls, check, message):
    with pytest.raises(AssertionError, match=message):
        check(lambda space, seed: cls(space, seed=seed))


def test_kit_catches_strategy_accepting_empty_space():
    class Lenient(RandomSearch):
        def __init__(self, space, *, seed=None):
            self.space, self.seed = space, seed

    with pytest.raises(AssertionError, match="accepted an empty search space"):
        testing.check_rejects_empty_space(lambda space, seed: Lenient(space, seed=seed))


def test_public_spaces_and_objective():
    space = testing.mixed_space()
    assert "linear:l1_ratio" in space and "knn:p" in space
    config = space.sample(0)
    assert testing.objective(config) == testing.objective(dict(config))
    assert testing.finite_space().grid_size() == 6
