"""Bayesian optimisation: Gaussian-process (per branch, or tree-ensemble) surrogates, log-EI."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from search._branching import BranchGP, branch_layout, fit_branch_gp
from search._cost import LogCostModel, cost_exponent, fit_log_cost
from search._encoding import CubeEncoder
from search._forest import ForestSurrogate
from search._gp import GaussianProcess, fit_gp
from search._proposals import (
    candidates,
    local_search,
    near,
    refine_gp,
    score,
    transform_targets,
)
from search.space import Space, config_key
from search.strategy import Observation, Strategy, Trial

__all__ = ["BayesianSearch"]

_SURROGATES = ("auto", "gp", "branch-gp", "forest")

GP_MAX_OBSERVATIONS = 300
"""Told trials beyond which the Gaussian processes give way to the tree ensemble: a GP's
fit grows with the cube of its points (one ask took 53 ms after 100 trials and 4.4 s
after 1,000 in ``benchmarks/soak.py``); the trees' grows about linearly."""


class _Observed(NamedTuple):
    """The told trials as the surrogates see them, in trial-number order."""

    numbers: tuple[int, ...]
    codes: np.ndarray
    """Unit-cube codes, one row per trial."""
    active: np.ndarray
    """Whether each parameter is active, one row per trial."""
    y: np.ndarray
    """Standardised targets, failures imputed a little worse than the worst success."""


@dataclass
class _Round:
    """The state of one model-based ask (see :meth:`BayesianSearch._model_based`)."""

    model: Any
    """The surrogate, conditioned on fantasies of the pending and chosen trials."""
    cost_model: LogCostModel | None
    alpha: float
    rng: np.random.Generator
    cand_codes: np.ndarray
    cand_active: np.ndarray
    cand_x: np.ndarray
    taken_codes: np.ndarray
    """Codes of every told, pending and chosen trial (forest: no candidate near them)."""
    taken_active: np.ndarray


