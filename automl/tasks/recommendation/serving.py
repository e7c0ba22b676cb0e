"""``AutoML.recommend``: top-k items per user from the final model's scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.tasks.recommendation.ranking import pairs_frame, popular_items, seen_items, top_k


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
