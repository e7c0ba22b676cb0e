"""Small user-item interaction data with a known low-rank structure, for recommender tests.

:func:`make_interaction_data` draws user and item factors, biases and (on
request) side features that shift the affinity of a user for an item, then
samples which pairs are observed:

* explicit feedback: each user rates a uniformly drawn share ``density`` of
  the items; a rating is ``3 + user bias + item bias + affinity + noise``,
  clipped to ``[1, 5]``;
* implicit feedback: each user interacts with ``density`` of the items,
  drawn without replacement with probability increasing with the affinity
  (a Gumbel top-k draw with temperature :data:`IMPLICIT_TEMPERATURE`).

Rows come in time order (interactions of different users interleaved at
random), which is the order leave-last-out splits follow. The frame is in the
canonical form the engine hands a recommender: ``user`` and ``item`` int64
codes first, then the side features.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from automl.specs import Context

__all__ = [
    "IMPLICIT_TEMPERATURE",
    "SIDE_CATEGORICAL",
    "SIDE_NUMERIC",
    "make_interaction_context",
    "make_interaction_data",
]

IMPLICIT_TEMPERATURE = 2.0
"""Inverse temperature of the implicit draw: higher makes interactions follow affinity more."""

SIDE_NUMERIC = ("age", "price")
"""Numeric side-feature columns (a user attribute, an item attribute)."""

SIDE_CATEGORICAL = ("segment", "genre")
"""Categorical side-feature columns (a user attribute, an item attribute)."""

_N_SEGMENTS, _N_GENRES = 3, 4


def _side_effects(
    n_users: int, n_items: int, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """User and item attributes and the affinity shift they carry."""
    segment = rng.integers(0, _N_SEGMENTS, n_users)
    genre = rng.integers(0, _N_GENRES, n_items)
    age = rng.standard_normal(n_users)
    price = rng.standard_normal(n_items)
    taste = rng.standard_normal((_N_SEGMENTS, _N_GENRES)) * 1.2
    shift = taste[segment][:, genre] + 0.6 * np.outer(age, price)
    users = {"age": age, "segment": segment}
    items = {"genre": genre, "price": price}
    return shift, users, items


def _side_frame(users: np.ndarray, items: np.ndarray, user_attrs: dict[str, np.ndarray],
                item_attrs: dict[str, np.ndarray], rng: np.random.Generator) -> pd.DataFrame:
    """Per-row side features; a missing user attribute is missing in all of the user's rows."""
    n_users = len(user_attrs["age"])
    age = user_attrs["age"].copy()
    age[rng.random(n_users) < 0.1] = np.nan
    segment = np.array([f"s{s}" for s in user_attrs["segment"]], dtype=object)
    segment[rng.random(n_users) < 0.05] = np.nan
    genre = np.array([f"g{g}" for g in item_attrs["genre"]], dtype=object)
    return pd.DataFrame({
        "age": age[users].astype(np.float64),
        "price": item_attrs["price"][items].astype(np.float64),
        "segment": pd.Series(segment[users], dtype=object),
        "genre": pd.Series(genre[items], dtype=object),
    })


