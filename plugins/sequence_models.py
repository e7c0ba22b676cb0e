"""Models on per-channel summaries: the non-neural baselines for sequences.

Each sequence ``(T_i, F)`` becomes one row of ``7 F + 1`` numbers
(:class:`SequenceSummary`): for every channel its mean, standard deviation,
minimum, maximum, first and last value and the slope of its least-squares
line over the step index, then the length ``T_i``. Registers

* ``sequence_summary`` (classification and regression): histogram gradient
  boosting on those rows, the baseline proper;
* ``sequence_summary_logistic`` (classification) and
  ``sequence_summary_ridge`` (regression): standardised summaries into a
  linear model, a fit of a fraction of a second that gives a search a scored
  trial early, when every other trial is slow.

Search spaces, defaults, fidelities and thread handling are those of the
``hist_gradient_boosting``, ``logistic_regression`` and ``ridge`` specs of
:mod:`plugins.sklearn_models`, reused through
:func:`plugins._tabular_adapter.adapt_tabular_spec`.

Summaries ignore the order of events within a sequence beyond the trend, so
a recurrent or attention model should beat this baseline when order matters
(``benchmarks/modalities.py`` has such tasks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from automl.specs import Context, ModelSpec
from plugins import sklearn_models
from plugins._hooks import register_hook
from plugins._tabular_adapter import adapt_tabular_spec

__all__ = [
    "CHANNEL_STATISTICS",
    "SequenceSummary",
    "automl_register_models",
    "model_specs",
    "summarize_sequences",
    "summary_feature_names",
]

CHANNEL_STATISTICS = ("mean", "std", "min", "max", "first", "last", "slope")
"""Statistics computed per channel, in output order (the length comes last)."""


def _as_sequences(X: Any) -> list[np.ndarray]:
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return list(X)
    sequences = [np.asarray(s) for s in X]
    if not sequences:
        raise ValueError("no sequences to summarize")
    bad = [i for i, s in enumerate(sequences) if s.ndim != 2 or s.shape[0] == 0]
    if bad:
        raise ValueError(f"sequences {bad[:5]} are not non-empty (T, F) arrays")
    return sequences


def summarize_sequences(sequences: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Per-channel summary statistics and the length of each sequence.

    Vectorised over all sequences at once: the steps are concatenated and
    reduced per sequence with ``numpy.ufunc.reduceat``.

    Parameters
    ----------
    sequences : list of ndarray of shape (T_i, F), or ndarray of shape (N, T, F)
        Non-empty sequences with the same number of channels ``F``.

    Returns
    -------
    ndarray of shape (N, 7 * F + 1), float64
        Blocks of ``F`` columns in the order of :data:`CHANNEL_STATISTICS`
        (mean, population standard deviation, min, max, first value, last
        value, slope per step of the least-squares line; 0 for one-step
        sequences), then the length. See :func:`summary_feature_names`.

    Raises
    ------
    ValueError
        For no sequences, an empty or non-2-D sequence, or mixed channel counts.

    """
    items = _as_sequences(sequences)
    channels = {s.shape[1] for s in items}
    if len(channels) > 1:
        raise ValueError(f"sequences have different channel counts {sorted(channels)}")
    lengths = np.fromiter((s.shape[0] for s in items), dtype=np.int64, count=len(items))
    values = np.concatenate(items, axis=0).astype(np.float64, copy=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_steps = lengths[:, None].astype(np.float64)

    mean = np.add.reduceat(values, starts, axis=0) / n_steps
    centered = values - np.repeat(mean, lengths, axis=0)
    std = np.sqrt(np.add.reduceat(centered * centered, starts, axis=0) / n_steps)
    low = np.minimum.reduceat(values, starts, axis=0)
    high = np.maximum.reduceat(values, starts, axis=0)
    first = values[starts]
    last = values[starts + lengths - 1]
    # slope = sum((t - mean t) (x - mean x)) / sum((t - mean t)^2), t = 0 .. T-1
    step = np.arange(len(values), dtype=np.float64) - np.repeat(starts, lengths)
    step -= np.repeat((lengths - 1) / 2.0, lengths)
    covariance = np.add.reduceat(step[:, None] * centered, starts, axis=0)
    spread = lengths * (lengths.astype(np.float64) ** 2 - 1.0) / 12.0
    slope = np.divide(covariance, spread[:, None], out=np.zeros_like(covariance),
                      where=spread[:, None] > 0)
    return np.concatenate([mean, std, low, high, first, last, slope, n_steps], axis=1)


def summary_feature_names(n_channels: int) -> list[str]:
    """Names of the columns of :func:`summarize_sequences` for ``n_channels`` channels.

    Parameters
    ----------
    n_channels : int
        Channels ``F`` per step.

    Returns
    -------
    list of str
        ``"mean_0", ..., "mean_{F-1}", "std_0", ..., "slope_{F-1}", "length"``.

    """
    return [f"{stat}_{c}" for stat in CHANNEL_STATISTICS for c in range(int(n_channels))] \
        + ["length"]


class SequenceSummary(TransformerMixin, BaseEstimator):
    """Turn each ``(T_i, F)`` sequence into one row of summary features.

    A stateless transformer around :func:`summarize_sequences`: ``fit``
    records the channel count, which ``transform`` then checks.

    Attributes
    ----------
    n_channels_ : int
        Channels per step seen in ``fit``.

    """

    def fit(self, X: Any, y: Any = None) -> SequenceSummary:
        """Record the channel count of the sequences.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, F), or ndarray of shape (N, T, F)
            Training sequences.
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        SequenceSummary
            This transformer.

        """
        channels = sorted({s.shape[1] for s in _as_sequences(X)})
        if len(channels) > 1:
            raise ValueError(f"sequences have different channel counts {channels}")
        self.n_channels_ = int(channels[0])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Summaries of the sequences of ``X``.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, F), or ndarray of shape (N, T, F)
            Sequences with the channel count seen in ``fit``.

        Returns
        -------
        ndarray of shape (N, 7 * F + 1)
            See :func:`summarize_sequences`.

        Raises
        ------
        ValueError
            When the channel count differs from the one seen in ``fit``.

        """
        check_is_fitted(self, "n_channels_")
        features = summarize_sequences(X)
        channels = (features.shape[1] - 1) // len(CHANNEL_STATISTICS)
        if channels != self.n_channels_:
            raise ValueError(f"sequences have {channels} channels, but {self.n_channels_} "
                             "were seen in fit")
        return features

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the summary columns (see :func:`summary_feature_names`).

        Parameters
        ----------
        input_features : ignored
            Present for the scikit-learn API.

        Returns
        -------
        ndarray of str
            One name per output column.

        """
        check_is_fitted(self, "n_channels_")
        return np.asarray(summary_feature_names(self.n_channels_), dtype=object)


