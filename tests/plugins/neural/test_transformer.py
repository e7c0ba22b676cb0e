import numpy as np
import pytest
from sklearn.base import is_classifier, is_regressor

from automl.testing import check_model_spec, make_modality_data
from plugins.neural import transformer
from plugins.neural.sequence.base import SEQUENCE_MAX_EPOCHS
from plugins.neural.transformer import (
    TransformerSequenceClassifier,
    TransformerSequenceRegressor,
)

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
    transformer.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPEC = registered_specs()["transformer"]


def test_registers_transformer_for_sequences_and_texts():
    assert set(registered_specs()) == {"transformer"}
    assert SPEC.tasks == {"classification", "regression"}
    assert SPEC.modalities == {"sequence", "text"}
    assert SPEC.fidelity.param == "max_epochs" and SPEC.fidelity.high == SEQUENCE_MAX_EPOCHS
    assert {d["pooling"] for d in SPEC.defaults} == {"mean", "cls"}


def test_heads_always_divide_the_width():
    from plugins.neural.transformer.net import TransformerNet

    _, _, ctx = make_modality_data("sequence", "binary")
    rng = np.random.default_rng(0)
    assert "width" not in SPEC.space.names  # the width is n_heads x head_dim
    for _ in range(10):
        est = SPEC.build(SPEC.space.sample(rng), ctx)
        est.n_features_, est.modality_ = 3, "sequence"
        net = TransformerNet(**est._inputs_config(), **est._architecture(), n_outputs=1)
        attention = net.layers[0].self_attn
        assert attention.num_heads == est.n_heads
        assert attention.embed_dim == est.n_heads * est.head_dim


def test_conformance():
    check_model_spec(fast_spec(SPEC), n_configs=1, seed=0)


def test_build_follows_config_and_context():
    _, _, ctx = make_modality_data("sequence", "binary", n_threads=4)
    est = SPEC.build({"max_epochs": 5, "n_heads": 2, "head_dim": 8, "positional": "learned"},
                     ctx)
    assert isinstance(est, TransformerSequenceClassifier) and is_classifier(est)
    assert (est.max_epochs, est.n_heads, est.head_dim, est.positional) == (5, 2, 8, "learned")
    assert est.n_threads == 1 and est.random_state == ctx.seed
    _, _, reg_ctx = make_modality_data("text", "regression")
    assert is_regressor(SPEC.build({}, reg_ctx))


def small_net(**kwargs):
    from plugins.neural.transformer.net import TransformerNet

    params = dict(n_features=3, vocab_size=None, n_layers=2, n_heads=2, head_dim=4,
                  ff_multiplier=2, positional="sinusoidal", pooling="mean", max_length=64,
                  dropout=0.0, n_outputs=2)
    torch.manual_seed(0)
    return TransformerNet(**{**params, **kwargs})


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_padding_does_not_change_a_sequence_output(positional, pooling):
    net = small_net(positional=positional, pooling=pooling)
    short = ragged_sequences(1, 3, seed=1, low=4, high=5)[0]
    long = ragged_sequences(1, 3, seed=2, low=40, high=41)[0]
    alone, together = padded_outputs_match(net, short, long)
    torch.testing.assert_close(alone, together, rtol=1e-5, atol=1e-6)
    # so do token ids padded with id 0
    net = small_net(n_features=None, vocab_size=20, positional=positional, pooling=pooling)
    alone, together = padded_outputs_match(net, np.array([3, 4, 5]), np.arange(1, 20))
    torch.testing.assert_close(alone, together, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_attention_weights_shape_rows_and_padding(pooling):
    X, y, _ = make_modality_data("text", "binary", n_rows=60)
    est = TransformerSequenceClassifier(max_epochs=2, n_layers=2, n_heads=2, head_dim=8,
                                        pooling=pooling).fit(X, y)
    rows = ["alpha", "the red cat runs near home alpha"]
    maps = est.attention_weights(rows)
    lengths = [len(ids) + (pooling == "cls") for ids in est.tokenizer_.encode(rows)]
    longest = max(lengths)
    assert len(maps) == 2
    for weights in maps:
        assert weights.shape == (2, 2, longest, longest) and weights.dtype == np.float32
        for row, length in enumerate(lengths):
            real = weights[row, :, :length, :length]
            np.testing.assert_allclose(real.sum(-1), 1.0, rtol=1e-5)
            assert np.all(weights[row, :, :, length:] == 0)  # padded keys
            assert np.all(weights[row, :, length:, :] == 0)  # padded queries
    assert np.all(maps[0][0, :, 0, 0] == 1.0) == (pooling == "mean")  # a lone token


def test_attention_weights_of_a_regressor_on_sequences():
    X, y, _ = make_modality_data("sequence", "regression", n_rows=40)
    est = TransformerSequenceRegressor(max_epochs=1, n_layers=1, n_heads=4, head_dim=4).fit(X, y)
    maps = est.attention_weights(X[:3])
    longest = max(len(x) for x in X[:3])
    assert [m.shape for m in maps] == [(3, 4, longest, longest)]


def test_learns_word_order_that_a_bag_of_words_cannot():
    X, y = word_order_texts(300, seed=0)
    X_test, y_test = word_order_texts(200, seed=1)
    assert bag_of_words_accuracy(X, y, X_test, y_test) < 0.65
    est = TransformerSequenceClassifier(n_layers=2, n_heads=4, head_dim=8, max_epochs=20,
                                        learning_rate=3e-3, random_state=0).fit(X, y)
    assert est.score(X_test, y_test) > 0.9


def test_skops_round_trip_keeps_predictions_and_attention(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from automl.persistence import refused_types

    X, y, _ = make_modality_data("sequence", "multiclass", n_rows=40)
    est = TransformerSequenceClassifier(max_epochs=1, n_layers=1, head_dim=4,
                                        positional="learned", pooling="cls").fit(X, y)
    path = tmp_path / "transformer.skops"
    skops_io.dump(est, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert refused_types(untrusted) == []
    loaded = skops_io.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(loaded.attention_weights(X[:2])[0],
                                  est.attention_weights(X[:2])[0])


def test_automl_searches_transformer_on_sequences_and_saves(tmp_path):
    from automl import AutoML

    X, y, _ = make_modality_data("sequence", "regression", n_rows=100, seed=3)
    X_new, _, _ = make_modality_data("sequence", "regression", n_rows=20, seed=4)
    # a holdout instead of 5 folds keeps the test short; the long trial limit keeps a
    # trial alive on a busy machine (a fresh worker process imports torch first)
    model = AutoML(models=["transformer"], max_trials=2, time_budget=60, cv="holdout",
                   trial_time_limit=45, random_state=0).fit(X, y)
    assert model.modality_ == "sequence"
    assert {t.model for t in model.trials_} == {"transformer"}
    pred = model.predict(X_new)
    assert pred.shape == (20,) and np.all(np.isfinite(pred))
    model.save(tmp_path / "model")
    np.testing.assert_allclose(type(model).load(tmp_path / "model").predict(X_new), pred)
