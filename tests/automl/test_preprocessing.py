import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier, is_regressor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline

from automl.preprocessing import (
    MAX_ONEHOT_CATEGORIES,
    MAX_ORDINAL_CATEGORIES,
    CategoricalDtypeEncoder,
    ThreadLimited,
    native_categorical_features,
    suggested_threads,
    tabular_preprocessor,
)
from automl.specs import Context
from automl.testing import UNSEEN_CATEGORY, make_tabular_data, with_unseen_categories


def ctx_for(X, numeric=(), categorical=(), task="binary"):
    return Context(task=task, n_rows=len(X), n_features=X.shape[1], n_classes=2,
                   numeric_columns=tuple(numeric), categorical_columns=tuple(categorical))


def obj(values):
    return pd.Series(values, dtype=object)


def test_onehot_bounds_wide_columns_and_handles_unseen():
    X, y, ctx = make_tabular_data("binary", n_rows=200)
    prep = tabular_preprocessor(ctx, categorical="onehot").fit(X)
    names = list(prep.get_feature_names_out())
    assert sum(n.startswith("cat__row_id") for n in names) <= MAX_ONEHOT_CATEGORIES
    out = prep.transform(with_unseen_categories(X, ctx))
    assert out.shape == (200, len(names))
    assert np.isfinite(out).all()


def test_onehot_maps_unseen_to_the_infrequent_column():
    X = pd.DataFrame({"c": obj(["a"] * 10 + ["b"] * 8 + ["c", "d"])})
    ctx = ctx_for(X, categorical=["c"])
    prep = tabular_preprocessor(ctx, max_categories=3).fit(X)
    names = list(prep.get_feature_names_out())
    assert names == ["cat__c_a", "cat__c_b", "cat__c_infrequent_sklearn"]
    out = prep.transform(pd.DataFrame({"c": obj(["zzz", "a", np.nan])}))
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 0, 1]])


def test_onehot_missing_is_its_own_category():
    X = pd.DataFrame({"c": obj(["a", "b", np.nan, "a"])})
    prep = tabular_preprocessor(ctx_for(X, categorical=["c"])).fit(X)
    assert "cat__c___missing__" in prep.get_feature_names_out()


def test_numeric_imputation_uses_training_statistics_only():
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan, 10.0], "const": 5.0, "empty": np.nan})
    ctx = ctx_for(train, numeric=["x", "const", "empty"])
    prep = tabular_preprocessor(ctx).fit(train)
    test = pd.DataFrame({"x": [np.nan, 100.0], "const": [5.0, 5.0], "empty": [np.nan, 1.0]})
    out = prep.transform(test)
    names = list(prep.get_feature_names_out())
    assert out[0, names.index("num__x")] == 2.0  # the training median
    assert out[0, names.index("num__missingindicator_x")] == 1.0
    assert np.isfinite(out).all()


def test_scaling_standardises_numeric_block():
    X, y, ctx = make_tabular_data("regression", n_rows=300)
    prep = tabular_preprocessor(ctx, scale=True).fit(X)
    out = prep.transform(X)
    names = list(prep.get_feature_names_out())
    col = out[:, names.index("num__x_skewed")]
    assert abs(col.mean()) < 1e-9 and abs(col.std() - 1) < 1e-9


def test_sparse_onehot_when_asked():
    X, y, ctx = make_tabular_data("binary", n_rows=200)
    wide = Context(**{**ctx.__dict__, "numeric_columns": ("x_normal",)})
    out = tabular_preprocessor(wide, sparse=True).fit_transform(X)
    assert hasattr(out, "tocsr")


