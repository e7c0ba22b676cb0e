"""How the engine validates and evaluates recommenders (``task="recommendation"``).

* Splits are per user (:func:`recommendation_splits`): with ratings a random
  fifth of each user's rows is held out; with implicit feedback each user's
  last interaction (leave-last-out, rows in time order). Users with a single
  interaction only train.
* Ratings are scored like a regression (RMSE by default), and their
  out-of-fold predictions average into ensembles. Implicit feedback is scored
  by ranking (:class:`RankingPredictor`): each held-out item is ranked against
  :data:`RANKING_NEGATIVES` sampled items the user never met, and NDCG@10 /
  hit rate@10 are computed from those ranks, which do not average.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Dataset
from automl.engine.evaluation import Splits, cross_validate
from automl.specs import Context
from automl.tasks.base import Evaluator, Task
from automl.tasks.recommendation.interactions import validate_interactions
from automl.tasks.recommendation.ranking import (
    pairs_frame,
    rank_positives,
    seen_items,
    split_per_user,
)

RANKING_NEGATIVES = 99
"""Sampled negatives per held-out item (as in He et al. 2017, NCF)."""

RATING_HOLDOUT = 0.2
"""Share of each user's ratings held out for validation (explicit feedback)."""


def recommendation_splits(X: pd.DataFrame, implicit: bool, seed: int) -> Splits:
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


class RecommendationTask(Task):
    """User-item interactions: ratings (task ``"rating"``) or implicit feedback (``"ranking"``).

    ``predict`` returns predicted ratings, or relevance scores for implicit
    feedback; ``AutoML.recommend`` (:class:`~automl.tasks.recommendation.RecommenderMixin`)
    serves top-k items from the interactions kept in ``interactions_``.
    """

    default_metrics = {"rating": "rmse", "ranking": "ndcg_at_10"}

    def validate(self, X: Any, y: Any, params: Mapping[str, Any]) -> Dataset:
        """Validate interactions and ratings (see :func:`validate_interactions`)."""
        return validate_interactions(X, y, params["user_column"], params["item_column"])

    def context(self, data: Dataset, **facts: Any) -> Context:
        """The context of interactions: catalogue sizes, feedback kind, side-feature columns."""
        schema = data.schema
        side = schema.side
        return Context(
            task=data.task, n_rows=len(data.X), n_classes=data.n_classes,
            n_features=int(np.prod(schema.input_shape)), modality=schema.modality,
            input_shape=schema.input_shape, n_users=schema.n_users, n_items=schema.n_items,
            implicit=data.task == "ranking",
            numeric_columns=side.numeric if side is not None else (),
            categorical_columns=side.categorical if side is not None else (), **facts,
        )

    def splits(self, data: Dataset, ctx: Context, cv: Any) -> Splits:
        """One per-user split (:func:`recommendation_splits`); ``cv`` does not apply."""
        return recommendation_splits(data.X, ctx.implicit, ctx.seed)

    def evaluator(self, ctx: Context) -> Evaluator:
        """Cross-validation, with held-out items ranked for implicit feedback."""
        if ctx.implicit:
            return partial(cross_validate, predictor=RankingPredictor(ctx.n_items, ctx.seed))
        return cross_validate

    def ensembles(self, task: str) -> bool:
        """Ratings average; ranks of implicit feedback do not."""
        return task == "rating"

    def fitted_attributes(self, data: Dataset, X: Any, y: Any) -> dict[str, Any]:
        """``interactions_``: the training (user, item) codes, for ``recommend``."""
        return {"interactions_": (data.X["user"].to_numpy(), data.X["item"].to_numpy())}
