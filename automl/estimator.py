"""``AutoML``: a scikit-learn estimator that searches models and hyperparameters."""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.data import (
    Dataset,
    check_rare_classes,
    context_for,
    data_fingerprint,
    validate_training_data,
)
from automl.engine import Budget, Search, add_ensemble_row, join_spaces, leaderboard
from automl.evaluation import evaluator_for, make_splits
from automl.final import REFIT_MARGIN, RESERVE_SHARE, FinalReserve, build_final, ranked
from automl.interactions import validate_interactions
from automl.metrics import DEFAULT_METRICS, Metric
from automl.params import check_search_params
from automl.progress import ProgressPrinter
from automl.recommendation import RecommenderMixin, recommendation_splits
from automl.records import TrialRecord
from automl.registry import Registry, get_registry
from automl.specs import Context, ModelSpec
from automl.storage import TrialStore
from automl.synthesis import (
    GeneratorMixin,
    column_dtypes,
    generation_splits,
    target_name,
    validate_generation_data,
)
from automl.workers import TrialData, fit_time_limit, make_pool, threads_per_trial

logger = logging.getLogger(__name__)


class AutoML(RecommenderMixin, GeneratorMixin, BaseEstimator):
    """Search models and hyperparameters for a table, then refit the best.

    Parameters
    ----------
    time_budget : float, optional
        Seconds for the whole ``fit``, the final refit included. When None:
        60 s, or no time limit at all when ``max_trials`` is set.
    max_trials : int, optional
        Stop after this many trials. With ``random_state`` fixed and no time
        limit (``time_budget`` left None), the leaderboard is reproducible:
        a time limit can stop a network's training at an epoch that depends
        on the machine's load.
    task : {"binary", "multiclass", "classification", "regression", "recommendation"}, optional
        Inferred from ``y`` when None. ``"recommendation"``: ``X`` holds
        user-item interactions (see ``automl.interactions``) and ``y`` their
        ratings, or None for implicit feedback; then ``recommend`` serves
        top-k items. ``"generation"``: learn the rows of ``X`` (with ``y``, if
        given, as one more column whose train-on-synthetic score every trial
        also records; see ``automl.synthesis``); then ``sample`` draws rows.
    modality : {"tabular", "image", "sequence", "text"}, optional
        Detected from ``X`` when None (see ``automl.modalities``; a 3-D array
        is read as grey images when square or uint8, else as sequences).
    metric : str, optional
        A registered metric (``accuracy``, ``balanced_accuracy``, ``roc_auc``,
        ``log_loss``, ``f1``, ``rmse``, ``mae``, ``r2`` or a plugin's). Defaults to
        ``roc_auc`` (binary), ``log_loss`` (multiclass) and ``rmse`` (regression).
    models : list of str or ModelSpec, or dict, optional
        Model specs to search, all eligible ones when None: registered names
        and unregistered ``ModelSpec`` objects (e.g. a transfer-learning spec
        built around your own backbone); or a dict name -> space overrides
        (see ``ModelSpec.with_overrides``), e.g.
        ``{"xgboost": {"max_depth": {"low": 2, "high": 8}}, "ridge": {}}``.
        A saved model keeps the names of unregistered specs, not the specs.
    strategy : str, Strategy class or callable, default="bayesian"
        A registered strategy name (``random``, ``grid``, ``bayesian``,
        ``genetic`` or a plugin's), or ``factory(space, seed=...)``.
    early_stopping : bool, default=False
        Multi-fidelity search: successive halving over the strategy, trying each
        configuration cheaply first (fewer trees or iterations where a model
        declares a ``Fidelity``, a fraction of the training rows otherwise) and
        promoting the best third. Off by default: on the tabular benchmark it
        did not beat full-fidelity search at a 60 s budget.
    cv : int, float, "holdout" or "auto", default="auto"
        Folds of (stratified) k-fold, a holdout fraction, or ``"auto"``: for
        tables 5-fold up to 10,000 rows and a 20% holdout above, so that large
        tables get more trials within the budget; a 20% holdout for images,
        sequences, texts and multimodal rows. Recommendation and generation
        use their own splits (per user; a 30% holdout).
    trial_time_limit : float, optional
        Seconds after which a trial starts no new fold; ``time_budget / 3``
        when None (no limit when there is no time budget).
    n_jobs : int, default=1
        Trials run at once (-1: one per core); each trial gets
        ``cpu_count // n_jobs`` threads.
    backend : {"auto", "processes", "inprocess", "dask"}, default="auto"
        ``"auto"`` and ``"processes"`` run trials in loky worker processes,
        whose time limit is enforced by killing the worker; ``"inprocess"``
        runs them in this process (debugging; limits only between folds);
        ``"dask"`` submits them to the current ``dask.distributed`` client.
    storage : str or path, optional
        SQLite file that receives every finished trial; a temporary file when
        None. Fitting again with the same file and ``study`` resumes.
    study : str, default="default"
        Name of the study inside ``storage``.
    random_state : int, optional
        Seed of the resampling, the strategy and the models.
    verbose : int, default=0
        1 shows a live status line on stderr when it is a terminal; 2 prints a
        line per trial.
    ensemble : {"greedy", "stacking"} or None, default="greedy"
        How the final model combines trials: greedy ensemble selection
        (Caruana et al. 2004) over the best trials' out-of-fold predictions, a
        regularised linear model stacked on the best trial of each model
        family, or None for the best single trial. Either ensemble is kept only
        if it scores at least as well as the best trial.
    ensemble_size : int, default=50
        Steps of greedy ensemble selection.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Device for torch models and the ensemble arithmetic.
    user_column, item_column : str, optional
        ``task="recommendation"``: the id columns of ``X`` (recognised names
        such as ``user``/``user_id`` and ``item``/``item_id`` when None).

    Attributes
    ----------
    task_ : str
        The task searched.
    classes_ : numpy.ndarray
        Class labels in the user's type (classification).
    metric_ : str
        Name of the metric searched.
    best_trial_ : TrialRecord
        The best single trial.
    final_ : automl.final.FinalModel
        The refitted estimators behind ``predict``: the ensemble's members with
        their weights, or the best trial alone.
    ensemble_ : automl.ensemble.Ensemble or None
        The greedy ensemble selected over out-of-fold predictions, when used.
    trials_ : list of TrialRecord
        Every trial of the search.
    """

    def __init__(
        self,
        time_budget: float | None = None,
        max_trials: int | None = None,
        task: str | None = None,
        modality: str | None = None,
        metric: str | None = None,
        models: Sequence[str] | None = None,
        strategy: Any = "bayesian",
        early_stopping: bool = False,
        cv: int | float | str = "auto",
        trial_time_limit: float | None = None,
        n_jobs: int = 1,
        backend: str = "auto",
        storage: Any = None,
        study: str = "default",
        random_state: int | None = None,
        verbose: int = 0,
        ensemble: str | None = "greedy",
        ensemble_size: int = 50,
        device: str = "auto",
        user_column: str | None = None,
        item_column: str | None = None,
    ) -> None:
        self.time_budget = time_budget
        self.max_trials = max_trials
        self.task = task
        self.modality = modality
        self.metric = metric
        self.models = models
        self.strategy = strategy
        self.early_stopping = early_stopping
        self.cv = cv
        self.trial_time_limit = trial_time_limit
        self.n_jobs = n_jobs
        self.backend = backend
        self.storage = storage
        self.study = study
        self.random_state = random_state
        self.verbose = verbose
        self.ensemble = ensemble
        self.user_column = user_column
        self.item_column = item_column
        self.ensemble_size = ensemble_size
        self.device = device

    # -- fit -----------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> AutoML:
        """Search for the best model of ``X -> y`` within the budget and refit it.

        Raises
        ------
        ValueError
            Before any trial runs, naming the problem and its fix.
        RuntimeError
            When every trial failed (the errors of the first ones are listed).
        """
        started = time.monotonic()
        self._check_params()
        registry = get_registry()
        data = self._validate(X, y)
        if data.classes is not None:
            check_rare_classes(data.y, data.classes)
        metric = self._resolve_metric(registry, data.task)
        store = TrialStore(self.storage, self.study)
        try:
            seed = self._open_study(store, data, metric)
        except Exception:
            store.close()
            raise
        ctx = context_for(data.schema, task=data.task, n_rows=len(data.X),
                          n_classes=data.n_classes, seed=seed,
                          n_threads=threads_per_trial(self.n_jobs), device=self.device,
                          target=target_name(y) if data.task == "generation" else None)
        try:
            specs = self._resolve_models(registry, ctx)
            strategy = self._make_strategy(registry, specs, seed)
            if ctx.family == "recommendation":
                splits = recommendation_splits(data.X, ctx.implicit, seed)
            elif ctx.family == "generation":
                splits = generation_splits(len(data.X), seed)
            else:
                # "auto": neural models of images, sequences and texts train far slower
                # than tabular ones, so their trials use one holdout split
                cv = "holdout" if self.cv == "auto" and ctx.modality != "tabular" else self.cv
                splits = make_splits(data.task, data.y, cv, seed)
        except Exception:
            store.close()
            raise

        limits = Budget.resolve(self.time_budget, self.max_trials, self.trial_time_limit,
                                refit_share=REFIT_MARGIN / len(splits))
        if limits.trial_time_limit is not None:
            # each fold's fit may use its share of the trial's limit, less a margin for
            # predicting and scoring, so that epoch-trained models stop instead of dying
            ctx = replace(ctx, time_limit=fit_time_limit(limits.trial_time_limit, len(splits)))
        progress = ProgressPrinter(metric, limits.time_budget, stream=sys.stderr,
                                   verbose=self.verbose) if self.verbose else None
        pool = None
        try:
            loaded = store.load()
            pool = make_pool(TrialData(data.X, data.y, splits, metric, ctx, specs,
                                       evaluator_for(ctx)), self.n_jobs, self.backend)
            remaining = limits.time_budget - (time.monotonic() - started)
            search = Search(
                specs, strategy, metric, pool, replace(limits, time_budget=remaining),
                store=store, loaded=loaded,
                reserve=FinalReserve(metric, data.y, self._ensemble_size(data),
                                      ceiling=RESERVE_SHARE * limits.time_budget),
                on_trial=progress,
            )
            records = search.run()
        finally:
            if pool is not None:
                pool.close()
            store.close()
        self._finish(data, ctx, specs, metric, records,
                     deadline=started + limits.time_budget)
        if data.task == "generation":
            self.column_dtypes_ = column_dtypes(X, y)
        if progress is not None:
            progress.close(self.best_trial_, time.monotonic() - started)
        return self

    def _finish(self, data: Dataset, ctx: Context, specs: dict[str, ModelSpec],
                metric: Metric, records: list[TrialRecord], deadline: float) -> None:
        """Build the final model (ensemble or best trial) and set the fitted attributes."""
        self.final_, self.ensemble_ = build_final(
            records, data.X, data.y, ctx, specs, metric, deadline,
            ensemble_size=self._ensemble_size(data),
            method=(self.ensemble or "greedy") if self._ensemble_size(data) else "greedy",
        )
        ok = ranked(records, metric)
        by_number = {r.number: r for r in records}
        self.best_trial_ = ok[0] if ok else by_number[next(iter(self.final_.estimators))]
        self.task_ = data.task
        self.metric_ = metric.name
        self.trials_ = records
        self.schema_ = data.schema
        self.modality_ = data.schema.modality
        if self.modality_ == "tabular":
            self.n_features_in_ = data.X.shape[1]
            if not data.schema.from_array:
                self.feature_names_in_ = np.asarray(data.schema.columns, dtype=object)
        if data.classes is not None:
            self.classes_ = data.classes
        if ctx.family == "recommendation":
            self.interactions_ = (data.X["user"].to_numpy(), data.X["item"].to_numpy())

    def _validate(self, X: Any, y: Any) -> Dataset:
        if self.task == "recommendation":
            return validate_interactions(X, y, self.user_column, self.item_column)
        if self.task == "generation":
            return validate_generation_data(X, y)
        return validate_training_data(X, y, self.task, self.modality)

    def _ensemble_size(self, data: Dataset) -> int:
        # ranks of implicit feedback and scores on different scales do not average
        if not self.ensemble or data.task in ("ranking", "generation"):
            return 0
        return self.ensemble_size

    def _check_params(self) -> None:
        check_search_params(self)

    def _open_study(self, store: TrialStore, data: Dataset, metric: Metric) -> int:
        """Open the study and return its seed.

        A resumed study keeps its own seed unless ``random_state`` names one,
        which must then match.
        """
        attributes = {"data": data_fingerprint(data), "task": data.task,
                      "metric": metric.name, "cv": str(self.cv)}
        stored = store.study_attributes()
        if self.random_state is None and stored is not None and "seed" in stored:
            seed = int(stored["seed"])
        else:
            seed = self._seed()
        store.open_study({**attributes, "seed": seed})
        return seed

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.SeedSequence().entropy % (2**31))
        if isinstance(self.random_state, np.random.RandomState):
            return int(self.random_state.randint(2**31))
        return int(self.random_state)

    def _resolve_metric(self, registry: Registry, task: str) -> Metric:
        name = self.metric or DEFAULT_METRICS[task]
        metric = registry.metric(name)
        if task not in metric.tasks:
            usable = sorted(n for n, m in registry.metrics.items() if task in m.tasks)
            raise ValueError(f"metric {name!r} does not apply to {task}; use one of {usable}")
        return metric

    def _resolve_models(self, registry: Registry, ctx: Context) -> dict[str, ModelSpec]:
        if self.models is None:
            specs = {n: s for n, s in registry.models.items() if s.supports(ctx)}
            if not specs:
                raise ValueError(f"no registered model supports {ctx.task} on {ctx.modality} "
                                 f"data; loaded models: {sorted(registry.models)}")
            return specs
        if isinstance(self.models, Mapping):
            overrides = {name: dict(space or {}) for name, space in self.models.items()}
            given: dict[str, ModelSpec] = {}
        else:
            items = [self.models] if isinstance(self.models, str | ModelSpec) \
                else list(self.models)
            given = {m.name: m for m in items if isinstance(m, ModelSpec)}
            overrides = {m if isinstance(m, str) else m.name: {} for m in items}
        if not overrides:
            raise ValueError("models is empty; pass model names or None for all")
        specs = {}
        for name, space in overrides.items():
            spec = given.get(name) or registry.model(name)
            specs[name] = spec.with_overrides(space) if space else spec
        unfit = [n for n, s in specs.items() if not s.supports(ctx)]
        if len(unfit) == len(specs):
            usable = sorted(n for n, s in registry.models.items() if s.supports(ctx))
            raise ValueError(f"models {unfit} do not support {ctx.task} on {ctx.modality} "
                             f"data; usable models: {usable}")
        if unfit:
            warnings.warn(f"models {unfit} do not support {ctx.task}; searching the others",
                          stacklevel=3)
        return {n: s for n, s in specs.items() if n not in unfit}

    def _make_strategy(self, registry: Registry, specs: dict[str, ModelSpec],
                       seed: int) -> Any:
        from search import Strategy, SuccessiveHalving

        space = join_spaces(specs)
        if isinstance(self.strategy, Strategy):
            if self.strategy.space != space or self.strategy.n_asked:
                raise ValueError(
                    "a Strategy instance must be new and built on this search's space; pass "
                    "its class or a factory(space, seed=...) instead"
                )
            return self.strategy
        factory = registry.strategy(self.strategy) if isinstance(self.strategy, str) \
            else self.strategy
        if not callable(factory):
            raise ValueError(f"strategy must be a registered name, a Strategy or a factory, "
                             f"got {self.strategy!r}; known: {sorted(registry.strategies)}")
        if self.early_stopping:
            return SuccessiveHalving(space, seed=seed, base=factory)
        return factory(space, seed=seed)

    # -- predict -------------------------------------------------------------------------

    def _transform(self, X: Any) -> Any:
        check_is_fitted(self, "final_")
        return self.schema_.transform(X)

    def predict(self, X: Any) -> np.ndarray:
        """Predict labels (in the user's own type) or values.

        For recommendation, ``X`` holds (user, item) pairs: predicted ratings,
        or relevance scores for implicit feedback (higher is better).
        """
        Xt = self._transform(X)
        prediction = self.final_.predict_matrix(Xt)
        if self.task_ not in ("binary", "multiclass"):
            return prediction  # values, ratings or relevance scores
        return self.classes_[np.argmax(prediction, axis=1)]

    def _is_classifier(self) -> bool:
        task = getattr(self, "task_", self.task)
        return task not in ("regression", "rating", "ranking", "recommendation", "generation")

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        Xt = self._transform(X)
        if self.task_ == "regression":
            raise AttributeError("predict_proba is only available for classification")
        return self.final_.predict_matrix(Xt)

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for classification, R^2 for regression (as scikit-learn does)."""
        from sklearn.metrics import accuracy_score, r2_score

        prediction = self.predict(X)
        truth = np.asarray(y).ravel() if not isinstance(y, pd.Series) else y.to_numpy()
        if self.task_ == "regression":
            return float(r2_score(truth, prediction))
        return float(accuracy_score(truth, prediction))

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first, with score, status, timing, params and errors."""
        check_is_fitted(self, "final_")
        metric = get_registry().metric(self.metric_)
        return add_ensemble_row(leaderboard(self.trials_, metric), self.final_, metric)

    def __getstate__(self) -> dict[str, Any]:
        """State for pickling and saving; unregistered ``ModelSpec`` objects become names.

        A spec holds code (its ``build``), which a saved model must not carry;
        the fitted estimators it built are kept whole.
        """
        state = dict(super().__getstate__())
        models = state.get("models")
        if isinstance(models, ModelSpec):
            state["models"] = models.name
        elif isinstance(models, list | tuple):
            state["models"] = [m.name if isinstance(m, ModelSpec) else m for m in models]
        return state

    def save(self, path: Any) -> Any:
        """Save the fitted model to the directory ``path`` (see ``automl.persistence``)."""
        from automl.persistence import save

        return save(self, path)

    @staticmethod
    def load(path: Any, trusted: Sequence[str] = ()) -> AutoML:
        """Load a model saved with :meth:`save` (no code from the file is executed).

        ``trusted`` names extra types to allow, for files from a trusted source.
        """
        from automl.persistence import load

        return load(path, trusted)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.target_tags.required = True
        if self.task in ("binary", "multiclass", "classification"):
            tags.estimator_type = "classifier"
            from sklearn.utils import ClassifierTags

            tags.classifier_tags = ClassifierTags(multi_class=self.task != "binary")
        elif self.task == "regression":
            tags.estimator_type = "regressor"
            from sklearn.utils import RegressorTags

            tags.regressor_tags = RegressorTags()
        return tags