def _summary_width(ctx: Context) -> int:
    return len(CHANNEL_STATISTICS) * int(ctx.input_shape[0]) + 1


def _summary_step(ctx: Context) -> list[tuple[str, Any]]:
    return [("summary", SequenceSummary())]


def _passthrough(table_ctx: Context) -> str:
    return "passthrough"


def _scaler(table_ctx: Context) -> StandardScaler:
    return StandardScaler()


_ADAPTED = {  # tabular spec -> (sequence spec, preprocessing replacing the tabular one)
    "hist_gradient_boosting": ("sequence_summary", _passthrough),
    "logistic_regression": ("sequence_summary_logistic", _scaler),
    "ridge": ("sequence_summary_ridge", _scaler),
}


def model_specs() -> list[ModelSpec]:
    """Return the sequence model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        ``sequence_summary`` (gradient boosting), then the linear models on
        the same summaries, ``sequence_summary_logistic`` and
        ``sequence_summary_ridge``.

    """
    tabular = {spec.name: spec for spec in sklearn_models.model_specs()}
    # Summaries are finite and numeric: the tabular imputation has nothing to do.
    return [adapt_tabular_spec(
        tabular[source], name=name, modality="sequence", n_columns=_summary_width,
        featurizer=_summary_step, prep=prep, prefix="summary",
        description=f"{source} on per-channel summaries (mean, std, min, max, first, "
                    "last, slope) and the length of each sequence",
    ) for source, (name, prep) in _ADAPTED.items()]


automl_register_models = register_hook(model_specs, "sequence model specs")
