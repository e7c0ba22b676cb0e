"""Recommendation (``AutoML(task="recommendation")``): user-item interactions.

* :mod:`~automl.tasks.recommendation.interactions`: the input, ids to codes
  and side features (:class:`InteractionSchema`, :func:`validate_interactions`);
* :mod:`~automl.tasks.recommendation.ranking`: per-user splits, ranks of
  held-out items, NDCG and hit rate, top-k, all vectorised over codes;
* :mod:`~automl.tasks.recommendation.task`: the task (splits, evaluation);
* :mod:`~automl.tasks.recommendation.serving`: ``AutoML.recommend``.
"""

from automl.tasks.recommendation.interactions import (
    InteractionSchema,
    check_ratings,
    validate_interactions,
)
from automl.tasks.recommendation.serving import RecommenderMixin, recommend_items
from automl.tasks.recommendation.task import (
    RANKING_NEGATIVES,
    RATING_HOLDOUT,
    RankingPredictor,
    RecommendationTask,
    recommendation_splits,
)

__all__ = [
    "RANKING_NEGATIVES",
    "RATING_HOLDOUT",
    "InteractionSchema",
    "RankingPredictor",
    "RecommendationTask",
    "RecommenderMixin",
    "check_ratings",
    "recommend_items",
    "recommendation_splits",
    "validate_interactions",
]
