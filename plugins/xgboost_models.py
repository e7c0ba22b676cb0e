"""XGBoost for tables: ``xgboost`` (classification and regression).

Histogram trees (``tree_method="hist"``) with XGBoost's native categorical
splits: :class:`automl.preprocessing.CategoricalDtypeEncoder` hands it pandas
``Categorical`` columns whose categories are learned in ``fit`` (unseen ones
become missing); numeric NaN is handled by XGBoost itself. From
:data:`EARLY_STOPPING_ROWS` rows on, 10% of the training rows are held out and
boosting stops after 20 rounds without improvement; the number of trees (the
fidelity) is then a cap. On smaller tables the rounds follow the learning
rate. On ``ctx.device == "cuda"`` training runs on the GPU. Threads follow
:func:`~automl.preprocessing.suggested_threads` (one on small tables).

References
----------
.. [Probst2019] P. Probst, A.-L. Boulesteix, B. Bischl. "Tunability: Importance
   of Hyperparameters of Machine Learning Algorithms". JMLR 20(53), 2019.
.. [Wang2021] C. Wang, Q. Wu, M. Weimer, E. Zhu. "FLAML: A Fast and Lightweight
   AutoML Library". MLSys 2021; its XGBoost search space.
.. [Erickson2020] N. Erickson et al. "AutoGluon-Tabular: Robust and Accurate
   AutoML for Structured Data". arXiv:2003.06505, 2020.

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from xgboost import XGBClassifier, XGBRegressor

from automl.preprocessing import CategoricalDtypeEncoder, ThreadLimited, suggested_threads
from automl.specs import Context, Fidelity, ModelSpec
from plugins._hooks import register_hook
from search import Float, Int, Space

XGB_MAX_TREES = 1000
"""Most trees when the config does not set the ``n_estimators`` fidelity (early
stopping usually ends sooner)."""

EARLY_STOPPING_ROWS = 1000
"""From this many rows on, 10% are held out for early stopping (20 rounds)."""

XGB_MAX_CATEGORIES = 256
"""Most categories kept per column (the most frequent); the rest are missing."""

# [Probst2019] tune eta, max_depth, min_child_weight (2^0-2^7, log),
# subsample, colsample_bytree and lambda (2^-10-2^10, log); alpha and
# colsample_bylevel matter least and are left at their defaults. The number
# of trees is not searched (early stopping and the fidelity set it), so the
# learning rate is kept to 0.01-0.3, where at most 1000 trees suffice (FLAML
# [Wang2021] and AutoGluon [Erickson2020] search similar ranges).
XGB_SPACE = Space([
    Float("learning_rate", 0.01, 0.3, log=True),
    Int("max_depth", 2, 12),
    Float("min_child_weight", 1.0, 128.0, log=True),
    Float("subsample", 0.5, 1.0),
    Float("colsample_bytree", 0.3, 1.0),
    Float("reg_lambda", 2.0**-10, 2.0**10, log=True),
])
XGB_DEFAULTS = (
    # the library defaults (eta 0.3 is the edge of the space)
    {"learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0,
     "colsample_bytree": 1.0, "reg_lambda": 1.0},
    # a slower, sub-sampled configuration in the spirit of AutoGluon's default
    {"learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0, "subsample": 0.8,
     "colsample_bytree": 0.8, "reg_lambda": 1.0},
    # shallow, strongly regularised: small or noisy tables
    {"learning_rate": 0.05, "max_depth": 4, "min_child_weight": 4.0, "subsample": 0.8,
     "colsample_bytree": 0.6, "reg_lambda": 4.0},
)


def _holdout_rows(
    y: np.ndarray, fraction: float, seed: int | None, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Split row positions into fit and validation parts, seeded.

    Classification draws the same fraction of every class and keeps at
    least one row of each class in the fit part, so ``classes_`` is whole.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    if stratify:
        parts = []
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            k = min(round(len(rows) * fraction), len(rows) - 1)
            parts.append(rng.choice(rows, size=k, replace=False))
        val = np.concatenate(parts)
    else:
        val = rng.choice(n, size=min(round(n * fraction), n - 1), replace=False)
    if len(val) == 0:
        val = np.array([rng.integers(n)])
    mask = np.zeros(n, dtype=bool)
    mask[val] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _take(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


class _EarlyStoppingMixin:
    """Hold out ``validation_fraction`` of the rows for ``early_stopping_rounds``.

    XGBoost's scikit-learn API stops early only on an ``eval_set`` given to
    ``fit``, which a ``Pipeline`` cannot supply; this mixin carves one out of
    the (already preprocessed) training rows. Prediction then uses the best
    iteration.
    """

    validation_fraction: float | None
    early_stopping_rounds: int | None
    random_state: Any

    def fit(self, X: Any, y: Any, **kwargs: Any) -> Any:
        """Fit, holding out rows for early stopping when it is enabled."""
        if (self.early_stopping_rounds is None or not self.validation_fraction
                or "eval_set" in kwargs):
            return super().fit(X, y, **kwargs)  # type: ignore[misc]
        y = np.asarray(y)
        fit_rows, val_rows = _holdout_rows(
            y, float(self.validation_fraction), self.random_state,
            stratify=isinstance(self, XGBClassifier),
        )
        kwargs.setdefault("verbose", False)
        return super().fit(  # type: ignore[misc]
            _take(X, fit_rows), y[fit_rows],
            eval_set=[(_take(X, val_rows), y[val_rows])], **kwargs,
        )


class _XGBClassifier(_EarlyStoppingMixin, XGBClassifier):
    def __init__(self, *, validation_fraction: float | None = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validation_fraction = validation_fraction


class _XGBRegressor(_EarlyStoppingMixin, XGBRegressor):
    def __init__(self, *, validation_fraction: float | None = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validation_fraction = validation_fraction


def _build_xgboost(config: Mapping[str, Any], ctx: Context) -> ThreadLimited:
    params = {**XGB_DEFAULTS[0], **dict(config)}
    learning_rate = float(params["learning_rate"])
    early_stopping = ctx.n_rows >= EARLY_STOPPING_ROWS
    # Without early stopping (small tables) the rounds follow the learning
    # rate, so that rounds x rate stays near 10 (100 rounds at the default 0.3).
    fallback = XGB_MAX_TREES if early_stopping else int(
        min(XGB_MAX_TREES, max(100, round(10 / learning_rate)))
    )
    n_estimators = params.pop("n_estimators", None)
    n_estimators = fallback if n_estimators is None else max(1, round(float(n_estimators)))
    n_threads = suggested_threads(ctx)
    cls = _XGBClassifier if ctx.is_classification else _XGBRegressor
    model = cls(
        n_estimators=n_estimators,
        learning_rate=learning_rate,
        max_depth=int(params["max_depth"]),
        min_child_weight=float(params["min_child_weight"]),
        subsample=float(params["subsample"]),
        colsample_bytree=float(params["colsample_bytree"]),
        reg_lambda=float(params["reg_lambda"]),
        tree_method="hist",
        enable_categorical=True,
        early_stopping_rounds=20 if early_stopping else None,
        validation_fraction=0.1 if early_stopping else None,
        device="cuda" if ctx.device == "cuda" else "cpu",
        n_jobs=n_threads,
        random_state=ctx.seed,
        verbosity=0,
    )
    encoder = CategoricalDtypeEncoder(
        categorical_columns=tuple(ctx.categorical_columns),
        numeric_columns=tuple(ctx.numeric_columns),
        max_categories=XGB_MAX_CATEGORIES,
    )
    pipeline = Pipeline([("prep", encoder), ("model", model)])
    return ThreadLimited(pipeline, n_threads=n_threads)


def model_specs() -> list[ModelSpec]:
    """Return the XGBoost model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``xgboost`` spec.

    """
    return [
        ModelSpec(
            name="xgboost",
            tasks={"classification", "regression"},
            modalities={"tabular"},
            space=XGB_SPACE,
            build=_build_xgboost,
            fidelity=Fidelity("n_estimators", 16, 1000),
            defaults=XGB_DEFAULTS,
            description="XGBoost hist trees with native categoricals and early stopping",
            persisted_types={"xgboost.core.Booster"},
        )
    ]


automl_register_models = register_hook(model_specs, "XGBoost model family")
