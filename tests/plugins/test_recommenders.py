import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from automl.tasks.recommendation.ranking import (
    ndcg_at_k,
    rank_positives,
    seen_items,
    split_per_user,
)
from automl.testing import make_interaction_context, make_interaction_data
from plugins import recommenders
from plugins._recsys_base import check_codes
from plugins.recommenders import BiasedMF, PopularityRecommender, _accumulate_grams


def registered(module):
    specs = []
    module.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered(recommenders)


def probe_rows(X):
    """Training-like rows plus rows with an unknown user, an unknown item and both."""
    head = X.head(6).reset_index(drop=True)
    unknown = head.head(3).copy()
    unknown.loc[0, "user"] = -1
    unknown.loc[1, "item"] = -1
    unknown.loc[2, ["user", "item"]] = -1
    return pd.concat([head, unknown], ignore_index=True)


def check_spec(spec, configs, *, side_features=False, n_users=40, n_items=30):
    """Every config fits and predicts on explicit and implicit data; returns the estimators."""
    fitted = []
    for implicit in (False, True):
        X, y, kwargs = make_interaction_data(n_users=n_users, n_items=n_items, implicit=implicit,
                                             side_features=side_features, seed=1)
        ctx = make_interaction_context(kwargs)
        probe = probe_rows(X)
        for config in configs:
            est = spec.build(dict(config), ctx)
            assert clone(est).get_params() == est.get_params()
            assert est.fit(X, y) is est
            pred = est.predict(probe)
            assert pred.shape == (len(probe),) and pred.dtype == np.float64
            assert np.all(np.isfinite(pred)), (spec.name, config, pred)
            if implicit:
                assert np.all((pred >= 0) & (pred <= 1))
            else:
                assert y.min() - 1e-9 <= pred.min() and pred.max() <= y.max() + 1e-9
            fitted.append((est, X, y, probe))
    return fitted


def sampled_configs(spec, n, seed=0, **extra):
    rng = np.random.default_rng(seed)
    return [{**spec.space.sample(rng), **extra} for _ in range(n)]


def skops_round_trip(est, probe):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    data = skops_io.dumps(est)
    untrusted = skops_io.get_untrusted_types(data=data)
    assert refused_types(untrusted) == []
    loaded = skops_io.loads(data, trusted=untrusted)
    assert type(loaded) is type(est)
    assert np.array_equal(loaded.predict(probe), est.predict(probe))
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict(probe), est.predict(probe))


def holdout(n_users, n_items, implicit, seed=0, density=0.15):
    X, y, kwargs = make_interaction_data(n_users=n_users, n_items=n_items, density=density,
                                         implicit=implicit, seed=seed)
    train, test = split_per_user(X["user"], how="last" if implicit else "random",
                                 fraction=0.2, seed=seed)
    X_train, X_test = X.iloc[train].reset_index(drop=True), X.iloc[test].reset_index(drop=True)
    y_train = None if implicit else y[train]
    y_test = None if implicit else y[test]
    return X_train, y_train, X_test, y_test, kwargs


def quality(est, X_train, y_train, X_test, y_test, n_items):
    """RMSE (explicit) or NDCG@10 with 99 sampled negatives (implicit)."""
    est.fit(X_train, y_train)
    if y_test is not None:
        return float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
    seen = seen_items(X_train["user"], X_train["item"])
    ranks = rank_positives(est.predict, X_test[["user", "item"]], seen, n_items,
                           n_negatives=99, seed=0)
    return ndcg_at_k(ranks, 10)


def test_registers_the_baselines():
    assert set(SPECS) == {"popularity", "biased_mf"}
    for spec in SPECS.values():
        assert spec.tasks == {"recommendation"} and spec.modalities == {"interactions"}
        assert spec.description and 1 <= len(spec.defaults) <= 3


@pytest.mark.parametrize("name", ["popularity", "biased_mf"])
def test_defaults_and_sampled_configs_fit_and_predict(name):
    spec = SPECS[name]
    fitted = check_spec(spec, [*spec.defaults, *sampled_configs(spec, 2)],
                        side_features=True)
    est, X, y, probe = fitted[0]
    again = spec.build(spec.defaults[0], make_interaction_context(
        make_interaction_data(n_users=40, n_items=30, side_features=True, seed=1)[2]))
    assert np.array_equal(again.fit(X, y).predict(probe), est.predict(probe))
    skops_round_trip(fitted[-1][0], fitted[-1][3])


