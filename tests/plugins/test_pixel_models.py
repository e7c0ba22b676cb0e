import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from automl import AutoML
from automl.persistence import load, save
from automl.specs import Context
from automl.testing import check_model_spec, make_modality_data
from plugins import pixel_models, sklearn_models
from plugins._tabular_adapter import AsTable, column_names, tabular_context
from plugins.pixel_models import MAX_PIXELS


def registered_specs():
    specs = []
    pixel_models.automl_register_models(register=specs.append)
    return {spec.name: spec for spec in specs}


SPECS = registered_specs()
TABULAR = {s.name: s for s in sklearn_models.model_specs()}
SOURCES = {"pixels_logistic": "logistic_regression", "pixels_ridge": "ridge",
           "pixels_hgb": "hist_gradient_boosting"}


def image_context(shape, task="multiclass"):
    return Context(task=task, n_rows=200, n_features=int(np.prod(shape)), n_classes=3,
                   modality="image", input_shape=shape)


def test_specs_reuse_the_tabular_spaces_and_defaults():
    assert set(SPECS) == set(SOURCES)
    for name, source in SOURCES.items():
        spec, tabular = SPECS[name], TABULAR[source]
        assert spec.modalities == {"image"} and spec.tasks == tabular.tasks
        assert spec.space is tabular.space and spec.defaults == tabular.defaults
        assert spec.fidelity == tabular.fidelity


def test_only_small_images_are_accepted():
    for spec in SPECS.values():
        small, large = image_context((1, 64, 64)), image_context((3, 64, 64))
        wanted = "classification" in spec.tasks
        assert spec.supports(small) is wanted and not spec.supports(large)
    assert MAX_PIXELS == 64 * 64


@pytest.mark.parametrize("name", sorted(SPECS))
def test_conformance(name):
    check_model_spec(SPECS[name], n_configs=2, seed=0)


def test_pixels_skip_the_tabular_imputation():
    ctx = image_context((1, 8, 8))
    logistic = SPECS["pixels_logistic"].build({}, ctx)
    assert isinstance(logistic.get_params()["model__estimator__prep"], StandardScaler)
    boosting = SPECS["pixels_hgb"].build({"max_iter": 16}, ctx)
    assert boosting.get_params()["model__estimator__prep"] == "passthrough"
    assert boosting.get_params()["model__estimator__model__max_iter"] == 16


def test_as_table_flattens_rows_into_named_columns():
    images = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    table = AsTable(prefix="pixel").fit(images).transform(images)
    assert list(table.columns) == list(column_names("pixel", 12))
    np.testing.assert_array_equal(table.to_numpy(), images.reshape(2, -1))
    with pytest.raises(ValueError, match="hold 4 values, but 12"):
        AsTable().fit(images).transform(images[:, 0])
    flat_ctx = tabular_context(image_context((3, 2, 2)), column_names("pixel", 12))
    assert flat_ctx.modality == "tabular" and flat_ctx.numeric_columns[-1] == "pixel11"


def test_search_on_digit_images_predict_and_save_load(tmp_path):
    images, y = load_digits(return_X_y=True)
    images = images.reshape(-1, 8, 8)[:400]
    labels = np.array(list("abcdefghij"))[y[:400]]
    model = AutoML(models=["pixels_logistic", "pixels_hgb"], max_trials=3, time_budget=60,
                   random_state=0)
    model.fit(images[:300], labels[:300])
    assert model.modality_ == "image"
    proba = model.predict_proba(images[300:])
    assert proba.shape == (100, 10) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert model.score(images[300:], labels[300:]) > 0.85
    save(model, tmp_path / "model")
    loaded = load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(images[300:]), model.predict(images[300:]))
    np.testing.assert_array_equal(loaded.predict_proba(images[300:]), proba)


def test_regression_on_images():
    X, y, ctx = make_modality_data("image", "regression", n_rows=120, seed=1)
    estimator = SPECS["pixels_ridge"].build({}, ctx).fit(X[:90], y[:90])
    assert np.corrcoef(estimator.predict(X[90:]), y[90:])[0, 1] > 0.8