class BayesianSearch(Strategy):
    """Bayesian optimisation with a Gaussian-process surrogate and log expected improvement.

    The first ``n_initial`` trials follow a scrambled Sobol sequence (seeded
    by :attr:`seed`) decoded from the unit cube, so they fill the space
    evenly. Afterwards each ``ask`` fits a surrogate to every told trial and
    proposes the points that maximise the log expected improvement
    (Ament et al., 2023) below the best predicted value minus a margin
    (:attr:`ei_margin`).

    **Gaussian process** (the default). Matern 5/2 kernel with one length
    scale per input (ARD), an output scale, a constant mean and a noise term
    (so noisy objectives are fine), all fitted by maximising the marginal
    likelihood under weak priors, from the best few of several starting
    points. Floats and Ints enter as their unit-cube codes, Categoricals
    one-hot; inactive parameters get a fixed code (one-hot: all zeros), so
    conditional spaces give the GP consistent inputs.

    **One GP per branch** (``"branch-gp"``). A space whose conditions all
    hang from one root categorical (as the AutoML engine's ``model``) but
    has too many branches for one stationary kernel gets an independent GP
    per choice of the root, over the parameters that choice activates; the
    log-EI of every branch is taken against the same incumbent, so the
    acquisition also picks the branch. A branch tried only at a couple of
    defaults stays uncertain away from them, and one explored along its
    whole range does not attract more trials.

    **Tree ensemble** (the fallback). Extremely randomised trees on
    bootstrap samples, with the spread of the trees as uncertainty (as in
    SMAC); inactive parameters are coded -1 so trees split them off. Trees
    cannot tell a well-explored region from a barely explored one as a GP
    can, so, as SMAC does, every :attr:`forest_random_every`-th model-based
    trial is drawn at random, and candidates within :attr:`forest_min_gap`
    of an asked trial in every numeric code (same categories) count as
    repeats: trees predict them alike, and such configurations mostly build
    the same model.

    With ``surrogate="auto"`` the GP is used unless the space has

    - more than :attr:`max_gp_params` (20) parameters, or
    - more than :attr:`max_gp_width` (40) GP inputs once categoricals are
      one-hot, or
    - a parent of conditions with more than :attr:`max_gp_branches` (4)
      choices: so many branches split the data too thinly for one kernel;

    then the GP per branch, when every branch passes the same tests, else
    the trees. Past :data:`GP_MAX_OBSERVATIONS` told trials the trees take
    over from either GP. :attr:`surrogate_kind` tells which one is in use.

    **Objective values** are scaled by their median and interquartile range,
    warped by a Yeo-Johnson power transform fitted to them, and standardised:
    the skewed, heavy-tailed losses of machine learning then suit a GP, and
    one huge value does not flatten the rest. Failed trials (any status
    other than ``"ok"``, or a non-finite value) count as a little worse than
    the worst success (worst + 10% of the range), so the search moves away
    from where they happen; until two trials are told and one succeeded,
    proposals continue the Sobol sequence.

    **Acquisition optimisation.** The log-EI is evaluated on 1024 Sobol
    points of the cube and on perturbations (steps of 0.01, 0.05 and 0.2) of
    the best observed points, all decoded to valid configurations; with a
    GP, L-BFGS-B refines the best few distinct candidates over their active
    numeric parameters (analytic gradients), and the results are snapped
    back to valid codes. With the trees, two rounds of local perturbation of
    the best candidates replace the gradient step. The margin of improvement
    asked for keeps EI from resampling the incumbent's neighbourhood for
    ever smaller gains.

    **Batches.** ``ask(n)`` picks points one at a time; after each pick (and
    for every pending trial) a fantasy observation is added: the GP's own
    prediction (kriging believer), or, for trees, the mean of the targets
    (constant liar). Proposals are always new configurations while the
    space holds any.

    **Reproducibility.** Surrogate fits and candidate draws use generators
    seeded by :attr:`seed` and the number of trials, and the data are used
    in trial-number order, so the same seed and observations give the same
    proposals, also after :meth:`restore` or pickling.

    **Trial cost.** When :attr:`~search.Strategy.cost_budget` is set (the
    AutoML engine sets it under a time budget), a second surrogate of the
    same kind learns the log of each trial's :attr:`~search.Observation.cost`,
    and candidates are ranked by log-EI minus ``alpha`` times their predicted
    log cost: EI per second to the power ``alpha`` (cost-cooled EI, Lee et
    al., 2020), with ``alpha`` the share of the cost budget not yet spent.
    Early on cheap configurations win ties; as the budget runs out the
    acquisition becomes plain log-EI. Measured costs vary with the machine's
    load, so proposals then do not repeat exactly; with ``cost_budget=None``
    (the default) they do.

    **Speed of ``ask``.** ``ask`` runs its linear algebra on one thread (threads only
    slow down matrices this small). With 200 observations of a 6-parameter
    space an ``ask`` takes about 0.1 s of CPU; the GP's cost grows as the
    cube of the number of observations (per branch, for the GP per branch).

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness.
    n_initial : int or None, default None
        Trials of the initial Sobol design. ``None``: twice the number of
        parameters, at least 5 and at most 20.
    surrogate : {"auto", "gp", "branch-gp", "forest"}, default "auto"
        The surrogate model; ``"auto"`` applies the rule above.

    Attributes
    ----------
    surrogate_kind : {"gp", "branch-gp", "forest"}
        The surrogate in use: the chosen one, and the tree ensemble once more
        than :data:`GP_MAX_OBSERVATIONS` trials are told.

    Raises
    ------
    ValueError
        On a bad ``n_initial`` or ``surrogate`` (``"branch-gp"`` on a space
        without a root categorical); ``ask`` raises when an
        observation holds several objectives (this strategy minimises one).

    Examples
    --------
    >>> from search import Float, Observation, Space
    >>> strategy = BayesianSearch(Space([Float("x", -2.0, 2.0)]), seed=0, n_initial=4)
    >>> for _ in range(8):
    ...     [trial] = strategy.ask()
    ...     strategy.tell(trial, Observation(value=(trial.config["x"] - 1.0) ** 2))
    >>> abs(strategy.best[0].config["x"] - 1.0) < 0.2
    True

    """

    max_gp_params: int = 20
    """The most parameters for which ``surrogate="auto"`` picks the GP."""

    max_gp_width: int = 40
    """The most GP inputs (categoricals one-hot) for which ``"auto"`` picks the GP."""

    max_gp_branches: int = 4
    """The most choices of a conditions' parent for which ``"auto"`` picks the GP."""

    n_candidates: int = 1024
    """Sobol candidates scored per ask (a power of two)."""

    n_local: int = 64
    """Perturbations of each of the best few observed points, per ask."""

    n_refine: int = 5
    """Candidates refined by L-BFGS-B (GP) or local search (trees)."""

    max_tries: int = 100
    """Random draws tried when no candidate is a new configuration."""

    ei_margin: float = 0.01
    """Improvement on the incumbent that log-EI asks for (standardised units)."""

    forest_random_every: int = 4
    """With the trees, every this-many-th model-based trial is random (0: never)."""

    forest_min_gap: float = 0.02
    """With the trees, candidates this close to an asked trial count as repeats."""

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None = None,
        n_initial: int | None = None,
        surrogate: str = "auto",
    ) -> None:
        super().__init__(space, seed=seed)
        if n_initial is None:
            n_initial = min(max(5, 2 * len(space)), 20)
        if (
            isinstance(n_initial, bool)
            or not isinstance(n_initial, (int, np.integer))
            or n_initial < 1
        ):
            raise ValueError(f"n_initial must be an integer >= 1 or None, got {n_initial!r}")
        if surrogate not in _SURROGATES:
            raise ValueError(f"surrogate must be one of {list(_SURROGATES)}, got {surrogate!r}")
        self.n_initial = int(n_initial)
        self.surrogate = surrogate
        self._encoder = CubeEncoder(space)
        self._layout = branch_layout(self._encoder)
        if surrogate == "auto":
            self._chosen_kind = (
                "gp" if self._suits_gp() else "branch-gp" if self._suits_branch_gp() else "forest"
            )
        elif surrogate == "branch-gp" and self._layout is None:
            raise ValueError(
                'surrogate="branch-gp" needs a space whose conditions all hang from one '
                "root categorical"
            )
        else:
            self._chosen_kind = surrogate
        self._cache: tuple[Hashable, Any] | None = None

    @property
    def surrogate_kind(self) -> str:
        """The surrogate in use: the chosen one, or the trees past :data:`GP_MAX_OBSERVATIONS`."""
        if self._chosen_kind != "forest" and len(self._history) > GP_MAX_OBSERVATIONS:
            return "forest"
        return self._chosen_kind

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None  # a fitted surrogate is rebuilt, identically, on demand
        return state

    def _suits_gp(self) -> bool:
        space = self.space
        if len(space) > self.max_gp_params or self._encoder.gp_width > self.max_gp_width:
            return False
        parents = {parent for p in space for parent in p.parents}
        return all(len(space[name].choices) <= self.max_gp_branches for name in parents)

    def _suits_branch_gp(self) -> bool:
        layout, space = self._layout, self.space
        if layout is None:
            return False
        root = space.names[layout.root]
        nested = {parent for p in space for parent in p.parents} - {root}
        return (
            max(layout.sizes) <= self.max_gp_params
            and max(len(c) for c in layout.columns) <= self.max_gp_width
            and all(len(space[name].choices) <= self.max_gp_branches for name in nested)
        )

    # proposals ------------------------------------------------------------------
    def _suggest(self, n: int) -> list[dict[str, Any]]:
        with threadpool_limits(limits=1, user_api="blas"):  # small matrices: threads only hurt
            return self._propose(n)

    def _propose(self, n: int) -> list[dict[str, Any]]:
        data = self._data()
        out: list[dict[str, Any]] = []
        batch: set[Hashable] = set()
        start = self.n_asked
        model_ready = data is not None
        while len(out) < n and (start + len(out) < self.n_initial or not model_ready):
            number = start + len(out)
            config = self.space.decode(self._sobol(number))
            if config_key(config) in batch or not self._is_new(config):
                config = self._draw_new(number, batch, self.max_tries)
            batch.add(config_key(config))
            out.append(config)
        if len(out) < n:
            assert data is not None
            out.extend(self._model_based(n - len(out), start + len(out), data, out, batch))
        return out

    def _sobol(self, number: int) -> np.ndarray:
        from scipy.stats import qmc  # scipy.stats and scipy.optimize load slowly: on first use

        m = max(int(math.ceil(math.log2(number + 1))), 1)
        engine = qmc.Sobol(len(self.space), scramble=True, seed=self.seed)
        return engine.random_base2(m)[number]

    def _data(self) -> _Observed | None:
        """Told trials in number order, or None before two of them (one finite) are told."""
        pairs = self._told_in_order()
        values = []
        for trial, obs in pairs:
            if len(obs.objectives) > 1:
                raise ValueError(
                    f"{type(self).__name__} minimises one objective; trial {trial.number} "
                    f"was told {len(obs.objectives)} values"
                )
            values.append(obs.objectives[0] if obs.finite else math.nan)
        y = np.array(values, dtype=float)
        finite = np.isfinite(y)
        if len(y) < 2 or not finite.any():
            return None
        worst, best = y[finite].max(), y[finite].min()
        y[~finite] = worst + 0.1 * (worst - best)  # a little worse than the worst success
        codes, active = self._encoder.encode([trial.config for trial, _ in pairs])
        numbers = tuple(trial.number for trial, _ in pairs)
        return _Observed(numbers, codes, active, transform_targets(y))

    def _told_in_order(self) -> list[tuple[Trial, Observation]]:
        """The told trials and observations in trial-number order (the surrogates' rows)."""
        return sorted(self._history, key=lambda pair: pair[0].number)

    def _features(self, codes: np.ndarray, active: np.ndarray) -> np.ndarray:
        if self.surrogate_kind == "forest":
            return self._encoder.tree_features(codes, active)
        return self._encoder.gp_features(codes, active)

    def _fit(self, numbers: tuple[int, ...], X: np.ndarray, y: np.ndarray) -> Any:
        key = (self.surrogate_kind, numbers)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        model = self._surrogate(X, y, np.random.default_rng([self.seed, len(numbers), 1]))
        self._cache = (key, model)
        return model

    def _surrogate(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Any:
        """A new surrogate of :attr:`surrogate_kind` fitted to standardised targets."""
        if self.surrogate_kind == "gp":
            return fit_gp(X, y, rng)
        if self.surrogate_kind == "branch-gp":
            assert self._layout is not None
            return fit_branch_gp(self._layout, X, y, rng)
        return ForestSurrogate(X, y, seed=int(rng.integers(2**31 - 1)))

    def _model_based(
        self,
        n: int,
        first: int,
        data: _Observed,
        chosen: list[dict[str, Any]],
        batch: set[Hashable],
    ) -> list[dict[str, Any]]:
        """Propose trials ``first .. first + n - 1`` from the surrogate, one at a time."""
        round_ = self._start_round(first, data, chosen)
        out: list[dict[str, Any]] = []
        for i in range(n):
            number = first + i
            config = None if self._interleaved(number) else self._acquire(round_, batch)
            if config is None:
                config = self._draw_new(number, batch, self.max_tries)
            batch.add(config_key(config))
            out.append(config)
            if i + 1 < n:
                self._take(round_, config)
        return out

    def _start_round(
        self, first: int, data: _Observed, chosen: list[dict[str, Any]]
    ) -> _Round:
        """Fit the surrogates, fantasise the pending trials and draw the candidates."""
        enc = self._encoder
        codes, active = data.codes, data.active
        model = self._fit(data.numbers, self._features(codes, active), data.y)
        cost_model, alpha = self._cost_model(codes, active)
        pending = [t.config for t in self.pending] + chosen
        taken = enc.encode(pending) if pending else (codes[:0], active[:0])
        if pending:
            model = self._fantasise(model, taken)
        rng = np.random.default_rng([self.seed, first, 2])
        cand_codes, cand_active = candidates(
            enc, rng, codes, data.y, n_sobol=self.n_candidates, n_top=self.n_refine,
            n_local=self.n_local,
        )
        return _Round(
            model, cost_model, alpha, rng, cand_codes, cand_active,
            self._features(cand_codes, cand_active),
            np.vstack([codes, taken[0]]), np.vstack([active, taken[1]]),
        )

    def _acquire(self, round_: _Round, batch: set[Hashable]) -> dict[str, Any] | None:
        """The new configuration of best acquisition, or None when every candidate repeats."""
        enc, model = self._encoder, round_.model
        target = float(model.predict(model.X)[0].min()) - self.ei_margin
        scores = score(model, round_.cand_x, target)
        if self.surrogate_kind != "forest":
            extra = refine_gp(
                enc, model, target, round_.cand_codes, round_.cand_active, scores, self.n_refine
            )
        else:
            extra = local_search(
                enc, model, target, round_.rng, round_.cand_codes, scores,
                n_top=self.n_refine, n_local=self.n_local,
            )
        pool_codes = np.vstack([round_.cand_codes, extra[0]])
        pool_active = np.vstack([round_.cand_active, extra[1]])
        pool_scores = np.concatenate([scores, extra[2]])
        if round_.cost_model is not None:  # EI per second ** alpha, in logs
            pool_x = self._features(pool_codes, pool_active)
            pool_scores = pool_scores - round_.alpha * round_.cost_model.predict(pool_x)
        gap = self.forest_min_gap if self.surrogate_kind == "forest" else 0.0
        for j in np.argsort(-pool_scores, kind="stable"):
            if gap > 0 and near(pool_codes[j], pool_active[j], round_.taken_codes,
                                round_.taken_active, enc.categorical, gap):
                continue
            candidate = self.space.decode(pool_codes[j])
            if config_key(candidate) not in batch and self._is_new(candidate):
                return candidate
        return None

    def _take(self, round_: _Round, config: dict[str, Any]) -> None:
        """Count ``config`` as taken by the batch: fantasise its result."""
        encoded = self._encoder.encode([config])
        round_.taken_codes = np.vstack([round_.taken_codes, encoded[0]])
        round_.taken_active = np.vstack([round_.taken_active, encoded[1]])
        round_.model = self._fantasise(round_.model, encoded)

    def _cost_model(
        self, codes: np.ndarray, active: np.ndarray
    ) -> tuple[LogCostModel | None, float]:
        """The log-cost surrogate and its weight, or ``(None, 0.0)`` when cost is ignored."""
        pairs = self._told_in_order()  # the rows of codes and active
        costs = np.array([obs.cost for _, obs in pairs], dtype=float)
        alpha = cost_exponent(float(costs.sum()), self.cost_budget)
        if alpha == 0.0:
            return None, 0.0
        rng = np.random.default_rng([self.seed, len(pairs), 3])
        model = fit_log_cost(lambda x, y: self._surrogate(x, y, rng),
                             self._features(codes, active), costs)
        return model, alpha

    def _interleaved(self, number: int) -> bool:
        """Whether trial ``number`` is drawn at random (tree ensemble only)."""
        every = self.forest_random_every
        if self.surrogate_kind != "forest" or every < 1:
            return False
        return (number - self.n_initial) % every == every - 1

    def _fantasise(self, model: Any, encoded: tuple[np.ndarray, np.ndarray]) -> Any:
        x = self._features(*encoded)
        if isinstance(model, (GaussianProcess, BranchGP)):
            return model.condition_on(x, model.predict(x)[0])  # kriging believer
        return model.condition_on(x, np.full(len(x), float(np.mean(model.y))))  # constant liar
