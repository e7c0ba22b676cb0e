import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from automl.preprocessing import tabular_preprocessor
from automl.specs import Fidelity, ModelSpec
from automl.testing import (
    TASKS,
    UNSEEN_CATEGORY,
    check_model_spec,
    make_modality_data,
    make_tabular_data,
    with_unseen_categories,
)
from search import Float, Space

# -- the generated data ------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_make_tabular_data_matches_the_engine_contract(task):
    X, y, ctx = make_tabular_data(task, n_rows=90, seed=3, n_threads=2)
    assert ctx.task == task and ctx.n_rows == 90 and ctx.n_features == X.shape[1]
    assert ctx.seed == 3 and ctx.n_threads == 2
    assert set(ctx.numeric_columns) | set(ctx.categorical_columns) == set(X.columns)
    for col in ctx.numeric_columns:
        assert X[col].dtype == np.float64
    for col in ctx.categorical_columns:
        assert X[col].dtype == object
        assert all(isinstance(v, str) for v in X[col].dropna())
    assert X["x_normal"].isna().any() and X["color"].isna().any()
    assert X["all_nan"].isna().all() and X["empty_cat"].isna().all()
    assert X["constant"].nunique() == 1
    assert X["row_id"].nunique() == 90
    assert set(X["flag"]) == {"True", "False"}
    assert len(y) == 90
    if task == "regression":
        assert ctx.n_classes is None and y.dtype == np.float64
    else:
        assert y.dtype == np.int64
        np.testing.assert_array_equal(np.unique(y), np.arange(ctx.n_classes))


def test_make_tabular_data_is_seeded_and_checks_arguments():
    a, ya, _ = make_tabular_data("binary", seed=1)
    b, yb, _ = make_tabular_data("binary", seed=1)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    with pytest.raises(ValueError, match="task"):
        make_tabular_data("ranking")
    with pytest.raises(ValueError, match="n_rows"):
        make_tabular_data("binary", n_rows=5)


def test_with_unseen_categories_copies_and_adds_new_values():
    X, _, ctx = make_tabular_data("binary")
    before = X.copy()
    out = with_unseen_categories(X, ctx)
    pd.testing.assert_frame_equal(X, before)
    for col in ctx.categorical_columns:
        assert (out[col] == UNSEEN_CATEGORY).any() and out[col].dtype == object
    pd.testing.assert_frame_equal(out[list(ctx.numeric_columns)], X[list(ctx.numeric_columns)])


# -- a small third-party style spec and broken variants ------------------------


def build_logreg(config, ctx):
    return make_pipeline(tabular_preprocessor(ctx, scale=True),
                         LogisticRegression(C=config["C"]))


def build_ridge(config, ctx):
    return make_pipeline(tabular_preprocessor(ctx, scale=True), Ridge(alpha=config["C"]))


def build_any(config, ctx):
    return build_logreg(config, ctx) if ctx.is_classification else build_ridge(config, ctx)


def local_types():
    """The estimator classes of this module, which a saved model may hold."""
    return {f"{__name__}.{name}" for name, obj in globals().items()
            if isinstance(obj, type) and obj.__module__ == __name__}


def good_spec(**changes):
    fields = dict(
        name="toy", tasks={"classification", "regression"}, modalities={"tabular"},
        space=Space([Float("C", 0.01, 100.0, log=True)]), build=build_any,
        defaults=[{"C": 1.0}], description="a toy linear model", persisted_types=local_types(),
    )
    fields.update(changes)
    return ModelSpec(**fields)


def test_a_good_spec_passes():
    check_model_spec(good_spec(), n_configs=2)


class BadProba(LogisticRegression):
    def predict_proba(self, X):
        return 0.5 * super().predict_proba(X)  # in [0, 1], rows sum to 0.5


def test_catches_probabilities_that_do_not_sum_to_one():
    def build(config, ctx):
        return make_pipeline(tabular_preprocessor(ctx), BadProba(C=config["C"]))

    spec = good_spec(tasks={"classification"}, build=build)
    with pytest.raises(AssertionError, match=r"'toy' \[binary, default 0 .*sum to 1"):
        check_model_spec(spec)


def test_catches_defaults_outside_the_space():
    with pytest.raises(ValueError, match=r"Float 'C': 1000000.0 is outside \[0.01, 100.0\]"):
        # ModelSpec refuses them at construction ...
        good_spec(defaults=[{"C": 1e6}])
    spec = good_spec()
    object.__setattr__(spec, "defaults", ({"C": 1e6},))  # ... so smuggle one in
    with pytest.raises(AssertionError, match=r"'toy' \[default 0\].*1000000\.0.*not a valid"):
        check_model_spec(spec)


