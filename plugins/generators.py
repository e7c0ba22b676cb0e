"""The baseline generator for tables: the ``independent_columns`` spec.

:class:`IndependentColumnsGenerator` samples every column on its own from its
training marginal, so it reproduces each column's distribution, its missing
rate, its range and its integer values, and no dependence at all between
columns. It is the yardstick every other generator (``ctgan`` in
:mod:`plugins.neural.gan`) must beat on the classifier two-sample test of
:mod:`automl.tasks.generation`.

* Categorical columns: categories drawn with their training frequencies,
  missing counted as one more category.
* Numeric columns: a Gaussian kernel density estimate, i.e. an observed value
  drawn at random plus Gaussian jitter whose width is ``bandwidth`` times
  Silverman's rule of thumb (``0.9 min(std, IQR / 1.34) n^(-1/5)``); columns
  with at most ``discrete_threshold`` distinct values are resampled without
  jitter. Values are clipped to the training range and integer columns
  rounded; missing values come back at the training rate.

The spec serves ``task="generation"`` on tables; its one searched knob is the
bandwidth multiplier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from automl.specs import Context, ModelSpec
from automl.tasks.generation import (
    canonical_frame,
    check_generation_table,
    finish_numeric,
    generation_columns,
    numeric_facts,
)
from plugins._hooks import register_hook
from search import Float, Space

__all__ = [
    "INDEPENDENT_DEFAULTS",
    "INDEPENDENT_SPACE",
    "IndependentColumnsGenerator",
    "automl_register_models",
    "model_specs",
    "sample_seed",
]

INDEPENDENT_SPACE = Space([Float("bandwidth", 0.0, 2.0)])
INDEPENDENT_DEFAULTS = ({"bandwidth": 1.0},)


def sample_seed(random_state: Any, fitted_seed: int) -> int:
    """The seed of one ``sample`` call.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None
        What the caller passed to ``sample``; None reuses the generator's own
        seed, so that repeated calls give the same rows.
    fitted_seed : int
        The seed the generator was fitted with.

    Returns
    -------
    int
        A seed for ``numpy.random.default_rng`` and torch.

    """
    if random_state is None:
        return int(fitted_seed) + 1
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    return int(random_state)


def check_sample_size(n: Any) -> int:
    """``n`` as a non-negative int, or a ValueError naming the problem."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer number of rows, got {n!r}")
    return int(n)


