"""How the engine validates and serves recommenders (``task="recommendation"``).

* Splits are per user (:func:`recommendation_splits`): with ratings a random
  fifth of each user's rows is held out; with implicit feedback each user's
  last interaction (leave-last-out, rows in time order). Users with a single
  interaction only train.
* Ratings are scored like a regression (RMSE by default). Implicit feedback
  is scored by ranking (:class:`RankingPredictor`): each held-out item is
  ranked against :data:`RANKING_NEGATIVES` sampled items the user never met,
  and NDCG@10 / hit rate@10 are computed from those ranks.
* :func:`recommend_items` serves ``AutoML.recommend``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.ranking import popular_items, rank_positives, seen_items, split_per_user, top_k

RANKING_NEGATIVES = 99
"""Sampled negatives per held-out item (as in He et al. 2017, NCF)."""

RATING_HOLDOUT = 0.2
"""Share of each user's ratings held out for validation (explicit feedback)."""


def recommendation_splits(X: pd.DataFrame, implicit: bool, seed: int
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The single per-user validation split every trial shares.

    Raises
    ------
    ValueError
        When no user has two interactions (nothing could be validated).
    """
    users, items = X["user"].to_numpy(), X["item"].to_numpy()
    train, test = split_per_user(users, "last" if implicit else "random", RATING_HOLDOUT,
                                 seed, items=items)
    if len(test) == 0:
        raise ValueError("no user has two distinct interactions, so nothing can be held out "
                         "for validation; pass more interactions per user")
    return [(train, test)]


def pairs_frame(users: np.ndarray, items: np.ndarray) -> pd.DataFrame:
    """A bare (user, item) frame of codes, as recommenders score it."""
    return pd.DataFrame({"user": np.asarray(users, dtype=np.int64),
                         "item": np.asarray(items, dtype=np.int64)})


@dataclass(frozen=True)
class RankingPredictor:
    """Out-of-fold "predictions" for implicit feedback: the rank of each held-out item.

    Called by ``evaluation.cross_validate`` in place of ``predict``; the
    ranking metrics (``ndcg_at_10``, ``hit_rate_at_10``) read the ranks.
    """

    n_items: int
    seed: int
    n_negatives: int | None = RANKING_NEGATIVES

    def __call__(self, estimator: Any, X: pd.DataFrame, train: np.ndarray,
                 valid: np.ndarray) -> np.ndarray:
        """Ranks (0 = top) of the items of rows ``valid`` among sampled negatives."""
        seen = seen_items(X["user"].to_numpy()[train], X["item"].to_numpy()[train])
        held_out = pairs_frame(X["user"].to_numpy()[valid], X["item"].to_numpy()[valid])
        ranks = rank_positives(lambda frame: estimator.predict(frame), held_out, seen,
                               self.n_items, self.n_negatives, self.seed)
        return ranks.astype(float)


def recommend_items(predict: Any, user_codes: np.ndarray, k: int, train_users: np.ndarray,
                    train_items: np.ndarray, n_items: int,
                    exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Top-k item codes per user and their scores (NaN for padding and unknown users).

    Parameters
    ----------
    predict : callable
        Scores a bare (user, item) frame of codes.
    user_codes : ndarray of int
        ``-1`` for users unseen in fit: they get the most popular items.
    exclude_seen : bool, default=True
        Leave out the items each user met in fit.
    """
    exclude = seen_items(train_users, train_items) if exclude_seen else {}
    best = top_k(predict, user_codes, n_items, k, exclude=exclude,
                 popular_items=popular_items(train_items, n_items))
    scores = np.full(best.shape, np.nan)
    known = (best >= 0) & (user_codes[:, None] >= 0)
    if known.any():
        rows = np.broadcast_to(user_codes[:, None], best.shape)[known]
        scores[known] = np.asarray(predict(pairs_frame(rows, best[known])), dtype=float)
    return best, scores


def _is_recommender(model: Any) -> bool:
    return getattr(model, "task_", None) in ("rating", "ranking") or \
        getattr(model, "task", None) == "recommendation"


class RecommenderMixin:
    """``recommend`` for ``AutoML(task="recommendation")``."""

    @available_if(_is_recommender)
    def recommend(self, user_ids: Any, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """Top-k items for each user, best first.

        Parameters
        ----------
        user_ids : array-like
            Users in the ids of the training data; users unseen in fit get
            the most popular items.
        k : int, default=10
            Items per user.
        exclude_seen : bool, default=True
            Leave out items the user interacted with in fit.

        Returns
        -------
        pandas.DataFrame
            Columns ``user``, ``rank`` (1 = best), ``item`` and ``score`` (NaN
            for popularity picks given to unknown users); ``k`` rows per user,
            fewer when the user has seen almost every item.
        """
        check_is_fitted(self, "final_")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        ids = np.asarray(user_ids, dtype=object).ravel()
        schema = self.schema_
        codes = schema.codes(ids, "user")
        train_users, train_items = self.interactions_
        best, scores = recommend_items(self.final_.predict_matrix, codes, int(k), train_users,
                                       train_items, schema.n_items, exclude_seen)
        rows = best >= 0
        items = np.asarray(schema.items, dtype=object)
        return pd.DataFrame({
            "user": np.repeat(ids, best.shape[1])[rows.ravel()],
            "rank": np.tile(np.arange(1, best.shape[1] + 1), len(ids))[rows.ravel()],
            "item": items[best[rows]],
            "score": scores[rows],
        })
