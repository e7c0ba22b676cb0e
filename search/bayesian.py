"""Bayesian optimisation: a Gaussian-process (or tree-ensemble) surrogate and log-EI."""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from search._acquisition import log_ei, log_ei_with_grad
from search._encoding import CubeEncoder
from search._forest import ForestSurrogate
from search._gp import GaussianProcess, fit_gp
from search.space import Space, config_key
from search.strategy import Strategy

__all__ = ["BayesianSearch"]

_SURROGATES = ("auto", "gp", "forest")


class BayesianSearch(Strategy):
    """Bayesian optimisation with a Gaussian-process surrogate and log expected improvement.

    The first ``n_initial`` trials follow a scrambled Sobol sequence (seeded
    by :attr:`seed`) decoded from the unit cube, so they fill the space
    evenly. Afterwards each ``ask`` fits a surrogate to every told trial and
    proposes the points that maximise the log expected improvement
    (Ament et al., 2023) over the best predicted value.

    **Gaussian process** (the default). Matern 5/2 kernel with one length
    scale per input (ARD), an output scale, a constant mean and a noise term
    (so noisy objectives are fine), all fitted by maximising the marginal
    likelihood under weak priors, from the best few of several starting
    points. Floats and Ints enter as their unit-cube codes, Categoricals
    one-hot; inactive parameters get a fixed code (one-hot: all zeros), so
    conditional spaces give the GP consistent inputs.

    **Tree ensemble** (the fallback). Extremely randomised trees on
    bootstrap samples, with the spread of the trees as uncertainty (as in
    SMAC); inactive parameters are coded -1 so trees split them off. With
    ``surrogate="auto"`` it is used when the space does not suit a GP:

    - more than :attr:`max_gp_params` (20) parameters, or
    - more than :attr:`max_gp_width` (40) GP inputs once categoricals are
      one-hot, or
    - a parent of conditions (e.g. the root ``model`` of a joined space)
      with more than :attr:`max_gp_branches` (4) choices: so many branches
      split the data too thinly for one stationary kernel.

    :attr:`surrogate_kind` tells which one is in use.

    **Objective values** are scaled by their median and interquartile range,
    warped by a Yeo-Johnson power transform fitted to them, and standardised:
    the skewed, heavy-tailed losses of machine learning then suit a GP, and
    one huge value does not flatten the rest. Failed trials (any status
    other than ``"ok"``, or a non-finite value) count as a little worse than
    the worst success (worst + 10% of the range), so the search moves away
    from where they happen; until two trials are told and one succeeded,
    proposals continue the Sobol sequence.

    **Acquisition optimisation.** The log-EI is evaluated on 1024 Sobol
    points of the cube and on perturbations of the best observed points (all
    decoded to valid configurations); with the GP, the best few are refined
    by L-BFGS-B over their active numeric parameters (analytic gradients)
    and snapped back to valid codes. With the trees, two rounds of local
    perturbation of the best candidates replace the gradient step.

    **Batches.** ``ask(n)`` picks points one at a time; after each pick (and
    for every pending trial) a fantasy observation is added: the GP's own
    prediction (kriging believer), or, for trees, the mean of the targets
    (constant liar). Proposals are always new configurations while the
    space holds any.

    **Reproducibility.** Surrogate fits and candidate draws use generators
    seeded by :attr:`seed` and the number of trials, and the data are used
    in trial-number order, so the same seed and observations give the same
    proposals, also after :meth:`restore` or pickling.

    **Cost.** ``ask`` runs its linear algebra on one thread (threads only
    slow down matrices this small). With 200 observations of a 6-parameter
    space an ``ask`` takes about 0.1 s; the GP's cost grows as the cube of
    the number of observations.

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness.
    n_initial : int or None, default None
        Trials of the initial Sobol design. ``None``: twice the number of
        parameters, at least 5 and at most 20.
    surrogate : {"auto", "gp", "forest"}, default "auto"
        The surrogate model; ``"auto"`` applies the rule above.

    Attributes
    ----------
    surrogate_kind : {"gp", "forest"}
        The surrogate in use.

    Raises
    ------
    ValueError
        On a bad ``n_initial`` or ``surrogate``; ``ask`` raises when an
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
        if surrogate == "auto":
            self.surrogate_kind = "gp" if self._suits_gp() else "forest"
        else:
            self.surrogate_kind = surrogate
        self._cache: tuple[Hashable, Any] | None = None

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
                config = self._random_config(self._rng_for(number), batch)
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

    def _random_config(self, rng: np.random.Generator, batch: set[Hashable]) -> dict[str, Any]:
        """Draw a new configuration, else one new to the batch, else any."""
        fallback = config = None
        for _ in range(self.max_tries):
            config = self.space.sample(rng)
            key = config_key(config)
            if key in batch:
                continue
            if self._is_new(config):
                return config
            if fallback is None:
                fallback = config
        assert config is not None
        return fallback if fallback is not None else config

    def _data(self) -> tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray] | None:
        """Told trials in number order: numbers, codes, activity, imputed targets."""
        pairs = sorted(self._history, key=lambda pair: pair[0].number)
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
        return tuple(trial.number for trial, _ in pairs), codes, active, _transform(y)

    def _features(self, codes: np.ndarray, active: np.ndarray) -> np.ndarray:
        if self.surrogate_kind == "gp":
            return self._encoder.gp_features(codes, active)
        return self._encoder.tree_features(codes, active)

    def _fit(self, numbers: tuple[int, ...], X: np.ndarray, y: np.ndarray) -> Any:
        key = (self.surrogate_kind, numbers)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, len(numbers), 1])
        if self.surrogate_kind == "gp":
            model: Any = fit_gp(X, y, rng)
        else:
            model = ForestSurrogate(X, y, seed=int(rng.integers(2**31 - 1)))
        self._cache = (key, model)
        return model

    def _model_based(
        self,
        n: int,
        first: int,
        data: tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray],
        chosen: list[dict[str, Any]],
        batch: set[Hashable],
    ) -> list[dict[str, Any]]:
        numbers, codes, active, y = data
        enc = self._encoder
        model = self._fit(numbers, self._features(codes, active), y)
        pending = [t.config for t in self.pending] + chosen
        if pending:
            model = self._fantasise(model, enc.encode(pending))
        rng = np.random.default_rng([self.seed, first, 2])
        cand_codes, cand_active = self._candidates(rng, codes, y)
        cand_x = self._features(cand_codes, cand_active)
        out: list[dict[str, Any]] = []
        for i in range(n):
            best = float(model.predict(model.X)[0].min())
            scores = self._score(model, cand_x, best)
            if self.surrogate_kind == "gp":
                extra = self._refine_gp(model, best, cand_codes, cand_active, scores)
            else:
                extra = self._local_search(model, best, rng, cand_codes, scores)
            pool_codes = np.vstack([cand_codes, extra[0]])
            pool_scores = np.concatenate([scores, extra[2]])
            config = None
            for j in np.argsort(-pool_scores, kind="stable"):
                candidate = self.space.decode(pool_codes[j])
                if config_key(candidate) not in batch and self._is_new(candidate):
                    config = candidate
                    break
            if config is None:
                config = self._random_config(self._rng_for(first + i), batch)
            batch.add(config_key(config))
            out.append(config)
            if i + 1 < n:
                model = self._fantasise(model, enc.encode([config]))
        return out

    def _fantasise(self, model: Any, encoded: tuple[np.ndarray, np.ndarray]) -> Any:
        x = self._features(*encoded)
        if isinstance(model, GaussianProcess):
            return model.condition_on(x, model.predict(x)[0])  # kriging believer
        return model.condition_on(x, np.full(len(x), float(np.mean(model.y))))  # constant liar

    def _score(self, model: Any, x: np.ndarray, best: float) -> np.ndarray:
        mean, var = model.predict(x)
        return log_ei(mean, np.sqrt(var), best)

    def _candidates(
        self, rng: np.random.Generator, codes: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Sobol points plus perturbations of the best observed points, canonical."""
        from scipy.stats import qmc

        sobol = qmc.Sobol(len(self.space), scramble=True, seed=rng).random_base2(
            int(math.log2(self.n_candidates))
        )
        top = codes[np.argsort(y, kind="stable")[: self.n_refine]]
        local = self._perturb(rng, np.repeat(top, self.n_local, axis=0), scale=None)
        return self._encoder.canonical(np.vstack([sobol, local]))

    def _perturb(
        self, rng: np.random.Generator, U: np.ndarray, scale: float | None
    ) -> np.ndarray:
        """Move a few coordinates of each row: numeric by a Gaussian step, categorical anew."""
        m, d = U.shape
        mask = rng.random((m, d)) < min(1.0, 3.0 / d)
        mask[np.arange(m), rng.integers(d, size=m)] = True
        if scale is None:  # a mix of step sizes, from fine to coarse
            steps = np.array([0.01, 0.05, 0.2])[rng.integers(3, size=(m, 1))]
        else:
            steps = np.full((m, 1), scale)
        moved = U + steps * rng.standard_normal((m, d))
        cat = self._encoder.categorical
        moved[:, cat] = rng.random((m, len(cat)))
        return np.clip(np.where(mask, moved, U), 0.0, 1.0)

    def _refine_gp(
        self,
        gp: GaussianProcess,
        best: float,
        codes: np.ndarray,
        active: np.ndarray,
        scores: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """L-BFGS-B on the active numeric codes of the best distinct candidates."""
        from scipy.optimize import minimize

        enc = self._encoder
        starts: list[int] = []
        seen: set[bytes] = set()
        for j in np.argsort(-scores, kind="stable"):
            key = codes[j].tobytes()
            if key not in seen:
                seen.add(key)
                starts.append(int(j))
            if len(starts) == self.n_refine:
                break
        refined = []
        for j in starts:
            dims = enc.numeric[active[j, enc.numeric]]
            row = codes[j].copy()
            if len(dims):
                cols = enc.numeric_columns[active[j, enc.numeric]]
                base = enc.gp_features(codes[j : j + 1], active[j : j + 1])[0]
                result = minimize(
                    _neg_log_ei,
                    row[dims],
                    args=(gp, best, base, cols),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=[(0.0, 1.0)] * len(dims),
                    options={"maxiter": 50},
                )
                row[dims] = result.x
            refined.append(row)
        new_codes, new_active = enc.canonical(np.array(refined))
        return new_codes, new_active, self._score(gp, enc.gp_features(new_codes, new_active), best)

    def _local_search(
        self,
        model: ForestSurrogate,
        best: float,
        rng: np.random.Generator,
        codes: np.ndarray,
        scores: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Two rounds of perturbing the best candidates (trees have no gradient)."""
        enc = self._encoder
        pool_codes, pool_scores = codes, scores
        found_codes, found_active, found_scores = [], [], []
        for scale in (0.1, 0.02):
            order = np.argsort(-pool_scores, kind="stable")[: self.n_refine]
            top, top_scores = pool_codes[order], pool_scores[order]
            new_codes, new_active = enc.canonical(
                self._perturb(rng, np.repeat(top, self.n_local, axis=0), scale)
            )
            new_scores = self._score(model, enc.tree_features(new_codes, new_active), best)
            found_codes.append(new_codes)
            found_active.append(new_active)
            found_scores.append(new_scores)
            pool_codes = np.vstack([top, new_codes])
            pool_scores = np.concatenate([top_scores, new_scores])
        return np.vstack(found_codes), np.vstack(found_active), np.concatenate(found_scores)


def _neg_log_ei(
    z: np.ndarray, gp: GaussianProcess, best: float, base: np.ndarray, cols: np.ndarray
) -> tuple[float, np.ndarray]:
    x = base.copy()
    x[cols] = z
    mean, var, dmean, dvar = gp.predict_with_grad(x)
    std = math.sqrt(var)
    value, d_mean, d_std = log_ei_with_grad(mean, std, best)
    grad = d_mean * dmean + d_std * dvar / (2.0 * std)
    return -value, -grad[cols]


def _transform(y: np.ndarray) -> np.ndarray:
    """Warp and standardise targets: robust scaling, Yeo-Johnson, then z-scores.

    Scaling by the median and the interquartile range keeps one huge loss
    from squashing the others; the Yeo-Johnson power (its exponent fitted by
    maximum likelihood, clipped to [-2, 2]) makes skewed, heavy-tailed values
    closer to normal, as a GP assumes.
    """
    from scipy.stats import yeojohnson, yeojohnson_normmax

    q25, q50, q75 = np.percentile(y, [25, 50, 75])
    scale = (q75 - q25) / 1.349  # the IQR of a standard normal
    if not scale > 0:
        scale = y.std()
    z = (y - q50) / (scale if scale > 0 else 1.0)
    if z.std() > 0:
        z = yeojohnson(z, float(np.clip(yeojohnson_normmax(z), -2.0, 2.0)))
    std = z.std()
    return (z - z.mean()) / (std if std > 0 else 1.0)
