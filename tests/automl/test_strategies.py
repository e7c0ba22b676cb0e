"""Search strategies through ``AutoML.fit``: built-in names, a plugin's, early stopping."""

import json

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import zero_one_loss
from sklearn.model_selection import train_test_split

from automl import AutoML, Fidelity, ModelSpec, hookimpl
from automl.metrics import Metric
from automl.registry import get_registry, reset_registry
from search import Float, RandomSearch, Space
from tests.automl.priors import ClassPrior

MODELS = ["logistic_regression", "random_forest"]


@pytest.fixture(scope="module")
def table():
    return load_breast_cancer(return_X_y=True)


@pytest.mark.parametrize("strategy", ["random", "grid", "genetic", "bayesian"])
def test_each_built_in_strategy_runs_through_fit(table, strategy):
    X, X_test, y, y_test = train_test_split(*table, random_state=0, stratify=table[1])
    model = AutoML(strategy=strategy, models=MODELS, max_trials=7, random_state=0).fit(X, y)
    assert len(model.trials_) == 7 and all(r.status == "ok" for r in model.trials_)
    configs = {(r.model, json.dumps(r.params, sort_keys=True)) for r in model.trials_}
    assert len(configs) == 7  # seven different configurations
    assert model.score(X_test, y_test) > 0.9  # held-out rows


def test_defaults_are_tried_first_round_robin_over_models(table):
    X, y = table
    registry = get_registry()
    model = AutoML(strategy="random", models=MODELS, max_trials=4, random_state=0).fit(X, y)
    first = sorted(model.trials_, key=lambda r: r.number)
    expected = [("logistic_regression", registry.model("logistic_regression").defaults[0]),
                ("random_forest", registry.model("random_forest").defaults[0]),
                ("logistic_regression", registry.model("logistic_regression").defaults[1]),
                ("random_forest", registry.model("random_forest").defaults[1])]
    assert [(r.model, r.params) for r in first] == expected


class Counted(RandomSearch):
    """Random search that counts the configurations it proposes itself."""

    proposed = 0

    def _suggest(self, n):
        Counted.proposed += n
        return super()._suggest(n)


def error_rate(y_true, proba):
    return zero_one_loss(y_true, proba.argmax(axis=1))


class ThirdParty:
    """A plugin that registers a strategy and a metric."""

    @hookimpl
    def automl_register_strategies(self, register):
        register("counted", Counted)

    @hookimpl
    def automl_register_metrics(self, register):
        register(Metric("error_rate", error_rate, greater_is_better=False,
                        tasks=frozenset({"binary", "multiclass"})))


@pytest.fixture()
def third_party():
    reset_registry()
    get_registry().register_plugin(ThirdParty(), name="third_party")
    yield
    reset_registry()


def test_a_plugins_strategy_and_metric_run_through_fit(table, third_party):
    X, y = table
    Counted.proposed = 0
    model = AutoML(strategy="counted", metric="error_rate", models=["logistic_regression"],
                   max_trials=6, random_state=0).fit(X, y)
    defaults = len(get_registry().model("logistic_regression").defaults)
    assert Counted.proposed >= 6 - defaults  # the trials after the defaults are its own
    board = model.leaderboard()
    assert model.metric_ == "error_rate" and "error_rate" in board.columns
    for record in model.trials_:  # each trial scored by the plugin's metric, out of fold
        assert record.score == pytest.approx(error_rate(y, record.oof))
    assert record.score < 0.1


class Sized(ClassPrior):
    """Writes the trees it was given and the rows it saw to ``log``, one line per fit."""

    def __init__(self, n_estimators=64, shrink=0.0, log=""):
        self.n_estimators, self.shrink, self.log = n_estimators, shrink, log

    def toward_uniform(self):
        return self.shrink

    def before_fit(self, X, y):
        with open(self.log, "a") as out:
            out.write(f"{self.n_estimators} {len(X)}\n")


def fits_logged(tmp_path, monkeypatch, fidelity) -> list[tuple[int, int]]:
    """``(trees, rows)`` of every fit of an early-stopping search of ``Sized``."""
    log = tmp_path / "fits.log"
    log.touch()
    spec = ModelSpec(
        name="sized", tasks={"classification"}, modalities={"tabular"},
        space=Space([Float("shrink", 0.0, 0.9)]), fidelity=fidelity,
        build=lambda config, ctx: Sized(int(config.get("n_estimators", 64)),
                                        config["shrink"], str(log)),
        description="logs its fits")
    monkeypatch.setitem(get_registry().models, "sized", spec)
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.warns(UserWarning, match="no trial reached full fidelity"):  # 12 trials: none
        AutoML(models=["sized"], early_stopping=True, strategy="random", max_trials=12,
               random_state=0, cv=2, ensemble_size=0).fit(X, y)
    return [tuple(int(v) for v in line.split()) for line in log.read_text().splitlines()]


def test_early_stopping_looks_first_with_fewer_trees(tmp_path, monkeypatch):
    fits = fits_logged(tmp_path, monkeypatch, Fidelity("n_estimators", 4, 64))
    trees = [t for t, rows in fits if rows < 569]  # the trials' fits, not the final refit
    assert max(trees) < 64 and trees.count(min(trees)) > len(trees) / 2  # cheap looks first
    assert set(trees) == {11, 24}  # the rungs of 12 trials; a few promoted
    assert fits[-1] == (64, 569)  # the final model is refitted in full


def test_early_stopping_without_a_fidelity_looks_first_at_fewer_rows(tmp_path, monkeypatch):
    fits = fits_logged(tmp_path, monkeypatch, None)
    rows = [r for _, r in fits if r < 569]
    assert set(rows) == {32, 95}  # a ninth, then a third of each 284- or 285-row fold
    assert rows.count(32) > rows.count(95) and fits[-1] == (64, 569)