def test_catches_an_empty_description_and_a_wrongly_declared_modality():
    with pytest.raises(AssertionError, match="description"):
        check_model_spec(good_spec(description=""))
    with pytest.raises(AssertionError, match=r"\[image binary.*raised"):
        check_model_spec(good_spec(modalities={"image"}))


def test_catches_failure_on_unseen_categories():
    def build(config, ctx):
        strict = OneHotEncoder(handle_unknown="error")
        return make_pipeline(_Columns(list(ctx.categorical_columns)), _Fill(), strict, Ridge())

    spec = good_spec(tasks={"regression"}, build=build)
    with pytest.raises(AssertionError, match=r"predict raised .*unseen"):
        check_model_spec(spec)


class _Columns(BaseEstimator):
    def __init__(self, columns=None):
        self.columns = columns

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X[self.columns]


class _Fill(BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.fillna("missing").astype(str)


class Unseeded(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.shift_ = np.random.default_rng().random()
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)

    def predict_proba(self, X):
        p = np.full((len(X), len(self.classes_)), self.shift_)
        p[:, 0] += 1.0
        return p / p.sum(axis=1, keepdims=True)


def test_catches_ignored_seed():
    spec = good_spec(tasks={"classification"}, build=lambda c, ctx: Unseeded(C=c["C"]))
    with pytest.raises(AssertionError, match="different predictions"):
        check_model_spec(spec)


class Forgetful(Unseeded):
    """Seeded, but drops its fitted shift when saved: predicts differently after a reload."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.shift_ = 0.25
        return self

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "shift_"}

    def predict_proba(self, X):
        self.shift_ = getattr(self, "shift_", 0.0)
        return super().predict_proba(X)


def test_catches_a_type_that_would_not_load_and_names_it():
    spec = good_spec(tasks={"classification"}, build=lambda c, ctx: Unseeded(C=c["C"]),
                     persisted_types=())
    with pytest.raises(AssertionError, match=r"would not load: it stores "
                                             r"\['tests.automl.test_testing.Unseeded'\]; "
                                             "declare them in ModelSpec.persisted_types"):
        check_model_spec(spec)


def test_catches_an_estimator_that_predicts_differently_after_a_reload():
    spec = good_spec(tasks={"classification"}, build=lambda c, ctx: Forgetful(C=c["C"]))
    with pytest.raises(AssertionError, match="predicts differently after a skops save"):
        check_model_spec(spec)


def test_catches_too_many_threads():
    def build(config, ctx):
        return make_pipeline(tabular_preprocessor(ctx), LogisticRegression(n_jobs=-1))

    spec = good_spec(tasks={"classification"}, build=build)
    with pytest.raises(AssertionError, match=r"n_jobs=-1 .*ctx.n_threads"):
        check_model_spec(spec)


class Uncloneable(Unseeded):
    def __init__(self, C=1.0):
        self.C = C * 2  # scikit-learn's contract: store arguments unchanged


def test_catches_an_estimator_that_does_not_clone():
    spec = good_spec(tasks={"classification"}, build=lambda c, ctx: Uncloneable(C=c["C"]))
    with pytest.raises(AssertionError, match="clone"):
        check_model_spec(spec)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_catches_a_fidelity_build_ignores():
    spec = good_spec(fidelity=Fidelity("max_iter", 5, 100))  # build never reads it
    with pytest.raises(AssertionError, match=r"build ignores the fidelity.*max_iter=5"):
        check_model_spec(spec, n_configs=0)

    spec = good_spec(fidelity=Fidelity("n_trees", 5, 100))  # nowhere at all
    with pytest.raises(AssertionError, match="neither in the space nor"):
        check_model_spec(spec, n_configs=0)

    def build(config, ctx):
        est = build_any(config, ctx)
        if "max_iter" in config and ctx.is_classification:
            est.set_params(logisticregression__max_iter=config["max_iter"])
        return est

    # classification reads it; regression does not, and is caught
    spec = good_spec(fidelity=Fidelity("max_iter", 5, 100), build=build)
    with pytest.raises(AssertionError, match=r"\[regression, fidelity max_iter\]"):
        check_model_spec(spec, n_configs=1)


def test_catches_a_build_that_modifies_its_config():
    def build(config, ctx):
        config.pop("C")
        return build_any({"C": 1.0}, ctx)

    with pytest.raises(AssertionError, match="modified the config"):
        check_model_spec(good_spec(build=build))


def test_catches_wrong_prediction_shapes():
    class Column(Ridge):
        def predict(self, X):
            return super().predict(X).reshape(-1, 1)

    def build(config, ctx):
        return make_pipeline(tabular_preprocessor(ctx), Column())

    with pytest.raises(AssertionError, match=r"predict returned shape \(150, 1\)"):
        check_model_spec(good_spec(tasks={"regression"}, build=build))


# -- other modalities -----------------------------------------------------------------


@pytest.mark.parametrize("modality", ["image", "sequence", "text"])
@pytest.mark.parametrize("task", TASKS)
def test_make_modality_data_gives_canonical_data_and_context(modality, task):
    from automl.modalities import SCHEMAS

    X, y, ctx = make_modality_data(modality, task, n_rows=30, seed=2)
    assert len(X) == len(y) == ctx.n_rows == 30
    assert ctx.modality == modality and ctx.task == task and ctx.seed == 2
    schema = SCHEMAS[modality].infer(X)
    assert schema.input_shape == ctx.input_shape
    canonical = schema.transform(X)
    assert len(canonical) == 30
    if task != "regression":
        np.testing.assert_array_equal(np.unique(y), np.arange(ctx.n_classes))


def test_make_modality_data_checks_arguments():
    with pytest.raises(ValueError, match="modality"):
        make_modality_data("audio", "binary")
    with pytest.raises(ValueError, match="n_rows"):
        make_modality_data("image", "binary", n_rows=3)


class _FlatPixels(ClassifierMixin, BaseEstimator):
    """Logistic regression on flattened images: a minimal image spec's estimator."""

    def __init__(self, C=1.0, flatten=True):
        self.C = C
        self.flatten = flatten

    def _rows(self, X):
        X = np.asarray(X, dtype=np.float64)
        return X.reshape(len(X), -1) if self.flatten else X[:, :, 0, 0]

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(self._rows(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(self._rows(X))

    def predict_proba(self, X):
        return self.model_.predict_proba(self._rows(X))


def _image_spec(build):
    return ModelSpec(name="flat_pixels", tasks={"classification"}, modalities={"image"},
                     space=Space([Float("C", 0.1, 10.0, log=True)]), build=build,
                     description="logistic regression on flattened pixels",
                     persisted_types=local_types())


def test_check_model_spec_checks_image_specs():
    check_model_spec(_image_spec(lambda config, ctx: _FlatPixels(C=config["C"])))


def test_check_model_spec_reports_a_spec_that_breaks_on_images():
    def build(config, ctx):
        return LogisticRegression(C=config["C"])  # cannot take (N, C, H, W) arrays

    with pytest.raises(AssertionError, match=r"flat_pixels.*image binary.*fit raised"):
        check_model_spec(_image_spec(build))


def test_check_model_spec_rejects_unknown_modalities_only():
    spec = ModelSpec(name="ratings", tasks={"classification"}, modalities={"interactions"},
                     space=Space([Float("C", 0.1, 10.0)]), build=lambda c, x: None,
                     description="a recommender")
    with pytest.raises(AssertionError,
                       match="checks tabular, image, sequence, text and multimodal"):
        check_model_spec(spec)


def test_spec_accepts_narrows_supports():
    _, _, small = make_modality_data("image", "binary", n_rows=20)
    _, _, large = make_modality_data("image", "binary", n_rows=20, image_size=32)
    spec = ModelSpec(name="small_images", tasks={"classification"}, modalities={"image"},
                     space=Space([Float("C", 0.1, 10.0)]), build=lambda c, x: None,
                     description="d", accepts=lambda ctx: ctx.n_features <= 256)
    assert spec.supports(small) and not spec.supports(large)


def test_check_model_spec_catches_a_generator_that_loses_columns():
    class DropsAColumn(BaseEstimator):
        def __init__(self, k=1.0):
            self.k = k

        def fit(self, X, y=None):
            self.columns_ = list(X.columns)[1:]
            return self

        def sample(self, n, random_state=None):
            return pd.DataFrame({c: np.zeros(n) for c in self.columns_})

    spec = ModelSpec(name="lossy", tasks={"generation"}, modalities={"tabular"},
                     space=Space([Float("k", 0.1, 1.0)]), build=lambda c, x: DropsAColumn(),
                     description="forgets the first column")
    with pytest.raises(AssertionError, match=r"lossy.*training columns in order"):
        check_model_spec(spec)
