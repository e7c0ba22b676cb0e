import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from automl.tasks.generation import c2st_auc, tstr_score
from automl.testing import make_tabular_data
from plugins.generators import IndependentColumnsGenerator
from plugins.neural import gan
from plugins.neural.gan import GAN_MAX_EPOCHS, TabularGAN

TINY = {"embedding_dim": 16, "generator_width": 32, "generator_depth": 1, "critic_width": 32,
        "critic_depth": 1, "batch_size": 100, "pac": 5, "max_epochs": 2}


def registered_specs():
    specs = []
    gan.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPEC = registered_specs()["ctgan"]


@pytest.fixture(scope="module")
def awkward():
    X, _, ctx = make_tabular_data("binary", n_rows=200, seed=0)
    model = SPEC.build(TINY, ctx).fit(X)
    return X, ctx, model


def test_registers_ctgan_for_generation():
    assert SPEC.tasks == {"generation"} and SPEC.modalities == {"tabular"}
    assert SPEC.fidelity.param == "max_epochs" and SPEC.fidelity.high == GAN_MAX_EPOCHS
    assert 1 <= len(SPEC.defaults) <= 3
    for config in (*SPEC.defaults, *(SPEC.space.sample(seed) for seed in range(5))):
        SPEC.space.validate(config)