def test_build_reads_the_catalogue_from_the_context():
    _, _, kwargs = make_interaction_data(n_users=12, n_items=9, implicit=True)
    ctx = make_interaction_context(kwargs, seed=4, n_threads=2)
    est = SPECS["biased_mf"].build({"factors": 3}, ctx)
    assert (est.n_users, est.n_items, est.implicit) == (12, 9, True)
    assert est.factors == 3 and est.random_state == 4 and est.n_threads == 1
    plain = make_interaction_context({k: v for k, v in kwargs.items()
                                      if k not in ("n_users", "n_items", "implicit")})
    assert SPECS["popularity"].build({}, plain).n_users is None


def test_fallbacks_for_unknown_users_and_items():
    X, y, _ = make_interaction_data(n_users=20, n_items=10, seed=3)
    pop = PopularityRecommender(shrinkage=0.0).fit(X, y)
    pairs = pd.DataFrame({"user": [-1, 0, -1], "item": [2, -1, -1]})
    pred = pop.predict(pairs)
    assert pred[2] == pytest.approx(y.mean())
    assert pred[0] == pytest.approx(np.clip(pop.global_mean_ + pop.fallback_item_bias_[2],
                                            y.min(), y.max()))
    Xi, _, _ = make_interaction_data(n_users=20, n_items=10, implicit=True, seed=3)
    mf = BiasedMF(factors=4).fit(Xi)
    scores = mf.predict(pd.DataFrame({"user": [-1, -1, 0], "item": [0, 1, -1]}))
    counts = np.bincount(Xi["item"], minlength=10)
    assert scores[0] == pytest.approx(counts[0] / (counts.max() + 1))
    assert scores[2] == 0.0  # an unknown item scores lowest
    known = mf.predict(Xi[["user", "item"]])
    assert known.min() > 0.0


def test_biased_mf_beats_popularity_on_low_rank_data():
    X_train, y_train, X_test, y_test, _ = holdout(120, 80, implicit=False)
    rmse_pop = quality(PopularityRecommender(), X_train, y_train, X_test, y_test, 80)
    rmse_mf = quality(BiasedMF(factors=8, reg=1.5), X_train, y_train, X_test, y_test, 80)
    assert rmse_mf < 0.85 * rmse_pop
    X_train, _, X_test, _, _ = holdout(120, 80, implicit=True)
    ndcg_pop = quality(PopularityRecommender(), X_train, None, X_test, None, 80)
    ndcg_mf = quality(BiasedMF(factors=8, reg=20.0, alpha=3.0), X_train, None, X_test, None, 80)
    assert ndcg_mf > 1.3 * ndcg_pop


def test_gram_accumulation_matches_a_direct_sum():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 30, 500)
    rows[:40] = 7  # one heavy row
    Z, w = rng.normal(size=(500, 4)), rng.random(500)
    expected = np.zeros((32, 4, 4))
    for r, z, weight in zip(rows, Z, w, strict=True):
        expected[r] += weight * np.outer(z, z)
    assert np.allclose(_accumulate_grams(rows, Z, w, 32), expected)


def test_bad_input_is_rejected_with_a_remedy():
    X, y, _ = make_interaction_data(n_users=10, n_items=8)
    with pytest.raises(ValueError, match="out of range"):
        BiasedMF(n_users=5).fit(X, y)
    with pytest.raises(ValueError, match=">= 0"):
        PopularityRecommender().fit(X.assign(user=X["user"] - 1), y)
    with pytest.raises(ValueError, match="lacks the columns"):
        PopularityRecommender().fit(X.drop(columns="item"), y)
    with pytest.raises(ValueError, match="integer codes"):
        check_codes(X.assign(item=X["item"] + 0.5))
    with pytest.raises(ValueError, match="y=None for implicit"):
        PopularityRecommender(implicit=True).fit(X, y)
    with pytest.raises(ValueError, match="finite"):
        PopularityRecommender().fit(X, np.where(np.arange(len(y)) == 0, np.nan, y))
    fitted = PopularityRecommender().fit(X, y)
    with pytest.raises(ValueError, match="out of range 0..7"):
        fitted.predict(pd.DataFrame({"user": [0], "item": [8]}))
    with pytest.raises(ValueError, match="DataFrame"):
        fitted.predict(np.zeros((2, 2), dtype=np.int64))


@pytest.mark.parametrize("name", ["popularity", "biased_mf"])
def test_recommender_specs_pass_the_conformance_kit(name):
    from automl.registry import get_registry
    from automl.testing import check_model_spec

    check_model_spec(get_registry().model(name), n_configs=2)
