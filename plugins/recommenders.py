"""Recommendation baselines: the ``popularity`` and ``biased_mf`` specs (numpy only).

``popularity``
    Explicit feedback: ``global mean + item bias`` (optionally ``+ user bias``),
    each bias the mean residual shrunk by ``shrinkage`` pseudo-ratings at 0.
    Implicit feedback: the item's interaction count (scaled into [0, 1)).
``biased_mf``
    Matrix factorisation fitted by alternating least squares, every half
    step a batch of small ridge regressions solved at once
    (``numpy.linalg.solve`` over a stack of Gram matrices):

    * explicit feedback: ``r = mu + b_u + c_i + p_u . q_i``, squared error
      on the observed ratings plus ``reg`` times the squared norms of the
      factors and biases (Koren, Bell, Volinsky 2009);
    * implicit feedback: weighted ALS over every (user, item) cell (Hu,
      Koren, Volinsky 2008): preference 1 for observed pairs with confidence
      ``1 + alpha * count``, 0 elsewhere with confidence 1, predicted as
      ``c_i + p_u . q_i``; scores are passed through a sigmoid, so known
      pairs score in (0, 1).

Side-feature columns are ignored by both (``hybrid_mf`` in
:mod:`plugins.neural.ncf` uses them). Unknown users and items (code -1) get
the fallbacks of :class:`plugins._recsys_base.BaseRecommender`. BLAS threads
are capped at ``n_threads`` during fit and predict.

References
----------
.. [Koren2009] Y. Koren, R. Bell, C. Volinsky. "Matrix Factorization Techniques
   for Recommender Systems". IEEE Computer 42(8), 2009.
.. [Hu2008] Y. Hu, Y. Koren, C. Volinsky. "Collaborative Filtering for Implicit
   Feedback Datasets". ICDM 2008.
.. [Rendle2022] S. Rendle, W. Krichene, L. Zhang, Y. Koren. "Revisiting the
   Performance of iALS on Item Recommendation Benchmarks". RecSys 2022 (ranges
   of factors, regularisation and confidence).

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from automl.specs import Context, ModelSpec
from automl.threads import suggested_threads
from plugins._hooks import register_hook
from search import Categorical, Float, Int, Space

from ._recsys_base import BaseRecommender, interaction_facts, sigmoid

__all__ = [
    "BIASED_MF_DEFAULTS",
    "BIASED_MF_SPACE",
    "POPULARITY_DEFAULTS",
    "POPULARITY_SPACE",
    "BiasedMF",
    "PopularityRecommender",
    "automl_register_models",
    "model_specs",
]

GRAM_CHUNK_BYTES = 32 << 20
"""Memory for the per-row outer products accumulated at once in an ALS half step."""


class PopularityRecommender(BaseRecommender):
    """Item popularity (implicit) or shrunk item-mean ratings (explicit).

    Parameters
    ----------
    shrinkage : float, default=10.0
        Pseudo-ratings at the global mean added to each item's (and user's)
        mean; larger pulls rarely rated items towards the global mean.
    user_bias : bool, default=False
        Also add each user's shrunk mean residual (explicit feedback only).
    n_users, n_items : int, optional
        Catalogue sizes; default from the largest codes in fit.
    implicit : bool, optional
        Expect implicit feedback (``y`` None) or ratings; None takes what fit gets.
    random_state : int, optional
        Unused (the model is deterministic); kept for a uniform interface.

    Attributes
    ----------
    global_mean_ : float
        Mean rating (0 for implicit feedback).
    item_bias_, user_bias_ : ndarray
        Shrunk biases (zeros where not used).
    popularity_ : ndarray
        Item scores for implicit feedback, in [0, 1).

    """

    def __init__(self, *, shrinkage: float = 10.0, user_bias: bool = False,
                 n_users: int | None = None, n_items: int | None = None,
                 implicit: bool | None = None, random_state: int | None = 0) -> None:
        self.shrinkage = shrinkage
        self.user_bias = user_bias
        self.n_users = n_users
        self.n_items = n_items
        self.implicit = implicit
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> PopularityRecommender:
        """Count interactions or average ratings.

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes (other columns are ignored).
        y : array-like of float, optional
            Ratings; None for implicit feedback.

        Returns
        -------
        self
            The fitted estimator.

        """
        if not float(self.shrinkage) >= 0:
            raise ValueError(f"shrinkage must be non-negative, got {self.shrinkage!r}")
        users, items, ratings = self._start_fit(X, y)
        self.item_bias_ = np.zeros(self.n_items_)
        self.user_bias_ = np.zeros(self.n_users_)
        if ratings is not None:
            centred = ratings - self.global_mean_
            shrink = float(self.shrinkage)
            self.item_bias_ = (np.bincount(items, weights=centred, minlength=self.n_items_)
                               / (self.item_counts_ + shrink + 1e-12))
            if self.user_bias:
                rest = centred - self.item_bias_[items]
                self.user_bias_ = (np.bincount(users, weights=rest, minlength=self.n_users_)
                                   / (self.user_counts_ + shrink + 1e-12))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted ratings (explicit) or popularity scores (implicit).

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes; -1 marks unseen ones.

        Returns
        -------
        ndarray of float64
            One score per row.

        """
        def known(users: np.ndarray, items: np.ndarray, rows: np.ndarray) -> np.ndarray:
            if self.implicit_:
                return self.popularity_[items]
            return self.global_mean_ + self.item_bias_[items] + self.user_bias_[users]

        return self._predict_with(X, known)


