"""Oversampling rare classes with a tabular generator.

:class:`GeneratorOversampler`
    ``fit_resample(X, y)``: fits a generator on the rows of the classes below
    the target size and adds synthetic rows until every class has at least
    ``target_ratio`` times as many rows as the largest class. With a generator
    that samples conditionally (``ctgan``: ``sample(n, conditions=...)``) one
    model is fitted on the rare rows with the class as one more categorical
    column, and each class is sampled conditioned on itself (rejection
    sampling keeps rows whose generated class matches); with any other
    generator (``independent``) one model is fitted per rare class. A class
    with fewer than :data:`MIN_GENERATOR_ROWS` rows is oversampled by drawing
    its own rows again.
:class:`OversampledClassifier`
    A scikit-learn meta-estimator: oversample the training data (in
    cross-validation: the training fold only, since each fit sees only its
    fold), then fit the wrapped classifier. Prediction is the wrapped
    classifier's.
:func:`with_oversampling`
    A copy of a classification :class:`~automl.specs.ModelSpec` whose
    estimators are wrapped in :class:`OversampledClassifier` (how the engine
    can offer oversampling as one more model family).

Importing this module does not import torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.specs import Context, ModelSpec
from automl.tasks.generation import canonical_frame, generation_columns
from plugins.generators import IndependentColumnsGenerator

from ._torch_estimator import store_params

__all__ = [
    "GENERATORS",
    "MIN_GENERATOR_ROWS",
    "OVERSAMPLING_GAN_PARAMS",
    "GeneratorOversampler",
    "OversampledClassifier",
    "with_oversampling",
]

GENERATORS = ("ctgan", "independent")
"""Generator names :class:`GeneratorOversampler` knows (an estimator also works)."""

MIN_GENERATOR_ROWS = 5
"""Classes with fewer rows are oversampled by redrawing their own rows."""

OVERSAMPLING_GAN_PARAMS: dict[str, Any] = {
    "embedding_dim": 64, "generator_width": 128, "critic_width": 128,
    "critic_dropout": 0.25, "generator_lr": 2e-3, "critic_lr": 2e-3, "batch_size": 250,
    "pac": 5, "schedule": "cosine", "max_epochs": 100,
}
"""``TabularGAN`` settings for oversampling (a fit per training fold: kept quick)."""

_LABEL = "__class__"


def _make_generator(generator: Any, params: Mapping[str, Any] | None) -> Any:
    params = dict(params or {})
    if isinstance(generator, str):
        if generator == "ctgan":
            from plugins.neural.gan import TabularGAN

            return TabularGAN(**{**OVERSAMPLING_GAN_PARAMS, **params})
        if generator == "independent":
            return IndependentColumnsGenerator(**params)
        raise ValueError(f"generator must be one of {GENERATORS} or a generator estimator, "
                         f"got {generator!r}")
    if not (hasattr(generator, "fit") and hasattr(generator, "sample")):
        raise TypeError("generator must have fit(X) and sample(n, random_state=None)")
    return clone(generator).set_params(**params) if params else clone(generator)


def _configure(generator: Any, **params: Any) -> Any:
    """A clone of ``generator`` with those of ``params`` it accepts."""
    known = generator.get_params()
    return clone(generator).set_params(**{k: v for k, v in params.items() if k in known})


def _conditional(generator: Any) -> bool:
    import inspect

    return "conditions" in inspect.signature(generator.sample).parameters


class GeneratorOversampler(BaseEstimator):
    """Add synthetic rows to rare classes until every class reaches a target size.

    Parameters
    ----------
    generator : {"ctgan", "independent"} or estimator, default="ctgan"
        The generator: a name, or an unfitted estimator with ``fit(X)`` and
        ``sample(n, random_state=None)`` (cloned).
    target_ratio : float, default=1.0
        Every class gets at least ``ceil(target_ratio * largest class)`` rows;
        1.0 balances the classes.
    generator_params : dict, optional
        Parameters set on the generator (for ``"ctgan"`` on top of
        :data:`OVERSAMPLING_GAN_PARAMS`).
    numeric_columns, categorical_columns : sequence of str, optional
        Column kinds; both None infers them from the dtypes.
    random_state : int, default=0
        Seed of the generators and the draws.

    Attributes
    ----------
    class_counts_ : dict
        Rows per class before resampling.
    synthetic_counts_ : dict
        Synthetic rows added per class.
    generators_ : dict
        The fitted generators: ``{"all": gen}`` for a conditional generator,
        else one per oversampled class.

    """

    def __init__(self, generator: Any = "ctgan", target_ratio: float = 1.0, *,
                 generator_params: Mapping[str, Any] | None = None,
                 numeric_columns: Sequence[str] | None = None,
                 categorical_columns: Sequence[str] | None = None,
                 random_state: int = 0) -> None:
        store_params(self, locals())

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, np.ndarray]:
        """Return the data with synthetic rows of the rare classes appended.

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array-like
            Features.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : pandas.DataFrame or ndarray
            The original rows first, then the synthetic ones (a DataFrame in
            canonical form for DataFrame input, else an array).
        y_resampled : ndarray
            Their labels.

        Raises
        ------
        ValueError
            For a non-positive ``target_ratio`` or mismatched ``X`` and ``y``.

        """
        if not 0 < float(self.target_ratio) <= 1.0:
            raise ValueError(f"target_ratio must lie in (0, 1], got {self.target_ratio!r}")
        frame, numeric, categorical = generation_columns(
            X, self.numeric_columns, self.categorical_columns)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(frame):
            raise ValueError(f"y must be 1-dimensional with {len(frame)} rows, got {y.shape}")
        classes, counts = np.unique(y, return_counts=True)
        self.class_counts_ = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        target = math.ceil(float(self.target_ratio) * counts.max())
        needs = {c: target - n for c, n in zip(classes.tolist(), counts.tolist(), strict=True)
                 if n < target}
        self.synthetic_counts_ = dict.fromkeys(classes.tolist(), 0) | needs
        self.generators_: dict[Any, Any] = {}
        rng = np.random.default_rng(self.random_state)
        parts: list[pd.DataFrame] = [frame]
        labels: list[np.ndarray] = [y]
        small = {c: n for c, n in needs.items() if self.class_counts_[c] < MIN_GENERATOR_ROWS}
        large = {c: n for c, n in needs.items() if c not in small}
        for c, n in small.items():
            rows = np.flatnonzero(y == c)
            parts.append(frame.iloc[rng.choice(rows, size=n)].reset_index(drop=True))
            labels.append(np.full(n, c, dtype=y.dtype))
        if large:
            for c, block in self._generate(frame, y, numeric, categorical, large).items():
                parts.append(block)
                labels.append(np.full(len(block), c, dtype=y.dtype))
        out = pd.concat(parts, ignore_index=True)
        out = canonical_frame({c: out[c].to_numpy() for c in out.columns}, list(out.columns),
                              numeric)
        y_out = np.concatenate(labels)
        if isinstance(X, pd.DataFrame):
            out.columns = list(X.columns)
            return out, y_out
        return out.to_numpy(dtype=None if categorical else np.float64), y_out

    def _generate(self, frame: pd.DataFrame, y: np.ndarray, numeric: list[str],
                  categorical: list[str], needs: Mapping[Any, int]) -> dict[Any, pd.DataFrame]:
        seed = int(self.random_state)
        base = _make_generator(self.generator, self.generator_params)
        out: dict[Any, pd.DataFrame] = {}
        if _conditional(base) and len(needs) > 1:
            codes = {c: str(i) for i, c in enumerate(needs)}
            rows = np.isin(y, list(needs))
            table = frame[rows].reset_index(drop=True)
            label = _LABEL
            while label in table.columns:
                label += "_"
            table[label] = pd.Series([codes[v] for v in y[rows].tolist()], dtype=object)
            generator = _configure(base, numeric_columns=numeric,
                                   categorical_columns=[*categorical, label],
                                   random_state=seed).fit(table)
            self.generators_["all"] = generator
            for i, (c, n) in enumerate(needs.items()):
                block = generator.sample(n, random_state=seed + 1 + i,
                                         conditions={label: codes[c]})
                out[c] = block.drop(columns=label)
            return out
        for i, (c, n) in enumerate(needs.items()):
            table = frame[y == c].reset_index(drop=True)
            generator = _configure(base, numeric_columns=numeric,
                                   categorical_columns=categorical, random_state=seed + i)
            try:
                generator.fit(table)
            except ValueError:  # e.g. every row of the class is the same: redraw its rows
                rows = np.random.default_rng(seed + i).choice(len(table), size=n)
                out[c] = table.iloc[rows].reset_index(drop=True)
                continue
            self.generators_[c] = generator
            out[c] = generator.sample(n, random_state=seed + 1 + i)
        return out


def _inner_has(name: str) -> Any:
    def check(self: OversampledClassifier) -> bool:
        return hasattr(getattr(self, "estimator_", self.estimator), name)

    return check


class OversampledClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit a classifier on its training data plus synthetic rows of the rare classes.

    Parameters
    ----------
    estimator : classifier
        The classifier to fit (cloned).
    generator : {"ctgan", "independent"} or estimator, default="ctgan"
        See :class:`GeneratorOversampler`.
    target_ratio : float, default=1.0
        See :class:`GeneratorOversampler`.
    generator_params : dict, optional
        See :class:`GeneratorOversampler`.
    numeric_columns, categorical_columns : sequence of str, optional
        Column kinds; both None infers them from the dtypes.
    random_state : int, default=0
        Seed of the oversampling.

    Attributes
    ----------
    estimator_ : classifier
        The fitted classifier.
    oversampler_ : GeneratorOversampler
        The fitted oversampler (its ``synthetic_counts_`` say what was added).
    classes_ : ndarray
        Class labels.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = OversampledClassifier(LogisticRegression(), generator="independent")

    """

    def __init__(self, estimator: Any, generator: Any = "ctgan", target_ratio: float = 1.0, *,
                 generator_params: Mapping[str, Any] | None = None,
                 numeric_columns: Sequence[str] | None = None,
                 categorical_columns: Sequence[str] | None = None,
                 random_state: int = 0) -> None:
        store_params(self, locals())

    def fit(self, X: Any, y: Any) -> OversampledClassifier:
        """Oversample the rare classes of ``(X, y)``, then fit the classifier.

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array-like
            Training features.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        OversampledClassifier
            This fitted estimator.

        """
        self.oversampler_ = GeneratorOversampler(
            self.generator, self.target_ratio, generator_params=self.generator_params,
            numeric_columns=self.numeric_columns, categorical_columns=self.categorical_columns,
            random_state=self.random_state)
        X_res, y_res = self.oversampler_.fit_resample(X, y)
        self.estimator_ = clone(self.estimator).fit(X_res, y_res)
        self.classes_ = getattr(self.estimator_, "classes_", np.unique(y))
        self.n_features_in_ = X_res.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Class labels from the wrapped classifier.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels.

        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the wrapped classifier.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities in ``classes_`` order.

        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores from the wrapped classifier.

        Parameters
        ----------
        X : pandas.DataFrame or array-like
            Rows to score.

        Returns
        -------
        ndarray
            The wrapped classifier's scores.

        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)


