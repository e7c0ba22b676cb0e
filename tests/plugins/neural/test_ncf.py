import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from automl.testing import make_interaction_context, make_interaction_data
from plugins.neural import ncf
from plugins.neural.ncf import NCF_MAX_EPOCHS, HybridMF, NeuMF
from plugins.neural.ncf.base import _draw_negatives_numpy
from plugins.recommenders import BiasedMF, PopularityRecommender
from tests.plugins.test_recommenders import (
    check_spec,
    holdout,
    probe_rows,
    quality,
    registered,
    sampled_configs,
    skops_round_trip,
)

SPECS = registered(ncf)


def test_registers_neumf_and_hybrid_mf():
    assert set(SPECS) == {"neumf", "hybrid_mf"}
    for spec in SPECS.values():
        assert spec.tasks == {"recommendation"} and spec.modalities == {"interactions"}
        assert spec.fidelity.param == "max_epochs" and spec.fidelity.high == NCF_MAX_EPOCHS
    _, _, plain = make_interaction_data(n_users=10, n_items=8)
    _, _, side = make_interaction_data(n_users=10, n_items=8, side_features=True)
    assert SPECS["neumf"].supports(make_interaction_context(plain))
    assert not SPECS["hybrid_mf"].supports(make_interaction_context(plain))
    assert SPECS["hybrid_mf"].supports(make_interaction_context(side))


def test_importing_the_plugin_does_not_import_torch():
    code = ("import sys, plugins.neural.ncf, plugins.recommenders; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_follows_config_and_context():
    _, _, kwargs = make_interaction_data(n_users=12, n_items=9, implicit=True,
                                         side_features=True)
    ctx = make_interaction_context(kwargs, seed=3)
    est = SPECS["hybrid_mf"].build({"max_epochs": 7, "n_layers": 1, "width": 32}, ctx)
    assert isinstance(est, HybridMF)
    assert est.max_epochs == 7 and est.n_layers == 1 and est.width == 32
    assert (est.n_users, est.n_items, est.implicit) == (12, 9, True)
    assert est.categorical_columns == ctx.categorical_columns and est.random_state == 3
    neumf = SPECS["neumf"].build({}, ctx)
    assert isinstance(neumf, NeuMF) and neumf.max_epochs == NCF_MAX_EPOCHS
    assert clone(neumf).get_params() == neumf.get_params()


@pytest.mark.parametrize("name", ["neumf", "hybrid_mf"])
def test_defaults_and_sampled_configs_fit_and_predict(name):
    spec = SPECS[name]
    configs = [{**d, "max_epochs": 3} for d in spec.defaults]
    configs += sampled_configs(spec, 1, seed=1, max_epochs=2)
    fitted = check_spec(spec, configs, side_features=True, n_users=30, n_items=20)
    est, X, y, probe = fitted[-1]  # implicit, sampled config
    assert est.n_epochs_ <= 2 and len(est.history_) == est.n_epochs_
    twin = clone(est).fit(X, y)
    assert np.array_equal(twin.predict(probe), est.predict(probe))
    other = clone(est).set_params(random_state=est.random_state + 1).fit(X, y)
    assert not np.array_equal(other.predict(probe), est.predict(probe))
    skops_round_trip(est, probe)
    assert "_net" not in est.__getstate__()


def test_neumf_beats_popularity_on_low_rank_data():
    X_train, y_train, X_test, y_test, _ = holdout(120, 80, implicit=False)
    rmse_pop = quality(PopularityRecommender(), X_train, y_train, X_test, y_test, 80)
    rmse_nn = quality(NeuMF(), X_train, y_train, X_test, y_test, 80)
    assert rmse_nn < 0.93 * rmse_pop
    X_train, _, X_test, _, _ = holdout(120, 80, implicit=True)
    ndcg_pop = quality(PopularityRecommender(), X_train, None, X_test, None, 80)
    ndcg_nn = quality(NeuMF(), X_train, None, X_test, None, 80)
    assert ndcg_nn > 1.2 * ndcg_pop


def cold_user_split(n_users, n_items, seed):
    """A third of the users keep only their first rating; the rest of theirs is the test."""
    X, y, _ = make_interaction_data(n_users=n_users, n_items=n_items, density=0.2,
                                    side_features=True, seed=seed)
    cold = np.random.default_rng(seed).choice(n_users, n_users // 3, replace=False)
    first = ~X.duplicated("user").to_numpy()
    train = ~np.isin(X["user"].to_numpy(), cold) | first
    return (X[train].reset_index(drop=True), y[train], X[~train].reset_index(drop=True),
            y[~train])


def test_hybrid_beats_biased_mf_for_cold_users_when_side_features_carry_signal():
    X_train, y_train, X_test, y_test = cold_user_split(60, 40, seed=0)
    rmse = {}
    for name, est in (("mf", BiasedMF(factors=16, reg=1.5)), ("hybrid", HybridMF())):
        est.fit(X_train, y_train)
        rmse[name] = float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
        if name == "hybrid":  # bare pairs get the user's and item's attributes back
            bare = est.predict(X_test[["user", "item"]])
            assert np.allclose(bare, est.predict(X_test))
            assert est.side_.roles == {"age": "user", "price": "item", "segment": "user",
                                       "genre": "item"}
    assert rmse["hybrid"] < 0.95 * rmse["mf"], rmse


def test_hybrid_scores_unknown_users_from_their_features():
    X, y, kwargs = make_interaction_data(n_users=40, n_items=30, side_features=True, seed=2)
    est = HybridMF(max_epochs=5).fit(X, y)
    rows = X.head(4).assign(user=-1)
    with_features = est.predict(rows)
    without = est.predict(rows[["user", "item"]])
    assert np.all(np.isfinite(with_features)) and not np.allclose(with_features, without)
    unseen = rows.assign(segment=pd.Series(["new"] * 4, index=rows.index, dtype=object),
                         age=np.nan)
    assert np.all(np.isfinite(est.predict(unseen)))
    assert est.side_.encode(unseen, np.full(4, -1), rows["item"].to_numpy())[1][0, 0] == 1


def test_negative_draws_avoid_positives():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(1, 6), 200)
    keys = np.sort(np.array([u * 11 + i for u in range(1, 6) for i in (1, 2, 3)]))
    items = _draw_negatives_numpy(users, keys, 10, rng)
    assert items.min() >= 1 and items.max() <= 10
    hit = np.isin(users * 11 + items, keys)
    assert hit.mean() < 0.01  # 30% before redraws, 0.3**4 after three rounds


def test_rejects_bad_parameters_and_codes():
    X, y, _ = make_interaction_data(n_users=10, n_items=8)
    with pytest.raises(ValueError, match="negatives"):
        NeuMF(negatives=0).fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        NeuMF(n_items=3).fit(X, y)
    est = NeuMF(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=">= 0 or -1"):
        est.predict(probe_rows(X).assign(user=-2))


@pytest.mark.parametrize("name", ["neumf", "hybrid_mf"])
def test_neural_recommender_specs_pass_the_conformance_kit(name):
    from dataclasses import replace

    from automl.registry import get_registry
    from automl.testing import check_model_spec

    spec = get_registry().model(name)
    fast = replace(spec, build=lambda config, ctx: spec.build({**config, "max_epochs": 3}, ctx))
    check_model_spec(fast, n_configs=1)
