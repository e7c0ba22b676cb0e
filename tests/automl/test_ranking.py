import numpy as np
import pandas as pd
import pytest

from automl.tasks.recommendation.ranking import (
    hit_rate_at_k,
    ndcg_at_k,
    popular_items,
    rank_positives,
    seen_items,
    split_per_user,
    top_k,
)
from automl.testing import make_interaction_context, make_interaction_data


def table_scores(table):
    """A score function reading scores[user, item] from a table, recording its calls."""
    calls = []

    def score(frame):
        calls.append(frame.copy())
        return table[frame["user"].to_numpy(), frame["item"].to_numpy()]

    return score, calls


# -- splits ---------------------------------------------------------------


def test_leave_last_out_takes_the_last_row_of_each_user():
    users = np.array([0, 1, 0, 2, 1, 0, 3, 3])
    train, test = split_per_user(users, how="last")
    assert list(test) == [4, 5, 7]  # user 0: row 5, user 1: row 4, user 3: row 7
    assert list(train) == [0, 1, 2, 3, 6]  # user 2 has one row: training only
    assert set(users[test]) <= set(users[train])


def test_random_split_holds_out_a_share_per_user_and_is_seeded():
    X, _, _ = make_interaction_data(n_users=30, n_items=20, density=0.5, implicit=True)
    users = X["user"].to_numpy()
    train, test = split_per_user(users, how="random", fraction=0.25, seed=3)
    assert np.intersect1d(train, test).size == 0 and len(train) + len(test) == len(users)
    for u in np.unique(users):
        n = int((users == u).sum())
        held = int((users[test] == u).sum())
        assert held == min(max(round(0.25 * n), 1), n - 1)
    again = split_per_user(users, how="random", fraction=0.25, seed=3)
    assert np.array_equal(again[1], test)
    assert not np.array_equal(split_per_user(users, how="random", fraction=0.25, seed=4)[1],
                              test)


@pytest.mark.parametrize("how", ["last", "random"])
def test_repeated_pairs_never_straddle_the_split(how):
    rng = np.random.default_rng(0)
    users = rng.integers(0, 10, 300)
    items = rng.integers(0, 6, 300)  # many repeats of the same pair
    train, test = split_per_user(users, how=how, fraction=0.3, seed=1, items=items)
    train_pairs = set(zip(users[train], items[train], strict=True))
    test_pairs = set(zip(users[test], items[test], strict=True))
    assert train_pairs.isdisjoint(test_pairs) and len(test) > 0
    assert set(users[test]) <= set(users[train])
    if how == "last":  # the held-out pair is the one met last
        for u in np.unique(users[test]):
            rows = np.flatnonzero(users == u)
            assert items[rows[-1]] in {i for uu, i in test_pairs if uu == u}


def test_split_rejects_bad_arguments():
    with pytest.raises(ValueError, match="how must be"):
        split_per_user([0, 1], how="first")
    with pytest.raises(ValueError, match="fraction"):
        split_per_user([0, 1], how="random", fraction=1.0)
    with pytest.raises(ValueError, match="integer codes"):
        split_per_user(["a", "b"])


# -- ranks and metrics ---------------------------------------------------


def test_full_ranking_counts_ties_against_the_held_out_item():
    table = np.array([[5.0, 1.0, 3.0, 3.0, 4.0]])
    score, _ = table_scores(table)
    # user 0 saw item 0 in training; item 2 is held out; candidates 1, 3, 4
    ranks = rank_positives(score, pd.DataFrame({"user": [0], "item": [2]}), {0: [0]}, 5,
                           n_negatives=None)
    assert list(ranks) == [2]  # item 4 scores higher, item 3 ties
    flat = np.ones((1, 5))
    score, _ = table_scores(flat)
    assert list(rank_positives(score, [[0, 2]], {0: [0]}, 5, n_negatives=None)) == [3]


