"""The records a model plugin hands to the engine: ModelSpec, Fidelity, Context."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from search import Space

TASK_FAMILIES = {"binary": "classification", "multiclass": "classification",
                 "regression": "regression", "rating": "recommendation",
                 "ranking": "recommendation", "generation": "generation"}
"""Maps a concrete task to the family a spec declares in ``ModelSpec.tasks``."""

KNOWN_FAMILIES = frozenset({"classification", "regression", "recommendation", "generation"})
"""The words ``ModelSpec.tasks`` may use; each is served by a task of ``automl.tasks.TASKS``."""

KNOWN_MODALITIES = frozenset(
    {"tabular", "image", "sequence", "text", "interactions", "multimodal"}
)
"""The words ``ModelSpec.modalities`` may use."""


@dataclass(frozen=True)
class Fidelity:
    """A hyperparameter that trades cost for quality (trees, epochs, rows).

    Parameters
    ----------
    param : str
        Name of the estimator parameter that ``build`` sets from the config
        key of the same name.
    low, high : float
        Cheapest and fullest values. Both integers means an integer fidelity.
    """

    param: str
    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(
                f"Fidelity {self.param!r}: low ({self.low}) must be below high ({self.high})"
            )
        if self.low <= 0:
            raise ValueError(f"Fidelity {self.param!r}: low must be positive, got {self.low}")


@dataclass(frozen=True)
class Context:
    """Facts about the data and the run that a spec may use to size its model.

    Attributes
    ----------
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``; for
        recommendation ``"rating"`` (explicit feedback) or ``"ranking"``
        (implicit); ``"generation"``.
    n_rows, n_features : int
        Shape of the training data the estimator will see.
    n_classes : int or None
        Number of classes (classification) else None. Labels reach the
        estimator encoded as ``0 .. n_classes - 1``.
    numeric_columns, categorical_columns : tuple of str
        Column names of the pandas DataFrame the estimator receives. Numeric
        columns are float with NaN for missing; categorical columns are
        object dtype holding strings, with NaN for missing.
    seed : int
        Seed for the estimator's own randomness.
    n_threads : int
        Threads the estimator may use.
    device : str
        ``"cpu"`` or ``"cuda"`` for torch models.
    modality : str
        ``"tabular"``, ``"image"``, ``"sequence"``, ``"text"``,
        ``"multimodal"`` (a dict of parts, see ``parts``) or ``"interactions"``
        (user-item pairs of recommendation).
    input_shape : tuple of int
        ``(n_columns,)`` for tables, ``(C, H, W)`` for images, ``(F,)`` for
        sequences, ``()`` for texts and multimodal rows.
    parts : tuple of (str, Context) pairs
        Multimodal rows only: each part's name and a context describing it
        (its modality, shape and, for a table, its columns).
    n_users, n_items : int or None
        Recommendation only: users and items seen in fit (codes ``0..n-1``).
    implicit : bool or None
        Recommendation only: whether the feedback is implicit (no ratings).
    time_limit : float or None
        Seconds one ``fit`` may take: the trial's time limit shared among its
        folds. Estimators that train in epochs should stop there and keep
        their best weights (a trial past its limit is killed and lost).
        None: no limit.
    target : str or None
        Generation only: the column of the table that fit's ``y`` became,
        which trials are also scored on (train on synthetic rows, test on
        real ones); None when fit got no ``y``.
    """

    task: str
    n_rows: int
    n_features: int
    n_classes: int | None = None
    numeric_columns: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()
    seed: int = 0
    n_threads: int = 1
    device: str = "cpu"
    modality: str = "tabular"
    input_shape: tuple[int, ...] = ()
    parts: tuple[tuple[str, Context], ...] = ()
    n_users: int | None = None
    n_items: int | None = None
    implicit: bool | None = None
    time_limit: float | None = None
    target: str | None = None

    @property
    def family(self) -> str:
        """The task family (``"classification"``, ``"regression"``, ``"recommendation"``...)."""
        return TASK_FAMILIES.get(self.task, self.task)

    @property
    def is_classification(self) -> bool:
        """Whether the task is binary or multiclass classification."""
        return self.family == "classification"


@dataclass(frozen=True)
class ModelSpec:
    """A searchable model family registered by a plugin.

    Parameters
    ----------
    name : str
        Unique name, used in ``AutoML(models=[...])`` and in the leaderboard.
    tasks : iterable of str
        Task families served (:data:`KNOWN_FAMILIES`): ``"classification"``,
        ``"regression"``, ``"recommendation"`` (ratings and implicit
        feedback) and ``"generation"`` (``fit(X)`` then ``sample(n)``).
    modalities : iterable of str
        Data modalities accepted (:data:`KNOWN_MODALITIES`), e.g.
        ``{"tabular"}``: ``"tabular"``, ``"image"``, ``"sequence"``,
        ``"text"``, ``"multimodal"``, ``"interactions"``.
    space : search.Space
        This model's own hyperparameters.
    build : callable
        ``build(config, ctx) -> estimator``: a scikit-learn compatible
        estimator (with ``predict_proba`` for classification) that accepts the
        pandas DataFrame described by ``ctx`` and does its own preprocessing.
    fidelity : Fidelity, optional
        A cost knob the search may lower for cheap first looks.
    defaults : iterable of dict
        Known-good configurations, tried before the search proper.
    description : str
        One line shown by ``automl plugins``.
    accepts : callable, optional
        ``accepts(ctx) -> bool``: a further condition on the data beyond task
        and modality (for example "images of at most 4,096 pixels" for a
        model on flattened pixels). None accepts everything.
    persisted_types : iterable of str
        Fully qualified names of the types outside skops' defaults and outside
        this project's packages that the fitted estimators store (for example
        ``"xgboost.core.Booster"``). A saved model that holds them loads
        without ``trusted``; ``automl.testing.check_model_spec`` saves and
        reloads every fitted estimator and names any type missing here.
    """

    name: str
    tasks: frozenset[str]
    modalities: frozenset[str]
    space: Space
    build: Callable[[Mapping[str, Any], Context], Any]
    fidelity: Fidelity | None = None
    defaults: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    description: str = ""
    accepts: Callable[[Context], bool] | None = None
    persisted_types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(
                f"ModelSpec name must be an identifier-like string, got {self.name!r}"
            )
        object.__setattr__(self, "tasks", _as_frozenset(self.tasks, "tasks"))
        object.__setattr__(self, "modalities", _as_frozenset(self.modalities, "modalities"))
        object.__setattr__(self, "persisted_types", frozenset(self.persisted_types))
        unknown = self.tasks - KNOWN_FAMILIES
        if unknown:
            raise ValueError(
                f"ModelSpec {self.name!r}: unknown tasks {sorted(unknown)}; "
                f"known: {sorted(KNOWN_FAMILIES)}"
            )
        unknown = self.modalities - KNOWN_MODALITIES
        if unknown:
            raise ValueError(
                f"ModelSpec {self.name!r}: unknown modalities {sorted(unknown)}; "
                f"known: {sorted(KNOWN_MODALITIES)}"
            )
        if not isinstance(self.space, Space):
            raise TypeError(f"ModelSpec {self.name!r}: space must be a search.Space")
        if not callable(self.build):
            raise TypeError(f"ModelSpec {self.name!r}: build must be callable")
        defaults = tuple(self.space.validate(dict(d)) for d in self.defaults)
        object.__setattr__(self, "defaults", defaults)

    def supports(self, ctx: Context) -> bool:
        """Whether this spec can serve the task and modality of ``ctx``."""
        return (ctx.family in self.tasks and ctx.modality in self.modalities
                and (self.accepts is None or bool(self.accepts(ctx))))

    def with_overrides(self, overrides: Mapping[str, Any]) -> ModelSpec:
        """Return a copy whose search space is narrowed or fixed per parameter.

        Parameters
        ----------
        overrides : mapping
            Parameter name -> a ``Float``/``Int``/``Categorical`` to use instead,
            a dict of constructor arguments to change (``{"low": 2, "high": 8}``),
            a list of choices (categorical parameters), or a single value to fix.
            Defaults that fall outside the new space are dropped.

        Raises
        ------
        ValueError
            For an unknown parameter name or a value outside the original space.
        """
        from search import Categorical
        from search.parameters import Parameter

        unknown = sorted(set(overrides) - set(self.space.names))
        if unknown:
            raise ValueError(f"model {self.name!r} has no parameters {unknown}; "
                             f"its parameters are {list(self.space.names)}")
        params = []
        for param in self.space.params:
            if param.name not in overrides:
                params.append(param)
                continue
            value = overrides[param.name]
            if isinstance(value, Parameter):
                new = value.replace(name=param.name, when=param.when or None)
            elif isinstance(value, Mapping):
                new = param.replace(**value)
            elif isinstance(value, list | tuple) and isinstance(param, Categorical):
                new = param.replace(choices=[param.validate(v) for v in value])
            else:
                new = Categorical(param.name, [param.validate(value)],
                                  when=param.when or None)
            params.append(new)
        space = Space(params)
        defaults = []
        for default in self.defaults:
            try:
                defaults.append(space.validate(default))
            except ValueError:
                continue
        return replace(self, space=space, defaults=tuple(defaults))


def _as_frozenset(values: Iterable[str] | str, what: str) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    values = frozenset(values)
    if not values:
        raise ValueError(f"ModelSpec {what} must not be empty")
    return values
