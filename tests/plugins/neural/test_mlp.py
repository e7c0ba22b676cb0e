import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_moons
from sklearn.metrics import r2_score

from automl.specs import Context
from automl.testing import (
    UNSEEN_CATEGORY,
    check_model_spec,
    make_tabular_data,
    with_unseen_categories,
)
from plugins.neural import mlp
from plugins.neural.mlp import MLP_MAX_EPOCHS, TabularMLPClassifier, TabularMLPRegressor


def registered_specs():
    specs = []
    mlp.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered_specs()
SPEC = SPECS["mlp"]


def test_registers_mlp_for_both_tasks():
    assert set(SPECS) == {"mlp"}
    assert SPEC.tasks == {"classification", "regression"}
    assert SPEC.modalities == {"tabular"}
    assert SPEC.fidelity.param == "max_epochs"
    assert SPEC.fidelity.high == MLP_MAX_EPOCHS
    assert 1 <= len(SPEC.defaults) <= 3


def test_conformance():
    check_model_spec(SPEC, n_configs=3, seed=0)


def test_importing_the_plugin_does_not_import_torch():
    code = ("import sys, automl.registry, plugins.neural.mlp; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_follows_config_and_context():
    _, _, ctx = make_tabular_data("multiclass", n_threads=4)
    est = SPEC.build({"max_epochs": 7, "use_l1": True, "l1": 1e-4, "width": 64}, ctx)
    assert isinstance(est, TabularMLPClassifier) and is_classifier(est)
    assert est.max_epochs == 7 and est.l1 == 1e-4 and est.width == 64
    assert est.n_threads == 1  # a small table: one thread
    assert est.random_state == ctx.seed and est.device == ctx.device
    assert est.categorical_columns == ctx.categorical_columns
    assert SPEC.build({}, ctx).max_epochs == MLP_MAX_EPOCHS
    assert SPEC.build({"use_l1": False}, ctx).l1 == 0.0
    _, _, reg_ctx = make_tabular_data("regression")
    assert is_regressor(SPEC.build({}, reg_ctx))
    big = Context(task="regression", n_rows=1_000_000, n_features=10,
                  numeric_columns=tuple("abcdefghij"), n_threads=4)
    assert SPEC.build({}, big).n_threads == 4


def test_learns_moons():
    X, y = make_moons(n_samples=600, noise=0.15, random_state=0)
    X = pd.DataFrame(X, columns=["a", "b"])
    est = TabularMLPClassifier(max_epochs=60, random_state=0).fit(X[:400], y[:400])
    assert est.score(X[400:], y[400:]) > 0.9
    proba = est.predict_proba(X[400:])
    assert proba.shape == (200, 2) and np.allclose(proba.sum(1), 1.0)
    assert list(est.classes_) == [0, 1]


def test_learns_a_nonlinear_regression_with_a_categorical_effect():
    rng = np.random.default_rng(0)
    n = 1200
    x = rng.uniform(-2, 2, size=(n, 2))
    group = rng.choice(["a", "b", "c"], size=n)
    y = np.sin(2 * x[:, 0]) + x[:, 1] ** 2 + np.select(
        [group == "a", group == "b"], [1.0, -1.0], 0.0) + 0.1 * rng.normal(size=n)
    X = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "group": pd.Series(group, dtype=object)})
    est = TabularMLPRegressor(max_epochs=60, random_state=0).fit(X[:900], y[:900])
    assert r2_score(y[900:], est.predict(X[900:])) > 0.8
    assert est.categorical_columns_ == ["group"] and est.numeric_columns_ == ["x0", "x1"]
    # no missing or rare group in fit: those codes keep their neutral zero embedding
    assert np.all(est.weights_["embeddings.0.weight"][:2] == 0)
    unseen = X[900:].assign(group=pd.Series(["zzz"] * 300, index=X.index[900:], dtype=object))
    assert np.all(np.isfinite(est.predict(unseen)))


def test_unseen_and_missing_categories_get_their_own_codes():
    X, y, ctx = make_tabular_data("binary")
    est = SPEC.build({"max_epochs": 3}, ctx).fit(X, y)
    assert est.categories_["color"] == ["blue", "green", "red", "violet"]
    assert est.categories_["row_id"] == []  # every ID seen once: all rare
    assert est.categories_["empty_cat"] == []
    frame = pd.DataFrame({c: [np.nan] * 3 for c in ctx.numeric_columns}
                         | {c: pd.Series(["red", np.nan, UNSEEN_CATEGORY], dtype=object)
                            for c in ctx.categorical_columns})
    _, codes = est._encode(frame)
    assert list(codes[:, list(ctx.categorical_columns).index("color")]) == [4, 0, 1]
    pred = est.predict_proba(with_unseen_categories(X, ctx, fraction=1.0))
    assert np.all(np.isfinite(pred))


def test_numpy_input_and_clone():
    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    est = TabularMLPClassifier(max_epochs=3, width=16)
    fitted = clone(est).fit(X, y)
    assert fitted.predict(X).shape == (100,)
    assert not hasattr(fitted, "feature_names_in_") and fitted.n_features_in_ == 2
    frame = pd.DataFrame(X)  # integer column labels
    assert np.array_equal(clone(est).fit(frame, y).predict(frame), fitted.predict(X))
    assert clone(fitted).get_params() == est.get_params()
    assert not hasattr(clone(fitted), "weights_")


def test_time_limit_keeps_the_best_weights_so_far():
    X, y, ctx = make_tabular_data("regression", n_rows=400)
    est = SPEC.build({"batch_size": 32}, ctx).set_params(time_limit=0.2, max_epochs=100_000,
                                                          patience=None)
    est.fit(X, y)
    assert est.stop_reason_ == "time_limit"
    assert np.all(np.isfinite(est.predict(X)))


def test_pickle_round_trip_drops_the_torch_module():
    X, y, ctx = make_tabular_data("multiclass")
    est = SPEC.build({"max_epochs": 3}, ctx).fit(X, y)
    state = est.__getstate__()
    assert "_net" not in state
    assert all(isinstance(v, np.ndarray) for v in state["weights_"].values())
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict_proba(X), est.predict_proba(X))


def test_skops_round_trip(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    X, y, ctx = make_tabular_data("regression")
    X_new = with_unseen_categories(X, ctx)
    est = SPEC.build({"max_epochs": 3}, ctx).fit(X, y)
    path = tmp_path / "mlp.skops"
    skops_io.dump(est, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    # automl.persistence accepts every type the file holds without extra trust
    assert refused_types(untrusted) == []
    loaded = skops_io.load(path, trusted=untrusted)
    assert isinstance(loaded, TabularMLPRegressor)
    assert np.array_equal(loaded.predict(X_new), est.predict(X_new))


def test_a_search_with_networks_is_reproducible_without_a_time_budget():
    from automl import AutoML

    X, y = make_moons(300, noise=0.25, random_state=0)
    boards = [AutoML(models=["mlp"], max_trials=2, random_state=3, verbose=0).fit(X, y)
              .leaderboard() for _ in range(2)]
    assert list(boards[0]["params"]) == list(boards[1]["params"])
    np.testing.assert_array_equal(boards[0]["roc_auc"], boards[1]["roc_auc"])
    assert boards[0]["roc_auc"].max() > 0.9
