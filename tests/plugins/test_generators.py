import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from automl.testing import make_tabular_data
from plugins import generators
from plugins.generators import IndependentColumnsGenerator


def registered_specs():
    specs = []
    generators.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPEC = registered_specs()["independent_columns"]


def _fitted(n_rows=400, seed=0, **params):
    X, _, ctx = make_tabular_data("binary", n_rows=n_rows, seed=seed)
    gen = SPEC.build(params, ctx).fit(X)
    return X, ctx, gen


def test_registers_the_baseline_for_generation():
    assert SPEC.tasks == {"generation"} and SPEC.modalities == {"tabular"}
    assert SPEC.defaults == ({"bandwidth": 1.0},)
    _, _, ctx = make_tabular_data("binary")
    est = SPEC.build({"bandwidth": 0.5}, ctx)
    assert isinstance(est, IndependentColumnsGenerator)
    assert est.bandwidth == 0.5 and est.random_state == ctx.seed
    assert est.categorical_columns == ctx.categorical_columns


def test_keeps_columns_dtypes_marginals_and_missing_rates():
    X, ctx, gen = _fitted()
    sample = gen.sample(4000, random_state=1)
    assert list(sample.columns) == list(X.columns)
    assert all(sample[c].dtype == np.float64 for c in ctx.numeric_columns)
    assert all(sample[c].dtype == object for c in ctx.categorical_columns)
    for name in X.columns:
        assert abs(sample[name].isna().mean() - X[name].isna().mean()) < 0.03, name
    assert sample["all_nan"].isna().all() and sample["empty_cat"].isna().all()
    assert (sample["constant"] == 3.0).all()
    counts = sample["x_count"]
    assert np.all(counts == np.round(counts)) and set(counts) <= set(X["x_count"])
    for name in ("x_normal", "x_skewed"):
        values = sample[name].dropna()
        assert values.min() >= X[name].min() and values.max() <= X[name].max()
        assert abs(values.mean() - X[name].mean()) < 0.15 * X[name].std()
        assert abs(values.std() / X[name].std() - 1) < 0.15
    observed = X["color"].value_counts(normalize=True, dropna=False)
    generated = sample["color"].value_counts(normalize=True, dropna=False)
    assert (observed - generated).abs().max() < 0.03
    assert set(sample["row_id"]) <= set(X["row_id"])
    values = sample["color"].dropna()
    assert all(type(v) is str for v in values)


def test_jitter_follows_the_bandwidth():
    X, _, gen = _fitted(bandwidth=0.0)
    sample = gen.sample(200)
    assert set(sample["x_normal"].dropna()) <= set(X["x_normal"].dropna())
    assert gen.numeric_["x_normal"]["bandwidth"] == 0.0
    _, _, jittered = _fitted(bandwidth=1.0)
    assert jittered.numeric_["x_normal"]["bandwidth"] > 0
    assert jittered.numeric_["x_count"]["bandwidth"] == 0.0  # few distinct values: exact


def test_deterministic_clone_and_pickle():
    X, ctx, gen = _fitted()
    twin = clone(SPEC.build({}, ctx)).fit(X)
    pd.testing.assert_frame_equal(gen.sample(50), twin.sample(50))
    pd.testing.assert_frame_equal(gen.sample(50, random_state=4),
                                  twin.sample(50, random_state=4))
    assert not gen.sample(50, random_state=4).equals(gen.sample(50, random_state=5))
    again = pickle.loads(pickle.dumps(gen))
    pd.testing.assert_frame_equal(again.sample(30, random_state=2), gen.sample(30, random_state=2))
    assert not hasattr(clone(gen), "columns_")
    empty = gen.sample(0)
    assert empty.shape == (0, X.shape[1]) and list(empty.columns) == list(X.columns)


def test_skops_round_trip(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    _, _, gen = _fitted(n_rows=100)
    path = tmp_path / "gen.skops"
    skops_io.dump(gen, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert refused_types(untrusted) == []
    loaded = skops_io.load(path, trusted=untrusted)
    pd.testing.assert_frame_equal(loaded.sample(40, random_state=1), gen.sample(40, random_state=1))


def test_bad_input_is_refused_with_the_fix():
    gen = IndependentColumnsGenerator()
    with pytest.raises(ValueError, match="no rows"):
        gen.fit(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    with pytest.raises(ValueError, match="single value"):
        gen.fit(pd.DataFrame({"a": [1.0] * 10}))
    with pytest.raises(ValueError, match="bandwidth"):
        IndependentColumnsGenerator(bandwidth=-1).fit(pd.DataFrame({"a": [1.0, 2.0]}))
    fitted = IndependentColumnsGenerator().fit(pd.DataFrame({"a": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="non-negative"):
        fitted.sample(-1)


def test_independent_columns_spec_passes_the_conformance_kit():
    from automl.registry import get_registry
    from automl.testing import check_model_spec

    check_model_spec(get_registry().model("independent_columns"), n_configs=2)
