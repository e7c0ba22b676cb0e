import numpy as np
import pytest
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler

from automl import AutoML
from automl.persistence import load, save
from automl.specs import Context
from automl.testing import check_model_spec, make_modality_data
from plugins import sequence_models, sklearn_models
from plugins.sequence_models import (
    CHANNEL_STATISTICS,
    SequenceSummary,
    summarize_sequences,
    summary_feature_names,
)


def registered_specs():
    specs = []
    sequence_models.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered_specs()
TABULAR = {s.name: s for s in sklearn_models.model_specs()}


SOURCES = {"sequence_summary": "hist_gradient_boosting",
           "sequence_summary_logistic": "logistic_regression",
           "sequence_summary_ridge": "ridge"}


def test_specs_reuse_the_tabular_spaces():
    assert set(SPECS) == set(SOURCES)
    for name, source in SOURCES.items():
        spec, tabular = SPECS[name], TABULAR[source]
        assert spec.modalities == {"sequence"} and spec.tasks == tabular.tasks
        # reused, not duplicated
        assert spec.space is tabular.space and spec.defaults == tabular.defaults
        assert spec.fidelity == tabular.fidelity
    assert SPECS["sequence_summary"].tasks == {"classification", "regression"}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_conformance(name):
    check_model_spec(SPECS[name], n_configs=2, seed=0)


def test_summary_features_of_hand_made_sequences():
    two_channels = np.array([[1.0, 10.0], [2.0, 8.0], [4.0, 6.0]], dtype=np.float32)
    one_step = np.array([[5.0, -1.0]], dtype=np.float32)
    features = summarize_sequences([two_channels, one_step])
    names = summary_feature_names(2)
    assert features.shape == (2, len(CHANNEL_STATISTICS) * 2 + 1) == (2, len(names))
    row = dict(zip(names, features[0], strict=True))
    assert row["mean_0"] == pytest.approx(7 / 3) and row["mean_1"] == pytest.approx(8.0)
    assert row["std_0"] == pytest.approx(np.std([1, 2, 4]))
    assert row["std_1"] == pytest.approx(np.std([10, 8, 6]))
    assert (row["min_0"], row["max_0"], row["min_1"], row["max_1"]) == (1, 4, 6, 10)
    assert (row["first_0"], row["last_0"], row["first_1"], row["last_1"]) == (1, 4, 10, 6)
    # least-squares line over steps 0, 1, 2: (1, 2, 4) rises 1.5 a step, (10, 8, 6) falls 2
    assert row["slope_0"] == pytest.approx(1.5) and row["slope_1"] == pytest.approx(-2.0)
    assert row["length"] == 3
    single = dict(zip(names, features[1], strict=True))
    assert single["std_0"] == single["slope_1"] == 0.0 and single["length"] == 1
    assert single["first_0"] == single["last_0"] == single["mean_0"] == 5.0


def test_summaries_match_a_per_sequence_computation():
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(int(n), 3)).astype(np.float32)
                 for n in rng.integers(2, 40, size=50)]
    fast = summarize_sequences(sequences)
    for sequence, row in zip(sequences, fast, strict=True):
        x = sequence.astype(np.float64)
        slope = np.polyfit(np.arange(len(x)), x, 1)[0]
        expected = np.concatenate([x.mean(0), x.std(0), x.min(0), x.max(0), x[0], x[-1],
                                   slope, [len(x)]])
        np.testing.assert_allclose(row, expected, rtol=1e-9, atol=1e-9)
    # an (N, T, F) array gives the same rows as the list of its sequences
    block = rng.normal(size=(4, 6, 2))
    np.testing.assert_array_equal(summarize_sequences(block), summarize_sequences(list(block)))


def test_transformer_checks_channels_and_names_its_columns():
    sequences = [np.zeros((3, 2)), np.ones((5, 2))]
    summary = clone(SequenceSummary()).fit(sequences)
    assert summary.n_channels_ == 2
    assert list(summary.get_feature_names_out())[-1] == "length"
    with pytest.raises(ValueError, match="3 channels, but 2"):
        summary.transform([np.zeros((4, 3))])
    with pytest.raises(ValueError, match="non-empty"):
        summarize_sequences([np.zeros((0, 2))])


def test_build_caps_threads_and_follows_the_fidelity():
    spec = SPECS["sequence_summary"]
    ctx = Context(task="binary", n_rows=100, n_features=3, n_classes=2, n_threads=2,
                  modality="sequence", input_shape=(3,))
    estimator = spec.build({**spec.defaults[0], "max_iter": 16}, ctx)
    assert [name for name, _ in estimator.steps] == ["summary", "table", "model"]
    assert estimator.named_steps["model"].n_threads == 1  # a small table: one thread
    params = estimator.get_params()
    assert params["model__estimator__model__max_iter"] == 16
    assert params["model__estimator__prep"] == "passthrough"
    linear = SPECS["sequence_summary_logistic"].build({}, ctx)
    assert isinstance(linear.get_params()["model__estimator__prep"], StandardScaler)


def test_search_predict_and_save_load(tmp_path):
    X, y, _ = make_modality_data("sequence", "multiclass", n_rows=150, seed=0)
    model = AutoML(models=["sequence_summary", "sequence_summary_logistic"], max_trials=3,
                   time_budget=60, random_state=0)
    model.fit(X[:120], y[:120])
    assert model.modality_ == "sequence"
    proba = model.predict_proba(X[120:])
    assert proba.shape == (30, 3) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(X[120:], y[120:]) > 0.5  # three classes: chance is 1/3
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X[120:]), proba)
    np.testing.assert_array_equal(loaded.predict(X[120:]), model.predict(X[120:]))