def _accumulate_grams(rows: np.ndarray, Z: np.ndarray, weights: np.ndarray,
                      n_rows: int) -> np.ndarray:
    """``sum_j w_j z_j z_j^T`` per row, for entries ``(rows[j], Z[j], weights[j] >= 0)``.

    Rows are grouped by their number of entries (powers of two), each group's
    entries padded with zeros into a ``(rows, L, d)`` block, and the Gram
    matrices computed as one batched matrix product per block (BLAS), which
    is many times faster than materialising every outer product.
    """
    d = Z.shape[1]
    grams = np.zeros((n_rows, d, d))
    if not len(rows):
        return grams
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    counts = np.bincount(sorted_rows, minlength=n_rows)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    position = np.arange(len(rows)) - starts[sorted_rows]
    scaled = Z[order] * np.sqrt(weights[order])[:, None]
    bucket = np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    entry_bucket = bucket[sorted_rows]
    for b in np.unique(bucket[counts > 0]):
        members = np.flatnonzero((bucket == b) & (counts > 0))
        in_bucket = np.flatnonzero(entry_bucket == b)
        width = int(counts[members].max())
        local = np.full(n_rows, -1, dtype=np.int64)
        step = max(1, GRAM_CHUNK_BYTES // (8 * width * d))
        for start in range(0, len(members), step):
            chunk = members[start:start + step]
            local[chunk] = np.arange(len(chunk))
            entries = in_bucket[local[sorted_rows[in_bucket]] >= 0]
            block = np.zeros((len(chunk), width, d))
            block[local[sorted_rows[entries]], position[entries]] = scaled[entries]
            grams[chunk] = np.matmul(block.transpose(0, 2, 1), block)
            local[chunk] = -1
    return grams


def _als_half_step(rows: np.ndarray, cols: np.ndarray, target: np.ndarray, weight: np.ndarray,
                   n_rows: int, Z: np.ndarray, offset: np.ndarray, base_weight: float,
                   reg: np.ndarray) -> np.ndarray:
    """Solve every row's ridge regression of one ALS half step at once.

    Row ``r`` minimises ``sum_c w_rc (t_rc - off_c - x_r . Z_c)^2 + sum_k reg_k x_rk^2``
    over its observed cells ``c`` (weight ``weight``, target ``target``) and,
    with ``base_weight > 0``, every other cell (weight ``base_weight``,
    target 0).
    """
    d = Z.shape[1]
    Zc = Z[cols]
    residual = weight * (target - offset[cols]) + base_weight * offset[cols]
    rhs = np.stack([np.bincount(rows, weights=residual * Zc[:, k], minlength=n_rows)
                    for k in range(d)], axis=1)
    grams = _accumulate_grams(rows, Zc, weight - base_weight, n_rows)
    if base_weight:
        grams += base_weight * (Z.T @ Z)
        rhs -= base_weight * (offset @ Z)
    grams += np.diag(reg)
    return np.linalg.solve(grams, rhs[:, :, None])[:, :, 0]


class BiasedMF(BaseRecommender):
    """Biased matrix factorisation by alternating least squares (explicit or implicit).

    See the module docstring for the two objectives.

    Parameters
    ----------
    factors : int, default=32
        Latent dimensions.
    reg : float, default=1.0
        L2 penalty on factors and biases (per user or item, not scaled by counts).
    iterations : int, default=15
        ALS sweeps (each solves users, then items).
    alpha : float, default=10.0
        Confidence of an observed pair in implicit feedback (``1 + alpha *
        count``); unused for ratings.
    init_scale : float, default=0.1
        Standard deviation of the random initial factors.
    n_users, n_items : int, optional
        Catalogue sizes; default from the largest codes in fit.
    implicit : bool, optional
        Expect implicit feedback or ratings; None takes what fit gets.
    n_threads : int, default=1
        BLAS threads during fit and predict.
    random_state : int, optional
        Seed of the initial factors; None draws one.

    Attributes
    ----------
    user_factors_, item_factors_ : ndarray
        ``P`` (n_users, factors) and ``Q`` (n_items, factors).
    user_bias_, item_bias_ : ndarray
        ``b_u`` (zeros for implicit feedback) and ``c_i``.
    global_mean_ : float
        ``mu`` (0 for implicit feedback).

    """

    def __init__(self, *, factors: int = 32, reg: float = 1.0, iterations: int = 15,
                 alpha: float = 10.0, init_scale: float = 0.1, n_users: int | None = None,
                 n_items: int | None = None, implicit: bool | None = None, n_threads: int = 1,
                 random_state: int | None = 0) -> None:
        self.factors = factors
        self.reg = reg
        self.iterations = iterations
        self.alpha = alpha
        self.init_scale = init_scale
        self.n_users = n_users
        self.n_items = n_items
        self.implicit = implicit
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_params(self) -> None:
        if int(self.factors) < 1 or int(self.iterations) < 1:
            raise ValueError(f"factors and iterations must be positive, got {self.factors!r} "
                             f"and {self.iterations!r}")
        if not float(self.reg) > 0 or not float(self.alpha) >= 0:
            raise ValueError(f"reg must be positive and alpha non-negative, got {self.reg!r} "
                             f"and {self.alpha!r}")

    def fit(self, X: Any, y: Any = None) -> BiasedMF:
        """Alternate user and item solves.

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes (other columns are ignored).
        y : array-like of float, optional
            Ratings; None for implicit feedback.

        Returns
        -------
        self
            The fitted estimator.

        """
        self._check_params()
        users, items, ratings = self._start_fit(X, y)
        k = int(self.factors)
        rng = np.random.default_rng(self._seed())
        P = rng.normal(0.0, float(self.init_scale), (self.n_users_, k))
        Q = rng.normal(0.0, float(self.init_scale), (self.n_items_, k))
        reg = float(self.reg)
        with threadpool_limits(limits=int(self.n_threads)):
            if ratings is None:
                P, Q, b_u, c_i = self._fit_implicit(users, items, P, Q, reg)
            else:
                P, Q, b_u, c_i = self._fit_explicit(users, items, ratings, P, Q, reg)
        self.user_factors_, self.item_factors_ = P, Q
        self.user_bias_, self.item_bias_ = b_u, c_i
        return self

    def _fit_explicit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray,
                      P: np.ndarray, Q: np.ndarray, reg: float) -> tuple[np.ndarray, ...]:
        mu = self.global_mean_
        n_u, n_i = self.n_users_, self.n_items_
        b_u, c_i = np.zeros(n_u), np.zeros(n_i)
        ones_u, ones_i = np.ones((n_u, 1)), np.ones((n_i, 1))
        weight = np.ones(len(ratings))
        penalty = np.full(P.shape[1] + 1, reg)
        for _ in range(int(self.iterations)):
            # users: unknowns [p_u, b_u] against [q_i, 1] with offset mu + c_i
            solved = _als_half_step(users, items, ratings, weight, n_u, np.hstack([Q, ones_i]),
                                    mu + c_i, 0.0, penalty)
            P, b_u = solved[:, :-1], solved[:, -1]
            # items: unknowns [q_i, c_i] against [p_u, 1] with offset mu + b_u
            solved = _als_half_step(items, users, ratings, weight, n_i, np.hstack([P, ones_u]),
                                    mu + b_u, 0.0, penalty)
            Q, c_i = solved[:, :-1], solved[:, -1]
        return P, Q, b_u, c_i

    def _fit_implicit(self, users: np.ndarray, items: np.ndarray, P: np.ndarray, Q: np.ndarray,
                      reg: float) -> tuple[np.ndarray, ...]:
        n_u, n_i = self.n_users_, self.n_items_
        pairs, counts = np.unique(users * n_i + items, return_counts=True)
        u, i = pairs // n_i, pairs % n_i
        weight = 1.0 + float(self.alpha) * counts
        target = np.ones(len(pairs))
        c_i = np.zeros(n_i)
        ones_u = np.ones((n_u, 1))
        k = P.shape[1]
        for _ in range(int(self.iterations)):
            # users: unknowns p_u against q_i with offset c_i, over every cell
            P = _als_half_step(u, i, target, weight, n_u, Q, c_i, 1.0, np.full(k, reg))
            # items: unknowns [q_i, c_i] against [p_u, 1], no offset
            solved = _als_half_step(i, u, target, weight, n_i, np.hstack([P, ones_u]),
                                    np.zeros(n_u), 1.0, np.full(k + 1, reg))
            Q, c_i = solved[:, :-1], solved[:, -1]
        return P, Q, np.zeros(n_u), c_i

    def predict(self, X: Any) -> np.ndarray:
        """Predicted ratings (explicit) or relevance scores in (0, 1) (implicit).

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes; -1 marks unseen ones.

        Returns
        -------
        ndarray of float64
            One score per row.

        """
        def known(users: np.ndarray, items: np.ndarray, rows: np.ndarray) -> np.ndarray:
            with threadpool_limits(limits=int(self.n_threads)):
                dot = np.einsum("nk,nk->n", self.user_factors_[users], self.item_factors_[items])
            raw = self.global_mean_ + self.user_bias_[users] + self.item_bias_[items] + dot
            return sigmoid(raw) if self.implicit_ else raw

        return self._predict_with(X, known)


