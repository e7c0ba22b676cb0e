import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning

from automl.specs import Context, ModelSpec
from automl.testing import check_model_spec, make_tabular_data, with_unseen_categories
from plugins import sklearn_models
from plugins.sklearn_models import (
    FOREST_TREES,
    _CappedKNNClassifier,
    _CappedKNNRegressor,
    _feature_fraction,
)


def registered_specs():
    specs = []
    sklearn_models.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered_specs()


def test_registers_the_expected_models():
    assert set(SPECS) == {
        "logistic_regression", "ridge", "random_forest", "extra_trees",
        "hist_gradient_boosting", "knn",
    }
    assert SPECS["logistic_regression"].tasks == {"classification"}
    assert SPECS["ridge"].tasks == {"regression"}
    for name in ("random_forest", "extra_trees", "hist_gradient_boosting", "knn"):
        assert SPECS[name].tasks == {"classification", "regression"}
    for spec in SPECS.values():
        assert isinstance(spec, ModelSpec)
        assert spec.modalities == {"tabular"}
        assert 1 <= len(spec.defaults) <= 3


@pytest.mark.parametrize("name", sorted(SPECS))
def test_conformance(name):
    check_model_spec(SPECS[name], n_configs=3, seed=0)


@pytest.mark.parametrize("name", ["random_forest", "extra_trees", "hist_gradient_boosting", "knn"])
def test_one_spec_serves_both_tasks(name):
    spec = SPECS[name]
    _, _, cls_ctx = make_tabular_data("binary")
    _, _, reg_ctx = make_tabular_data("regression")
    assert is_classifier(spec.build(spec.defaults[0], cls_ctx))
    assert is_regressor(spec.build(spec.defaults[0], reg_ctx))


def test_first_forest_default_is_the_library_default():
    # p ** 0.5 features per split: scikit-learn's "sqrt" for classification
    p = 16
    assert math.isclose(_feature_fraction(0.5, p) * p, math.sqrt(p))
    assert _feature_fraction(1.0, p) == 1.0
    assert _feature_fraction(0.0, p) * p == pytest.approx(1.0)

    X, y, ctx = make_tabular_data("binary")
    model = SPECS["random_forest"].build({}, ctx).get_params()["estimator__model"]
    assert model.n_estimators == FOREST_TREES
    assert model.bootstrap and model.min_samples_leaf == 1


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_forests_are_sized_by_the_fidelity(name):
    spec = SPECS[name]
    X, y, ctx = make_tabular_data("regression", n_threads=2)
    assert spec.fidelity.param == "n_estimators"
    est = spec.build({**spec.defaults[0], "n_estimators": 7}, ctx).fit(X, y)
    forest = est.estimator_["model"]
    assert len(forest.estimators_) == 7
    assert forest.n_jobs == 2 and forest.random_state == ctx.seed


def test_random_forest_max_samples_only_with_bootstrap():
    _, _, ctx = make_tabular_data("binary")
    spec = SPECS["random_forest"]
    no_boot = {"max_features_exp": 0.5, "min_samples_leaf": 2, "bootstrap": False}
    spec.space.validate(no_boot)
    model = spec.build(no_boot, ctx).get_params()["estimator__model"]
    assert model.bootstrap is False and model.max_samples is None


def test_hist_gradient_boosting_uses_native_categoricals():
    X, y, ctx = make_tabular_data("multiclass")
    est = SPECS["hist_gradient_boosting"].build({}, ctx).fit(X, y)
    model = est.estimator_["model"]
    k = len(ctx.categorical_columns)
    assert list(model.categorical_features) == list(range(k))
    assert model.is_categorical_[:k].all() and not model.is_categorical_[k:].any()


def test_hist_gradient_boosting_treats_unseen_categories_as_missing():
    X, y, ctx = make_tabular_data("binary")
    est = SPECS["hist_gradient_boosting"].build({}, ctx).fit(X, y)
    unseen = with_unseen_categories(X, ctx)
    missing = unseen.copy()
    for col in ctx.categorical_columns:
        values = missing[col].to_numpy(dtype=object, copy=True)
        values[values == "never seen in fit"] = np.nan
        missing[col] = values
    np.testing.assert_allclose(est.predict_proba(unseen), est.predict_proba(missing))


