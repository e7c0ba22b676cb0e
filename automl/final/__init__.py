"""The final model: greedy ensemble selection, stacking, and the refits behind them.

* :mod:`~automl.final.candidates`: which trials the final model is built from;
* :mod:`~automl.final.ensemble` (+ ``_torch``): greedy ensemble selection with
  replacement over out-of-fold predictions, in numpy or in torch on CUDA;
* :mod:`~automl.final.stacking`: a regularised linear model over them;
* :mod:`~automl.final.build`: :func:`build_final`, which picks one of those or
  the best trial and refits its members on all rows within the budget;
* :mod:`~automl.final.model`: :class:`FinalModel`, what ``predict`` runs;
* :mod:`~automl.final.reserve`: the time kept for all this at the end of the
  search (:class:`FinalReserve`).
"""

from automl.final.build import FinalChoice, build_final, refit_context
from automl.final.candidates import (
    CANDIDATES_PER_MODEL,
    CANDIDATES_TOP,
    ensemble_candidates,
    ranked,
)
from automl.final.ensemble import Ensemble, select_ensemble
from automl.final.model import FinalModel
from automl.final.reserve import REFIT_MARGIN, RESERVE_SHARE, FinalReserve, refit_seconds
from automl.final.stacking import StackedEnsemble, stack

__all__ = [
    "CANDIDATES_PER_MODEL",
    "CANDIDATES_TOP",
    "REFIT_MARGIN",
    "RESERVE_SHARE",
    "Ensemble",
    "FinalChoice",
    "FinalModel",
    "FinalReserve",
    "StackedEnsemble",
    "build_final",
    "ensemble_candidates",
    "ranked",
    "refit_context",
    "refit_seconds",
    "select_ensemble",
    "stack",
]
