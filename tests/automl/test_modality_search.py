"""End-to-end searches on images, sequences and texts with unregistered model specs."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression, Ridge

from automl import AutoML
from automl.specs import ModelSpec
from automl.testing import make_modality_data
from search import Float, Space


class FlatPixelsClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on flattened images."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C, max_iter=500).fit(_flat(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(_flat(X))

    def predict_proba(self, X):
        return self.model_.predict_proba(_flat(X))


class SequenceMeanRegressor(RegressorMixin, BaseEstimator):
    """Ridge on per-channel means and the first-to-last change of each sequence."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def _features(self, X):
        return np.stack([np.concatenate([s.mean(0), s[-1] - s[0]]) for s in X])

    def fit(self, X, y):
        self.model_ = Ridge(alpha=self.alpha).fit(self._features(X), y)
        return self

    def predict(self, X):
        return self.model_.predict(self._features(X))


def _flat(X):
    return np.asarray(X, dtype=np.float64).reshape(len(X), -1)


def _build_pixels(config, ctx):
    assert ctx.modality == "image" and ctx.input_shape == (1, 8, 8)
    return FlatPixelsClassifier(C=config["C"])


PIXELS = ModelSpec(name="flat_pixels", tasks={"classification"}, modalities={"image"},
                   space=Space([Float("C", 0.01, 10.0, log=True)]), build=_build_pixels,
                   defaults=[{"C": 1.0}], description="logistic regression on pixels")
SEQUENCES = ModelSpec(name="sequence_means", tasks={"regression"}, modalities={"sequence"},
                      space=Space([Float("alpha", 0.01, 10.0, log=True)]),
                      build=lambda config, ctx: SequenceMeanRegressor(alpha=config["alpha"]),
                      description="ridge on sequence summaries")


def test_search_on_images_with_an_unregistered_spec_and_save_load(tmp_path):
    X, y, _ = make_modality_data("image", "multiclass", n_rows=150, seed=0)
    images = np.moveaxis(X, 1, -1)  # the user's (N, H, W, C) layout
    labels = np.array(["low", "mid", "high"])[y]
    model = AutoML(models=[PIXELS], max_trials=4, time_budget=60, random_state=0)
    model.fit(images[:120], labels[:120])
    assert model.modality_ == "image"
    assert set(model.leaderboard()["model"]) <= {"flat_pixels", "ensemble"}
    proba = model.predict_proba(images[120:])
    assert proba.shape == (30, 3) and np.allclose(proba.sum(axis=1), 1)
    assert model.score(images[120:], labels[120:]) > 0.6
    with pytest.raises(ValueError, match=r"images of shape .*fitted on"):
        model.predict(np.zeros((2, 9, 9, 1), dtype=np.float32))

    model.save(tmp_path / "model")
    with pytest.raises(ValueError, match="not trusted.*FlatPixelsClassifier"):
        AutoML.load(tmp_path / "model")
    loaded = AutoML.load(tmp_path / "model", trusted=[f"{__name__}.FlatPixelsClassifier"])
    np.testing.assert_array_equal(loaded.predict(images[120:]), model.predict(images[120:]))
    assert loaded.models == ["flat_pixels"]
    assert model.models == [PIXELS]  # saving leaves the live estimator alone


def test_search_on_variable_length_sequences():
    X, y, _ = make_modality_data("sequence", "regression", n_rows=100, seed=1)
    model = AutoML(models=[SEQUENCES], max_trials=3, time_budget=60, random_state=0)
    model.fit(X[:80], y[:80])
    assert model.modality_ == "sequence"
    prediction = model.predict(X[80:])
    assert prediction.shape == (20,) and np.corrcoef(prediction, y[80:])[0, 1] > 0.5
    with pytest.raises(ValueError, match="features"):
        model.predict([np.zeros((5, 2), dtype=np.float32)])


def test_specs_that_do_not_take_the_modality_are_refused_before_the_search():
    X, y, _ = make_modality_data("text", "binary", n_rows=40)
    with pytest.raises(ValueError, match=r"do not support binary on text"):
        AutoML(models=[PIXELS], max_trials=2).fit(X, y)


def test_a_spec_whose_accepts_raises_stops_the_fit_with_its_message():
    def reject(ctx):
        raise ValueError(f"backbone wants 3 channels, images have {ctx.input_shape[0]}")

    spec = ModelSpec(name="picky", tasks={"classification"}, modalities={"image"},
                     space=PIXELS.space, build=_build_pixels, description="d", accepts=reject)
    X, y, _ = make_modality_data("image", "binary", n_rows=40)
    with pytest.raises(ValueError, match="backbone wants 3 channels, images have 1"):
        AutoML(models=[spec], max_trials=2).fit(X, y)


class AlwaysFails(ClassifierMixin, BaseEstimator):
    """Raises in fit: a broken plugin."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        raise RuntimeError("broken plugin")


def test_a_search_whose_trials_all_fail_stops_early_and_names_the_error():
    import time

    from automl.engine import FAILURES_BEFORE_GIVING_UP

    spec = ModelSpec(name="broken", tasks={"classification"}, modalities={"image"},
                     space=PIXELS.space, build=lambda config, ctx: AlwaysFails(config["C"]),
                     description="fails")
    X, y, _ = make_modality_data("image", "binary", n_rows=40)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"all 5\d trials failed.*broken plugin"):
        AutoML(models=[spec], time_budget=120, random_state=0).fit(X, y)
    assert FAILURES_BEFORE_GIVING_UP == 50 and time.monotonic() - started < 100
