import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from automl import AutoML

FAST = ["logistic_regression", "ridge", "hist_gradient_boosting", "random_forest"]
pytestmark = pytest.mark.filterwarnings("ignore:models .* do not support")


def messy_table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 1, n),
        "city": pd.Categorical(rng.choice(["paris", "rome", "oslo"], n)),
        "plan": rng.choice(["basic", "pro", None], n),
        "active": rng.random(n) > 0.3,
    })
    signal = (X["age"] > 40).astype(int) + (X["city"] == "oslo").astype(int) \
        + X["active"].astype(int)
    y = np.where(signal + rng.normal(0, 0.5, n) > 1.5, "churn", "stay")
    X.loc[rng.random(n) < 0.1, "age"] = np.nan
    X.loc[rng.random(n) < 0.1, "city"] = np.nan
    return X, pd.Series(y, name="label")


def test_fit_predict_on_messy_table_returns_user_labels():
    X, X_test, y, y_test = train_test_split(*messy_table(), random_state=0)
    model = AutoML(time_budget=120, max_trials=6, random_state=0, models=FAST).fit(X, y)
    assert model.task_ == "binary"
    assert set(model.classes_) == {"churn", "stay"}
    pred = model.predict(X.iloc[:20])
    assert set(pred) <= {"churn", "stay"} and pred.dtype == object
    proba = model.predict_proba(X.iloc[:20])
    assert proba.shape == (20, 2) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(X_test, y_test) > 0.7  # held-out rows
    board = model.leaderboard()
    assert board["rank"].tolist() == list(range(1, len(board) + 1))
    trials = board[board["trial"].notna()]
    assert len(trials) == 6
    scores = board["roc_auc"].dropna().to_numpy()
    assert np.all(np.diff(scores) <= 0)  # best first, the ensemble ranked among trials
    assert trials.iloc[0]["trial"] == model.best_trial_.number
    assert abs(trials["weight"].fillna(0).sum() - 1) < 1e-3  # each member's weight
    if model.final_.is_ensemble:
        row = board[board["trial"].isna()].iloc[0]
        assert row["model"].startswith(f"ensemble of {len(model.final_.weights)}: ")
        assert row["roc_auc"] >= model.best_trial_.score


def test_unseen_category_at_predict_is_handled():
    X, y = messy_table()
    model = AutoML(time_budget=120, max_trials=3, random_state=0, models=FAST).fit(X, y)
    X_new = X.iloc[:5].copy()
    X_new["city"] = X_new["city"].astype(object)
    X_new.loc[:, "city"] = "tokyo"
    X_new.loc[:, "plan"] = "enterprise"
    assert len(model.predict(X_new)) == 5


def test_regression_and_multiclass_with_numpy():
    X, X_test, y, y_test = train_test_split(*load_diabetes(return_X_y=True), random_state=0)
    reg = AutoML(time_budget=120, max_trials=4, random_state=0, models=FAST).fit(X, y)
    assert reg.task_ == "regression" and reg.metric_ == "rmse"
    assert reg.score(X_test, y_test) > 0.3  # held-out rows
    assert not hasattr(reg, "predict_proba")
    X, y = load_iris(return_X_y=True)
    clf = AutoML(time_budget=120, max_trials=4, random_state=0, metric="accuracy",
                 models=FAST).fit(X, y)
    assert clf.task_ == "multiclass" and clf.predict(X[:3]).dtype.kind in "iu"
    assert clf.leaderboard()["accuracy"].iloc[0] > 0.9


