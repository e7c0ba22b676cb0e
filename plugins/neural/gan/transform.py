"""The data transformer of the ``ctgan`` generator (numpy and scikit-learn, no torch).

Each column of the canonical table becomes a block of the network's data
vector (the mode-specific normalisation of Xu et al. [Xu2019]_):

continuous (numeric with more than ``discrete_threshold`` distinct values)
    A variational Gaussian mixture (scikit-learn's
    ``BayesianGaussianMixture`` with a Dirichlet-process prior, at most
    ``max_modes`` components; those weighing under
    :data:`MIN_MODE_WEIGHT` are dropped) is fitted to the standardised
    values. A value becomes ``alpha = (z - mu_k) / (4 sigma_k)`` in
    ``[-0.99, 0.99]`` (the generator's ``tanh`` output) and the one-hot of its
    mode ``k``, drawn from the mode posteriors; a missing value is one more
    "mode" with ``alpha = 0``. Decoded values are clipped to the training
    range and rounded in integer columns.
discrete (categorical columns, and numeric ones with few distinct values)
    One-hot over *slots*: the categories seen at least
    ``min_category_count`` times (at most ``max_categories``, the most
    frequent), then one "rare" slot for every other value (decoded by drawing
    from a pool of the rare training values with their frequencies: an ID
    column decodes to training IDs), then one "missing" slot. A column that
    is always missing (or constant) has one slot.

Discrete columns with two slots or more take part in the conditional vector:
:meth:`GANTransformer.sample_condition` draws a column uniformly and a slot
by log-frequency ("training by sampling") during training, or by frequency
when sampling, and :meth:`GANTransformer.real_rows` finds real rows that
match. The fitted state is plain Python values and numpy arrays (no
scikit-learn objects), so a fitted generator saves with skops.

References
----------
.. [Xu2019] L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni.
   "Modeling Tabular Data using Conditional GAN". NeurIPS 2019.

"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture
from threadpoolctl import threadpool_limits

from automl.tasks.generation import finish_numeric, numeric_facts

__all__ = ["MIN_MODE_WEIGHT", "RARE_POOL_SIZE", "GANTransformer"]

MIN_MODE_WEIGHT = 0.005
"""Mixture components lighter than this are dropped (as in CTGAN)."""

RARE_POOL_SIZE = 1000
"""Most rare values (a seeded draw of the rare rows) kept to decode the rare slot."""

_ALPHA_CLIP = 0.99


class GANTransformer:
    """Encode a canonical table for the GAN and decode generator outputs.

    Parameters
    ----------
    max_modes : int, default=10
        Most mixture components per continuous column.
    discrete_threshold : int, default=10
        Numeric columns with at most this many distinct values are discrete.
    max_categories : int, default=100
        Most categories with their own slot per column.
    min_category_count : int, default=2
        Categories seen fewer times share the rare slot.
    max_fit_rows : int, default=5000
        Rows (a seeded subsample) the mixtures are fitted on.

    Attributes
    ----------
    columns : list of dict
        Per training column, in order: its kind, slots or modes, and facts.
    spans : list of tuple
        ``(start, width, activation)`` of each block of the data vector;
        activation ``"tanh"`` or ``"softmax"``.
    data_dim : int
        Width of the data vector.
    cond_columns : list of int
        Positions in ``columns`` of the discrete columns used for conditions.
    cond_dim : int
        Width of the conditional vector.

    """

    def __init__(self, *, max_modes: int = 10, discrete_threshold: int = 10,
                 max_categories: int = 100, min_category_count: int = 2,
                 max_fit_rows: int = 5000) -> None:
        self.max_modes = max_modes
        self.discrete_threshold = discrete_threshold
        self.max_categories = max_categories
        self.min_category_count = min_category_count
        self.max_fit_rows = max_fit_rows

    # -- fit ----------------------------------------------------------------

    def fit(self, frame: pd.DataFrame, numeric: Sequence[str],
            rng: np.random.Generator) -> GANTransformer:
        """Learn the blocks of every column.

        Parameters
        ----------
        frame : pandas.DataFrame
            The canonical table.
        numeric : sequence of str
            Its numeric columns; the others are categorical.
        rng : numpy.random.Generator
            Seeds the mixtures and the rare pools.

        Returns
        -------
        GANTransformer
            This transformer.

        """
        numeric = set(numeric)
        self.columns: list[dict[str, Any]] = []
        for name in frame.columns:
            column = frame[name]
            if name in numeric:
                values = column.to_numpy(dtype=np.float64)
                present = values[~np.isnan(values)]
                if np.unique(present).size <= int(self.discrete_threshold):
                    self.columns.append(self._fit_discrete(name, column, rng, values))
                else:
                    self.columns.append(self._fit_continuous(name, values, present, rng))
            else:
                self.columns.append(self._fit_discrete(name, column, rng, None))
        self.spans: list[tuple[int, int, str]] = []
        start = 0
        for info in self.columns:
            info["start"] = start
            if info["kind"] == "continuous":
                self.spans.append((start, 1, "tanh"))
                self.spans.append((start + 1, info["width"] - 1, "softmax"))
            else:
                self.spans.append((start, info["width"], "softmax"))
            start += info["width"]
        self.data_dim = start
        self.cond_columns = [i for i, info in enumerate(self.columns)
                             if info["kind"] == "discrete" and info["width"] >= 2]
        self.cond_offsets = np.cumsum([0] + [self.columns[i]["width"]
                                             for i in self.cond_columns]).astype(np.int64)
        self.cond_dim = int(self.cond_offsets[-1])
        return self

    def _fit_continuous(self, name: str, values: np.ndarray, present: np.ndarray,
                        rng: np.random.Generator) -> dict[str, Any]:
        center = float(present.mean())
        scale = float(present.std()) or 1.0
        z = (present - center) / scale
        if z.size > int(self.max_fit_rows):
            z = rng.choice(z, size=int(self.max_fit_rows), replace=False)
        k = int(min(max(int(self.max_modes), 1), np.unique(z).size))
        mixture = BayesianGaussianMixture(
            n_components=k, weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3, max_iter=100, n_init=1, init_params="k-means++",
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(z.reshape(-1, 1))
        weights = mixture.weights_
        keep = weights > MIN_MODE_WEIGHT
        keep[np.argmax(weights)] = True
        means = mixture.means_[keep, 0].astype(np.float64)
        stds = np.sqrt(mixture.covariances_[keep].reshape(-1)).astype(np.float64)
        stds = np.maximum(stds, 1e-3)
        facts = numeric_facts(values)
        missing = bool(facts["missing_rate"] > 0)
        return {"name": name, "kind": "continuous", "numeric": True, "center": center,
                "scale": scale, "means": means, "stds": stds,
                "weights": (weights[keep] / weights[keep].sum()).astype(np.float64),
                "missing": missing, "width": 1 + len(means) + int(missing), **facts}

    def _fit_discrete(self, name: str, column: pd.Series, rng: np.random.Generator,
                      numeric_values: np.ndarray | None) -> dict[str, Any]:
        is_numeric = numeric_values is not None
        missing_mask = column.isna().to_numpy()
        present = column[~missing_mask]
        counts = present.value_counts()
        order = sorted(counts.index, key=lambda v: (-int(counts[v]), v))
        minimum = 1 if is_numeric else max(int(self.min_category_count), 1)
        kept = [v for v in order if counts[v] >= minimum]
        if not is_numeric:
            kept = kept[: int(self.max_categories)]
        kept_set = set(kept)
        rare_rows = [v for v in present.to_numpy(dtype=object) if v not in kept_set]
        if len(rare_rows) > RARE_POOL_SIZE:
            rare_rows = list(rng.choice(np.asarray(rare_rows, dtype=object),
                                        size=RARE_POOL_SIZE, replace=False))
        pool = pd.Series(rare_rows, dtype=object).value_counts()
        pool_values = sorted(pool.index, key=lambda v: (-int(pool[v]), v))
        info: dict[str, Any] = {
            "name": name, "kind": "discrete", "numeric": is_numeric,
            "values": [float(v) if is_numeric else str(v) for v in kept],
            "rare": bool(rare_rows), "missing": bool(missing_mask.any()),
            "rare_values": [str(v) for v in pool_values],
            "rare_probs": np.array([pool[v] for v in pool_values], dtype=np.float64)
            / max(float(pool.sum()), 1.0),
        }
        if is_numeric:
            info.update(numeric_facts(numeric_values))
        info["width"] = len(info["values"]) + int(info["rare"]) + int(info["missing"])
        return info

    # -- encode -------------------------------------------------------------

    def slots(self, column: pd.Series, info: Mapping[str, Any]) -> np.ndarray:
        """Slot of every row of a discrete column (kept values, then rare, then missing)."""
        missing = column.isna().to_numpy()
        if info["numeric"]:
            lookup = pd.Index(np.asarray(info["values"], dtype=np.float64))
            codes = lookup.get_indexer(column.to_numpy(dtype=np.float64))
        else:
            lookup = pd.Index(list(info["values"]), dtype=object)
            codes = lookup.get_indexer(column.to_numpy(dtype=object))
        n_kept = len(info["values"])
        codes = np.where(codes < 0, n_kept, codes)
        codes[missing] = n_kept + int(info["rare"])
        return codes.astype(np.int64)

    def transform(self, frame: pd.DataFrame,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Encode a table.

        Parameters
        ----------
        frame : pandas.DataFrame
            The canonical table with the training columns.
        rng : numpy.random.Generator
            Draws each continuous value's mode from its posterior.

        Returns
        -------
        data : ndarray of float32, shape (n, data_dim)
            The data vectors.
        slots : ndarray of int64, shape (n, len(cond_columns))
            The slot of every row in each conditioning column.

        """
        n = len(frame)
        data = np.zeros((n, self.data_dim), dtype=np.float32)
        slots = np.zeros((n, len(self.cond_columns)), dtype=np.int64)
        rows = np.arange(n)
        for i, info in enumerate(self.columns):
            start = info["start"]
            column = frame[info["name"]]
            if info["kind"] == "discrete":
                codes = self.slots(column, info)
                data[rows, start + codes] = 1.0
                if i in self.cond_columns:
                    slots[:, self.cond_columns.index(i)] = codes
                continue
            values = column.to_numpy(dtype=np.float64)
            missing = np.isnan(values)
            z = (np.nan_to_num(values) - info["center"]) / info["scale"]
            means, stds = info["means"], info["stds"]
            log_post = (np.log(info["weights"])[None, :] - np.log(stds)[None, :]
                        - 0.5 * ((z[:, None] - means[None, :]) / stds[None, :]) ** 2)
            post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
            post /= post.sum(axis=1, keepdims=True)
            mode = (post.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1)
            mode = np.minimum(mode, len(means) - 1)
            alpha = np.clip((z - means[mode]) / (4 * stds[mode]), -_ALPHA_CLIP, _ALPHA_CLIP)
            alpha[missing] = 0.0
            mode[missing] = len(means)
            data[:, start] = alpha
            data[rows, start + 1 + mode] = 1.0
        return data, slots

    # -- conditions ---------------------------------------------------------

    def slot_counts(self, slots: np.ndarray) -> list[np.ndarray]:
        """Rows per slot of each conditioning column."""
        return [np.bincount(slots[:, j], minlength=self.columns[c]["width"]).astype(np.float64)
                for j, c in enumerate(self.cond_columns)]

    def sample_condition(self, counts: Sequence[np.ndarray], n: int, rng: np.random.Generator,
                         *, log_frequency: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw conditions: a column uniformly, then one of its slots.

        Parameters
        ----------
        counts : sequence of ndarray
            From :meth:`slot_counts` (stored at fit time).
        n : int
            Conditions to draw.
        rng : numpy.random.Generator
            The draw.
        log_frequency : bool
            Slot probabilities proportional to ``log(1 + count)`` (training by
            sampling: rare categories are seen often enough) or to the count
            (sampling: the training marginals come back).

        Returns
        -------
        cond : ndarray of float32, shape (n, cond_dim)
            One-hot conditional vectors.
        column, slot : ndarray of int64
            The conditioning column (index into ``cond_columns``) and slot.

        """
        width = max(len(c) for c in counts)
        table = np.zeros((len(counts), width))
        for j, c in enumerate(counts):
            weight = np.log1p(c) if log_frequency else c
            table[j, : len(c)] = weight / weight.sum()
        column = rng.integers(len(counts), size=n)
        cumulative = table.cumsum(axis=1)[column]
        slot = (cumulative < rng.random(n)[:, None] * cumulative[:, -1:]).sum(axis=1)
        slot = np.minimum(slot, np.array([len(c) - 1 for c in counts])[column])
        cond = np.zeros((n, self.cond_dim), dtype=np.float32)
        cond[np.arange(n), self.cond_offsets[column] + slot] = 1.0
        return cond, column.astype(np.int64), slot.astype(np.int64)

    @staticmethod
    def row_index(slots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows sorted by slot per conditioning column, with slot starts and sizes.

        Returns
        -------
        order : ndarray of shape (n_cond_columns, n)
            Row positions sorted by slot, per conditioning column.
        starts, sizes : ndarray of shape (n_cond_columns, most slots)
            Where each slot's rows begin in ``order`` and how many there are.

        """
        order = np.argsort(slots, axis=0, kind="stable").T.copy()
        width = int(slots.max()) + 1 if slots.size else 1
        sizes = np.zeros((slots.shape[1], width), dtype=np.int64)
        for j in range(slots.shape[1]):
            sizes[j] = np.bincount(slots[:, j], minlength=width)
        starts = np.cumsum(sizes, axis=1) - sizes
        return order, starts, sizes

    @staticmethod
    def real_rows(index: tuple[np.ndarray, np.ndarray, np.ndarray], column: np.ndarray,
                  slot: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A random real row holding each requested ``(column, slot)`` (from :meth:`row_index`)."""
        order, starts, sizes = index
        start, size = starts[column, slot], sizes[column, slot]
        offset = np.minimum((rng.random(len(column)) * size).astype(np.int64), size - 1)
        return order[column, start + offset]

    def condition_for(self, name: str, value: Any) -> tuple[int, int]:
        """``(conditioning column, slot)`` of a column's value, for conditional sampling.

        Raises
        ------
        ValueError
            When the column cannot condition (continuous, or a single slot) or
            the value has no slot of its own.

        """
        for j, c in enumerate(self.cond_columns):
            info = self.columns[c]
            if info["name"] != name:
                continue
            key = float(value) if info["numeric"] else str(value)
            if key in info["values"]:
                return j, info["values"].index(key)
            raise ValueError(f"{value!r} is not a frequent value of column {name!r}: "
                             f"condition on one of {info['values'][:10]}")
        raise ValueError(f"column {name!r} cannot be conditioned on: only categorical (or "
                         "few-valued numeric) columns with two or more values can")

    # -- decode -------------------------------------------------------------

    def inverse(self, raw: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Decode raw generator outputs (before activation) into column values.

        Softmax blocks are sampled (Gumbel-max on the logits), ``tanh`` blocks
        squashed; numeric columns are clipped to the training range and rounded
        when integer.

        Parameters
        ----------
        raw : ndarray of shape (n, data_dim)
            Generator outputs.
        rng : numpy.random.Generator
            The draws of slots, modes and rare values.

        Returns
        -------
        dict of str to ndarray
            Values per column name (floats with NaN, or strings with NaN).

        """
        raw = np.asarray(raw, dtype=np.float64)
        n = raw.shape[0]
        out: dict[str, np.ndarray] = {}
        for info in self.columns:
            start, width = info["start"], info["width"]
            if info["kind"] == "continuous":
                alpha = np.tanh(raw[:, start])
                mode = _sample_slots(raw[:, start + 1: start + width], rng)
                means, stds = info["means"], info["stds"]
                k = np.minimum(mode, len(means) - 1)
                z = alpha * 4 * stds[k] + means[k]
                values = z * info["scale"] + info["center"]
                values[mode >= len(means)] = np.nan
                out[info["name"]] = finish_numeric(values, info)
                continue
            slot = _sample_slots(raw[:, start: start + width], rng)
            out[info["name"]] = self._decode_discrete(info, slot, rng, n)
        return out

    @staticmethod
    def _decode_discrete(info: Mapping[str, Any], slot: np.ndarray,
                         rng: np.random.Generator, n: int) -> np.ndarray:
        n_kept = len(info["values"])
        if info["numeric"]:
            values = np.full(n, np.nan)
            kept = slot < n_kept
            values[kept] = np.asarray(info["values"], dtype=np.float64)[slot[kept]]
            return values
        values = np.full(n, np.nan, dtype=object)
        kept = slot < n_kept
        values[kept] = np.asarray(info["values"], dtype=object)[slot[kept]]
        rare = (slot == n_kept) & bool(info["rare"])
        if rare.any():
            pool = np.asarray(info["rare_values"], dtype=object)
            values[rare] = pool[rng.choice(len(pool), size=int(rare.sum()),
                                           p=info["rare_probs"])]
        return values


def _sample_slots(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One slot per row drawn from ``softmax(logits)`` (Gumbel-max)."""
    if logits.shape[1] == 1:
        return np.zeros(len(logits), dtype=np.int64)
    gumbel = -np.log(-np.log(rng.random(logits.shape).clip(1e-12, 1 - 1e-12)))
    return np.argmax(logits + gumbel, axis=1).astype(np.int64)