def test_hist_gradient_boosting_early_stopping_depends_on_rows():
    spec = SPECS["hist_gradient_boosting"]
    small = Context(task="regression", n_rows=500, n_features=2, numeric_columns=("a", "b"))
    large = Context(task="regression", n_rows=50_000, n_features=2, numeric_columns=("a", "b"))
    small_model = spec.build({}, small).get_params()["estimator__model"]
    large_model = spec.build({}, large).get_params()["estimator__model"]
    assert small_model.early_stopping is False and small_model.max_iter == 100
    assert large_model.early_stopping is True and large_model.max_iter == 1000
    slow = {**spec.defaults[0], "learning_rate": 0.02}
    assert spec.build(slow, small).get_params()["estimator__model"].max_iter == 500
    fid = spec.build({**spec.defaults[0], "max_iter": 16}, large)
    assert fid.get_params()["estimator__model"].max_iter == 16


def test_hist_gradient_boosting_fits_with_early_stopping():
    X, y, ctx = make_tabular_data("binary", n_rows=1200)
    est = SPECS["hist_gradient_boosting"].build({}, ctx).fit(X, y)
    model = est.estimator_["model"]
    assert model.do_early_stopping_
    assert model.n_iter_ < 1000


def test_logistic_regression_converges_at_weakest_penalty():
    X, y, ctx = make_tabular_data("multiclass", n_rows=2000)
    spec = SPECS["logistic_regression"]
    high_c = {"C": spec.space["C"].high}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        spec.build(high_c, ctx).fit(X, y)


def test_build_takes_partial_configs_and_keeps_them_intact():
    _, _, ctx = make_tabular_data("binary")
    for spec in SPECS.values():
        if not spec.supports(ctx):
            continue
        config = dict(spec.defaults[-1])
        before = dict(config)
        spec.build(config, ctx)
        assert config == before
        clone(spec.build({}, ctx))


def test_knn_caps_training_rows_and_keeps_every_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.zeros(300, dtype=int)
    y[-1] = 2  # a class with one row must survive the subsample
    y[100:200] = 1
    knn = _CappedKNNClassifier(n_neighbors=500, max_train_rows=50, random_state=0).fit(X, y)
    assert knn.model_.n_samples_fit_ <= 51
    assert knn.model_.n_neighbors == knn.model_.n_samples_fit_
    np.testing.assert_array_equal(knn.classes_, [0, 1, 2])
    assert knn.predict_proba(X).shape == (300, 3)

    reg = _CappedKNNRegressor(n_neighbors=3, max_train_rows=40, random_state=0)
    reg.fit(X, X[:, 0])
    assert reg.model_.n_samples_fit_ == 40
    again = clone(reg).fit(X, X[:, 0])
    np.testing.assert_array_equal(reg.predict(X), again.predict(X))


def test_knn_clips_neighbours_to_the_rows():
    X, y, ctx = make_tabular_data("regression", n_rows=40)
    est = SPECS["knn"].build({"n_neighbors": 100, "weights": "distance"}, ctx).fit(X, y)
    assert est.estimator_["model"].model_.n_neighbors == 40


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_thread_parameters_follow_the_context(task):
    _, _, small = make_tabular_data(task, n_threads=2)
    large = Context(task=task, n_rows=100_000, n_features=small.n_features,
                    n_classes=small.n_classes, numeric_columns=small.numeric_columns,
                    categorical_columns=small.categorical_columns, n_threads=2)
    openmp_bound = {"logistic_regression", "ridge", "hist_gradient_boosting"}
    for spec in SPECS.values():
        if not spec.supports(small):
            continue
        for ctx in (small, large):
            est = spec.build({}, ctx)
            expected = 1 if spec.name in openmp_bound and ctx is small else 2
            assert est.n_threads == expected, (spec.name, ctx.n_rows)
            jobs = [v for k, v in est.get_params().items() if k.endswith("n_jobs")]
            assert all(v in (None, expected) for v in jobs), (spec.name, jobs)
