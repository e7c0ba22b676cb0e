"""What every recommender estimator shares: input checks, fallbacks for unknown codes.

The engine hands a recommender a DataFrame whose first columns are ``user``
and ``item``, int64 codes ``0..n_users-1`` and ``0..n_items-1``, where ``-1``
marks a user or item unseen in training (only at predict time), then optional
side-feature columns. ``y`` holds ratings (explicit feedback) or is None
(implicit feedback: every row is a positive interaction).

:class:`BaseRecommender` checks that input, learns the fallback statistics in
``fit`` and applies them in ``predict`` to rows with an unknown code:

* explicit feedback: ``global mean + user bias + item bias``, each bias
  shrunk towards 0 by :data:`FALLBACK_SHRINKAGE` pseudo-ratings, an unknown
  side contributing 0;
* implicit feedback: an unknown user gets the item's popularity
  ``count / (max count + 1)`` in [0, 1); an unknown item gets 0.0, the lowest
  score (models score known pairs in (0, 1)).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "FALLBACK_SHRINKAGE",
    "BaseRecommender",
    "check_codes",
    "check_ratings",
    "interaction_facts",
    "sigmoid",
]

FALLBACK_SHRINKAGE = 10.0
"""Pseudo-ratings at the global mean added to every user's and item's bias estimate."""


def interaction_facts(ctx: Any) -> tuple[int | None, int | None, bool | None]:
    """``(n_users, n_items, implicit)`` of a context, None where it does not say.

    Parameters
    ----------
    ctx : automl.specs.Context
        The context of a recommendation task.

    Returns
    -------
    tuple
        Catalogue sizes and whether the feedback is implicit.

    """
    n_users = getattr(ctx, "n_users", None)
    n_items = getattr(ctx, "n_items", None)
    implicit = getattr(ctx, "implicit", None)
    return (None if n_users is None else int(n_users), None if n_items is None else int(n_items),
            None if implicit is None else bool(implicit))


def check_codes(
    X: Any, *, n_users: int | None = None, n_items: int | None = None, fitting: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The ``user`` and ``item`` codes of ``X`` as int64 arrays, checked.

    Parameters
    ----------
    X : pandas.DataFrame
        Interactions with integer columns ``user`` and ``item``.
    n_users, n_items : int, optional
        Catalogue sizes the codes must stay below.
    fitting : bool, default=False
        In ``fit`` codes must be ``>= 0``; at predict time ``-1`` (unseen) is
        allowed too.

    Returns
    -------
    users, items : ndarray of int64
        The codes.

    Raises
    ------
    ValueError
        When X is not a DataFrame with those columns, or a code is not an
        integer or is out of range.

    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"X must be a pandas DataFrame with columns 'user' and 'item', got "
                         f"{type(X).__name__}")
    missing = [c for c in ("user", "item") if c not in X.columns]
    if missing:
        raise ValueError(f"X lacks the columns {missing}; recommenders need integer 'user' "
                         "and 'item' codes")
    out = []
    low = 0 if fitting else -1
    for name, size in (("user", n_users), ("item", n_items)):
        column = X[name]
        values = column.to_numpy()
        if not pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(
                column.dtype):
            if column.isna().any():
                raise ValueError(f"column {name!r} holds missing codes; use -1 for an unseen "
                                 f"{name} (at predict time only)")
            numeric = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            if np.isnan(numeric).any() or np.any(numeric != np.round(numeric)):
                raise ValueError(f"column {name!r} must hold integer codes, got dtype "
                                 f"{column.dtype}; encode ids as 0..n-1 first")
            values = numeric
        codes = np.asarray(values, dtype=np.int64)
        if codes.size:
            if codes.min() < low:
                unseen = "" if fitting else " or -1 for unseen"
                raise ValueError(f"{name} code {codes.min()} is out of range: codes must be "
                                 f">= 0{unseen}")
            if size is not None and codes.max() >= size:
                raise ValueError(f"{name} code {codes.max()} is out of range 0..{size - 1}; "
                                 f"encode {name}s seen in training as 0..{size - 1} and unseen "
                                 "ones as -1")
        out.append(codes)
    return out[0], out[1]


def check_ratings(y: Any, n_rows: int) -> np.ndarray | None:
    """Ratings as float64, or None for implicit feedback.

    Parameters
    ----------
    y : array-like or None
        One finite rating per row, or None.
    n_rows : int
        Rows of X.

    Returns
    -------
    ndarray of float64 or None
        The ratings.

    Raises
    ------
    ValueError
        For a wrong shape or non-finite ratings.

    """
    if y is None:
        return None
    ratings = np.asarray(y, dtype=np.float64)
    if ratings.ndim == 2 and ratings.shape[1] == 1:
        ratings = ratings[:, 0]
    if ratings.shape != (n_rows,):
        raise ValueError(f"y must hold one rating per row ({n_rows}), got shape {ratings.shape}")
    if not np.all(np.isfinite(ratings)):
        raise ValueError("ratings must be finite; drop or fill missing ratings first")
    return ratings


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64, without overflow warnings.

    Parameters
    ----------
    x : ndarray
        Logits.

    Returns
    -------
    ndarray of float64
        Values in [0, 1].

    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


def _shrunk_means(groups: np.ndarray, values: np.ndarray, size: int,
                  shrinkage: float) -> np.ndarray:
    sums = np.bincount(groups, weights=values, minlength=size)
    counts = np.bincount(groups, minlength=size)
    return sums / (counts + float(shrinkage))


class BaseRecommender(BaseEstimator):
    """Input checks and fallbacks shared by the recommender estimators.

    Subclasses call :meth:`_start_fit` first in ``fit`` and build
    ``predict`` on :meth:`_predict_with`. Parameters ``n_users``,
    ``n_items`` and ``implicit`` (when the subclass declares them) fix the
    catalogue and the feedback kind; otherwise they are read from the data
    (largest code + 1; implicit when ``y`` is None).
    """

    def _seed(self) -> int:
        state = getattr(self, "random_state", 0)
        if isinstance(state, int | np.integer):
            return int(state)
        return int(np.random.default_rng().integers(2**31 - 1))

    def _start_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Check the training data and learn the fallback statistics.

        Returns the user codes, item codes and ratings (None if implicit).
        """
        n_users, n_items = getattr(self, "n_users", None), getattr(self, "n_items", None)
        users, items = check_codes(X, n_users=n_users, n_items=n_items, fitting=True)
        if not len(users):
            raise ValueError("no interactions to fit")
        ratings = check_ratings(y, len(users))
        implicit = getattr(self, "implicit", None)
        if implicit is not None and bool(implicit) != (ratings is None):
            given = "ratings" if ratings is not None else "no ratings"
            raise ValueError(f"implicit={implicit} but fit was given {given}; pass y=None for "
                             "implicit feedback and ratings for explicit feedback")
        self.n_users_ = int(n_users) if n_users is not None else int(users.max()) + 1
        self.n_items_ = int(n_items) if n_items is not None else int(items.max()) + 1
        self.implicit_ = ratings is None
        self.n_features_in_ = int(X.shape[1])
        self.item_counts_ = np.bincount(items, minlength=self.n_items_).astype(np.int64)
        self.user_counts_ = np.bincount(users, minlength=self.n_users_).astype(np.int64)
        self.popularity_ = self.item_counts_ / (self.item_counts_.max() + 1.0)
        self.rating_range_ = None if ratings is None else (float(ratings.min()),
                                                           float(ratings.max()))
        if ratings is None:
            self.global_mean_ = 0.0
            self.fallback_item_bias_ = np.zeros(self.n_items_)
            self.fallback_user_bias_ = np.zeros(self.n_users_)
        else:
            self.global_mean_ = float(ratings.mean())
            centred = ratings - self.global_mean_
            self.fallback_item_bias_ = _shrunk_means(items, centred, self.n_items_,
                                                     FALLBACK_SHRINKAGE)
            self.fallback_user_bias_ = _shrunk_means(
                users, centred - self.fallback_item_bias_[items], self.n_users_,
                FALLBACK_SHRINKAGE)
        return users, items, ratings

    def _clip(self, scores: np.ndarray) -> np.ndarray:
        """Explicit feedback: predictions clipped to the training rating range."""
        if self.rating_range_ is None:
            return scores
        return np.clip(scores, *self.rating_range_)

    def _fallback(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Scores of pairs from the fallback statistics (unknown codes are -1)."""
        known_user, known_item = users >= 0, items >= 0
        if self.implicit_:
            popularity = self.popularity_[np.where(known_item, items, 0)]
            return np.where(known_item, popularity, 0.0)
        return (self.global_mean_
                + np.where(known_user, self.fallback_user_bias_[np.maximum(users, 0)], 0.0)
                + np.where(known_item, self.fallback_item_bias_[np.maximum(items, 0)], 0.0))

    def _predict_with(
        self, X: Any, score_known: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``score_known(users, items, rows)`` where both codes are known, else the fallbacks."""
        check_is_fitted(self, "n_items_")
        users, items = check_codes(X, n_users=self.n_users_, n_items=self.n_items_)
        out = self._fallback(users, items).astype(np.float64)
        known = np.flatnonzero((users >= 0) & (items >= 0))
        if len(known):
            out[known] = np.asarray(score_known(users[known], items[known], known),
                                    dtype=np.float64)
        return self._clip(out)