# Popularity: the shrinkage of item means (Koren's baseline predictors use 10-25
# pseudo-ratings); a user bias turns it into the full baseline predictor.
POPULARITY_SPACE = Space([
    Float("shrinkage", 0.1, 100.0, log=True),
    Categorical("user_bias", [False, True]),
])
POPULARITY_DEFAULTS = (
    {"shrinkage": 10.0, "user_bias": False},
    {"shrinkage": 10.0, "user_bias": True},
)

# ALS: factors, L2 strength and confidence follow the iALS study [Rendle2022];
# ``alpha`` only matters for implicit feedback.
BIASED_MF_SPACE = Space([
    Int("factors", 2, 128, log=True),
    Float("reg", 1e-2, 100.0, log=True),
    Int("iterations", 5, 30),
    Float("alpha", 0.5, 100.0, log=True),
])
BIASED_MF_DEFAULTS = (
    {"factors": 16, "reg": 5.0, "iterations": 15, "alpha": 10.0},
    {"factors": 64, "reg": 20.0, "iterations": 20, "alpha": 3.0},
)


def _catalogue(ctx: Context) -> dict[str, Any]:
    n_users, n_items, implicit = interaction_facts(ctx)
    return {"n_users": n_users, "n_items": n_items, "implicit": implicit}


