import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor

from automl.specs import Context
from automl.testing import (
    UNSEEN_CATEGORY,
    check_model_spec,
    make_tabular_data,
    with_unseen_categories,
)
from plugins import xgboost_models
from plugins.xgboost_models import XGB_MAX_TREES, _holdout_rows, _XGBClassifier


def registered_specs():
    specs = []
    xgboost_models.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered_specs()
SPEC = SPECS["xgboost"]


def test_registers_xgboost_for_both_tasks():
    assert set(SPECS) == {"xgboost"}
    assert SPEC.tasks == {"classification", "regression"}
    assert SPEC.modalities == {"tabular"}
    assert SPEC.fidelity.param == "n_estimators"
    assert 1 <= len(SPEC.defaults) <= 3


@pytest.mark.parametrize("name", sorted(SPECS))
def test_conformance(name):
    check_model_spec(SPECS[name], n_configs=3, seed=0)


def test_native_categorical_hist_trees():
    _, _, cls_ctx = make_tabular_data("multiclass", n_threads=2)
    _, _, reg_ctx = make_tabular_data("regression")
    est = SPEC.build({}, cls_ctx)
    params = est.get_params()
    assert params["estimator__model__tree_method"] == "hist"
    assert params["estimator__model__enable_categorical"] is True
    assert params["estimator__model__n_jobs"] == 1  # a small table: one thread
    assert params["estimator__model__random_state"] == cls_ctx.seed
    assert params["estimator__model__device"] == "cpu"
    assert is_classifier(est) and is_regressor(SPEC.build({}, reg_ctx))


def test_threads_grow_with_the_table_up_to_the_context():
    def threads(n_rows, n_threads):
        ctx = Context(task="regression", n_rows=n_rows, n_features=10,
                      numeric_columns=tuple("abcdefghij"), n_threads=n_threads)
        params = SPEC.build({}, ctx).get_params()
        assert params["n_threads"] == params["estimator__model__n_jobs"]
        return params["n_threads"]

    assert threads(1_000, 8) == 1
    assert threads(50_000, 8) == 2
    assert threads(1_000_000, 8) == 8
    assert threads(1_000_000, 1) == 1


def test_device_follows_the_context():
    ctx = Context(task="regression", n_rows=100, n_features=1, numeric_columns=("a",),
                  device="cuda")
    assert SPEC.build({}, ctx).get_params()["estimator__model__device"] == "cuda"


def test_unseen_categories_are_treated_as_missing():
    X, y, ctx = make_tabular_data("binary")
    est = SPEC.build({}, ctx).fit(X, y)
    unseen = with_unseen_categories(X, ctx)
    missing = unseen.copy()
    for col in ctx.categorical_columns:
        values = missing[col].to_numpy(dtype=object, copy=True)
        values[values == UNSEEN_CATEGORY] = np.nan
        missing[col] = values
    np.testing.assert_allclose(est.predict_proba(unseen), est.predict_proba(missing))


def test_rounds_follow_the_fidelity_or_the_learning_rate():
    small = Context(task="regression", n_rows=200, n_features=1, numeric_columns=("a",))
    large = Context(task="regression", n_rows=5000, n_features=1, numeric_columns=("a",))

    def model(config, ctx):
        return SPEC.build(config, ctx).get_params()["estimator__model"]

    assert model({}, small).n_estimators == 100  # the library default at eta 0.3
    assert model({}, small).early_stopping_rounds is None
    assert model({"learning_rate": 0.02}, small).n_estimators == 500
    assert model({}, large).n_estimators == XGB_MAX_TREES
    assert model({}, large).early_stopping_rounds == 20
    assert model({"n_estimators": 16}, large).n_estimators == 16


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_early_stopping_holds_out_rows(task):
    X, y, ctx = make_tabular_data(task, n_rows=1200)
    est = SPEC.build({}, ctx).fit(X, y)
    model = est.estimator_["model"]
    assert model.best_iteration < XGB_MAX_TREES - 1
    assert model.get_booster().num_boosted_rounds() < XGB_MAX_TREES
    if task == "multiclass":
        np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    method = "predict_proba" if task == "multiclass" else "predict"
    again = clone(SPEC.build({}, ctx)).fit(X, y)
    np.testing.assert_array_equal(getattr(est, method)(X), getattr(again, method)(X))


def test_holdout_keeps_every_class_in_the_fit_part():
    y = np.array([0] * 50 + [1] * 30 + [2])
    fit_rows, val_rows = _holdout_rows(y, 0.2, seed=0, stratify=True)
    assert set(y[fit_rows]) == {0, 1, 2}
    assert len(val_rows) == 10 + 6
    assert not set(fit_rows) & set(val_rows)
    assert len(fit_rows) + len(val_rows) == len(y)
    again = _holdout_rows(y, 0.2, seed=0, stratify=True)
    np.testing.assert_array_equal(val_rows, again[1])


def test_classifier_subclass_clones_its_own_parameter():
    model = _XGBClassifier(validation_fraction=0.25, n_estimators=5, max_depth=3)
    params = model.get_params()
    assert params["validation_fraction"] == 0.25 and params["max_depth"] == 3
    copy = clone(model)
    assert copy.validation_fraction == 0.25 and copy.n_estimators == 5
