"""The candidate trials a final ensemble is selected from, and the time kept for it."""

import time

import numpy as np

from automl.engine.records import TrialRecord
from automl.final import FinalReserve, ensemble_candidates, refit_seconds
from automl.metrics import Metric


def record(number, model, score, oof):
    return TrialRecord(number, model, {"n": number}, "ok", score=score, oof=np.asarray(oof))


def test_candidates_leave_out_trials_that_repeat_a_better_trials_predictions():
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
    chosen = ensemble_candidates(candidates, top=3, per_model=1)
    assert [r.number for r in chosen] == [0, 3, 4, 5]  # the copies gave their places away


def test_candidates_keep_every_distinct_trial_it_has_room_for():
    rng = np.random.default_rng(1)
    candidates = [record(i, "knn", 1.0 - i / 10, rng.random(8)) for i in range(5)]
    assert [r.number for r in ensemble_candidates(candidates, top=3, per_model=0)] == [0, 1, 2]


def timed(number, model, score, seconds, oof):
    return TrialRecord(number, model, {"n": number}, "ok", score=score, oof=np.asarray(oof),
                       fold_scores=[score] * 5, duration=seconds)


def rmse_metric(first_call_seconds=0.0):
    calls = []

    def rmse(y, prediction):
        if not calls and first_call_seconds:
            time.sleep(first_call_seconds)  # a one-off cost such as a lazy import
        calls.append(1)
        return float(np.sqrt(np.mean((y - prediction) ** 2)))

    return Metric("rmse", rmse, False, frozenset({"regression"}))


def test_reserve_keeps_the_best_refit_and_caps_the_other_families_at_the_ceiling():
    y = np.linspace(0.0, 1.0, 50)
    fast_best = timed(0, "hist_gradient_boosting", 0.1, 5.0, y)
    slow_weak = timed(1, "mlp", 0.4, 200.0, y[::-1])
    uncapped = FinalReserve(rmse_metric(), y, ensemble_size=50)([fast_best, slow_weak])
    capped = FinalReserve(rmse_metric(), y, ensemble_size=50, ceiling=10.0)
    assert uncapped > refit_seconds(slow_weak)  # the weak network's refit counted in full
    assert capped([fast_best, slow_weak]) == 10.0
    slow_best = timed(2, "mlp", 0.05, 200.0, y[::-1])
    # the best trial's refit is kept whatever the ceiling
    assert capped([fast_best, slow_best]) >= refit_seconds(slow_best)


def test_reserve_does_not_time_a_metrics_first_call():
    y = np.linspace(0.0, 1.0, 50)
    records = [timed(0, "knn", 0.1, 0.0, y), timed(1, "lasso", 0.2, 0.0, y[::-1])]
    reserve = FinalReserve(rmse_metric(first_call_seconds=0.5), y, ensemble_size=50)
    # 2 candidates x 50 steps: timed on the first call, 50 s would be kept
    assert reserve(records) < 5.0


class CountingRegressor:
    """Predicts a constant; records every fit under its trial's number."""

    def __init__(self, number, fits):
        self.number, self.fits = number, fits

    def fit(self, X, y):
        self.fits.append(self.number)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def counting_search(fits: list):
    """A 60-row regression, the ``counting`` spec whose fits append to ``fits``, and the rest
    ``build_final`` takes: ``(y, X, ctx, specs, metric)``."""
    import pandas as pd

    from automl.specs import Context, ModelSpec
    from search import Int, Space

    y = np.random.default_rng(0).normal(size=60)
    spec = ModelSpec(name="counting", tasks={"regression"}, modalities={"tabular"},
                     space=Space([Int("n", 0, 10)]),
                     build=lambda config, ctx: CountingRegressor(config["n"], fits))
    X = pd.DataFrame({"x": np.arange(60.0)})
    ctx = Context(task="regression", n_rows=60, n_features=1)
    return y, X, ctx, {"counting": spec}, rmse_metric()


def test_a_best_trial_left_alone_by_late_members_is_not_refitted_twice(caplog):
    import logging

    from automl.final import build_final

    fits = []
    y, X, ctx, specs, metric = counting_search(fits)
    rng = np.random.default_rng(1)
    # two independent errors: their average beats either, so selection takes both;
    # the noisier one ranks second and is the lighter member
    best_oof, slow_oof = (y + rng.normal(scale=scale, size=60) for scale in (0.3, 0.45))
    best = TrialRecord(0, "counting", {"n": 0}, "ok", score=metric(y, best_oof),
                       duration=0.0, oof=best_oof, fold_scores=[0.3] * 5)
    slow = TrialRecord(1, "counting", {"n": 1}, "ok", score=metric(y, slow_oof),
                       duration=1e4, oof=slow_oof, fold_scores=[0.45] * 5)
    with caplog.at_level(logging.WARNING, logger="automl.final"):
        choice = build_final([best, slow], X, y, ctx, specs, metric,
                             deadline=time.monotonic() + 60.0, ensemble_size=20)
    final = choice.model
    assert fits == [0]  # the slow member's refit cannot fit in 60 s; the best's is kept
    assert list(final.estimators) == [0] and final.weights == {0: 1.0}
    assert "the final model leaves out 1 of the ensemble's 2 members" in caplog.text


def test_a_refit_that_would_pass_the_memory_limit_is_skipped_with_a_reason():
    import pytest

    from automl.final import build_final

    fits = []
    y, X, ctx, specs, metric = counting_search(fits)
    rng = np.random.default_rng(1)
    oofs = [y + rng.normal(scale=0.3, size=60) for _ in range(2)]
    heavy = TrialRecord(0, "counting", {"n": 0}, "ok", score=metric(y, oofs[0]) - 0.1,
                        oof=oofs[0], peak_memory=900 * 10**6)  # the best, but heavy
    light = TrialRecord(1, "counting", {"n": 1}, "ok", score=metric(y, oofs[1]),
                        oof=oofs[1], peak_memory=300 * 10**6)
    with pytest.warns(UserWarning, match=r"refit of trial 0 \(counting\) is skipped: its trial "
                      r"peaked at 900 MB on 80% of the rows, so all rows would need about "
                      r"1,125 MB, over memory_limit \(1,000 MB\)"):
        choice = build_final([heavy, light], X, y, ctx, specs, metric,
                             deadline=None, ensemble_size=0, memory_limit=10**9,
                             row_share=0.8)
    assert fits == [1] and list(choice.model.estimators) == [1]
