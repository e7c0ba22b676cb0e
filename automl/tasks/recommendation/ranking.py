"""Evaluation blocks for recommenders: per-user splits, ranks of held-out items, metrics, top-k.

Everything works on integer codes (``user`` and ``item`` in ``0..n-1``; ``-1``
for a user unseen in training) and is vectorised: a scoring function is
called once over every candidate pair (full ranking: once per chunk of
users), never once per user.

* :func:`split_per_user` holds out each user's last interaction
  (leave-last-out; rows are in time order) or a random share of them; every
  test user keeps training rows, and with ``items`` given no (user, item)
  pair is on both sides.
* :func:`rank_positives` gives the 0-based rank of each held-out item among
  sampled negatives or among every item the user did not meet in training;
  ties count against the held-out item.
* :func:`ndcg_at_k` and :func:`hit_rate_at_k` turn ranks into metrics.
* :func:`top_k` recommends, excluding what each user has seen; unknown users
  get the most popular items (:func:`popular_items`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FULL_RANKING_PAIRS",
    "hit_rate_at_k",
    "ndcg_at_k",
    "pairs_frame",
    "popular_items",
    "rank_positives",
    "seen_items",
    "split_per_user",
    "top_k",
]

FULL_RANKING_PAIRS = 2_000_000
"""Most (user, item) pairs scored per call in full ranking and in :func:`top_k`."""

ScoreFn = Callable[[pd.DataFrame], Any]


def _codes(values: Any, name: str, *, allow_unknown: bool = False) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.issubdtype(array.dtype, np.floating) or not np.all(
                np.isfinite(array) & (array == np.round(array))):
            raise ValueError(f"{name} must hold integer codes, got dtype {array.dtype}; "
                             "encode ids as 0..n-1 first")
    array = array.astype(np.int64)
    low = -1 if allow_unknown else 0
    if array.size and array.min() < low:
        raise ValueError(f"{name} holds code {array.min()}; codes must be >= {low}")
    return array


def split_per_user(
    users: Any,
    how: str = "last",
    fraction: float = 0.2,
    seed: int = 0,
    items: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split interaction rows into training and test rows, per user.

    Parameters
    ----------
    users : array-like of int
        User code of each row; rows are in time order.
    how : {"last", "random"}, default="last"
        ``"last"``: leave-last-out, the last row of each user with at least
        two interactions goes to test. ``"random"``: a random share
        ``fraction`` of each such user's rows (at least one, and at least one
        left for training).
    fraction : float, default=0.2
        Share held out per user with ``how="random"``, in (0, 1).
    seed : int, default=0
        Seed of the random split.
    items : array-like of int, optional
        Item code of each row. When given the split is made over distinct
        (user, item) pairs (a pair's time is its last row), and all rows of a
        pair go to the same side, so a repeated interaction cannot leak.

    Returns
    -------
    train_idx, test_idx : ndarray of int64
        Sorted row positions. Users with a single interaction (or a single
        distinct item) stay in training only.

    Raises
    ------
    ValueError
        For an unknown ``how``, a fraction outside (0, 1), or bad codes.

    """
    if how not in ("last", "random"):
        raise ValueError(f"how must be 'last' or 'random', got {how!r}")
    if how == "random" and not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
    users = _codes(users, "users")
    n = len(users)
    if items is None:
        unit_of_row = np.arange(n)
        unit_users, unit_time = users, np.arange(n)
    else:
        items = _codes(items, "items")
        if len(items) != n:
            raise ValueError(f"items has {len(items)} rows, users has {n}")
        keys = pd.MultiIndex.from_arrays([users, items])
        unit_of_row, uniques = pd.factorize(keys)
        unit_users = np.asarray(uniques.get_level_values(0), dtype=np.int64)
        unit_time = np.full(len(uniques), -1, dtype=np.int64)
        np.maximum.at(unit_time, unit_of_row, np.arange(n))
    n_units = len(unit_users)
    rng = np.random.default_rng(seed)
    # order units by user, then by time (last) or by a random key (random)
    key = unit_time if how == "last" else rng.random(n_units)
    order = np.lexsort((key, unit_users))
    sorted_users = unit_users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    sizes = np.diff(np.r_[starts, n_units])
    position = np.arange(n_units) - np.repeat(starts, sizes)  # 0-based within the user
    size = np.repeat(sizes, sizes)
    if how == "last":
        held = (position == size - 1) & (size >= 2)
    else:
        k = np.clip(np.round(fraction * size), 1, size - 1)
        held = (position < k) & (size >= 2)
    test_unit = np.zeros(n_units, dtype=bool)
    test_unit[order[held]] = True
    test_row = test_unit[unit_of_row]
    return np.flatnonzero(~test_row), np.flatnonzero(test_row)


