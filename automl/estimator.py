"""``AutoML``: a scikit-learn estimator that searches models and hyperparameters."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.data import Dataset, data_fingerprint, target_values, task_reason
from automl.engine import ModelSearch, leaderboard, with_final_model
from automl.engine.progress import ProgressPrinter, search_line, tell
from automl.engine.records import TrialRecord
from automl.engine.storage import TrialStore
from automl.engine.workers import TrialData, make_pool
from automl.final import RESERVE_SHARE, FinalReserve, build_final, ranked
from automl.metrics import Metric
from automl.params import SearchPlan, check_search_params, plan_search, resolve_metric
from automl.registry import get_registry
from automl.specs import ModelSpec
from automl.tasks import Task, fitted_task, task_for
from automl.tasks.generation import GeneratorMixin
from automl.tasks.recommendation import RecommenderMixin


class AutoML(RecommenderMixin, GeneratorMixin, BaseEstimator):
    """Search models and hyperparameters for a table, then refit the best.

    Parameters
    ----------
    time_budget : float, optional
        Seconds for the whole ``fit``, the final refit included. When None:
        60 s, or no time limit at all when ``max_trials`` is set. As in
        scikit-learn, parameters are checked when ``fit`` starts, before any
        trial: ``time_budget="60"`` raises a ``ValueError`` there.
    max_trials : int, optional
        Stop after this many trials. A proposal that repeats a configuration
        already fitted counts, but is answered from that trial's result: it
        is neither fitted again nor listed twice on the leaderboard. With
        ``random_state`` fixed and no time limit (``time_budget`` left None),
        the leaderboard is reproducible: a time limit can stop a network's
        training at an epoch that depends on the machine's load.
    task : str, optional
        ``"binary"``, ``"multiclass"``, ``"classification"``, ``"regression"``,
        ``"recommendation"`` or ``"generation"`` (a key of
        ``automl.tasks.TASKS``); inferred from ``y`` when None or ``"auto"``.
        ``"recommendation"``: ``X`` holds user-item interactions (see
        ``automl.tasks.recommendation.interactions``) and ``y`` their ratings,
        or None for implicit feedback; then ``recommend`` serves top-k items.
        ``"generation"``: learn the rows of ``X`` (with ``y``, if given, as one
        more column whose train-on-synthetic score every trial also records;
        see ``automl.tasks.generation``); then ``sample`` draws rows.
    modality : {"tabular", "image", "sequence", "text", "multimodal"}, optional
        Detected from ``X`` when None (see ``automl.modalities``; a 3-D array
        is read as grey images when square or uint8, else as sequences; a dict
        of parts is multimodal).
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
    memory_limit : int, str or None, default="auto"
        Resident memory each trial's worker process may hold, in bytes or as
        a size such as ``"4GB"``; ``"auto"`` is 80% of the memory available
        when ``fit`` starts, shared among the ``n_jobs`` workers; None sets no
        limit. A trial over it is stopped and recorded as ``out_of_memory``
        with its peak; the search goes on. A final refit whose trial's peak,
        scaled to all rows, would pass it is skipped with a warning. Enforced
        where ``/proc`` gives process memory (Linux), for worker processes.
    storage : str or path, optional
        SQLite file that receives every finished trial; a temporary file when
        None. Fitting again with the same file and ``study`` resumes.
    study : str, default="default"
        Name of the study inside ``storage``.
    random_state : int, optional
        Seed of the resampling, the strategy and the models.
    verbose : int, default=1
        On standard error: 1 prints what is searched (models, budget, rows,
        the task and why), a live progress bar on a terminal or one line per
        improvement elsewhere, and a closing line naming the final model; 2
        prints a line per trial; 0 prints nothing.
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
    ensemble_ : automl.final.Ensemble or None
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
        memory_limit: int | str | None = "auto",
        storage: Any = None,
        study: str = "default",
        random_state: int | None = None,
        verbose: int = 1,
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
        self.memory_limit = memory_limit
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

        The phases: validate the data (the task's), open the study, plan the
        search, run it, and finish (build the final model, set the fitted
        attributes).

        Raises
        ------
        ValueError
            Before any trial runs, naming the problem and its fix.
        RuntimeError
            When every trial failed (the errors of the first ones are listed).
        """
        started = time.monotonic()
        self._check_params()
        requested = self._requested_task()
        task = task_for(requested)
        registry = get_registry()
        data = task.validate(X, y, {**self.get_params(deep=False), "task": requested})
        metric = resolve_metric(self.metric, registry, task.default_metrics, data.task)
        store = TrialStore(self.storage, self.study)
        try:
            seed = self._open_study(store, data, metric)
            plan = plan_search(self, task, registry, data, seed)
            progress = ProgressPrinter(metric, plan.limits.time_budget, stream=sys.stderr,
                                       verbose=self.verbose) if self.verbose else None
            if progress is not None:
                progress.start(search_line(plan.specs, plan.limits, data, metric.name,
                                           self._task_reason(data, y)))
            records, interrupted = self._run(plan, data, metric, store, progress, started)
        finally:
            store.close()
        if interrupted:
            self._stop_on_interrupt(records, metric, progress)
        self._finish(task, plan, data, metric, records,
                     deadline=started + plan.limits.time_budget, X=X, y=y)
        if progress is not None:
            progress.close(f"final model: {self.final_model_description()}",
                           time.monotonic() - started)
        return self

    @staticmethod
    def _stop_on_interrupt(records: list[TrialRecord], metric: Metric,
                           progress: ProgressPrinter | None) -> None:
        """After Ctrl-C: go on to the final model from the finished trials, or re-raise."""
        finished = ranked(records, metric)
        if not finished:
            message = "interrupted before any trial finished; no model was built"
            tell(progress, message)
            raise KeyboardInterrupt(message)
        tell(progress, f"interrupted after {len(records)} trials; building the final model "
                        f"from the {len(finished)} that finished (the study is stored and "
                        "resumes)")

    def _task_reason(self, data: Dataset, y: Any) -> str:
        """Why the task is what it is, for the start line ("" when the task says it)."""
        if self.task is not None:
            return f"task={self.task!r} as given"
        if self._FAMILY is not None:
            return type(self).__name__
        if data.task in ("binary", "multiclass", "regression"):
            return task_reason(target_values(y))
        return ""

    def final_model_description(self) -> str:
        """The final model in words: the ensemble and its members' weights, or the trial."""
        check_is_fitted(self, "final_")
        return self.final_.describe({r.number: r.model for r in self.trials_}, self.metric_)

    def _run(self, plan: SearchPlan, data: Dataset, metric: Metric, store: TrialStore,
             progress: ProgressPrinter | None, started: float,
             ) -> tuple[list[TrialRecord], bool]:
        """Run the search on a worker pool; every finished trial is committed to ``store``.

        Returns the records and whether Ctrl-C stopped the search.
        """
        specs, strategy, limits = plan.specs, plan.strategy, plan.limits
        pool = None
        try:
            loaded = store.load()
            pool = make_pool(TrialData(data.X, data.y, plan.splits, metric, plan.ctx, specs,
                                       plan.evaluate), self.n_jobs, self.backend,
                             plan.memory_limit)
            remaining = limits.time_budget - (time.monotonic() - started)
            search = ModelSearch(
                specs, strategy, metric, pool, replace(limits, time_budget=remaining),
                store=store, loaded=loaded,
                reserve=FinalReserve(metric, data.y, plan.ensemble_size,
                                      ceiling=RESERVE_SHARE * limits.time_budget),
                on_trial=progress,
            )
            return search.run(), search.interrupted
        finally:
            if pool is not None:
                pool.close()

    def _finish(self, task: Task, plan: SearchPlan, data: Dataset, metric: Metric,
                records: list[TrialRecord], deadline: float, X: Any, y: Any) -> None:
        """Build the final model (ensemble or best trial) and set the fitted attributes."""
        method = (self.ensemble or "greedy") if plan.ensemble_size else "greedy"
        row_share = float(np.mean([len(train) for train, _ in plan.splits])) / len(data.X) \
            if plan.splits else 1.0
        final = build_final(records, data.X, data.y, plan.ctx, plan.specs, metric, deadline,
                            ensemble_size=plan.ensemble_size, method=method,
                            memory_limit=plan.memory_limit, row_share=row_share)
        self.final_, self.ensemble_ = final.model, final.ensemble
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
        for name, value in task.fitted_attributes(data, X, y).items():
            setattr(self, name, value)

    _FAMILY: str | None = None
    """The task family a subclass serves (``AutoMLClassifier``, ``AutoMLRegressor``)."""

    def _requested_task(self) -> str | None:
        """The task to search: ``task``, checked against the family a subclass serves."""
        if self._FAMILY is None:
            return self.task
        if self.task is None:
            return self._FAMILY
        allowed = ("binary", "multiclass", "classification") \
            if self._FAMILY == "classification" else ("regression",)
        if self.task not in allowed:
            other = "AutoMLRegressor" if self._FAMILY == "classification" else \
                "AutoMLClassifier"
            raise ValueError(f"{type(self).__name__} serves {self._FAMILY}, not "
                             f"task={self.task!r}; use {other} or AutoML(task=...)")
        return self.task

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

    # -- predict -------------------------------------------------------------------------

    def _transform(self, X: Any) -> Any:
        check_is_fitted(self, "final_")
        return self.schema_.transform(X)

    def _task(self) -> Task:
        """The task fitted (from ``task_``), else the one ``task`` names."""
        if hasattr(self, "task_"):
            return fitted_task(self.task_)
        return task_for(self._requested_task())

    def predict(self, X: Any) -> np.ndarray:
        """Predict labels (in the user's own type) or values.

        For recommendation, ``X`` holds (user, item) pairs: predicted ratings,
        or relevance scores for implicit feedback (higher is better).
        """
        Xt = self._transform(X)
        return self._task().predict(self, self.final_.predict_matrix(Xt))

    def _is_classifier(self) -> bool:
        try:
            task = self._task()
        except ValueError:  # an unknown task, which fit reports
            return True
        return task.classifies(getattr(self, "task_", self._requested_task()))

    @available_if(_is_classifier)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        Xt = self._transform(X)  # checks that the model is fitted
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
        return with_final_model(leaderboard(self.trials_, metric), self.final_, metric)

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
        task = self.task if self.task is not None else self._FAMILY
        if task in ("binary", "multiclass", "classification"):
            tags.estimator_type = "classifier"
            from sklearn.utils import ClassifierTags

            tags.classifier_tags = ClassifierTags(multi_class=task != "binary")
        elif task == "regression":
            tags.estimator_type = "regressor"
            from sklearn.utils import RegressorTags

            tags.regressor_tags = RegressorTags()
        return tags


class AutoMLClassifier(AutoML):
    """:class:`AutoML` for classification, typed as a scikit-learn classifier.

    Takes every parameter of :class:`AutoML`; ``task`` may be ``"binary"``,
    ``"multiclass"`` or None (inferred between them, whatever the target's
    values). ``is_classifier`` is true, so ``cross_val_score`` and
    ``GridSearchCV`` use stratified folds, as for any scikit-learn classifier.
    """

    _FAMILY = "classification"


class AutoMLRegressor(AutoML):
    """:class:`AutoML` for regression, typed as a scikit-learn regressor.

    Takes every parameter of :class:`AutoML`; ``task`` may be ``"regression"``
    or None. Integer targets are predicted as numbers whatever their values.
    """

    _FAMILY = "regression"

