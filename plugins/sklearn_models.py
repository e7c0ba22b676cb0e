"""scikit-learn model families for tables.

Registers ``logistic_regression`` (classification), ``ridge`` (regression),
and ``random_forest``, ``extra_trees``, ``hist_gradient_boosting`` and
``knn`` (both task families; ``build`` picks the classifier or the
regressor from ``ctx.is_classification``).

Every estimator is ``ThreadLimited(Pipeline([prep, model]))``: the
preprocessing from :mod:`automl.preprocessing` is fitted inside ``fit``, and
the native thread pools never exceed ``ctx.n_threads``. The OpenMP/BLAS-bound
models (linear, histogram boosting) use fewer threads on small tables
(:func:`~automl.preprocessing.suggested_threads`); forests and kNN, whose
parallel work comes in large chunks, use all of ``ctx.n_threads``.

Search spaces follow published ones (cited per model); the first default of
every spec is the library's default (the classifier's, where the classifier
and the regressor differ, as for the forests' ``max_features``). A
``build`` accepts a partial config (missing keys take the first default)
and, where the spec declares a :class:`~automl.specs.Fidelity`, the fidelity
key (e.g. ``n_estimators``) on top of the space's keys.

References
----------
.. [Probst2019] P. Probst, A.-L. Boulesteix, B. Bischl. "Tunability: Importance
   of Hyperparameters of Machine Learning Algorithms". JMLR 20(53), 2019.
.. [Feurer2015] M. Feurer et al. "Efficient and Robust Automated Machine
   Learning" (Auto-sklearn). NeurIPS 2015; search spaces of its components.
.. [Erickson2020] N. Erickson et al. "AutoGluon-Tabular: Robust and Accurate
   AutoML for Structured Data". arXiv:2003.06505, 2020.

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from automl.preprocessing import (
    ThreadLimited,
    native_categorical_features,
    suggested_threads,
    tabular_preprocessor,
)
from automl.specs import Context, Fidelity, ModelSpec
from plugins._hooks import register_hook
from search import Categorical, Float, Int, Space

FOREST_TREES = 100
"""Trees of a forest when the config does not set the ``n_estimators`` fidelity
(scikit-learn's default; it keeps a forest fit on 45k rows within seconds)."""

HGB_MAX_ITER = 1000
"""Most boosting rounds when ``max_iter`` is not set (early stopping usually ends
sooner)."""

HGB_EARLY_STOPPING_ROWS = 1000
"""``HistGradientBoosting*`` holds out 10% for early stopping from this many rows on."""

KNN_MAX_TRAIN_ROWS = 10_000
"""kNN keeps a seeded random subset of at most this many training rows."""


def _merge(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {**defaults, **dict(config)}


def _fidelity(params: dict[str, Any], key: str, fallback: int) -> int:
    value = params.pop(key, fallback)
    if value is None:
        return fallback
    return max(1, round(float(value)))


def _wrap(prep: Any, model: Any, n_threads: int) -> ThreadLimited:
    return ThreadLimited(Pipeline([("prep", prep), ("model", model)]), n_threads=n_threads)


# ---------------------------------------------------------------------------
# linear models
# ---------------------------------------------------------------------------

# [Probst2019] find glmnet's tunability is dominated by the penalty strength,
# tuned on a log scale over 2^-10 .. 2^10; we search C = 1/lambda over the same
# range. L2 only with lbfgs: it converges reliably on standardised one-hot
# data, where elastic-net (saga) is slow at tens of thousands of rows.
LOGREG_SPACE = Space([Float("C", 2.0**-10, 2.0**10, log=True)])
LOGREG_DEFAULTS = ({"C": 1.0}, {"C": 0.1})


def _build_logistic_regression(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    from sklearn.linear_model import LogisticRegression

    params = _merge(config, LOGREG_DEFAULTS[0])
    model = LogisticRegression(
        C=float(params["C"]), solver="lbfgs", max_iter=1000, random_state=ctx.seed
    )
    prep = tabular_preprocessor(ctx, categorical="onehot", scale=True, sparse=True)
    return _wrap(prep, model, suggested_threads(ctx))


# Same penalty range as logistic regression, as alpha ([Probst2019], glmnet lambda).
RIDGE_SPACE = Space([Float("alpha", 2.0**-10, 2.0**10, log=True)])
RIDGE_DEFAULTS = ({"alpha": 1.0}, {"alpha": 10.0})


def _build_ridge(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    from sklearn.linear_model import Ridge

    params = _merge(config, RIDGE_DEFAULTS[0])
    model = Ridge(alpha=float(params["alpha"]), random_state=ctx.seed)
    prep = tabular_preprocessor(ctx, categorical="onehot", scale=True, sparse=True)
    return _wrap(prep, model, suggested_threads(ctx))


# ---------------------------------------------------------------------------
# forests
# ---------------------------------------------------------------------------


def _feature_fraction(exponent: float, n_features: int) -> float:
    """Fraction of columns per split for ``p ** exponent`` of ``p`` features."""
    p = max(int(n_features), 1)
    return float(min(1.0, max(p ** (float(exponent) - 1.0), 1e-9)))


# [Probst2019] (ranger): mtry, sample.fraction, replace and min.node.size are the
# tunable ones; the number of trees is not tuned (more is never worse), so it is
# the fidelity. mtry is searched as an exponent like Auto-sklearn [Feurer2015]:
# p ** max_features_exp features per split, so 0.5 is sqrt(p) (the classification
# default) and 1.0 is all of them (the regression default).
RANDOM_FOREST_SPACE = Space([
    Float("max_features_exp", 0.0, 1.0),
    Int("min_samples_leaf", 1, 32, log=True),
    Categorical("bootstrap", [True, False]),
    Float("max_samples", 0.1, 1.0, when={"bootstrap": True}),
])
RANDOM_FOREST_DEFAULTS = (
    {"max_features_exp": 0.5, "min_samples_leaf": 1, "bootstrap": True, "max_samples": 1.0},
    {"max_features_exp": 0.75, "min_samples_leaf": 2, "bootstrap": True, "max_samples": 0.5},
    {"max_features_exp": 0.5, "min_samples_leaf": 5, "bootstrap": False},
)


def _build_random_forest(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    params = _merge(config, RANDOM_FOREST_DEFAULTS[0])
    n_estimators = _fidelity(params, "n_estimators", FOREST_TREES)
    bootstrap = bool(params["bootstrap"])
    cls = RandomForestClassifier if ctx.is_classification else RandomForestRegressor
    model = cls(
        n_estimators=n_estimators,
        max_features=_feature_fraction(params["max_features_exp"], ctx.n_features),
        min_samples_leaf=int(params["min_samples_leaf"]),
        bootstrap=bootstrap,
        max_samples=float(params.get("max_samples", 1.0)) if bootstrap else None,
        n_jobs=ctx.n_threads,
        random_state=ctx.seed,
    )
    prep = tabular_preprocessor(ctx, categorical="ordinal", unknown_value=-1)
    return _wrap(prep, model, ctx.n_threads)


# Extremely randomised trees: the same tunable knobs minus resampling (Geurts et
# al. 2006 use the whole sample; so do Auto-sklearn's defaults [Feurer2015]).
EXTRA_TREES_SPACE = Space([
    Float("max_features_exp", 0.0, 1.0),
    Int("min_samples_leaf", 1, 32, log=True),
])
EXTRA_TREES_DEFAULTS = (
    {"max_features_exp": 0.5, "min_samples_leaf": 1},
    {"max_features_exp": 0.75, "min_samples_leaf": 2},
    {"max_features_exp": 1.0, "min_samples_leaf": 5},
)


def _build_extra_trees(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    params = _merge(config, EXTRA_TREES_DEFAULTS[0])
    n_estimators = _fidelity(params, "n_estimators", FOREST_TREES)
    cls = ExtraTreesClassifier if ctx.is_classification else ExtraTreesRegressor
    model = cls(
        n_estimators=n_estimators,
        max_features=_feature_fraction(params["max_features_exp"], ctx.n_features),
        min_samples_leaf=int(params["min_samples_leaf"]),
        n_jobs=ctx.n_threads,
        random_state=ctx.seed,
    )
    prep = tabular_preprocessor(ctx, categorical="ordinal", unknown_value=-1)
    return _wrap(prep, model, ctx.n_threads)


# ---------------------------------------------------------------------------
# histogram gradient boosting
# ---------------------------------------------------------------------------

# Auto-sklearn's space for this estimator [Feurer2015] (learning rate 0.01-1,
# max_leaf_nodes, min_samples_leaf 1-200, l2 1e-10-1, all log), with
# max_leaf_nodes capped at 512 for speed and LightGBM-style column subsampling
# (max_features) as in AutoGluon's GBM space [Erickson2020]. Rounds are the
# fidelity; early stopping on a 10% hold-out ends training sooner.
HGB_SPACE = Space([
    Float("learning_rate", 0.01, 1.0, log=True),
    Int("max_leaf_nodes", 4, 512, log=True),
    Int("min_samples_leaf", 1, 200, log=True),
    Float("l2_regularization", 1e-10, 1.0, log=True),
    Float("max_features", 0.5, 1.0),
])
HGB_DEFAULTS = (
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20,
     "l2_regularization": 1e-10, "max_features": 1.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 10,
     "l2_regularization": 1e-10, "max_features": 0.8},
    {"learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 50,
     "l2_regularization": 1.0, "max_features": 0.7},
)


def _build_hist_gradient_boosting(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    params = _merge(config, HGB_DEFAULTS[0])
    early_stopping = ctx.n_rows >= HGB_EARLY_STOPPING_ROWS
    # Without early stopping (small tables) the rounds follow the learning
    # rate, so that rounds x rate stays near 10 (100 rounds at the default 0.1).
    fallback = HGB_MAX_ITER if early_stopping else int(
        min(HGB_MAX_ITER, max(100, round(10 / float(params["learning_rate"]))))
    )
    max_iter = _fidelity(params, "max_iter", fallback)
    cls = HistGradientBoostingClassifier if ctx.is_classification \
        else HistGradientBoostingRegressor
    model = cls(
        learning_rate=float(params["learning_rate"]),
        max_leaf_nodes=int(params["max_leaf_nodes"]),
        min_samples_leaf=int(params["min_samples_leaf"]),
        l2_regularization=float(params["l2_regularization"]),
        max_features=float(params["max_features"]),
        max_iter=max_iter,
        early_stopping=early_stopping,
        validation_fraction=0.1,
        n_iter_no_change=10,
        categorical_features=native_categorical_features(ctx),
        random_state=ctx.seed,
    )
    prep = tabular_preprocessor(ctx, categorical="ordinal", impute_numeric=False)
    return _wrap(prep, model, suggested_threads(ctx))


# ---------------------------------------------------------------------------
# k nearest neighbours
# ---------------------------------------------------------------------------


class _CappedKNN(BaseEstimator):
    """kNN fitted on a seeded subset of at most ``max_train_rows`` rows.

    Prediction costs ``O(n_train * n_predict * d)``; the cap keeps it to a
    few seconds on tables of tens of thousands of rows. ``n_neighbors`` is
    clipped to the rows available.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        weights: str = "uniform",
        max_train_rows: int = KNN_MAX_TRAIN_ROWS,
        n_jobs: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.max_train_rows = max_train_rows
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make(self, n_neighbors: int) -> Any:
        raise NotImplementedError

    def _rows(self, y: np.ndarray) -> np.ndarray | None:
        n = len(y)
        if n <= self.max_train_rows:
            return None
        rng = np.random.default_rng(self.random_state)
        rows = rng.choice(n, size=self.max_train_rows, replace=False)
        return np.sort(rows)

    def fit(self, X: Any, y: Any) -> _CappedKNN:
        """Fit on at most ``max_train_rows`` rows of ``X``."""
        y = np.asarray(y)
        rows = self._rows(y)
        if rows is not None:
            X, y = X[rows], y[rows]
        k = max(1, min(int(self.n_neighbors), len(y)))
        self.model_ = self._make(k).fit(X, y)
        self.n_features_in_ = self.model_.n_features_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the fitted neighbours."""
        check_is_fitted(self, "model_")
        return self.model_.predict(X)


class _CappedKNNClassifier(ClassifierMixin, _CappedKNN):
    def _make(self, n_neighbors: int) -> Any:
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors, weights=self.weights, n_jobs=self.n_jobs)

    def _rows(self, y: np.ndarray) -> np.ndarray | None:
        rows = super()._rows(y)
        if rows is None:
            return None
        # every class of the full data stays, so classes_ matches the engine's.
        missing = np.setdiff1d(np.unique(y), np.unique(y[rows]))
        extra = [int(np.flatnonzero(y == label)[0]) for label in missing]
        return np.sort(np.concatenate([rows, np.asarray(extra, dtype=rows.dtype)]))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Neighbour vote shares, columns in ``classes_`` order."""
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X)

    @property
    def classes_(self) -> np.ndarray:
        """Class labels seen in ``fit``."""
        check_is_fitted(self, "model_")
        return self.model_.classes_


class _CappedKNNRegressor(RegressorMixin, _CappedKNN):
    def _make(self, n_neighbors: int) -> Any:
        from sklearn.neighbors import KNeighborsRegressor

        return KNeighborsRegressor(n_neighbors, weights=self.weights, n_jobs=self.n_jobs)


# Auto-sklearn's kNN space [Feurer2015] (k 1-100 log, uniform or distance
# weights) without its Minkowski p: [Probst2019] find k the tunable knob of
# kknn, and p=1 forgoes the BLAS distance kernel (several times slower).
KNN_SPACE = Space([
    Int("n_neighbors", 1, 100, log=True),
    Categorical("weights", ["uniform", "distance"]),
])
KNN_DEFAULTS = (
    {"n_neighbors": 5, "weights": "uniform"},
    {"n_neighbors": 15, "weights": "distance"},
)


def _build_knn(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    params = _merge(config, KNN_DEFAULTS[0])
    cls = _CappedKNNClassifier if ctx.is_classification else _CappedKNNRegressor
    model = cls(
        n_neighbors=int(params["n_neighbors"]),
        weights=str(params["weights"]),
        max_train_rows=KNN_MAX_TRAIN_ROWS,
        n_jobs=ctx.n_threads,
        random_state=ctx.seed,
    )
    prep = tabular_preprocessor(ctx, categorical="onehot", scale=True)
    return _wrap(prep, model, ctx.n_threads)


# ---------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------

BOTH = frozenset({"classification", "regression"})
TABULAR = frozenset({"tabular"})

TREE_TYPES = frozenset({"sklearn.tree._tree.Tree"})
HGB_TYPES = frozenset({"sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"})
KNN_TYPES = frozenset({
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
})
"""Types the fitted estimators store (see ``ModelSpec.persisted_types``); the
neighbours' search tree is a KD or ball tree with the Euclidean metric."""


def model_specs() -> list[ModelSpec]:
    """Return the scikit-learn model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        One spec per model family.

    """
    return [
        ModelSpec(
            name="logistic_regression",
            tasks={"classification"},
            modalities=TABULAR,
            space=LOGREG_SPACE,
            build=_build_logistic_regression,
            defaults=LOGREG_DEFAULTS,
            description="L2 logistic regression (lbfgs) on standardised, one-hot encoded data",
        ),
        ModelSpec(
            name="ridge",
            tasks={"regression"},
            modalities=TABULAR,
            space=RIDGE_SPACE,
            build=_build_ridge,
            defaults=RIDGE_DEFAULTS,
            description="Ridge regression on standardised, one-hot encoded data",
        ),
        ModelSpec(
            name="random_forest",
            tasks=BOTH,
            modalities=TABULAR,
            space=RANDOM_FOREST_SPACE,
            build=_build_random_forest,
            fidelity=Fidelity("n_estimators", 16, 512),
            defaults=RANDOM_FOREST_DEFAULTS,
            description=f"scikit-learn random forest ({FOREST_TREES} trees unless the "
                        "n_estimators fidelity is set), ordinal-encoded categories",
            persisted_types=TREE_TYPES,
        ),
        ModelSpec(
            name="extra_trees",
            tasks=BOTH,
            modalities=TABULAR,
            space=EXTRA_TREES_SPACE,
            build=_build_extra_trees,
            fidelity=Fidelity("n_estimators", 16, 512),
            defaults=EXTRA_TREES_DEFAULTS,
            description=f"scikit-learn extremely randomised trees ({FOREST_TREES} trees "
                        "unless the n_estimators fidelity is set), ordinal-encoded categories",
            persisted_types=TREE_TYPES,
        ),
        ModelSpec(
            name="hist_gradient_boosting",
            tasks=BOTH,
            modalities=TABULAR,
            space=HGB_SPACE,
            build=_build_hist_gradient_boosting,
            fidelity=Fidelity("max_iter", 16, 1000),
            defaults=HGB_DEFAULTS,
            description="scikit-learn histogram gradient boosting with native categoricals "
                        "and early stopping",
            persisted_types=HGB_TYPES,
        ),
        ModelSpec(
            name="knn",
            tasks=BOTH,
            modalities=TABULAR,
            space=KNN_SPACE,
            build=_build_knn,
            defaults=KNN_DEFAULTS,
            description=f"k nearest neighbours on standardised one-hot data (fitted on at "
                        f"most {KNN_MAX_TRAIN_ROWS} sampled rows)",
            persisted_types=KNN_TYPES,
        ),
    ]


automl_register_models = register_hook(model_specs, "scikit-learn model families")
