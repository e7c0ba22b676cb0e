import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from automl import AutoML, ModelSpec
from automl.data import validate_training_data
from automl.modalities import ImageSchema, SequenceSchema, TextSchema, detect_modality
from automl.registry import get_registry
from search import Float, Space


@pytest.mark.parametrize(
    ("X", "modality"),
    [
        (np.zeros((5, 8, 8)), "image"),
        (np.zeros((5, 8, 8, 3)), "image"),
        (np.zeros((5, 3, 8, 8)), "image"),
        (np.zeros((5, 20, 4), dtype=np.uint8), "image"),
        (np.zeros((5, 20, 4)), "sequence"),
        ([np.zeros((3, 2)), np.zeros((5, 2))], "sequence"),
        (["a b", "c"], "text"),
        (pd.Series(["a", "b"]), "text"),
        (np.zeros((5, 3)), "tabular"),
        (pd.DataFrame({"a": ["x", "y"]}), "tabular"),
    ],
)
def test_detect_modality(X, modality):
    assert detect_modality(X) == modality


def test_images_become_float32_nchw_whatever_the_layout():
    rng = np.random.default_rng(0)
    last = rng.random((4, 6, 5, 3))
    first = np.moveaxis(last, -1, 1)
    for images in (last, first):
        schema = ImageSchema.infer(images)
        out = schema.transform(images)
        assert out.shape == (4, 3, 6, 5) and out.dtype == np.float32
        np.testing.assert_allclose(out, np.moveaxis(last, -1, 1).astype(np.float32))
    grey = ImageSchema.infer(np.zeros((2, 8, 8)))
    assert grey.transform(np.zeros((2, 8, 8))).shape == (2, 1, 8, 8)


@pytest.mark.parametrize(
    ("X", "modality", "message"),
    [
        ([np.zeros((8, 8)), np.zeros((9, 8))], "image", r"mixed shapes"),
        (np.full((3, 8, 8), np.nan), "image", "192 NaN or infinite pixels"),
        ([np.zeros((3, 2)), np.zeros((3, 4))], "sequence", r"different feature counts \[2, 4\]"),
        ([np.zeros((3, 2)), np.full((2, 2), np.nan)], "sequence", "sequence 1 holds NaN"),
        (["good text", "  "], "text", r"1 empty texts \(rows \[1\]\)"),
        (np.zeros((2, 5, 6, 7)), "image", "1, 3 or 4 channels"),
    ],
)
def test_bad_inputs_name_the_problem(X, modality, message):
    with pytest.raises(ValueError, match=message):
        validate_training_data(X, [0, 1, 0][: len(X)], modality=modality)


def test_empty_text_list_and_unknown_modality():
    with pytest.raises(ValueError, match="0 texts"):
        TextSchema.infer([])
    with pytest.raises(ValueError, match="unknown modality 'audio'"):
        validate_training_data(np.zeros((4, 2)), [0, 1, 0, 1], modality="audio")


def test_predict_time_shapes_are_checked():
    schema = ImageSchema.infer(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="fitted on"):
        schema.transform(np.zeros((2, 9, 9)))
    sequences = SequenceSchema.infer([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="fitted on 2"):
        sequences.transform([np.zeros((3, 5))])


def test_models_that_cannot_take_the_modality_are_a_clear_error():
    images, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match=r"\['logistic_regression'\] do not support "
                                         r"multiclass on image data; usable models: \["):
        AutoML(time_budget=10, models=["logistic_regression"]).fit(images.reshape(-1, 8, 8), y)


@pytest.fixture()
def flat_image_model(monkeypatch):
    """An image spec a plugin could register: flattened pixels into logistic regression."""

    def build(config, ctx):
        assert ctx.modality == "image" and ctx.input_shape == (1, 8, 8)
        flatten = FunctionTransformer(lambda images: images.reshape(len(images), -1) / 16)
        return make_pipeline(flatten, LogisticRegression(C=config["C"], max_iter=500))

    spec = ModelSpec(name="flat_logistic", tasks={"classification"}, modalities={"image"},
                     space=Space([Float("C", 1e-3, 1e2, log=True)]), build=build,
                     defaults=[{"C": 1.0}], description="flattened pixels")
    monkeypatch.setitem(get_registry().models, "flat_logistic", spec)


@pytest.mark.slow
def test_images_are_searched_end_to_end(flat_image_model):
    images, y = load_digits(return_X_y=True)
    images = images.reshape(-1, 8, 8)
    model = AutoML(time_budget=60, max_trials=4, random_state=0).fit(images[:1200], y[:1200])
    assert model.modality_ == "image" and not hasattr(model, "n_features_in_")
    assert model.score(images[1200:], y[1200:]) > 0.9
    with pytest.raises(ValueError, match="resize them first"):
        model.predict(np.zeros((2, 9, 9)))
