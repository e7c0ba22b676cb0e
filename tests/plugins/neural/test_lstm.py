import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor

from automl.specs import Context
from automl.testing import check_model_spec, make_modality_data
from plugins.neural import lstm
from plugins.neural.lstm import RecurrentSequenceClassifier, RecurrentSequenceRegressor
from plugins.neural.sequence.base import SEQUENCE_MAX_EPOCHS

from .sequence_helpers import (
    bag_of_words_accuracy,
    fast_spec,
    padded_outputs_match,
    ragged_sequences,
    word_order_texts,
)

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def registered_specs():
    specs = []
    lstm.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPEC = registered_specs()["lstm"]


def test_registers_lstm_for_sequences_and_texts():
    assert set(registered_specs()) == {"lstm"}
    assert SPEC.tasks == {"classification", "regression"}
    assert SPEC.modalities == {"sequence", "text"}
    assert SPEC.fidelity.param == "max_epochs" and SPEC.fidelity.high == SEQUENCE_MAX_EPOCHS
    assert {d["cell"] for d in SPEC.defaults} == {"lstm", "gru"}


def test_conformance():
    check_model_spec(fast_spec(SPEC), n_configs=1, seed=0)


def test_importing_the_plugins_does_not_import_torch():
    code = ("import sys, automl.registry, plugins.neural.lstm, plugins.neural.transformer, "
            "plugins.neural.tokenizer; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_build_follows_config_and_context():
    _, _, ctx = make_modality_data("text", "multiclass", n_threads=4)
    est = SPEC.build({"max_epochs": 7, "cell": "gru", "use_l1": True, "l1": 1e-5,
                      "token_level": "subword", "vocab_size": 2000}, ctx)
    assert isinstance(est, RecurrentSequenceClassifier) and is_classifier(est)
    assert est.max_epochs == 7 and est.cell == "gru" and est.l1 == 1e-5
    assert est.token_level == "subword" and est.vocab_size == 2000
    assert est.n_threads == 1  # small data: one thread
    assert est.random_state == ctx.seed and est.device == ctx.device
    assert SPEC.build({}, ctx).max_epochs == SEQUENCE_MAX_EPOCHS
    _, _, reg_ctx = make_modality_data("sequence", "regression")
    assert is_regressor(SPEC.build({}, reg_ctx))
    big = Context(task="regression", n_rows=100_000, n_features=3, modality="sequence",
                  input_shape=(3,), n_threads=4)
    assert SPEC.build({}, big).n_threads == 4


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "mean", "attention"])
def test_padding_does_not_change_a_sequence_output(cell, pooling):
    from plugins.neural.lstm.net import RecurrentNet

    torch.manual_seed(0)
    net = RecurrentNet(n_features=3, vocab_size=None, embedding_dim=8, cell=cell, n_layers=2,
                       hidden_size=8, bidirectional=True, pooling=pooling, dropout=0.0,
                       n_outputs=2)
    short, long = ragged_sequences(2, 3, seed=1, low=4, high=5)[0], \
        ragged_sequences(1, 3, seed=2, low=30, high=31)[0]
    alone, together = padded_outputs_match(net, short, long)
    torch.testing.assert_close(alone, together, rtol=1e-5, atol=1e-6)
    # padding with garbage instead of zeros changes nothing either: packing skips it
    values = torch.full((2, 30, 3), 1e3)
    values[0, :4], values[1] = torch.from_numpy(short), torch.from_numpy(long)
    with torch.no_grad():
        garbage = net(values, torch.tensor([4, 30]))[0]
    torch.testing.assert_close(alone, garbage, rtol=1e-5, atol=1e-6)


def test_fitted_model_predicts_a_sequence_the_same_alone_or_next_to_a_longer_one():
    X, y, _ = make_modality_data("sequence", "regression", n_rows=60)
    est = RecurrentSequenceRegressor(max_epochs=2, hidden_size=16, pooling="last").fit(X, y)
    short, long = X[0][:3], np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    np.testing.assert_allclose(est.predict([short]), est.predict([short, long])[:1], rtol=1e-5)


def test_learns_word_order_that_a_bag_of_words_cannot():
    X, y = word_order_texts(300, seed=0)
    X_test, y_test = word_order_texts(200, seed=1)
    assert bag_of_words_accuracy(X, y, X_test, y_test) < 0.65
    est = RecurrentSequenceClassifier(hidden_size=32, embedding_dim=16, max_epochs=15,
                                      learning_rate=1e-2, random_state=0).fit(X, y)
    assert est.score(X_test, y_test) > 0.9


