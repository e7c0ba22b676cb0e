"""The pool of trials a final ensemble is selected from."""

import numpy as np

from automl.final import ensemble_pool
from automl.records import TrialRecord


def record(number, model, score, oof):
    return TrialRecord(number, model, {"n": number}, "ok", score=score, oof=np.asarray(oof))


def test_pool_leaves_out_trials_that_repeat_a_better_trials_predictions():
    rng = np.random.default_rng(0)
    same = rng.random(20)  # one model reached through three configurations
    candidates = [
        record(0, "extra_trees", 0.99, same),
        record(1, "extra_trees", 0.99, same.copy()),
        record(2, "extra_trees", 0.99, same.copy()),
        record(3, "mlp", 0.98, rng.random(20)),
        record(4, "extra_trees", 0.97, rng.random(20)),
        record(5, "logistic_regression", 0.96, rng.random(20)),
    ]
    pool = ensemble_pool(candidates, top=3, per_model=1)
    assert [r.number for r in pool] == [0, 3, 4, 5]  # the copies gave their places away


def test_pool_keeps_every_distinct_trial_it_has_room_for():
    rng = np.random.default_rng(1)
    candidates = [record(i, "knn", 1.0 - i / 10, rng.random(8)) for i in range(5)]
    assert [r.number for r in ensemble_pool(candidates, top=3, per_model=0)] == [0, 1, 2]
