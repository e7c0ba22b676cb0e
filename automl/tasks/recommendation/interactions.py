"""User-item interactions: the input of ``task="recommendation"``.

The user passes a DataFrame with a user column, an item column and optional
side-feature columns (attributes of the user or item of each row), and
optionally one rating per row (explicit feedback; without ratings every row is
a positive, implicit interaction). Row order is time order: leave-last-out
validation holds out each user's last row.

Model specs receive the canonical form: a DataFrame with ``user`` and ``item``
as int64 codes (``-1`` for a user or item unseen in fit) followed by the side
features in tabular form (see :class:`automl.data.Schema`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Dataset, Schema

USER_COLUMNS = ("user", "user_id", "userid", "userId", "customer", "customer_id")
ITEM_COLUMNS = ("item", "item_id", "itemid", "itemId", "product", "product_id", "movie",
                "movie_id")
"""Column names recognised when ``user_column`` / ``item_column`` are not given."""


def _find_column(frame: pd.DataFrame, given: str | None, known: tuple[str, ...],
                 kind: str) -> str:
    if given is not None:
        if given not in frame.columns:
            raise ValueError(f"{kind}_column={given!r} is not a column of X; its columns are "
                             f"{list(map(str, frame.columns))}")
        return given
    found = [c for c in known if c in frame.columns]
    if not found:
        raise ValueError(f"X has no {kind} column: name it with AutoML({kind}_column=...) "
                         f"or call it one of {list(known[:4])}; X's columns are "
                         f"{list(map(str, frame.columns))}")
    return found[0]


def _ids(values: pd.Series, kind: str, what: str) -> np.ndarray:
    if values.isna().any():
        raise ValueError(f"{what} has {int(values.isna().sum())} missing {kind} ids; "
                         "drop those rows")
    return values.to_numpy(dtype=object)


@dataclass(frozen=True)
class InteractionSchema:
    """The user and item ids and the side-feature columns seen in fit.

    Attributes
    ----------
    user_column, item_column : str
        Names of the id columns in the user's data.
    users, items : tuple
        Known ids, in code order (code ``i`` is ``users[i]``).
    side : Schema or None
        The side-feature columns, as a tabular schema.
    """

    user_column: str
    item_column: str
    users: tuple[Any, ...]
    items: tuple[Any, ...]
    side: Schema | None
    modality: str = "interactions"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """``(number of side-feature columns,)``."""
        return (len(self.side.columns) if self.side is not None else 0,)

    @property
    def n_users(self) -> int:
        """Users seen in fit."""
        return len(self.users)

    @property
    def n_items(self) -> int:
        """Items seen in fit."""
        return len(self.items)

    @classmethod
    def infer(cls, X: Any, user_column: str | None = None,
              item_column: str | None = None) -> InteractionSchema:
        """Learn the ids and side features of training interactions."""
        if not isinstance(X, pd.DataFrame):
            raise ValueError("task='recommendation' needs X as a DataFrame with a user and an "
                             f"item column, got {type(X).__name__}")
        if len(X) < 2:
            raise ValueError(f"X has {len(X)} interaction(s); at least 2 are needed")
        user = _find_column(X, user_column, USER_COLUMNS, "user")
        item = _find_column(X, item_column, ITEM_COLUMNS, "item")
        if user == item:
            raise ValueError(f"user_column and item_column are both {user!r}; name two columns")
        users = pd.unique(pd.Series(_ids(X[user], "user", "X")))
        items = pd.unique(pd.Series(_ids(X[item], "item", "X")))
        rest = X.drop(columns=[user, item])
        side = Schema.infer(rest, from_array=False) if rest.shape[1] else None
        return cls(user, item, tuple(users), tuple(items), side)

    def codes(self, ids: Any, kind: str) -> np.ndarray:
        """Codes of user or item ids (``kind`` is ``"user"`` or ``"item"``); -1 if unseen."""
        known = self.users if kind == "user" else self.items
        return pd.Index(known).get_indexer(pd.Index(np.asarray(ids, dtype=object)))

    def transform(self, X: Any, what: str = "X") -> pd.DataFrame:
        """Canonical interactions: ``user`` and ``item`` codes, then the side features."""
        if not isinstance(X, pd.DataFrame):
            raise ValueError(f"{what} must be a DataFrame with columns {self.user_column!r} "
                             f"and {self.item_column!r}, got {type(X).__name__}")
        missing = [c for c in (self.user_column, self.item_column) if c not in X.columns]
        if missing:
            raise ValueError(f"{what} lacks the id columns {missing}; pass the user and item "
                             "columns used in fit")
        frame = pd.DataFrame({
            "user": self.codes(_ids(X[self.user_column], "user", what), "user"),
            "item": self.codes(_ids(X[self.item_column], "item", what), "item"),
        })
        if self.side is not None:
            rest = X.drop(columns=[self.user_column, self.item_column])
            side = self.side.transform(rest, what)
            frame = pd.concat([frame, side], axis=1)
        return frame


def check_ratings(X: pd.DataFrame, y: np.ndarray, schema: InteractionSchema) -> None:
    """Reject duplicate user-item pairs whose ratings disagree.

    Raises
    ------
    ValueError
        Naming how many pairs conflict and one of them.
    """
    pairs = pd.DataFrame({"user": X["user"].to_numpy(), "item": X["item"].to_numpy(),
                          "rating": y})
    spread = pairs.groupby(["user", "item"], sort=False)["rating"].nunique()
    conflicts = spread[spread > 1]
    if len(conflicts):
        user, item = conflicts.index[0]
        raise ValueError(
            f"{len(conflicts)} user-item pairs have conflicting ratings, e.g. user "
            f"{schema.users[user]!r} and item {schema.items[item]!r}; keep one rating per "
            "pair (the latest or the mean)"
        )


def validate_interactions(X: Any, y: Any, user_column: str | None = None,
                          item_column: str | None = None) -> Dataset:
    """Validate interactions (and ratings) and return the training ``Dataset``.

    Parameters
    ----------
    X : pandas.DataFrame
        One interaction per row, in time order (see the module docstring).
    y : array-like or None
        One rating per row (explicit feedback, task ``"rating"``), or None
        (implicit feedback, task ``"ranking"``; ``Dataset.y`` is then None).
    user_column, item_column : str, optional
        Names of the id columns; recognised names are tried when None.

    Raises
    ------
    ValueError
        Naming the problem and its fix: missing id columns or ids, ratings of
        the wrong length or with NaN, conflicting ratings of one pair.
    """
    schema = InteractionSchema.infer(X, user_column, item_column)
    frame = schema.transform(X)
    if y is None:
        return Dataset(frame, None, "ranking", None, schema)
    ratings = pd.to_numeric(pd.Series(np.asarray(y).ravel()), errors="coerce").to_numpy(float)
    if len(ratings) != len(frame):
        raise ValueError(f"X has {len(frame)} interactions but y has {len(ratings)} ratings; "
                         "pass one rating per row, or y=None for implicit feedback")
    bad = int((~np.isfinite(ratings)).sum())
    if bad:
        raise ValueError(f"y has {bad} missing, non-numeric or infinite ratings; drop those "
                         "rows or pass y=None for implicit feedback")
    check_ratings(frame, ratings, schema)
    return Dataset(frame, ratings, "rating", None, schema)