def test_standardises_sequences_and_learns_a_trend():
    X, y, _ = make_modality_data("sequence", "binary", n_rows=200, n_features=2)
    X = [x * 100 + 50 for x in X]  # scaled and shifted: standardisation undoes it
    est = RecurrentSequenceClassifier(hidden_size=16, max_epochs=20, learning_rate=1e-2,
                                      cell="gru", random_state=0).fit(X[:150], y[:150])
    np.testing.assert_allclose(est.scaler_.mean_, 50, atol=10)
    assert est.modality_ == "sequence" and est.n_features_ == 2 and est.tokenizer_ is None
    assert est.score(X[150:], y[150:]) > 0.75


def test_accepts_a_3d_array_and_keeps_max_length_steps():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 12, 2)).astype(np.float32)
    y = rng.normal(size=40)
    est = RecurrentSequenceRegressor(max_epochs=1, hidden_size=8, max_length=5).fit(X, y)
    # steps past max_length are cut off, so they cannot change a prediction
    changed = X.copy()
    changed[:, 5:] += 100
    np.testing.assert_allclose(est.predict(changed), est.predict(X), rtol=1e-6)


def test_unseen_words_and_clone():
    X, y, _ = make_modality_data("text", "multiclass", n_rows=60)
    est = RecurrentSequenceClassifier(max_epochs=2, hidden_size=8, embedding_dim=8)
    fitted = clone(est).fit(X, y)
    proba = fitted.predict_proba(["zebra quokka", "alpha", "!!"])
    assert proba.shape == (3, 3) and np.allclose(proba.sum(1), 1)
    assert clone(fitted).get_params() == est.get_params()
    assert not hasattr(clone(fitted), "weights_")
    state = fitted.__getstate__()
    assert "_net" not in state
    assert all(isinstance(v, np.ndarray) for v in state["weights_"].values())
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize(
    ("fit_X", "predict_X", "message"),
    [
        ("texts", [np.zeros((3, 3), np.float32)], "fitted on texts; pass a list of strings"),
        ("sequences", ["some text"], "fitted on sequences of 3 features"),
        ("sequences", [np.zeros((3, 2), np.float32)], "fitted on 3"),
        ("texts", "one string", "single string"),
    ],
)
def test_predict_input_must_match_fit(fit_X, predict_X, message):
    modality = "text" if fit_X == "texts" else "sequence"
    X, y, _ = make_modality_data(modality, "binary", n_rows=30)
    est = RecurrentSequenceClassifier(max_epochs=1, hidden_size=8).fit(X, y)
    with pytest.raises(ValueError, match=message):
        est.predict(predict_X)


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (["good", "  "], [0, 1], "empty texts"),
        (["good", 3], [0, 1], "not strings"),
        (["a b", "c d", "e f"], [0, 1], "y must be 1-dimensional with 3 rows"),
        ([np.zeros((0, 2))], [1.0], "not non-empty"),
        ([np.zeros((2, 2)), np.zeros((3, 2))], [0.0, np.nan], "targets must be finite"),
    ],
)
def test_bad_training_input_names_the_problem(X, y, message):
    cls = RecurrentSequenceRegressor if isinstance(y[0], float) else RecurrentSequenceClassifier
    with pytest.raises(ValueError, match=message):
        cls(max_epochs=1).fit(X, y)


def test_skops_round_trip(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    X, y, _ = make_modality_data("text", "regression", n_rows=40)
    est = RecurrentSequenceRegressor(max_epochs=1, hidden_size=8, token_level="subword",
                                     vocab_size=100).fit(X, y)
    path = tmp_path / "lstm.skops"
    skops_io.dump(est, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert refused_types(untrusted) == []
    loaded = skops_io.load(path, trusted=untrusted)
    assert loaded.tokenizer_.vocabulary_ == est.tokenizer_.vocabulary_
    texts = [f"{t} unseenword" for t in X]
    np.testing.assert_array_equal(loaded.predict(texts), est.predict(texts))


def test_automl_searches_lstm_on_texts_and_saves(tmp_path):
    from automl import AutoML

    X, y, _ = make_modality_data("text", "binary", n_rows=100, seed=3)
    X_new, _, _ = make_modality_data("text", "binary", n_rows=20, seed=4)
    # a holdout instead of 5 folds keeps the test short; the long trial limit keeps a
    # trial alive on a busy machine (a fresh worker process imports torch first)
    model = AutoML(models=["lstm"], max_trials=2, time_budget=60, cv="holdout",
                   trial_time_limit=45, random_state=0).fit(X, y)
    assert model.modality_ == "text"
    assert {t.model for t in model.trials_} == {"lstm"}
    assert any(t.status == "ok" for t in model.trials_)
    pred = model.predict(X_new)
    assert pred.shape == (20,)
    model.save(tmp_path / "model")
    loaded = AutoML.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(X_new), pred)
    np.testing.assert_allclose(loaded.predict_proba(X_new), model.predict_proba(X_new))
