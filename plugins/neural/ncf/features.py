"""Side features of interactions for ``hybrid_mf``: encoding, roles and attribute tables.

Numeric columns become two inputs each: the value standardised with the
training mean and standard deviation, clipped to ``[-NUMERIC_CLIP,
NUMERIC_CLIP]`` (0 where missing), and a missing indicator. Categorical
columns become codes: 0 missing, 1 a category unseen in training, ``2..``
the categories seen (at most ``max_categories``, the most frequent).

Each column also gets a role from the training rows: ``"user"`` when every
user shows at most one value of it (a user attribute), else ``"item"`` when
every item does, else ``"row"`` (a property of the interaction). The encoded
value of each user attribute per user, and of each item attribute per item,
is kept in a table. :meth:`SideFeatures.encode` fills columns that X lacks
from those tables (so ``predict`` on bare ``(user, item)`` pairs, as ranking
asks for, still sees the attributes), and
:meth:`SideFeatures.item_attribute_arrays` lets a sampled negative item carry
its own attributes. Plain numpy state, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..mlp.estimators import category_strings

__all__ = ["NUMERIC_CLIP", "SideFeatures"]

NUMERIC_CLIP = 5.0
"""Standardised numeric inputs are clipped to this many standard deviations."""


def _role(values: pd.Series, users: np.ndarray, items: np.ndarray) -> str:
    present = values.notna().to_numpy()
    if not present.any():
        return "row"
    kept = values[present].astype(object).to_numpy()
    for role, keys in (("user", users), ("item", items)):
        frame = pd.DataFrame({"key": keys[present], "value": kept})
        if int(frame.groupby("key")["value"].nunique().max()) <= 1:
            return role
    return "row"


class SideFeatures:
    """Encoder of side-feature columns with per-user and per-item attribute tables.

    Attributes (set by :meth:`fit`)
    -------------------------------
    numeric_columns, categorical_columns : list of str
        The columns encoded.
    means, scales : list of float
        Standardisation per numeric column.
    categories : dict of str to list of str
        Categories with their own code, per categorical column.
    roles : dict of str to str
        ``"user"``, ``"item"`` or ``"row"`` per column.
    user_numeric, user_codes : ndarray
        Encoded attributes per user index ``code + 1`` (row 0: unknown user).
    item_numeric, item_codes : ndarray
        The same per item.

    """

    def fit(self, frame: pd.DataFrame, users: np.ndarray, items: np.ndarray,
            numeric_columns: Sequence[str], categorical_columns: Sequence[str],
            n_users: int, n_items: int, max_categories: int = 1000) -> SideFeatures:
        """Learn the encoding, the roles and the attribute tables from training rows.

        Parameters
        ----------
        frame : pandas.DataFrame
            Training interactions holding the side-feature columns.
        users, items : ndarray of int64
            Codes per row (all known).
        numeric_columns, categorical_columns : sequence of str
            The side-feature columns.
        n_users, n_items : int
            Catalogue sizes.
        max_categories : int, default=1000
            Most categories with their own code per column.

        Returns
        -------
        SideFeatures
            self.

        Raises
        ------
        ValueError
            When a named column is missing from ``frame``.

        """
        self.numeric_columns = [str(c) for c in numeric_columns]
        self.categorical_columns = [str(c) for c in categorical_columns]
        absent = [c for c in self.numeric_columns + self.categorical_columns
                  if c not in frame.columns]
        if absent:
            raise ValueError(f"side-feature columns {absent} are not in X")
        self.means, self.scales = [], []
        for name in self.numeric_columns:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            self.means.append(float(finite.mean()) if len(finite) else 0.0)
            scale = float(finite.std()) if len(finite) else 1.0
            self.scales.append(scale if scale > 0 else 1.0)
        self.categories = {}
        for name in self.categorical_columns:
            values, missing = category_strings(frame[name])
            counts = pd.Series(values[~missing], dtype=object).value_counts()
            kept = sorted(((int(n), str(v)) for v, n in counts.items()),
                          key=lambda item: (-item[0], item[1]))[: int(max_categories)]
            self.categories[name] = sorted(v for _, v in kept)
        self.roles = {name: _role(frame[name], users, items)
                      for name in self.numeric_columns + self.categorical_columns}
        numeric, codes = self._encode_present(frame)
        self.user_numeric, self.user_codes = self._table(numeric, codes, users, n_users)
        self.item_numeric, self.item_codes = self._table(numeric, codes, items, n_items)
        return self

    @property
    def n_numeric(self) -> int:
        """Numeric network inputs (two per numeric column)."""
        return 2 * len(self.numeric_columns)

    @property
    def cardinalities(self) -> list[int]:
        """Codes per categorical column (categories + missing + unseen)."""
        return [len(self.categories[c]) + 2 for c in self.categorical_columns]

    def _missing_rows(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n_num = len(self.numeric_columns)
        numeric = np.zeros((n, 2 * n_num), dtype=np.float32)
        numeric[:, n_num:] = 1.0
        return numeric, np.zeros((n, len(self.categorical_columns)), dtype=np.int64)

    def _encode_present(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Encode the columns ``frame`` holds; absent ones come out as missing."""
        numeric, codes = self._missing_rows(len(frame))
        n_num = len(self.numeric_columns)
        for j, name in enumerate(self.numeric_columns):
            if name not in frame.columns:
                continue
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
            finite = np.isfinite(values)
            scaled = np.clip((values - self.means[j]) / self.scales[j], -NUMERIC_CLIP,
                             NUMERIC_CLIP)
            numeric[:, j] = np.where(finite, scaled, 0.0)
            numeric[:, n_num + j] = (~finite).astype(np.float32)
        for j, name in enumerate(self.categorical_columns):
            if name not in frame.columns:
                continue
            values, missing = category_strings(frame[name])
            index = pd.Index(self.categories[name], dtype=object).get_indexer(values)
            codes[:, j] = np.where(missing, 0, np.where(index < 0, 1, index + 2))
        return numeric, codes

    def _table(self, numeric: np.ndarray, codes: np.ndarray, keys: np.ndarray,
               n: int) -> tuple[np.ndarray, np.ndarray]:
        """Per key ``code + 1``, each column's encoded value from a row where it is present."""
        table_numeric, table_codes = self._missing_rows(int(n) + 1)
        n_num = len(self.numeric_columns)
        for j in range(n_num):
            present = numeric[:, n_num + j] == 0
            table_numeric[keys[present] + 1, j] = numeric[present, j]
            table_numeric[keys[present] + 1, n_num + j] = 0.0
        for j in range(len(self.categorical_columns)):
            present = codes[:, j] > 0
            table_codes[keys[present] + 1, j] = codes[present, j]
        return table_numeric, table_codes

    def _masks(self, role: str) -> tuple[np.ndarray, np.ndarray]:
        numeric = np.array([self.roles[c] == role for c in self.numeric_columns], dtype=bool)
        codes = np.array([self.roles[c] == role for c in self.categorical_columns], dtype=bool)
        return np.concatenate([numeric, numeric]), codes

    def encode(self, frame: pd.DataFrame, users: np.ndarray,
               items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Encode rows; columns absent from ``frame`` come from the attribute tables.

        Parameters
        ----------
        frame : pandas.DataFrame
            Interactions (side-feature columns optional).
        users, items : ndarray of int64
            Codes per row; -1 for unknown (its attributes are then missing
            unless ``frame`` holds them).

        Returns
        -------
        numeric : ndarray of float32, shape (n, n_numeric)
            Standardised values and missing indicators.
        codes : ndarray of int64, shape (n, n_categorical)
            Category codes.

        """
        numeric, codes = self._encode_present(frame)
        for role, keys, table_numeric, table_codes in (
                ("user", users, self.user_numeric, self.user_codes),
                ("item", items, self.item_numeric, self.item_codes)):
            numeric_mask, code_mask = self._masks(role)
            absent_numeric = np.array(
                [c not in frame.columns for c in self.numeric_columns] * 2, dtype=bool)
            absent_codes = np.array([c not in frame.columns for c in self.categorical_columns],
                                    dtype=bool)
            fill_numeric = numeric_mask & absent_numeric
            fill_codes = code_mask & absent_codes
            if fill_numeric.any():
                numeric[:, fill_numeric] = table_numeric[keys + 1][:, fill_numeric]
            if fill_codes.any():
                codes[:, fill_codes] = table_codes[keys + 1][:, fill_codes]
        return numeric, codes

    def item_attribute_arrays(self) -> dict[str, Any]:
        """What giving negative items their own attributes needs, as arrays.

        Returns
        -------
        dict
            ``numeric_mask``, ``code_mask`` (item-attribute inputs),
            ``item_numeric`` and ``item_codes`` (the tables).

        """
        numeric_mask, code_mask = self._masks("item")
        return {"numeric_mask": numeric_mask, "code_mask": code_mask,
                "item_numeric": self.item_numeric, "item_codes": self.item_codes}