def test_ordinal_codes_unseen_and_missing_as_nan_or_minus_one():
    X = pd.DataFrame({"c": obj(["a", "b", "b", np.nan]), "x": [1.0, 2.0, 3.0, 4.0]})
    ctx = ctx_for(X, numeric=["x"], categorical=["c"])
    test = pd.DataFrame({"c": obj(["b", "new", np.nan]), "x": [1.0, np.nan, 2.0]})

    prep = tabular_preprocessor(ctx, categorical="ordinal", impute_numeric=False).fit(X)
    out = prep.transform(test)
    assert out[0, 0] == 1.0 and np.isnan(out[1, 0]) and np.isnan(out[2, 0])
    assert np.isnan(out[1, 1])  # numeric NaN passes through for native handling

    prep = tabular_preprocessor(ctx, categorical="ordinal", unknown_value=-1).fit(X)
    out = prep.transform(test)
    np.testing.assert_array_equal(out[:, 0], [1, -1, -1])
    assert np.isfinite(out).all()


def test_ordinal_bounds_categories_for_native_boosting():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"id": obj([f"v{i}" for i in rng.integers(0, 600, 1200)]),
                      "x": rng.normal(size=1200)})
    ctx = ctx_for(X, numeric=["x"], categorical=["id"])
    prep = tabular_preprocessor(ctx, categorical="ordinal", impute_numeric=False)
    codes = prep.fit_transform(X)[:, 0]
    assert np.nanmax(codes) < MAX_ORDINAL_CATEGORIES
    y = (X["x"] > 0).to_numpy().astype(int)
    model = HistGradientBoostingClassifier(
        max_iter=2, categorical_features=native_categorical_features(ctx)
    )
    make_pipeline(clone(prep), model).fit(X, y)


def test_native_categorical_features_positions():
    X, y, ctx = make_tabular_data("binary")
    assert native_categorical_features(ctx) == [0, 1, 2, 3]
    numeric_only = Context(task="binary", n_rows=10, n_features=1, numeric_columns=("a",))
    assert native_categorical_features(numeric_only) is None
    prep = tabular_preprocessor(ctx, categorical="ordinal", impute_numeric=False).fit(X)
    names = list(prep.get_feature_names_out())
    assert [n.split("__")[1] for n in names[:4]] == list(ctx.categorical_columns)


def test_all_nan_numeric_column_is_filled_without_imputation():
    X = pd.DataFrame({"x": [1.0, np.nan, 3.0], "empty": np.nan})
    ctx = ctx_for(X, numeric=["x", "empty"])
    out = tabular_preprocessor(ctx, categorical="ordinal", impute_numeric=False).fit_transform(X)
    assert np.isnan(out[1, 0])
    np.testing.assert_array_equal(out[:, 1], 0.0)


@pytest.mark.parametrize("categorical", ["onehot", "ordinal"])
def test_only_numeric_or_only_categorical_columns(categorical):
    num = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0]})
    out = tabular_preprocessor(ctx_for(num, numeric=["x"]), categorical=categorical) \
        .fit_transform(num)
    assert out.shape[0] == 4
    cat = pd.DataFrame({"c": obj(["a", "b", np.nan, "a"])})
    out = tabular_preprocessor(ctx_for(cat, categorical=["c"]), categorical=categorical) \
        .fit_transform(cat)
    assert out.shape[0] == 4


def test_rejects_bad_arguments():
    X = pd.DataFrame({"x": [1.0]})
    with pytest.raises(ValueError, match="onehot"):
        tabular_preprocessor(ctx_for(X, numeric=["x"]), categorical="target")
    with pytest.raises(ValueError, match="neither"):
        tabular_preprocessor(ctx_for(X))


@pytest.mark.parametrize("categorical", ["onehot", "ordinal"])
def test_pandas_string_and_category_dtypes_match_object(categorical):
    X, y, ctx = make_tabular_data("binary")
    as_str = X.astype({c: "str" for c in ("color", "flag", "row_id")})
    as_cat = X.astype({c: "category" for c in ("color", "flag")})
    prep = tabular_preprocessor(ctx, categorical=categorical)
    expected = clone(prep).fit_transform(X)
    np.testing.assert_array_equal(clone(prep).fit_transform(as_str), expected)
    np.testing.assert_array_equal(clone(prep).fit_transform(as_cat), expected)


def test_preprocessor_clones_and_is_a_function_of_ctx():
    _, _, ctx = make_tabular_data("binary")
    prep = tabular_preprocessor(ctx, categorical="ordinal", scale=True)
    assert clone(prep).get_params().keys() == prep.get_params().keys()


