"""Trials in worker processes and on Dask: faults are recorded, results reproducible."""

import dataclasses
import os
import time

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from automl import AutoML, ModelSpec
from automl.registry import get_registry
from search import Categorical, Space
from tests.automl.priors import ClassPrior

MODELS = ["logistic_regression", "random_forest", "hist_gradient_boosting"]


class Faulty(ClassifierMixin, BaseEstimator):
    """Fails in the way its ``mode`` says."""

    def __init__(self, mode="ok"):
        self.mode = mode

    def fit(self, X, y):
        if self.mode == "raise":
            raise RuntimeError("fit exploded")
        if self.mode == "hang":
            time.sleep(3600)
        if self.mode == "die":
            os._exit(3)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        if self.mode == "nan":
            return np.full((len(X), 2), np.nan)
        return np.full((len(X), 2), 0.5)


@pytest.fixture()
def faulty_model(monkeypatch):
    spec = ModelSpec(
        name="faulty", tasks={"classification"}, modalities={"tabular"},
        space=Space([Categorical("mode", ["raise", "hang", "die", "nan"])]),
        build=lambda config, ctx: Faulty(config["mode"]),
        defaults=[{"mode": m} for m in ("raise", "hang", "die", "nan")],
        description="fails on purpose",
    )
    monkeypatch.setitem(get_registry().models, "faulty", spec)


def test_faults_are_recorded_and_search_finishes(faulty_model):
    X, X_test, y, y_test = train_test_split(*load_breast_cancer(return_X_y=True),
                                            random_state=0)
    started = time.monotonic()
    model = AutoML(time_budget=90, max_trials=8, trial_time_limit=4, n_jobs=2,
                   random_state=0, models=["faulty", "logistic_regression"]).fit(X, y)
    assert time.monotonic() - started < 60
    board = model.leaderboard().set_index("trial")
    faulty = {r.params["mode"]: r for r in model.trials_ if r.model == "faulty"
              and r.number < 8 and r.params["mode"] in ("raise", "hang", "die", "nan")}
    assert faulty["raise"].status == "failed" and "fit exploded" in faulty["raise"].error
    assert faulty["hang"].status == "timeout" and "killed after" in faulty["hang"].error
    assert faulty["die"].status == "failed" and "worker process died" in faulty["die"].error
    assert faulty["nan"].status == "failed" and "NaN" in faulty["nan"].error
    assert model.best_trial_.model == "logistic_regression"
    assert model.score(X_test, y_test) > 0.9  # held-out rows
    assert len(model.trials_) == 8 and len(board[board.index.notna()]) == 8


@pytest.mark.slow
def test_same_leaderboard_whatever_n_jobs():
    X, y = load_breast_cancer(return_X_y=True)
    boards = []
    for n_jobs in (1, 2):
        model = AutoML(time_budget=300, max_trials=10, random_state=1, n_jobs=n_jobs,
                       models=MODELS).fit(X, y)
        boards.append(model.leaderboard()[["trial", "model", "roc_auc"]])
    np.testing.assert_array_equal(boards[0]["trial"], boards[1]["trial"])
    np.testing.assert_allclose(boards[0]["roc_auc"], boards[1]["roc_auc"])


@pytest.mark.slow
def test_dask_local_cluster_runs_a_search():
    distributed = pytest.importorskip("distributed")
    X, X_test, y, y_test = train_test_split(*load_breast_cancer(return_X_y=True),
                                            random_state=0)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        started = time.monotonic()
        model = AutoML(time_budget=30, backend="dask", random_state=0,
                       models=MODELS).fit(X, y)
        elapsed = time.monotonic() - started
    assert elapsed <= 30 * 1.05 + 2
    assert sum(r.status == "ok" for r in model.trials_) >= 3
    assert model.score(X_test, y_test) > 0.9  # held-out rows


def test_dask_without_client_is_a_clear_error():
    pytest.importorskip("distributed")
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="found no Dask client"):
        AutoML(backend="dask", time_budget=10).fit(X, y)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend 'spark'"):
        AutoML(backend="spark").fit(*load_breast_cancer(return_X_y=True))


class LimitReporter(ClassifierMixin, BaseEstimator):
    """Fails with the fit time limit its context gave it, so the record shows it."""

    def __init__(self, time_limit=None):
        self.time_limit = time_limit

    def fit(self, X, y):
        raise RuntimeError(f"time_limit={self.time_limit:.2f}")


def test_a_trial_near_the_deadline_gets_a_shorter_fit_limit():
    from automl.data import context_for, validate_training_data
    from automl.engine.workers import TrialData, TrialJob, evaluate_trial, fit_time_limit
    from automl.metrics import BUILTIN_METRICS
    from automl.tasks.supervised import make_splits

    X, y = load_breast_cancer(return_X_y=True)
    data = validate_training_data(X, y, None, None)
    splits = make_splits(data.task, data.y, 2, seed=0)
    ctx = dataclasses.replace(
        context_for(data.schema, task=data.task, n_rows=len(data.X), n_classes=2, seed=0),
        time_limit=fit_time_limit(10.0, len(splits)))
    spec = ModelSpec(name="reporter", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Categorical("unused", [0])]),
                     build=lambda config, ctx: LimitReporter(ctx.time_limit))
    metric = {m.name: m for m in BUILTIN_METRICS}["roc_auc"]
    trial_data = TrialData(data.X, data.y, splits, metric, ctx, {"reporter": spec})
    full = evaluate_trial(TrialJob(0, "reporter", {"unused": 0}, 10.0), trial_data)
    late = evaluate_trial(TrialJob(1, "reporter", {"unused": 0}, 2.5), trial_data)
    assert full.error.endswith("time_limit=4.00")  # 0.8 * 10 s over 2 folds
    assert late.error.endswith("time_limit=1.00")  # 0.8 * 2.5 s over 2 folds