def test_sampled_ranking_draws_allowed_negatives_in_one_call():
    rng = np.random.default_rng(0)
    n_users, n_items = 20, 300
    table = rng.random((n_users, n_items))
    seen = {u: rng.choice(n_items, 30, replace=False) for u in range(n_users)}
    test = np.array([[u, next(i for i in range(n_items) if i not in set(seen[u]))]
                     for u in range(n_users)])
    score, calls = table_scores(table)
    ranks = rank_positives(score, test, seen, n_items, n_negatives=50, seed=1)
    assert len(calls) == 1 and len(calls[0]) == n_users * 51
    frame = calls[0].iloc[n_users:]
    for u, group in frame.groupby("user"):
        negatives = group["item"].to_numpy()
        assert len(np.unique(negatives)) == 50
        assert not np.isin(negatives, np.r_[seen[u], test[u, 1]]).any()
    for u in range(n_users):  # the rank is the count of negatives scoring at least as high
        negatives = frame.loc[frame["user"] == u, "item"].to_numpy()
        assert ranks[u] == int((table[u, negatives] >= table[u, test[u, 1]]).sum())
    again = rank_positives(score, test, seen, n_items, n_negatives=50, seed=1)
    assert np.array_equal(again, ranks)


def test_sampling_every_allowed_item_equals_full_ranking():
    X, _, _ = make_interaction_data(n_users=25, n_items=30, implicit=True, seed=2)
    train, test = split_per_user(X["user"], how="last")
    seen = seen_items(X["user"].to_numpy()[train], X["item"].to_numpy()[train])
    table = np.random.default_rng(1).random((25, 30))
    score, _ = table_scores(table)
    pairs = X.iloc[test][["user", "item"]]
    full = rank_positives(score, pairs, seen, 30, n_negatives=None)
    sampled = rank_positives(score, pairs, seen, 30, n_negatives=500)
    assert np.array_equal(full, sampled)
    # other held-out items of a user are not negatives either
    two = pd.DataFrame({"user": [0, 0], "item": [1, 2]})
    ranks = rank_positives(lambda f: -f["item"].to_numpy().astype(float), two, {0: [0]}, 4,
                           n_negatives=None)
    assert list(ranks) == [0, 0]  # only item 3 competes, and it scores lower


def test_metrics_on_hand_computed_ranks():
    ranks = np.array([0, 1, 9, 10, 50])
    expected = (1.0 + 1 / np.log2(3) + 1 / np.log2(11)) / 5
    assert ndcg_at_k(ranks, k=10) == pytest.approx(expected)
    assert hit_rate_at_k(ranks, k=10) == pytest.approx(3 / 5)
    assert hit_rate_at_k(ranks, k=1) == pytest.approx(1 / 5)
    with pytest.raises(ValueError, match="non-empty"):
        ndcg_at_k([])


def test_rank_positives_rejects_bad_input():
    score, _ = table_scores(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="outside"):
        rank_positives(score, [[0, 3]], {}, 3)
    with pytest.raises(ValueError, match="NaN"):
        rank_positives(lambda f: np.full(len(f), np.nan), [[0, 1]], {}, 3)
    with pytest.raises(ValueError, match="columns"):
        rank_positives(score, pd.DataFrame({"u": [0], "item": [1]}), {}, 3)


# -- top-k ----------------------------------------------------------------


def test_top_k_excludes_seen_items_and_serves_unknown_users_popular_items():
    table = np.array([[0.1, 0.9, 0.8, 0.7, 0.2],
                      [0.5, 0.5, 0.5, 0.1, 0.9]])
    score, calls = table_scores(table)
    popular = popular_items([4, 4, 4, 2, 2, 0], 5)
    assert list(popular) == [4, 2, 0, 1, 3]
    out = top_k(score, [0, -1, 1, 0], 5, 3, exclude={0: [1], 1: [4, 0, 1, 2]},
                popular_items=popular)
    assert out.tolist() == [[2, 3, 4], [4, 2, 0], [3, -1, -1], [2, 3, 4]]
    assert len(calls) == 1 and set(calls[0]["user"]) == {0, 1}  # unknown users not scored
    ties = top_k(score, [1], 5, 2)
    assert ties.tolist() == [[4, 0]]  # ties broken by lower item code


def test_seen_items_and_context_helper():
    assert {k: v.tolist() for k, v in seen_items([1, 0, 1, 1], [3, 2, 3, 0]).items()} == \
        {0: [2], 1: [0, 3]}
    X, y, kwargs = make_interaction_data(n_users=60, n_items=8, side_features=True)
    ctx = make_interaction_context(kwargs, seed=5)
    assert ctx.n_users == 60 and ctx.n_items == 8 and ctx.implicit is False and ctx.seed == 5
    assert ctx.family == "recommendation" and ctx.modality == "interactions"
    assert list(X.columns[:2]) == ["user", "item"] and X["user"].dtype == np.int64
    assert set(ctx.categorical_columns) == {"segment", "genre"}
    assert X["segment"].dtype == object and X["age"].isna().any()
    assert y.min() >= 1 and y.max() <= 5