class IndependentColumnsGenerator(BaseEstimator):
    """Sample each column independently from its training marginal.

    See the module docstring for how each kind of column is sampled.

    Parameters
    ----------
    numeric_columns, categorical_columns : sequence of str, optional
        Column kinds. Both None: numeric (non-boolean) dtypes are numeric,
        every other column is categorical.
    bandwidth : float, default=1.0
        Multiplier of Silverman's bandwidth for the jitter of numeric
        columns; 0 resamples observed values exactly.
    discrete_threshold : int, default=20
        Numeric columns with at most this many distinct values get no jitter.
    max_stored_values : int, default=10_000
        Most observed values kept per column (a seeded subsample beyond it).
    random_state : int, optional
        Seed; None draws one at fit time.

    Attributes
    ----------
    columns_ : list of str
        Training columns, in order.
    numeric_columns_, categorical_columns_ : list of str
        Column kinds.
    numeric_ : dict of str to dict
        Per numeric column: ``values`` (observed values kept), ``bandwidth``
        and the facts of :func:`automl.tasks.generation.numeric_facts`.
    categorical_ : dict of str to dict
        Per categorical column: ``categories`` (list of str), ``probabilities``
        and ``missing_rate``.
    seed_ : int
        The seed used in fit.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "x", None]})
    >>> gen = IndependentColumnsGenerator(random_state=0).fit(X)
    >>> gen.sample(3).shape
    (3, 2)

    """

    def __init__(
        self,
        *,
        numeric_columns: Sequence[str] | None = None,
        categorical_columns: Sequence[str] | None = None,
        bandwidth: float = 1.0,
        discrete_threshold: int = 20,
        max_stored_values: int = 10_000,
        random_state: int | None = 0,
    ) -> None:
        self.numeric_columns = numeric_columns
        self.categorical_columns = categorical_columns
        self.bandwidth = bandwidth
        self.discrete_threshold = discrete_threshold
        self.max_stored_values = max_stored_values
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> IndependentColumnsGenerator:
        """Learn every column's marginal distribution.

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array-like
            The table (canonical form, see :mod:`automl.tasks.generation`).
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        IndependentColumnsGenerator
            This fitted generator.

        Raises
        ------
        ValueError
            When the table has no rows or no column whose values vary, or for a
            negative ``bandwidth``.

        """
        if not float(self.bandwidth) >= 0:
            raise ValueError(f"bandwidth must be non-negative, got {self.bandwidth!r}")
        frame, numeric, categorical = generation_columns(
            X, self.numeric_columns, self.categorical_columns)
        check_generation_table(frame)
        self.seed_ = (int(self.random_state) if self.random_state is not None
                      else int(np.random.default_rng().integers(2**31 - 1)))
        rng = np.random.default_rng(self.seed_)
        self.columns_ = list(frame.columns)
        self.numeric_columns_, self.categorical_columns_ = numeric, categorical
        self.n_features_in_ = len(self.columns_)
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        self.numeric_ = {name: self._fit_numeric(frame[name].to_numpy(), rng)
                         for name in numeric}
        self.categorical_ = {name: self._fit_categorical(frame[name], rng)
                             for name in categorical}
        return self

    def _keep(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        limit = max(int(self.max_stored_values), 1)
        if len(values) <= limit:
            return values
        return values[np.sort(rng.choice(len(values), size=limit, replace=False))]

    def _fit_numeric(self, values: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
        values = np.asarray(values, dtype=np.float64)
        facts = numeric_facts(values)
        present = values[~np.isnan(values)]
        bandwidth = 0.0
        if np.unique(present).size > int(self.discrete_threshold):
            std = float(present.std())
            q75, q25 = np.percentile(present, [75, 25])
            spread = min(std, (q75 - q25) / 1.34) or std
            bandwidth = float(self.bandwidth) * 0.9 * spread * present.size ** -0.2
        return {"values": self._keep(present, rng), "bandwidth": bandwidth, **facts}

    def _fit_categorical(self, column: pd.Series, rng: np.random.Generator) -> dict[str, Any]:
        missing_rate = float(column.isna().mean())
        present = self._keep(column.dropna().to_numpy(dtype=object), rng)
        counts = pd.Series(present, dtype=object).value_counts()
        categories = sorted(counts.index, key=lambda v: (-int(counts[v]), v))
        total = float(counts.sum()) or 1.0
        return {"categories": [str(v) for v in categories],
                "probabilities": np.array([counts[v] / total for v in categories],
                                          dtype=np.float64),
                "missing_rate": missing_rate}

    def sample(self, n: int, random_state: Any = None) -> pd.DataFrame:
        """Draw ``n`` rows.

        Parameters
        ----------
        n : int
            Rows to draw (0 gives an empty table with the training columns).
        random_state : int or numpy.random.Generator, optional
            Seed of this draw; None reuses the fitted seed (the same rows each
            call).

        Returns
        -------
        pandas.DataFrame
            The training columns, in order, in canonical form.

        """
        check_is_fitted(self, "columns_")
        n = check_sample_size(n)
        rng = np.random.default_rng(sample_seed(random_state, self.seed_))
        out: dict[str, np.ndarray] = {}
        for name in self.columns_:
            if name in self.numeric_:
                out[name] = self._sample_numeric(self.numeric_[name], n, rng)
            else:
                out[name] = self._sample_categorical(self.categorical_[name], n, rng)
        return canonical_frame(out, self.columns_, self.numeric_columns_)

    @staticmethod
    def _sample_numeric(state: Mapping[str, Any], n: int,
                        rng: np.random.Generator) -> np.ndarray:
        missing = rng.random(n) < state["missing_rate"]
        values = np.full(n, np.nan)
        stored = np.asarray(state["values"], dtype=np.float64)
        if stored.size:
            values = rng.choice(stored, size=n)
            if state["bandwidth"] > 0:
                values = values + rng.normal(0.0, state["bandwidth"], size=n)
        values[missing] = np.nan
        return finish_numeric(values, state)

    @staticmethod
    def _sample_categorical(state: Mapping[str, Any], n: int,
                            rng: np.random.Generator) -> np.ndarray:
        missing = rng.random(n) < state["missing_rate"]
        values = np.full(n, np.nan, dtype=object)
        categories = np.asarray(state["categories"], dtype=object)
        if categories.size:
            values = categories[rng.choice(categories.size, size=n,
                                           p=state["probabilities"])]
        values[missing] = np.nan
        return values


def _build_independent(config: Mapping[str, Any], ctx: Context) -> IndependentColumnsGenerator:
    params = {**INDEPENDENT_DEFAULTS[0], **dict(config)}
    return IndependentColumnsGenerator(
        numeric_columns=tuple(ctx.numeric_columns),
        categorical_columns=tuple(ctx.categorical_columns),
        bandwidth=float(params["bandwidth"]),
        random_state=ctx.seed,
    )


def model_specs() -> list[ModelSpec]:
    """Return the baseline generator spec (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``independent_columns`` spec.

    """
    return [
        ModelSpec(
            name="independent_columns",
            tasks={"generation"},
            modalities={"tabular"},
            space=INDEPENDENT_SPACE,
            build=_build_independent,
            defaults=INDEPENDENT_DEFAULTS,
            description="baseline generator: every column sampled on its own from its "
                        "marginal (no dependence between columns)",
        )
    ]


automl_register_models = register_hook(model_specs, "baseline generator")
