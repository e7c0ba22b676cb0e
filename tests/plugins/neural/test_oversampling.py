import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from automl.specs import Context
from automl.testing import check_model_spec
from plugins import sklearn_models
from plugins.neural.gan import TabularGAN
from plugins.neural.oversampling import (
    GeneratorOversampler,
    OversampledClassifier,
    with_oversampling,
)

GAN = {"embedding_dim": 16, "generator_width": 32, "critic_width": 32, "max_epochs": 5}


def imbalanced(n=400, seed=0):
    """Class 0 is 80% of the rows; classes 1 and 2 differ in their feature means."""
    rng = np.random.default_rng(seed)
    y = rng.choice([0, 1, 2], size=n, p=[0.8, 0.15, 0.05])
    x = rng.normal(size=(n, 2)) + np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])[y]
    kind = np.where(rng.random(n) < 0.7, np.array(["u", "v", "w"], dtype=object)[y], "u")
    kind[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame({"a": x[:, 0], "b": np.round(x[:, 1], 1),
                      "kind": pd.Series(kind, dtype=object)})
    return X, y


def test_independent_oversampler_balances_with_per_class_generators():
    X, y = imbalanced()
    sampler = GeneratorOversampler("independent", random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    counts = np.bincount(y_res)
    assert counts[0] == np.bincount(y)[0] and np.all(counts == counts[0])
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X)  # originals first, unchanged
    assert list(X_res.columns) == list(X.columns)
    assert X_res["a"].dtype == np.float64 and X_res["kind"].dtype == object
    synthetic, labels = X_res.iloc[len(X):], y_res[len(X):]
    assert set(labels) == {1, 2} and set(sampler.generators_) == {1, 2}
    means = synthetic.groupby(labels)[["a", "b"]].mean()
    assert means.loc[1, "a"] > 1.2 and means.loc[2, "b"] > 1.2  # class-conditional rows
    assert sampler.synthetic_counts_[0] == 0


def test_ctgan_oversampler_conditions_on_the_class():
    X, y = imbalanced()
    sampler = GeneratorOversampler("ctgan", target_ratio=0.5, generator_params=GAN)
    X_res, y_res = sampler.fit_resample(X, y)
    target = int(np.ceil(0.5 * np.bincount(y).max()))
    assert np.all(np.bincount(y_res)[1:] == target)
    assert isinstance(sampler.generators_["all"], TabularGAN)
    label_column = sampler.generators_["all"].columns_[-1]
    assert label_column == "__class__"
    assert list(X_res.columns) == ["a", "b", "kind"]


def test_tiny_classes_redraw_their_rows_and_arrays_stay_arrays():
    X, y = imbalanced(200)
    y = y.copy()
    y[np.flatnonzero(y == 2)[3:]] = 0  # class 2 keeps three rows
    values = X[["a", "b"]].to_numpy()
    X_res, y_res = GeneratorOversampler("independent").fit_resample(values, y)
    assert isinstance(X_res, np.ndarray) and X_res.dtype == np.float64
    new_two = X_res[len(values):][y_res[len(values):] == 2]
    originals = {tuple(row) for row in values[y == 2]}
    assert {tuple(row) for row in new_two} <= originals
    with pytest.raises(ValueError, match="target_ratio"):
        GeneratorOversampler("independent", target_ratio=0).fit_resample(values, y)
    with pytest.raises(ValueError, match="generator must be one of"):
        GeneratorOversampler("smote").fit_resample(values, y)


def test_oversampled_classifier_is_a_classifier():
    X, y = imbalanced()
    model = OversampledClassifier(LogisticRegression(), generator="independent")
    assert cross_val_score(clone(model), X[["a", "b"]], y, cv=3).mean() > 0.7
    plain = LogisticRegression().fit(X[["a", "b"]][:300], y[:300])
    fitted = model.fit(X[["a", "b"]][:300], y[:300])
    assert list(fitted.classes_) == [0, 1, 2]
    proba = fitted.predict_proba(X[["a", "b"]][300:])
    assert proba.shape == (100, 3) and np.allclose(proba.sum(1), 1)
    rare = recall_score(y[300:], fitted.predict(X[["a", "b"]][300:]), average="macro")
    base = recall_score(y[300:], plain.predict(X[["a", "b"]][300:]), average="macro")
    assert rare >= base  # balancing helps the rare classes' recall
    assert fitted.oversampler_.synthetic_counts_[2] > 0
    assert hasattr(fitted, "decision_function")
    assert not hasattr(OversampledClassifier(KNeighborsClassifier()),
                       "decision_function")


def test_with_oversampling_wraps_a_classification_spec():
    specs = []
    sklearn_models.automl_register_models(register=specs.append)
    by_name = {s.name: s for s in specs}
    spec = with_oversampling(by_name["logistic_regression"], "independent")
    assert spec.name == "logistic_regression_independent_oversampled"
    assert spec.tasks == {"classification"} and spec.space is by_name[
        "logistic_regression"].space
    X, y = imbalanced()
    ctx = Context(task="multiclass", n_rows=len(X), n_features=3, n_classes=3,
                  numeric_columns=("a", "b"), categorical_columns=("kind",))
    est = spec.build(spec.defaults[0], ctx)
    assert isinstance(est, OversampledClassifier)
    assert est.fit(X, y).predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match="classification"):
        with_oversampling(by_name["ridge"])


def test_wrapped_spec_passes_the_conformance_kit():
    specs = []
    sklearn_models.automl_register_models(register=specs.append)
    spec = {s.name: s for s in specs}["logistic_regression"]
    check_model_spec(with_oversampling(spec, "independent", target_ratio=1.0), n_configs=1)
