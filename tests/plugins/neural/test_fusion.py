import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from automl.multimodal import MultimodalSchema
from automl.specs import Context
from plugins.neural import fusion
from plugins.neural.fusion import FusionClassifier, FusionRegressor

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


WORDS = np.array(["alpha", "beta", "gamma", "delta", "omega", "sigma"])


def xor_rows(n, seed):
    """Label = image bit XOR text bit; the table's ``x`` is noise around nothing."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    images = (rng.normal(size=(n, 1, 8, 8)) * 0.5).astype(np.float32)
    images[:, 0, :4, :4] += a[:, None, None] * 1.5
    texts = [" ".join(rng.choice(WORDS, 3)) + (" yes" if bit else " no") for bit in b]
    table = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["u", "v"], n)})
    return {"image": images, "text": texts, "tabular": table}, a ^ b


def take(X, rows):
    out = {}
    for name, values in X.items():
        if isinstance(values, pd.DataFrame):
            out[name] = values.iloc[rows].reset_index(drop=True)
        elif isinstance(values, np.ndarray):
            out[name] = values[rows]
        else:
            out[name] = [values[i] for i in rows]
    return out


FAST = {"max_epochs": 12, "embed_dim": 32, "fusion_width": 64, "random_state": 0}


def test_classifier_shapes_probabilities_and_missing_entries():
    X, y = xor_rows(240, 0)
    X_new, _ = xor_rows(30, 1)
    model = FusionClassifier(**FAST).fit(X, y)
    proba = model.predict_proba(X_new)
    assert proba.shape == (30, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert set(model.predict(X_new)) <= {0, 1}
    assert model.part_names_ == ["image", "text", "tabular"]
    # missing entries at predict time: None text, NaN image, an all-NaN table row
    X_new["text"][0] = None
    X_new["image"][1] = np.nan
    X_new["tabular"].iloc[2] = np.nan
    proba = model.predict_proba(X_new)
    assert np.all(np.isfinite(proba)) and proba.shape == (30, 2)


def text_bit(X):
    return np.array([t is not None and t.endswith("yes") for t in X["text"]], dtype=int)


def test_training_with_missing_entries_and_learned_missing_vectors():
    X, _ = xor_rows(200, 2)
    y = text_bit(X)
    for i in range(0, 200, 7):
        X["text"][i] = None
    X["image"][::9] = np.nan
    model = FusionClassifier(**FAST).fit(X, y)
    assert model.weights_["missing"].shape == (3, 32)
    X_new, _ = xor_rows(60, 3)
    y_new = text_bit(X_new)
    assert model.score(X_new, y_new) > 0.8
    X_new["text"] = [None] * 59 + X_new["text"][59:]  # the schema refuses a part all None
    proba = model.predict_proba(X_new)
    assert proba.shape == (60, 2) and np.all(np.isfinite(proba))
    # the placeholder text leaks nothing: without the text that decides the label,
    # the missing vector stands in and the rows are no longer classified well
    assert np.mean(proba[:59].argmax(axis=1) == y_new[:59]) < 0.8


def test_fusion_beats_every_single_modality_on_xor():
    X, y = xor_rows(400, 4)
    X_test, y_test = xor_rows(200, 5)
    params = {**FAST, "max_epochs": 25}
    fused = FusionClassifier(**params).fit(X, y).score(X_test, y_test)
    singles = {name: FusionClassifier(**params).fit({name: X[name]}, y)
               .score({name: X_test[name]}, y_test) for name in X}
    assert fused > 0.85, fused
    assert all(fused > score + 0.2 for score in singles.values()), (fused, singles)


def test_regressor_and_engine_data():
    X, y = xor_rows(160, 6)
    target = y + X["tabular"]["x"].to_numpy()
    schema = MultimodalSchema.infer(X)
    data = schema.transform(X)
    model = FusionRegressor(**FAST, part_modalities=(("image", "image"), ("text", "text"),
                                                     ("tabular", "tabular"))).fit(data, target)
    pred = model.predict(data)
    assert pred.shape == (160,) and np.all(np.isfinite(pred))
    assert np.corrcoef(pred, target)[0, 1] > 0.5
    assert "target_mean_" in model.__dict__


def test_same_seed_same_model_and_pickle_and_clone():
    X, y = xor_rows(120, 7)
    params = {**FAST, "max_epochs": 3, "text_encoder": "transformer"}
    first = FusionClassifier(**params).fit(X, y)
    second = FusionClassifier(**params).fit(X, y)
    np.testing.assert_allclose(first.predict_proba(X), second.predict_proba(X), atol=1e-6)
    restored = pickle.loads(pickle.dumps(first))
    assert "_net" not in restored.__dict__
    np.testing.assert_allclose(restored.predict_proba(X), first.predict_proba(X), atol=1e-6)
    copy = clone(first)
    assert copy.get_params() == first.get_params() and not hasattr(copy, "weights_")


def test_spec_builds_from_context_and_searches_space():
    (spec,) = fusion.model_specs()
    assert spec.name == "fusion" and spec.modalities == {"multimodal"}
    assert spec.fidelity.param == "max_epochs"
    parts = (("image", Context("binary", 10, 64, modality="image", input_shape=(1, 8, 8))),
             ("text", Context("binary", 10, 1, modality="text")))
    ctx = Context("binary", 100, 0, n_classes=2, modality="multimodal", parts=parts,
                  time_limit=30.0, seed=3)
    config = {**spec.defaults[0], "text_encoder": "lstm", "max_epochs": 4.4}
    est = spec.build(config, ctx)
    assert isinstance(est, FusionClassifier) and spec.supports(ctx)
    assert est.part_modalities == (("image", "image"), ("text", "text"))
    assert (est.max_epochs, est.time_limit, est.random_state) == (4, 30.0, 3)
    assert est.text_encoder == "lstm"
    reg = spec.build(spec.defaults[0], Context("regression", 100, 0, modality="multimodal",
                                                parts=parts))
    assert isinstance(reg, FusionRegressor)


def test_automl_fits_saves_and_loads_fusion(tmp_path):
    from automl import AutoML

    X, y = xor_rows(160, 8)
    X_new, _ = xor_rows(20, 9)
    spec = fusion.model_specs()[0].with_overrides({"embed_dim": 32, "fusion_width": 64})
    model = AutoML(models=[spec], max_trials=1, time_budget=60, cv="holdout",
                   trial_time_limit=45, random_state=0).fit(X, y)
    assert model.modality_ == "multimodal"
    assert any(t.status == "ok" for t in model.trials_)
    proba = model.predict_proba(X_new)
    assert proba.shape == (20, 2)
    model.save(tmp_path / "model")
    loaded = AutoML.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict_proba(X_new), proba, atol=1e-6)


@pytest.mark.parametrize("encoder", ["transformer", "lstm"])
def test_sequence_parts_of_varying_length(encoder):
    rng = np.random.default_rng(10)
    y = rng.integers(0, 2, 80)
    sensor = [rng.normal(size=(int(rng.integers(3, 9)), 2)) + label for label in y]
    sensor[5] = None
    X = {"sensor": sensor, "text": [f"row {i}" for i in range(80)]}
    model = FusionClassifier(**{**FAST, "max_epochs": 4}, sequence_encoder=encoder).fit(X, y)
    assert [p.modality for p in model.inputs_] == ["sequence", "text"]
    assert model.predict_proba(X).shape == (80, 2)
    assert model.score(X, y) > 0.7


@pytest.mark.slow
def test_fusion_spec_passes_the_conformance_kit():
    from automl.testing import check_model_spec
    from plugins.neural.fusion import model_specs

    check_model_spec(model_specs()[0], n_configs=1)