def _build_popularity(config: Mapping[str, Any], ctx: Context) -> PopularityRecommender:
    params = {**POPULARITY_DEFAULTS[0], **dict(config)}
    return PopularityRecommender(shrinkage=float(params["shrinkage"]),
                                 user_bias=bool(params["user_bias"]),
                                 random_state=ctx.seed, **_catalogue(ctx))


def _build_biased_mf(config: Mapping[str, Any], ctx: Context) -> BiasedMF:
    params = {**BIASED_MF_DEFAULTS[0], **dict(config)}
    return BiasedMF(factors=int(params["factors"]), reg=float(params["reg"]),
                    iterations=max(1, round(float(params["iterations"]))),
                    alpha=float(params["alpha"]), n_threads=suggested_threads(ctx),
                    random_state=ctx.seed, **_catalogue(ctx))


def model_specs() -> list[ModelSpec]:
    """Return the recommendation baseline specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        ``popularity`` and ``biased_mf``.

    """
    tasks, modalities = {"recommendation"}, {"interactions"}
    return [
        ModelSpec(
            name="popularity", tasks=tasks, modalities=modalities, space=POPULARITY_SPACE,
            build=_build_popularity, defaults=POPULARITY_DEFAULTS,
            description="item popularity (implicit) or shrunk item-mean ratings (explicit)",
        ),
        ModelSpec(
            name="biased_mf", tasks=tasks, modalities=modalities, space=BIASED_MF_SPACE,
            build=_build_biased_mf, defaults=BIASED_MF_DEFAULTS,
            description="biased matrix factorisation by alternating least squares "
                        "(weighted ALS for implicit feedback)",
        ),
    ]


automl_register_models = register_hook(model_specs, "recommendation baselines")