# -- CategoricalDtypeEncoder -------------------------------------------------


def test_categorical_dtype_encoder_learns_categories_in_fit():
    X, y, ctx = make_tabular_data("binary")
    enc = CategoricalDtypeEncoder(ctx.categorical_columns, ctx.numeric_columns).fit(X)
    out = enc.transform(with_unseen_categories(X, ctx))
    assert list(out.columns) == list(ctx.numeric_columns) + list(ctx.categorical_columns)
    for col in ctx.numeric_columns:
        assert out[col].dtype == np.float64
    color = out["color"]
    assert isinstance(color.dtype, pd.CategoricalDtype)
    assert list(color.cat.categories) == ["blue", "green", "red", "violet"]
    assert UNSEEN_CATEGORY not in color.cat.categories
    assert color.isna().sum() > X["color"].isna().sum()  # unseen became missing
    # the same categories whatever the rows, so codes agree between fit and predict
    sub = enc.transform(X.iloc[:5])
    assert list(sub["color"].cat.categories) == list(color.cat.categories)
    np.testing.assert_array_equal(enc.get_feature_names_out(), list(out.columns))


def test_categorical_dtype_encoder_edge_cases():
    X = pd.DataFrame({
        "c": obj(["a", "a", "a", "b", "b", "c"]),
        "empty": obj([np.nan] * 6),
        "x": [1, 2, 3, 4, 5, 6],
    })
    enc = CategoricalDtypeEncoder(max_categories=2).fit(X)  # columns inferred from dtype
    assert enc.categorical_columns_ == ["c", "empty"] and enc.numeric_columns_ == ["x"]
    assert list(enc.categories_["c"]) == ["a", "b"]
    out = enc.transform(X)
    assert out["c"].isna().sum() == 1  # "c" was merged away
    assert len(enc.categories_["empty"]) == 1 and out["empty"].isna().all()
    assert out["x"].dtype == np.float64
    assert clone(enc).get_params() == enc.get_params()
    with pytest.raises(TypeError, match="DataFrame"):
        enc.transform(X.to_numpy())
    with pytest.raises(ValueError, match="not in the training table"):
        CategoricalDtypeEncoder(categorical_columns=["nope"]).fit(X)


# -- ThreadLimited -----------------------------------------------------------


class ThreadProbe(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        self.threads_in_fit_ = _openmp_effective_n_threads()
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def test_thread_limited_caps_openmp_threads():
    X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    est = ThreadLimited(ThreadProbe(), n_threads=1).fit(X, y)
    assert est.estimator_.threads_in_fit_ == 1
    with pytest.raises(ValueError, match="n_threads"):
        ThreadLimited(ThreadProbe(), n_threads=0).fit(X, y)


def test_thread_limited_is_transparent():
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    clf = ThreadLimited(LogisticRegression(), n_threads=1)
    assert is_classifier(clf) and hasattr(clf, "predict_proba")
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.predict_proba(X).shape == (40, 2)
    assert clf.decision_function(X).shape == (40,)
    assert clf.n_features_in_ == 2
    assert clf.score(X, y) == clf.estimator_.score(X, y)
    reg = ThreadLimited(LinearRegression(), n_threads=2)
    assert is_regressor(reg) and not hasattr(reg, "predict_proba")
    assert clone(clf).get_params()["estimator__C"] == 1.0


def test_suggested_threads_scale_with_the_table():
    def ctx(rows, cols, threads):
        return Context(task="regression", n_rows=rows, n_features=cols, n_threads=threads)

    assert suggested_threads(ctx(500, 30, 4)) == 1
    assert suggested_threads(ctx(45_000, 14, 2)) == 2
    assert suggested_threads(ctx(45_000, 14, 16)) == 2
    assert suggested_threads(ctx(10**7, 100, 16)) == 16
    assert suggested_threads(ctx(10**7, 100, 1)) == 1
    assert suggested_threads(ctx(0, 0, 4)) == 1
