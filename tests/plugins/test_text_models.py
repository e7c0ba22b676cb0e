from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import clone

from automl import AutoML
from automl.persistence import load, save
from automl.testing import check_model_spec, make_modality_data
from benchmarks._modality_tasks import make_topic_words, make_word_order
from plugins import text_models
from plugins.text_models import TOKEN_PATTERN, TolerantTfidfVectorizer


def registered_specs():
    specs = []
    text_models.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered_specs()
SPEC = SPECS["tfidf_linear"]


def test_registers_tfidf_linear():
    assert set(SPECS) == {"tfidf_linear"}
    assert SPEC.modalities == {"text"}
    assert SPEC.tasks == {"classification", "regression"}
    assert 1 <= len(SPEC.defaults) <= 3


def test_conformance():
    check_model_spec(SPEC, n_configs=3, seed=0)


def test_one_penalty_sets_either_model():
    _, _, classification = make_modality_data("text", "binary", n_rows=20)
    _, _, regression = make_modality_data("text", "regression", n_rows=20)
    config = {**SPEC.defaults[0], "l2_penalty": 0.25}
    logistic = SPEC.build(config, classification).get_params()["estimator__model"]
    ridge = SPEC.build(config, regression).get_params()["estimator__model"]
    assert logistic.C == pytest.approx(4.0) and ridge.alpha == pytest.approx(0.25)
    union = SPEC.build(config, classification).get_params()["estimator__features"]
    words, chars = (dict(union.transformer_list)[k] for k in ("words", "chars"))
    assert words.ngram_range == (1, config["word_ngram_max"]) and words.analyzer == "word"
    assert chars.ngram_range == (2, config["char_ngram_max"]) and chars.analyzer == "char_wb"
    assert words.min_df == chars.min_df == config["min_df"]


def test_bag_of_words_task_is_solved():
    texts, y = make_topic_words(n_rows=600, seed=0)
    _, _, ctx = make_modality_data("text", "multiclass", n_rows=450)
    ctx = replace(ctx, n_classes=4)
    estimator = SPEC.build(SPEC.defaults[0], ctx).fit(texts[:450], y[:450])
    assert estimator.score(texts[450:], y[450:]) > 0.85  # chance is 1/4


def test_word_order_is_beyond_a_bag_of_words():
    texts, y = make_word_order(n_rows=600, seed=0)
    _, _, ctx = make_modality_data("text", "binary", n_rows=450)
    estimator = SPEC.build(SPEC.defaults[0], ctx).fit(texts[:450], y[:450])
    assert estimator.score(texts[450:], y[450:]) < 0.65


def test_tokens_include_single_letters_and_punctuation():
    vectorizer = TolerantTfidfVectorizer(token_pattern=TOKEN_PATTERN).fit(["a b !", "c ?"])
    assert set(vectorizer.vocabulary_) == {"a", "b", "c", "!", "?"}


def test_min_df_falls_back_when_it_prunes_every_term():
    vectorizer = TolerantTfidfVectorizer(min_df=3, token_pattern=TOKEN_PATTERN)
    matrix = vectorizer.fit_transform(["one two", "three four", "five six"])
    assert matrix.shape == (3, 6) and vectorizer.min_df_used_ == 1
    assert vectorizer.min_df == 3  # the parameter itself is left as given
    assert clone(vectorizer).get_params()["min_df"] == 3
    tiny = TolerantTfidfVectorizer(min_df=5).fit(["uu vv", "vv ww"])  # min_df above the rows
    assert tiny.min_df_used_ == 1 and set(tiny.vocabulary_) == {"uu", "vv", "ww"}
    kept = TolerantTfidfVectorizer(min_df=2).fit(["x yy", "yy zz", "yy ww"])
    assert kept.min_df_used_ == 2 and set(kept.vocabulary_) == {"yy"}


def test_search_predict_and_save_load(tmp_path):
    X, y, _ = make_modality_data("text", "multiclass", n_rows=150, seed=0)
    labels = np.array(["x", "y", "z"])[y]
    model = AutoML(models=["tfidf_linear"], max_trials=3, time_budget=60, random_state=0)
    model.fit(list(X[:120]), labels[:120])
    assert model.modality_ == "text"
    unseen = [f"{text} neverseen" for text in X[120:]]
    proba = model.predict_proba(unseen)
    assert proba.shape == (30, 3) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(unseen, labels[120:]) > 0.8
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(unseen), proba)
    np.testing.assert_array_equal(loaded.predict(unseen), model.predict(unseen))


def test_regression_on_texts():
    X, y, ctx = make_modality_data("text", "regression", n_rows=200, seed=2)
    estimator = SPEC.build(SPEC.defaults[1], ctx).fit(X[:150], y[:150])
    assert np.corrcoef(estimator.predict(X[150:]), y[150:])[0, 1] > 0.8