def test_importing_the_plugin_does_not_import_torch():
    code = ("import sys, plugins.neural.gan, plugins.neural.oversampling; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_follows_config_and_context():
    _, _, ctx = make_tabular_data("binary", n_threads=4)
    est = SPEC.build({"max_epochs": 7, "pac": 1, "critic_lr": 1e-3}, ctx)
    assert isinstance(est, TabularGAN)
    assert est.max_epochs == 7 and est.pac == 1 and est.critic_lr == 1e-3
    assert est.n_threads == 1 and est.random_state == ctx.seed and est.device == ctx.device
    assert est.numeric_columns == ctx.numeric_columns
    assert SPEC.build({}, ctx).max_epochs == GAN_MAX_EPOCHS


def test_samples_the_awkward_table_in_canonical_form(awkward):
    X, ctx, model = awkward
    sample = model.sample(300)
    assert list(sample.columns) == list(X.columns) and len(sample) == 300
    assert all(sample[c].dtype == np.float64 for c in ctx.numeric_columns)
    assert all(sample[c].dtype == object for c in ctx.categorical_columns)
    assert sample["all_nan"].isna().all() and sample["empty_cat"].isna().all()
    assert (sample["constant"] == 3.0).all()
    assert set(sample["x_count"]) <= set(X["x_count"])  # few values: exact values
    for name in ("x_normal", "x_skewed"):
        values = sample[name].dropna()
        assert values.min() >= X[name].min() and values.max() <= X[name].max()
    assert set(sample["row_id"]) <= set(X["row_id"])  # IDs come from the rare pool
    assert set(sample["color"].dropna()) <= set(X["color"].dropna())
    assert sample["color"].isna().any()  # missing is a category of its own
    assert all(type(v) is str for v in sample["flag"])
    assert model.n_epochs_ == 2 and model.stop_reason_ == "max_epochs"
    assert len(model.history_) == 2 and np.isfinite(model.history_[-1]["critic_loss"])
    assert model.sample(0).shape == (0, X.shape[1])


def test_same_seed_same_model_and_clone(awkward):
    X, ctx, model = awkward
    twin = clone(SPEC.build(TINY, ctx)).fit(X)
    for name, weights in model.weights_.items():
        assert np.array_equal(weights, twin.weights_[name]), name
    pd.testing.assert_frame_equal(model.sample(50, random_state=3),
                                  twin.sample(50, random_state=3))
    pd.testing.assert_frame_equal(model.sample(50), model.sample(50))
    assert not model.sample(50, random_state=1).equals(model.sample(50, random_state=2))
    assert not hasattr(clone(model), "weights_")


def test_pickle_and_skops_round_trip(awkward, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    _, _, model = awkward
    expected = model.sample(40, random_state=7)
    state = model.__getstate__()
    assert "_net" not in state
    assert all(isinstance(v, np.ndarray) for v in state["weights_"].values())
    pd.testing.assert_frame_equal(pickle.loads(pickle.dumps(model)).sample(40, random_state=7),
                                  expected)
    path = tmp_path / "gan.skops"
    skops_io.dump(model, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert refused_types(untrusted) == []
    loaded = skops_io.load(path, trusted=untrusted)
    pd.testing.assert_frame_equal(loaded.sample(40, random_state=7), expected)


def test_conditional_sampling(awkward):
    _, _, model = awkward
    reds = model.sample(30, conditions={"color": "red"})
    assert len(reds) == 30 and (reds["color"] == "red").all()
    counts = model.sample(20, conditions={"x_count": 3.0})["x_count"]
    assert (counts == 3.0).all()
    with pytest.raises(ValueError, match="frequent value"):
        model.sample(5, conditions={"color": "never seen"})
    with pytest.raises(ValueError, match="cannot be conditioned"):
        model.sample(5, conditions={"x_normal": 0.0})
    with pytest.raises(ValueError, match="exactly one"):
        model.sample(5, conditions={"color": "red", "flag": "True"})


def test_time_limit_stops_between_batches():
    X, _, ctx = make_tabular_data("regression", n_rows=200)
    model = SPEC.build({**TINY, "max_epochs": 100_000}, ctx).set_params(time_limit=0.3)
    model.fit(X)
    assert model.stop_reason_ == "time_limit" and model.n_epochs_ >= 1
    assert len(model.sample(10)) == 10


def test_bad_input_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="no rows"):
        TabularGAN().fit(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    with pytest.raises(ValueError, match="single value"):
        TabularGAN().fit(pd.DataFrame({"a": [2.0] * 20, "b": ["x"] * 20}))
    X = pd.DataFrame({"a": np.arange(40.0), "b": ["x", "y"] * 20})
    with pytest.raises(ValueError, match="fp16"):
        TabularGAN(**TINY, precision="fp16").fit(X)


def _dependent(n, seed):
    """A category drives a numeric column's mean; a second column is noise."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    z = np.select([group == "a", group == "b"], [-3.0, 0.0], 3.0) + 0.5 * rng.normal(size=n)
    return pd.DataFrame({"group": pd.Series(group, dtype=object), "z": z,
                         "x": rng.normal(size=n)})


def test_ctgan_learns_a_dependence_the_baseline_misses():
    X, real = _dependent(500, 0), _dependent(1000, 1)
    config = {"embedding_dim": 32, "generator_width": 64, "critic_width": 64,
              "generator_lr": 2e-3, "critic_lr": 2e-3, "batch_size": 250, "pac": 5,
              "critic_dropout": 0.25, "schedule": "cosine", "max_epochs": 100}
    model = TabularGAN(**config, random_state=0).fit(X)
    baseline = IndependentColumnsGenerator(random_state=0).fit(X)
    scores = {}
    for name, gen in (("ctgan", model), ("independent", baseline)):
        sample = gen.sample(1000, random_state=1)
        scores[name] = (c2st_auc(real, sample, ["z", "x"], ["group"], seed=0),
                        tstr_score(sample, real, "group", "classification"))
    assert scores["ctgan"][0] < scores["independent"][0] - 0.1, scores
    assert scores["ctgan"][1] > scores["independent"][1] + 0.4, scores


def test_ctgan_spec_passes_the_conformance_kit():
    from dataclasses import replace

    from automl.registry import get_registry
    from automl.testing import check_model_spec

    spec = get_registry().model("ctgan")
    fast = replace(spec, build=lambda config, ctx: spec.build({**config, "max_epochs": 2}, ctx))
    check_model_spec(fast, n_configs=1)


@pytest.mark.slow
def test_automl_searches_ctgan_for_generation_and_samples_its_rows(tmp_path):
    """``AutoML(task="generation")`` with ctgan: scored by the two-sample test, saved, sampled."""
    from automl import AutoML

    X = _dependent(300, 0)
    model = AutoML(task="generation", models=["ctgan"], max_trials=1, random_state=0,
                   verbose=0).fit(X)
    record = model.trials_[0]
    assert record.model == "ctgan" and record.status == "ok"
    assert 0.4 <= record.score <= 1.0 and model.metric_ == "c2st_auc"
    rows = model.sample(200, random_state=1)
    assert list(rows.columns) == list(X.columns) and set(rows["group"]) <= set(X["group"])
    model.save(tmp_path / "gen")
    pd.testing.assert_frame_equal(AutoML.load(tmp_path / "gen").sample(50, random_state=2),
                                  model.sample(50, random_state=2))