def make_interaction_data(
    n_users: int = 60,
    n_items: int = 40,
    rank: int = 3,
    density: float = 0.3,
    implicit: bool = False,
    side_features: bool = False,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray | None, dict[str, Any]]:
    """Generate interactions from a low-rank model plus noise.

    Parameters
    ----------
    n_users, n_items : int, default=60, 40
        Sizes of the catalogue; every user gets at least 3 interactions
        (so that leave-last-out has a test row and two training rows).
    rank : int, default=3
        Rank of the affinity ``U @ V.T``.
    density : float, default=0.3
        Share of the items each user interacts with, in (0, 1].
    implicit : bool, default=False
        Implicit feedback (no ratings; ``y`` is None) instead of ratings.
    side_features : bool, default=False
        Add user attributes ``age`` (numeric, 10% of users missing) and
        ``segment`` (categorical, 5% missing) and item attributes ``price``
        (numeric) and ``genre`` (categorical). ``segment`` x ``genre`` and
        ``age`` x ``price`` shift the affinity, so the features carry part of
        the signal (and predict for users with few interactions).
    seed : int, default=0
        Seed of every draw.

    Returns
    -------
    X : pandas.DataFrame
        Columns ``user``, ``item`` (int64 codes ``0..n-1``), then the side
        features; rows in time order.
    y : ndarray of float64 or None
        Ratings in [1, 5], or None for implicit feedback.
    ctx_kwargs : dict
        Keyword arguments of the matching :class:`~automl.specs.Context`
        (``task="recommendation"``, ``modality="interactions"``, the column
        names, ``n_users``, ``n_items``, ``implicit``); see
        :func:`make_interaction_context`.

    Raises
    ------
    ValueError
        For sizes below 4 users or items, a rank below 1 or a density
        outside (0, 1].

    """
    _check_sizes(n_users, n_items, rank, density)
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n_users, rank))
    V = rng.standard_normal((n_items, rank))
    affinity = U @ V.T / np.sqrt(rank)
    user_bias = 0.3 * rng.standard_normal(n_users)
    item_bias = 0.5 * rng.standard_normal(n_items)
    if side_features:
        shift, user_attrs, item_attrs = _side_effects(n_users, n_items, rng)
        affinity = affinity + shift
    users, items = _observed_pairs(affinity, item_bias, density, implicit, rng)
    X = pd.DataFrame({"user": users, "item": items})
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    if side_features:
        X = pd.concat([X, _side_frame(users, items, user_attrs, item_attrs, rng)], axis=1)
        numeric, categorical = SIDE_NUMERIC, SIDE_CATEGORICAL
    y = None if implicit else _ratings(users, items, user_bias, item_bias, affinity, rng)
    ctx_kwargs: dict[str, Any] = {
        "task": "recommendation", "modality": "interactions", "n_rows": len(X),
        "n_features": X.shape[1], "numeric_columns": numeric,
        "categorical_columns": categorical, "seed": seed, "n_users": n_users,
        "n_items": n_items, "implicit": implicit,
    }
    return X, y, ctx_kwargs


def _check_sizes(n_users: int, n_items: int, rank: int, density: float) -> None:
    if n_users < 4 or n_items < 4:
        raise ValueError(f"need at least 4 users and 4 items, got {n_users} and {n_items}")
    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank}")
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must lie in (0, 1], got {density}")


def _ratings(users: np.ndarray, items: np.ndarray, user_bias: np.ndarray,
             item_bias: np.ndarray, affinity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``3 + user bias + item bias + affinity + noise`` of each pair, clipped to [1, 5]."""
    noise = 0.4 * rng.standard_normal(len(users))
    raw = 3.0 + user_bias[users] + item_bias[items] + affinity[users, items] + noise
    return np.clip(raw, 1.0, 5.0).astype(np.float64)


def _observed_pairs(affinity: np.ndarray, item_bias: np.ndarray, density: float,
                    implicit: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """User and item codes of the observed interactions, interleaved in time order.

    Each user meets about ``density`` of the items (at least 3): uniformly
    drawn ones for ratings, by affinity for implicit feedback.
    """
    n_users, n_items = affinity.shape
    per_user = np.clip(rng.binomial(n_items, density, n_users), 3, n_items)
    users, items = [], []
    for u in range(n_users):
        if implicit:
            keys = IMPLICIT_TEMPERATURE * (affinity[u] + item_bias) + rng.gumbel(size=n_items)
            chosen = np.argsort(-keys, kind="stable")[: per_user[u]]
        else:
            chosen = rng.choice(n_items, size=per_user[u], replace=False)
        users.append(np.full(len(chosen), u))
        items.append(chosen)
    user_codes = np.concatenate(users).astype(np.int64)
    item_codes = np.concatenate(items).astype(np.int64)
    order = np.argsort(rng.random(len(user_codes)), kind="stable")  # interleaved time order
    return user_codes[order], item_codes[order]


def make_interaction_context(ctx_kwargs: dict[str, Any], **overrides: Any) -> Context:
    """Build the :class:`~automl.specs.Context` of :func:`make_interaction_data`.

    Keyword arguments that ``Context`` does not declare as fields (``n_users``,
    ``n_items`` and ``implicit`` while the context lacks them) are attached as
    plain attributes, so ``getattr(ctx, "n_users")`` works either way.

    Parameters
    ----------
    ctx_kwargs : dict
        From :func:`make_interaction_data`.
    **overrides
        Values replacing entries of ``ctx_kwargs`` (``seed=1``, ``n_threads=2``).

    Returns
    -------
    Context
        The context.

    """
    kwargs = {**ctx_kwargs, **overrides}
    known = {f.name for f in dataclasses.fields(Context)}
    ctx = Context(**{k: v for k, v in kwargs.items() if k in known})
    for key, value in kwargs.items():
        if key not in known:
            object.__setattr__(ctx, key, value)
    return ctx