def seen_items(users: Any, items: Any) -> dict[int, np.ndarray]:
    """The distinct items of each user.

    Parameters
    ----------
    users, items : array-like of int
        Codes per interaction row.

    Returns
    -------
    dict of int to ndarray of int64
        Sorted distinct items per user present.

    """
    users, items = _codes(users, "users"), _codes(items, "items")
    pairs = np.unique(np.stack([users, items], axis=1), axis=0) if len(users) else \
        np.empty((0, 2), dtype=np.int64)
    if not len(pairs):
        return {}
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    return {int(pairs[s, 0]): part[:, 1].copy()
            for s, part in zip(starts, np.split(pairs, starts[1:]), strict=True)}


def popular_items(items: Any, n_items: int) -> np.ndarray:
    """Item codes from most to least interacted with (ties: lower code first).

    Parameters
    ----------
    items : array-like of int
        Item code of each training interaction.
    n_items : int
        Catalogue size; items never met come last.

    Returns
    -------
    ndarray of int64 of shape (n_items,)
        The ordering.

    """
    counts = np.bincount(_codes(items, "items"), minlength=int(n_items))[: int(n_items)]
    return np.lexsort((np.arange(int(n_items)), -counts)).astype(np.int64)


def pairs_frame(users: Any, items: Any) -> pd.DataFrame:
    """A bare (user, item) frame of int64 codes, as a recommender scores it."""
    return pd.DataFrame({"user": np.asarray(users, dtype=np.int64),
                         "item": np.asarray(items, dtype=np.int64)})