@pytest.mark.slow
def test_same_seed_and_trial_budget_give_same_leaderboard():
    X, y = load_breast_cancer(return_X_y=True)
    boards = [
        AutoML(time_budget=600, max_trials=8, random_state=3, models=FAST).fit(X, y)
        .leaderboard()[["trial", "model", "roc_auc"]]
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(boards[0], boards[1])


def test_failing_model_is_recorded_and_search_goes_on(monkeypatch):
    X, y = load_breast_cancer(return_X_y=True)
    from automl.registry import get_registry

    spec = get_registry().models["hist_gradient_boosting"]

    def broken(config, ctx):
        raise RuntimeError("this model is broken")

    monkeypatch.setitem(get_registry().models, "hist_gradient_boosting",
                        dataclasses.replace(spec, build=broken))
    model = AutoML(time_budget=120, max_trials=5, random_state=0,
                   models=["hist_gradient_boosting", "logistic_regression"]).fit(X, y)
    board = model.leaderboard()
    failed = board[board["status"] == "failed"]
    assert len(failed) >= 1 and failed["error"].str.contains("this model is broken").all()
    assert model.best_trial_.model == "logistic_regression"


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_time_budget_is_respected(n_jobs):
    X, y = load_breast_cancer(return_X_y=True)
    started = time.monotonic()
    model = AutoML(time_budget=8, random_state=0, n_jobs=n_jobs).fit(X, y)
    elapsed = time.monotonic() - started
    assert elapsed <= 8 * 1.05 + 2, elapsed
    assert len(model.trials_) >= 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"time_budget": 0}, "time_budget must be a positive number"),
        ({"time_budget": -5}, "time_budget must be a positive number"),
        ({"time_budget": "60"}, "got '60'; e.g. time_budget=60"),
        ({"models": ["nope"]}, "unknown model 'nope'; known models"),
        ({"strategy": "nope"}, "unknown strategy 'nope'; known strategies"),
        ({"metric": "nope"}, "unknown metric 'nope'; known metrics"),
        ({"metric": "rmse"}, "metric 'rmse' does not apply to binary"),
        ({"models": ["ridge"]}, "do not support binary"),
        ({"max_trials": 0}, "max_trials must be a positive integer"),
        ({"cv": 1}, "cv must be an integer >= 2"),
    ],
)
def test_bad_parameters_fail_before_any_trial(params, message):
    X, y = load_breast_cancer(return_X_y=True)
    started = time.monotonic()
    with pytest.raises(ValueError, match=message):
        AutoML(**params).fit(X, y)
    assert time.monotonic() - started < 5


def test_predict_before_fit_and_wrong_columns():
    X, y = messy_table()
    with pytest.raises(NotFittedError, match="This AutoML instance is not fitted yet"):
        AutoML().predict(X)
    model = AutoML(time_budget=120, max_trials=2, random_state=0, models=FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"missing columns \['plan'\]"):
        model.predict(X.drop(columns="plan"))
    with pytest.warns(UserWarning, match=r"left out: \['zzz'\]"):
        with_extra = model.predict(X.assign(zzz=0))
    np.testing.assert_array_equal(with_extra, model.predict(X))


def test_sklearn_meta_tools_work():
    X, y = load_iris(return_X_y=True)
    # task="classification" declares a classifier, so scikit-learn stratifies its folds
    model = AutoML(time_budget=10, max_trials=2, random_state=0, cv=2,
                   task="classification", models=["logistic_regression"])
    assert clone(model).get_params() == model.get_params()
    assert is_classifier(model) and not is_classifier(AutoML())
    scores = cross_val_score(model, X, y, cv=2)
    assert scores.mean() > 0.85
    pipe = make_pipeline(FunctionTransformer(), model).fit(X, y)
    assert pipe.score(X, y) > 0.85
    grid = GridSearchCV(model, {"max_trials": [1, 2]}, cv=2).fit(X, y)
    assert grid.best_params_["max_trials"] in (1, 2)


def test_save_load_round_trip_and_tamper_detection(tmp_path):
    X, y = messy_table()
    X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)
    model = AutoML(time_budget=120, max_trials=2, random_state=0, models=FAST).fit(
        X_train, y_train)
    model.save(tmp_path / "m")
    loaded = AutoML.load(tmp_path / "m")
    assert (loaded.predict(X_test) == model.predict(X_test)).all()
    assert loaded.leaderboard().equals(model.leaderboard())
    with open(tmp_path / "m" / "model.skops", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ValueError, match="was altered or corrupted"):
        AutoML.load(tmp_path / "m")


def test_load_refuses_untrusted_types_and_never_runs_them(tmp_path):
    """A file holding a type outside the allow-list is refused before anything is built."""
    import fractions
    import hashlib
    import json

    import skops.io as sio

    X, y = messy_table()
    model = AutoML(time_budget=120, max_trials=2, random_state=0, models=FAST).fit(X, y)
    model.save(tmp_path / "m")
    # swap in an object whose type is outside the allow-list
    sio.dump({"model": model, "evil": fractions.Fraction(1, 3)},
             tmp_path / "m" / "model.skops")
    meta_path = tmp_path / "m" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256((tmp_path / "m" / "model.skops").read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"not trusted: \['fractions.Fraction'\]"):
        AutoML.load(tmp_path / "m")
    loaded = AutoML.load(tmp_path / "m", trusted=["fractions.Fraction"])
    assert (loaded["model"].predict(X) == model.predict(X)).all()


