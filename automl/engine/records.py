"""The record of one finished trial, shared by the engine, workers and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TrialRecord:
    """One finished trial, as the leaderboard, the storage and the ensemble see it.

    Attributes
    ----------
    number : int
        Trial number, in the order the strategy proposed it.
    model : str
        Name of the model spec.
    params : dict
        The spec's own hyperparameters.
    status : str
        ``"ok"``, ``"failed"``, ``"timeout"`` or ``"out_of_memory"``.
    score : float or None
        The search metric on out-of-fold predictions (None unless ok).
    fold_scores : list of float
        The metric per validation fold.
    duration : float
        Wall-clock seconds of the trial.
    error : str or None
        Why the trial failed.
    fidelity : float or None
        The fidelity the trial ran at (None: full).
    oof : numpy.ndarray or None
        Out-of-fold predictions (float32) for ensembles.
    extras : dict of str to float
        Further measures of the trial that the search does not optimise
        (generation: ``tstr_*``, train-on-synthetic-test-on-real).
    peak_memory : int or None
        Largest resident memory of the trial's worker process seen while it
        ran, in bytes (None where it was not measured: in-process and Dask
        trials, trials too short to be sampled).
    """

    number: int
    model: str
    params: dict[str, Any]
    status: str
    score: float | None = None
    fold_scores: list[float] = field(default_factory=list)
    duration: float = 0.0
    error: str | None = None
    fidelity: float | None = None
    oof: np.ndarray | None = None
    extras: dict[str, float] = field(default_factory=dict)
    peak_memory: int | None = None