def _scores(score_fn: ScoreFn, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    scores = np.asarray(score_fn(pairs_frame(users, items)), dtype=np.float64).reshape(-1)
    if scores.shape != (len(users),):
        raise ValueError(f"score_fn returned {scores.shape[0]} scores for {len(users)} pairs")
    if np.isnan(scores).any():
        raise ValueError(f"score_fn returned {int(np.isnan(scores).sum())} NaN scores; "
                         "a recommender must score every (user, item) pair")
    return scores


def _excluded_keys(seen: Mapping[int, Any], test_users: np.ndarray, test_items: np.ndarray,
                   n_items: int) -> np.ndarray:
    """Sorted keys ``user * n_items + item`` of pairs that cannot be negatives."""
    parts = [test_users * n_items + test_items]
    for user, user_items in seen.items():
        user_items = np.asarray(user_items, dtype=np.int64)
        parts.append(int(user) * n_items + user_items)
    return np.unique(np.concatenate(parts))


def _is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.minimum(pos, len(sorted_keys) - 1)
    return sorted_keys[pos] == keys if len(sorted_keys) else np.zeros(keys.shape, bool)


def _sample_negatives(users: np.ndarray, excluded: np.ndarray, n_items: int, n_negatives: int,
                      rng: np.random.Generator) -> np.ndarray:
    """``(n, n_negatives)`` distinct negative items per row; -1 pads rows with fewer allowed."""
    n = len(users)
    blocked = np.searchsorted(excluded, users * n_items + n_items) - \
        np.searchsorted(excluded, users * n_items)
    allowed = n_items - blocked
    out = np.full((n, n_negatives), -1, dtype=np.int64)
    dense = allowed <= 2 * n_negatives  # few allowed items: draw from the list directly
    draw = rng.integers(0, n_items, size=(n, n_negatives))
    todo = ~dense
    for _ in range(100):
        rows = np.flatnonzero(todo)
        if not len(rows):
            break
        block = draw[rows]
        bad = _is_member(users[rows, None] * n_items + block, excluded)
        ordered = np.sort(block, axis=1)
        dup_sorted = np.zeros_like(bad)
        dup_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        # mark duplicates in the original positions: keep the first occurrence
        index = np.argsort(block, axis=1, kind="stable")
        dup = np.zeros_like(bad)
        np.put_along_axis(dup, index, dup_sorted, axis=1)
        bad |= dup
        good_rows = ~bad.any(axis=1)
        out[rows[good_rows]] = block[good_rows]
        todo[rows[good_rows]] = False
        redraw = rng.integers(0, n_items, size=bad.shape)
        draw[rows] = np.where(bad, redraw, block)
    dense |= todo
    for row in np.flatnonzero(dense):
        user = users[row]
        lo, hi = np.searchsorted(excluded, [user * n_items, user * n_items + n_items])
        candidates = np.setdiff1d(np.arange(n_items), excluded[lo:hi] - user * n_items)
        take = min(n_negatives, len(candidates))
        out[row, :take] = rng.choice(candidates, size=take, replace=False)
    return out


def rank_positives(
    score_fn: ScoreFn,
    test_pairs: Any,
    seen_items_by_user: Mapping[int, Any],
    n_items: int,
    n_negatives: int | None = 99,
    seed: int = 0,
) -> np.ndarray:
    """0-based rank of each held-out item among its user's candidate items.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(frame) -> scores`` for a DataFrame with int64 columns
        ``user`` and ``item``; higher means more relevant. NaN scores raise.
    test_pairs : pandas.DataFrame or array-like of shape (n, 2)
        Held-out (user, item) pairs (columns ``user``, ``item``).
    seen_items_by_user : mapping of int to array-like
        Items each user met in training (see :func:`seen_items`).
    n_items : int
        Catalogue size; items are ``0..n_items-1``.
    n_negatives : int or None, default=99
        Sampled ranking: this many distinct negatives per held-out pair,
        drawn (seeded) from the items the user met neither in training nor in
        the test pairs (fewer when fewer exist). None: full ranking against
        every such item.
    seed : int, default=0
        Seed of the negative draw.

    Returns
    -------
    ndarray of int64
        Per test pair, the number of candidates scored at least as high as
        the held-out item (ties count against it), so 0 is the top.

    Raises
    ------
    ValueError
        For malformed pairs, codes outside ``0..n_items-1``, or NaN scores.

    """
    if isinstance(test_pairs, pd.DataFrame):
        missing = [c for c in ("user", "item") if c not in test_pairs.columns]
        if missing:
            raise ValueError(f"test_pairs lacks columns {missing}; pass user and item columns")
        users, items = test_pairs["user"].to_numpy(), test_pairs["item"].to_numpy()
    else:
        array = np.asarray(test_pairs)
        if array.ndim != 2 or array.shape[1] != 2:
            raise ValueError(f"test_pairs must have shape (n, 2), got {array.shape}")
        users, items = array[:, 0], array[:, 1]
    users, items = _codes(users, "test users"), _codes(items, "test items")
    n_items = int(n_items)
    if len(items) and items.max() >= n_items:
        raise ValueError(f"test item code {items.max()} is outside 0..{n_items - 1}")
    if not len(users):
        return np.empty(0, dtype=np.int64)
    excluded = _excluded_keys(seen_items_by_user, users, items, n_items)
    if n_negatives is None:
        return _full_ranks(score_fn, users, items, excluded, n_items)
    if int(n_negatives) < 1:
        raise ValueError(f"n_negatives must be positive or None, got {n_negatives!r}")
    rng = np.random.default_rng(seed)
    negatives = _sample_negatives(users, excluded, n_items, int(n_negatives), rng)
    valid = negatives >= 0
    rows = np.repeat(np.arange(len(users)), valid.sum(axis=1))
    cand_users = np.concatenate([users, users[rows]])
    cand_items = np.concatenate([items, negatives[valid]])
    scores = _scores(score_fn, cand_users, cand_items)
    true, negative = scores[: len(users)], scores[len(users):]
    beaten = negative >= true[rows]
    return np.bincount(rows[beaten], minlength=len(users)).astype(np.int64)


def _full_ranks(score_fn: ScoreFn, users: np.ndarray, items: np.ndarray, excluded: np.ndarray,
                n_items: int) -> np.ndarray:
    ranks = np.zeros(len(users), dtype=np.int64)
    unique_users, inverse = np.unique(users, return_inverse=True)
    chunk = max(1, FULL_RANKING_PAIRS // max(n_items, 1))
    all_items = np.arange(n_items, dtype=np.int64)
    for start in range(0, len(unique_users), chunk):
        block = unique_users[start:start + chunk]
        grid = _scores(score_fn, np.repeat(block, n_items), np.tile(all_items, len(block)))
        grid = grid.reshape(len(block), n_items)
        allowed = ~_is_member(block[:, None] * n_items + all_items[None, :], excluded)
        rows = np.flatnonzero((inverse >= start) & (inverse < start + len(block)))
        local = inverse[rows] - start
        true = grid[local, items[rows]]
        ranks[rows] = ((grid[local] >= true[:, None]) & allowed[local]).sum(axis=1)
    return ranks


def _checked_ranks(ranks: Any, k: int) -> np.ndarray:
    ranks = np.asarray(ranks)
    if ranks.ndim != 1 or not len(ranks):
        raise ValueError("ranks must be a non-empty 1-dimensional array")
    if int(k) < 1:
        raise ValueError(f"k must be positive, got {k!r}")
    return ranks


def ndcg_at_k(ranks: Any, k: int = 10) -> float:
    """Mean NDCG@k with one relevant item per test pair.

    Parameters
    ----------
    ranks : array-like of int
        0-based ranks from :func:`rank_positives`.
    k : int, default=10
        Cut-off.

    Returns
    -------
    float
        Mean of ``1 / log2(rank + 2)`` where ``rank < k``, else 0.

    Raises
    ------
    ValueError
        For empty ranks or a non-positive k.

    """
    ranks = _checked_ranks(ranks, k)
    gains = np.where(ranks < k, 1.0 / np.log2(ranks.astype(np.float64) + 2.0), 0.0)
    return float(gains.mean())


def hit_rate_at_k(ranks: Any, k: int = 10) -> float:
    """Share of test pairs whose held-out item ranks in the top k.

    Parameters
    ----------
    ranks : array-like of int
        0-based ranks from :func:`rank_positives`.
    k : int, default=10
        Cut-off.

    Returns
    -------
    float
        Mean of ``rank < k``.

    Raises
    ------
    ValueError
        For empty ranks or a non-positive k.

    """
    ranks = _checked_ranks(ranks, k)
    return float(np.mean(ranks < k))


def top_k(
    score_fn: ScoreFn,
    users: Any,
    n_items: int,
    k: int,
    exclude: Mapping[int, Any] | None = None,
    popular_items: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """The k best items per user, excluding the items each user has seen.

    Parameters
    ----------
    score_fn : callable
        ``score_fn(frame) -> scores`` over int64 columns ``user`` and ``item``.
    users : array-like of int
        User codes; ``-1`` marks a user unseen in training.
    n_items : int
        Catalogue size.
    k : int
        Items per user.
    exclude : mapping of int to array-like, optional
        Items not to recommend per user (what they have seen).
    popular_items : array-like of int, optional
        Item codes by decreasing popularity (see :func:`popular_items`):
        unknown users get the first k of them. Without it unknown users get
        -1 throughout.

    Returns
    -------
    ndarray of int64 of shape (n_users, k)
        Items by decreasing score (ties: lower code first); -1 pads a row
        when fewer than k items are left.

    Raises
    ------
    ValueError
        For a non-positive k, bad codes, or NaN scores.

    """
    users = _codes(users, "users", allow_unknown=True)
    n_items, k = int(n_items), int(k)
    if k < 1:
        raise ValueError(f"k must be positive, got {k!r}")
    exclude = exclude or {}
    out = np.full((len(users), k), -1, dtype=np.int64)
    unknown = users < 0
    if popular_items is not None and unknown.any():
        best = np.asarray(popular_items, dtype=np.int64)[:k]
        out[np.ix_(unknown, np.arange(len(best)))] = best
    known_users, inverse = np.unique(users[~unknown], return_inverse=True)
    known_rows = np.flatnonzero(~unknown)
    chunk = max(1, FULL_RANKING_PAIRS // max(n_items, 1))
    all_items = np.arange(n_items, dtype=np.int64)
    width = min(k, n_items)
    for start in range(0, len(known_users), chunk):
        block = known_users[start:start + chunk]
        grid = _scores(score_fn, np.repeat(block, n_items), np.tile(all_items, len(block)))
        grid = grid.reshape(len(block), n_items)
        blocked = np.zeros_like(grid, dtype=bool)
        for row, user in enumerate(block):
            seen = np.asarray(exclude.get(int(user), ()), dtype=np.int64)
            blocked[row, seen[(seen >= 0) & (seen < n_items)]] = True
        # unblocked items first, then by decreasing score, then by item code
        order = np.lexsort((np.broadcast_to(all_items, grid.shape), -grid, blocked), axis=1)
        best = order[:, :width]
        ok = ~np.take_along_axis(blocked, best, axis=1)
        rows = np.flatnonzero((inverse >= start) & (inverse < start + len(block)))
        local = inverse[rows] - start
        out[known_rows[rows], :width] = np.where(ok[local], best[local], -1)
    return out
