"""Greedy ensemble selection over the out-of-fold predictions of finished trials.

:func:`select_ensemble`: greedy ensemble selection with replacement
(Caruana et al., 2004). Models are added one at a time, each time the one
whose addition gives the best metric of the averaged predictions; the best
prefix of that path is kept and the selection counts become weights. (The
other way to combine trials, stacking, is :mod:`automl.final.stacking`.)

The greedy arithmetic runs in torch on a CUDA device when one is asked for
(``device="cuda"``, or ``"auto"`` with a GPU present) and in numpy otherwise,
with the same result. torch is imported only on the CUDA path.

References
----------
R. Caruana, A. Niculescu-Mizil, G. Crew and A. Ksikes, "Ensemble Selection
from Libraries of Models", ICML 2004.

"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from automl.engine.records import TrialRecord
from automl.final._torch import _choose_backend, _greedy_torch
from automl.final.candidates import candidate_predictions, first_best, score_loss
from automl.metrics import Metric

__all__ = ["Ensemble", "select_ensemble"]

_TORCH_CHUNK_ELEMENTS = 1 << 26
"""Most candidate-average elements held at once on the device (float64: 512 MiB)."""


@dataclass
class Ensemble:
    """A weighted average of trials' predictions, found by greedy selection.

    Attributes
    ----------
    members : list of int
        Trial numbers of the selected trials, best-ranked first.
    weights : list of float
        Weight of each member (selection count over the ensemble size); they
        sum to 1.
    score : float
        The metric of the weighted out-of-fold predictions, on the rows where
        every candidate trial has a prediction. It was optimised on those same
        rows, so it is optimistic compared with a trial's score.
    path : list of float
        The metric of the running average after each greedy step.

    """

    members: list[int]
    weights: list[float]
    score: float
    path: list[float]

    def combine(self, predictions: Mapping[int, np.ndarray]) -> np.ndarray:
        """Weighted average of the members' predictions on new data.

        Parameters
        ----------
        predictions : mapping of int to numpy.ndarray
            Each member's predictions, keyed by trial number: ``(n, K)``
            probabilities for classification, ``(n,)`` values for regression.
            Keys of non-members are ignored.

        Returns
        -------
        numpy.ndarray
            The combined predictions (float64), of the members' shape.

        Raises
        ------
        KeyError
            If a member's predictions are missing.
        ValueError
            If the members' predictions differ in shape.

        """
        missing = [m for m in self.members if m not in predictions]
        if missing:
            raise KeyError(f"no predictions for ensemble member(s) {missing}")
        combined: np.ndarray | None = None
        for member, weight in zip(self.members, self.weights, strict=True):
            part = weight * np.asarray(predictions[member], dtype=np.float64)
            if combined is None:
                combined = part
            elif part.shape != combined.shape:
                raise ValueError(f"member {member} predicts shape {part.shape}, "
                                 f"expected {combined.shape}")
            else:
                combined = combined + part
        assert combined is not None  # an Ensemble always has a member
        return combined


def select_ensemble(
    records: Sequence[TrialRecord],
    y: np.ndarray,
    metric: Metric,
    *,
    max_models: int = 25,
    size: int = 50,
    device: str = "cpu",
    _backend: str | None = None,
) -> Ensemble:
    """Greedy ensemble selection with replacement over trials' out-of-fold predictions.

    Parameters
    ----------
    records : sequence of TrialRecord
        Finished trials. Those with status ``"ok"`` and out-of-fold
        predictions are candidates; the others are skipped.
    y : numpy.ndarray
        The training target: encoded labels ``0 .. K-1`` for classification,
        values for regression, aligned with the records' ``oof`` rows.
    metric : Metric
        The metric to optimise (its direction is respected).
    max_models : int, default=25
        The candidates are the ``max_models`` best trials by score (ties:
        lower trial number first).
    size : int, default=50
        Number of greedy steps; the best prefix of the path is kept (ties go
        to the shorter prefix).
    device : str, default="cpu"
        ``"cpu"`` runs in numpy; ``"cuda"`` (or ``"cuda:N"``) in torch on
        that device; ``"auto"`` picks CUDA when torch sees one.
    _backend : {"numpy", "torch"} or None
        Internal: force a backend (``"torch"`` with ``device="cpu"`` runs the
        torch code on the CPU, for tests).

    Returns
    -------
    Ensemble
        Members, weights, score and greedy path.

    Raises
    ------
    ValueError
        If no trial qualifies, if the out-of-fold predictions do not match
        ``y`` or one another in shape, if no row has every candidate's
        prediction, or if ``max_models`` or ``size`` is not positive.

    Notes
    -----
    Only the rows where every candidate trial has a finite prediction are
    used (a holdout validates a fraction of the rows; the rest are NaN). Each
    step scores every candidate as the next addition; candidates whose
    losses agree to a relative 1e-12 count as ties and the lower candidate
    index wins, so the result is deterministic and the same on both backends.

    """
    if max_models < 1 or size < 1:
        raise ValueError(f"max_models and size must be positive, got {max_models} and {size}")
    candidates, y_rows, preds = candidate_predictions(records, y, metric, max_models)
    backend, torch_device = _choose_backend(device, _backend)
    with warnings.catch_warnings():
        # float32 probabilities sum to 1 only to float32 precision; sklearn's log_loss
        # checks to float64 precision and would warn on every candidate
        warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")
        if backend == "torch":
            chosen, path = _greedy_torch(preds, y_rows, metric, size, torch_device,
                                         _TORCH_CHUNK_ELEMENTS)
        else:
            chosen, path = _greedy_numpy(preds, y_rows, metric, size)
    losses = np.array([score_loss(metric, s) for s in path])
    steps = first_best(losses) + 1
    counts = np.bincount(np.asarray(chosen[:steps]), minlength=len(candidates))
    members = [candidates[i].number for i in np.flatnonzero(counts)]
    weights = [float(counts[i] / steps) for i in np.flatnonzero(counts)]
    # the running average after ``steps`` steps is the weighted average, so the
    # score is the path's entry (computed by ``metric`` on numpy in both backends)
    return Ensemble(members=members, weights=weights, score=float(path[steps - 1]),
                    path=[float(s) for s in path])


def _greedy_numpy(preds: np.ndarray, y: np.ndarray, metric: Metric,
                  size: int) -> tuple[list[int], list[float]]:
    """Greedy selection in numpy: the candidate indices chosen and the score after each step."""
    total = np.zeros(preds.shape[1:], dtype=np.float64)
    chosen: list[int] = []
    path: list[float] = []
    for step in range(1, size + 1):
        scores = [metric(y, (total + preds[j]) / step) for j in range(len(preds))]
        j = first_best(np.array([score_loss(metric, s) for s in scores]))
        total += preds[j]
        chosen.append(j)
        path.append(scores[j])
    return chosen, path
