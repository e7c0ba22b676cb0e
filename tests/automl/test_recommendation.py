"""AutoML(task="recommendation"): explicit ratings, implicit feedback, recommend, errors."""

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.tasks.recommendation import RankingPredictor, recommendation_splits
from automl.testing import make_interaction_data


def _ratings(seed=0):
    X, y, _ = make_interaction_data(n_users=50, n_items=30, density=0.3, side_features=True,
                                    seed=seed)
    frame = X.rename(columns={"user": "uid", "item": "title"})
    frame["uid"] = "u" + frame["uid"].astype(str)
    frame["title"] = "film-" + frame["title"].astype(str)
    return frame, y


def test_explicit_ratings_search_predict_recommend_and_save(tmp_path):
    frame, y = _ratings()
    model = AutoML(task="recommendation", user_column="uid", item_column="title",
                   models=["popularity", "biased_mf"], max_trials=6, time_budget=60,
                   random_state=0).fit(frame, y)
    assert model.task_ == "rating" and model.metric_ == "rmse"
    board = model.leaderboard()
    best_mf = board.loc[board["model"] == "biased_mf", "rmse"].min()
    assert best_mf < board.loc[board["model"] == "popularity", "rmse"].min()
    prediction = model.predict(frame.head(20))
    assert prediction.shape == (20,) and np.all(np.isfinite(prediction))
    assert np.corrcoef(prediction, y[:20])[0, 1] > 0.5

    top = model.recommend(["u1", "u2", "stranger"], k=5)
    assert list(top.columns) == ["user", "rank", "item", "score"]
    assert top.groupby("user").size().to_dict() == {"u1": 5, "u2": 5, "stranger": 5}
    seen = set(frame.loc[frame["uid"] == "u1", "title"])
    assert not seen & set(top.loc[top["user"] == "u1", "item"])
    mine = top[top["user"] == "u1"]
    assert mine["score"].is_monotonic_decreasing and mine["rank"].tolist() == [1, 2, 3, 4, 5]
    assert top.loc[top["user"] == "stranger", "score"].isna().all()
    counts = frame["title"].value_counts()
    assert top.loc[top["user"] == "stranger", "item"].iloc[0] == counts.index[0]

    model.save(tmp_path / "rec")
    loaded = AutoML.load(tmp_path / "rec")
    np.testing.assert_allclose(loaded.predict(frame.head(20)), prediction)
    pd.testing.assert_frame_equal(loaded.recommend(["u1", "stranger"], k=3),
                                  model.recommend(["u1", "stranger"], k=3))


def test_implicit_feedback_is_ranked_and_never_ensembled():
    X, _, _ = make_interaction_data(n_users=60, n_items=40, density=0.2, implicit=True, seed=2)
    model = AutoML(task="recommendation", models=["popularity", "biased_mf"], max_trials=5,
                   time_budget=60, random_state=0).fit(X[["user", "item"]], None)
    assert model.task_ == "ranking" and model.metric_ == "ndcg_at_10"
    board = model.leaderboard()
    assert "ensemble" not in set(board["model"])
    assert board["ndcg_at_10"].between(0, 1).all()
    assert board.loc[board["model"] == "biased_mf", "ndcg_at_10"].max() > \
        board.loc[board["model"] == "popularity", "ndcg_at_10"].max()
    scores = model.predict(X[["user", "item"]].head(5))
    assert scores.shape == (5,)
    assert not hasattr(model, "predict_proba")
    hit = AutoML(task="recommendation", metric="hit_rate_at_10", models=["biased_mf"],
                 max_trials=2, time_budget=60, random_state=0).fit(X[["user", "item"]], None)
    assert hit.metric_ == "hit_rate_at_10" and hit.best_trial_.score > 0.3


def test_splits_are_per_user_and_ranks_use_only_training_rows():
    X, _, _ = make_interaction_data(n_users=30, n_items=20, density=0.3, implicit=True, seed=3)
    [(train, test)] = recommendation_splits(X, implicit=True, seed=0)
    assert set(X["user"].iloc[test]) <= set(X["user"].iloc[train])
    assert X["user"].iloc[test].is_unique  # leave-last-out: one row per user
    last = X.reset_index().groupby("user")["index"].max()
    assert set(X.index[test]) == set(last[X["user"].value_counts()[last.index] > 1])

    class Oracle:
        """Scores the held-out pairs highest: every rank must be 0."""

        def predict(self, frame):
            held = set(zip(X["user"].iloc[test], X["item"].iloc[test], strict=True))
            return np.array([float((u, i) in held) for u, i in
                             zip(frame["user"], frame["item"], strict=True)])

    ranks = RankingPredictor(n_items=20, seed=0)(Oracle(), X, train, test)
    assert np.all(ranks == 0)


def test_bad_recommendation_input_is_named_before_the_search():
    frame, y = _ratings()
    conflicting = pd.concat([frame.head(1), frame], ignore_index=True)
    ratings = np.r_[y[0] + 1, y]
    with pytest.raises(ValueError, match="conflicting ratings"):
        AutoML(task="recommendation", user_column="uid", item_column="title").fit(
            conflicting, ratings)
    with pytest.raises(ValueError, match="no user column"):
        AutoML(task="recommendation").fit(frame, y)
    with pytest.raises(ValueError, match="1 missing, non-numeric"):
        AutoML(task="recommendation", user_column="uid", item_column="title").fit(
            frame, np.r_[np.nan, y[1:]])
    lonely = pd.DataFrame({"user": ["a", "b", "c"], "item": ["x", "y", "z"]})
    with pytest.raises(ValueError, match="no user has two distinct interactions"):
        AutoML(task="recommendation").fit(lonely, None)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model = AutoML(task="recommendation", models=["popularity"], max_trials=1,
                       user_column="uid", item_column="title").fit(frame, y)
        model.recommend(["u1"], k=0)