def with_oversampling(spec: ModelSpec, generator: str = "independent", *,
                      target_ratio: float = 1.0,
                      generator_params: Mapping[str, Any] | None = None) -> ModelSpec:
    """A copy of a classification spec whose estimators oversample rare classes first.

    Parameters
    ----------
    spec : ModelSpec
        A spec serving ``"classification"``.
    generator : {"ctgan", "independent"}, default="independent"
        The generator used on every training fold.
    target_ratio : float, default=1.0
        See :class:`GeneratorOversampler`.
    generator_params : dict, optional
        See :class:`GeneratorOversampler`; a ``"ctgan"`` generator also gets
        the context's device and thread count unless given here.

    Returns
    -------
    ModelSpec
        Named ``f"{spec.name}_{generator}_oversampled"``, classification only,
        with the same space, defaults and fidelity.

    Raises
    ------
    ValueError
        When the spec does not serve classification, or for an unknown
        generator.

    """
    if "classification" not in spec.tasks:
        raise ValueError(f"model {spec.name!r} does not serve classification; only "
                         "classifiers can be wrapped in oversampling")
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {generator!r}")
    inner_build = spec.build
    extra = dict(generator_params or {})

    def build(config: Mapping[str, Any], ctx: Context) -> OversampledClassifier:
        params = dict(extra)
        if generator == "ctgan":
            params.setdefault("device", ctx.device)
            params.setdefault("n_threads", 1)
        return OversampledClassifier(
            inner_build(config, ctx), generator=generator, target_ratio=target_ratio,
            generator_params=params, numeric_columns=tuple(ctx.numeric_columns),
            categorical_columns=tuple(ctx.categorical_columns), random_state=ctx.seed)

    return replace(spec, name=f"{spec.name}_{generator}_oversampled",
                   tasks=frozenset({"classification"}), build=build,
                   description=f"{spec.description} (rare classes oversampled with the "
                               f"{generator} generator)")