def test_final_refit_limit_is_capped_by_the_budget_left():
    from automl.final import REFIT_MARGIN, refit_context
    from automl.specs import Context

    ctx = Context(task="binary", n_rows=10, n_features=2, n_classes=2, time_limit=10.0)
    assert refit_context(ctx, None).time_limit == REFIT_MARGIN * 10.0
    assert 11.0 < refit_context(ctx, time.monotonic() + 12.0).time_limit <= 12.0
    # never less than the trial's own fold limit, however late
    assert refit_context(ctx, time.monotonic() - 5.0).time_limit == 10.0


class Shrunk(ClassPrior):
    """Class frequencies pulled toward one half by ``weight`` (a two-point space)."""

    def __init__(self, weight=0.0):
        self.weight = weight

    def toward_uniform(self):
        return self.weight

    def before_fit(self, X, y):
        time.sleep(2 * self.weight)  # the second configuration is still running when asked again


def test_parallel_trials_of_one_configuration_are_kept_once(monkeypatch):
    spec = ModelSpec(name="shrunk", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Categorical("weight", [0.0, 0.5])]),
                     build=lambda config, ctx: Shrunk(config["weight"]),
                     defaults=[{"weight": 0.0}], description="two configurations")
    monkeypatch.setitem(get_registry().models, "shrunk", spec)
    X, y = load_breast_cancer(return_X_y=True)
    model = AutoML(max_trials=12, n_jobs=2, strategy="random", random_state=0,
                   models=["shrunk"], ensemble_size=0).fit(X, y)
    board = model.leaderboard()
    weights = [params["weight"] for params in board["params"]]
    assert sorted(weights) == [0.0, 0.5]


class Hog(ClassPrior):
    """Allocates ``megabytes`` in steps while it fits (``0``: a prior, nothing held)."""

    def __init__(self, megabytes=0):
        self.megabytes = megabytes

    def before_fit(self, X, y):
        held = []
        for _ in range(self.megabytes // 50):
            held.append(np.ones(50 * 2**20 // 8))  # touched: resident, not only reserved
            time.sleep(0.02)


def test_a_trial_over_the_memory_limit_is_stopped_and_the_search_goes_on(monkeypatch):
    spec = ModelSpec(name="hog", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Categorical("megabytes", [0, 3000])]),
                     build=lambda config, ctx: Hog(config["megabytes"]),
                     defaults=[{"megabytes": 3000}, {"megabytes": 0}], description="hungry")
    monkeypatch.setitem(get_registry().models, "hog", spec)
    X, y = load_breast_cancer(return_X_y=True)
    model = AutoML(models=["hog"], max_trials=2, memory_limit="1GB", random_state=0,
                   ensemble_size=0).fit(X, y)
    hungry, modest = sorted(model.trials_, key=lambda r: r.number)
    assert hungry.status == "out_of_memory"
    assert "over memory_limit (1,000 MB)" in hungry.error
    assert modest.status == "ok" and 10**7 < modest.peak_memory < 10**9
    assert model.best_trial_.number == modest.number  # the fit went on and ended
    board = model.leaderboard()
    assert set(board["status"]) == {"ok", "out_of_memory"}


@pytest.mark.parametrize("value, message", [
    ("lots", "is not a size"), ("4 parsecs", "is not a size"), (100, "at least 1 MiB"),
    (True, "must be bytes")])
def test_a_bad_memory_limit_is_named_before_any_trial(value, message):
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        AutoML(memory_limit=value, max_trials=1).fit(X, y)


class Victim(ClassPrior):
    """With ``wait``, writes its process id to ``pid_file`` and sleeps until killed."""

    def __init__(self, wait=False, pid_file=""):
        self.wait, self.pid_file = wait, pid_file

    def before_fit(self, X, y):
        if self.wait:
            with open(self.pid_file, "w") as out:
                out.write(str(os.getpid()))
            time.sleep(120)


def test_a_worker_killed_by_the_os_mid_trial_is_recorded_and_the_search_goes_on(
        monkeypatch, tmp_path):
    import signal
    import threading

    pid_file = tmp_path / "worker.pid"
    spec = ModelSpec(name="victim", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Categorical("wait", [True, False])]),
                     build=lambda config, ctx: Victim(config["wait"], str(pid_file)),
                     defaults=[{"wait": True}, {"wait": False}], description="killed")
    monkeypatch.setitem(get_registry().models, "victim", spec)

    def kill_the_worker():  # as the OS's OOM killer would: SIGKILL, from outside
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    X, y = load_breast_cancer(return_X_y=True)
    started = time.monotonic()
    model = AutoML(models=["victim"], max_trials=2, random_state=0, ensemble_size=0,
                   cv=2).fit(X, y)
    killer.join()
    assert time.monotonic() - started < 60  # not the 120 s the killed trial would sleep
    killed, survivor = sorted(model.trials_, key=lambda r: r.number)
    assert killed.status == "failed" and "worker process died" in killed.error
    assert survivor.status == "ok" and model.best_trial_.number == survivor.number