@pytest.mark.parametrize("loader", [load_breast_cancer, load_diabetes])
def test_stacking_option(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = AutoML(time_budget=120, max_trials=12, random_state=0, ensemble="stacking",
                   models=["logistic_regression", "ridge", "random_forest", "knn"]).fit(
        X_train, y_train)
    final = model.final_
    if loader is load_diabetes:  # here stacking beats the best trial (seeded, deterministic)
        assert final.stacker is not None and final.score < model.best_trial_.score
    if final.stacker is not None:  # kept only when it scores at least as well
        assert len(final.estimators) >= 2
        assert set(final.stacker.members) == set(final.estimators)
        assert model.metric_ in ("roc_auc", "rmse")
    threshold = 0.9 if model.task_ != "regression" else 0.3
    assert model.score(X_test, y_test) > threshold


def test_no_ensemble_keeps_the_best_trial():
    X, y = load_breast_cancer(return_X_y=True)
    model = AutoML(time_budget=120, max_trials=6, random_state=0, ensemble=None,
                   models=FAST).fit(X, y)
    assert list(model.final_.estimators) == [model.best_trial_.number]
    with pytest.raises(ValueError, match="ensemble must be 'greedy', 'stacking' or None"):
        AutoML(ensemble="bagging").fit(X, y)


@pytest.mark.slow
def test_time_budget_alone_gives_the_strategy_a_cost_budget():
    from search import BayesianSearch

    X, y = load_breast_cancer(return_X_y=True)
    made = []

    def factory(space, seed):
        made.append(BayesianSearch(space, seed=seed))
        return made[-1]

    AutoML(time_budget=6, random_state=0, models=FAST, strategy=factory, n_jobs=1).fit(X, y)
    AutoML(time_budget=600, max_trials=3, random_state=0, models=FAST, strategy=factory,
           n_jobs=1).fit(X, y)
    AutoML(time_budget=6, random_state=0, models=FAST, strategy=factory, n_jobs=1,
           early_stopping=True).fit(X, y)
    by_time, by_trials, halving_base = made
    assert 0 < by_time.cost_budget <= 6  # one worker's seconds
    assert by_trials.cost_budget is None  # seeded trial budgets stay reproducible
    assert 0 < halving_base.cost_budget <= 6  # the base of successive halving gets its share


def test_a_budget_of_trials_alone_sets_no_time_limit():
    from sklearn.linear_model import LogisticRegression

    from automl.specs import ModelSpec
    from search import Float, Space

    limits = []

    def build(config, ctx):
        limits.append(ctx.time_limit)  # what an epoch-trained model would stop at
        return LogisticRegression(C=config["C"], max_iter=500)

    spec = ModelSpec(name="noted_logistic", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Float("C", 0.01, 10.0, log=True)]), build=build)
    X, y = load_breast_cancer(return_X_y=True)
    model = AutoML(max_trials=2, random_state=0, models=[spec], backend="inprocess").fit(X, y)
    assert len(model.trials_) == 2 and limits and all(limit is None for limit in limits)
    limits.clear()
    AutoML(time_budget=30, max_trials=2, random_state=0, models=[spec],
           backend="inprocess").fit(X, y)
    assert limits and all(0 < limit < 30 for limit in limits)  # an explicit budget still binds


def test_budget_defaults_follow_the_settings_given():
    import math

    from automl.engine import DEFAULT_TIME_BUDGET, Budget

    assert Budget.resolve(None, None, None).time_budget == DEFAULT_TIME_BUDGET
    assert Budget.resolve(None, None, None).trial_time_limit == DEFAULT_TIME_BUDGET / 3
    trials_only = Budget.resolve(None, 5, None)
    assert trials_only.time_budget == math.inf and trials_only.trial_time_limit is None
    assert Budget.resolve(30, 5, None).trial_time_limit == 10.0
    assert Budget.resolve(None, 5, 4.0).trial_time_limit == 4.0  # an explicit limit is kept


def test_a_configuration_is_fitted_once_however_often_it_is_proposed():
    from sklearn.linear_model import LogisticRegression

    from automl.specs import ModelSpec
    from search import Categorical, Space

    fitted = []

    def build(config, ctx):
        fitted.append(config["C"])
        return LogisticRegression(C=config["C"], max_iter=500)

    spec = ModelSpec(name="three_settings", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Categorical("C", [0.1, 1.0, 10.0])]), build=build)
    X, y = load_breast_cancer(return_X_y=True)
    model = AutoML(max_trials=12, random_state=0, models=[spec], strategy="random",
                   backend="inprocess", ensemble_size=0, cv="holdout").fit(X, y)
    board = model.leaderboard()
    assert sorted(p["C"] for p in board["params"]) == [0.1, 1.0, 10.0]  # each listed once
    search_fits = fitted[:-1]  # the final refit of the winner comes last
    assert sorted(search_fits) == [0.1, 1.0, 10.0]
