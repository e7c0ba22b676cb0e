"""The time the final model needs: a trial's refit, and the reserve kept for building it."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from automl.engine.records import TrialRecord
from automl.final.candidates import (
    CANDIDATES_PER_MODEL,
    CANDIDATES_TOP,
    ranked,
    top_and_per_model,
)
from automl.metrics import Metric

REFIT_MARGIN = 1.5
"""A final refit sees all rows: it is budgeted at this multiple of one fold's fit time,
and its fit may take this multiple of a fold's ``Context.time_limit``."""

RESERVE_SHARE = 0.25
"""The optional refits of other families' best trials may reserve up to this share
of the time budget (see :class:`FinalReserve`)."""


def refit_seconds(record: TrialRecord) -> float:
    """Expected seconds to refit a trial on all rows."""
    return REFIT_MARGIN * record.duration / max(1, len(record.fold_scores))


class FinalReserve:
    """Seconds to keep free at the end of the search for building the final model.

    The refit of the best trial and the greedy selection (estimated from one
    timed metric call) are always kept. The refits of the best trial of every
    other model family (the likely ensemble members) are kept up to
    ``ceiling`` in all: a member that cannot be refitted in time is dropped
    from the ensemble, while a reserve for a slow family that selection
    would not pick anyway (a weak network on a large table) can take half of
    a short budget from the search.

    Parameters
    ----------
    metric : Metric
        The search metric.
    y : numpy.ndarray
        Encoded training target.
    ensemble_size : int
        Greedy selection steps (0: no ensemble).
    ceiling : float, default=inf
        Seconds the optional refits may bring the reserve up to.
    """

    def __init__(self, metric: Metric, y: np.ndarray, ensemble_size: int,
                 ceiling: float = float("inf")) -> None:
        self.metric, self.y, self.ensemble_size = metric, y, ensemble_size
        self.ceiling = ceiling
        self._metric_seconds: float | None = None

    def __call__(self, records: Sequence[TrialRecord]) -> float:
        """Seconds to reserve given the trials so far."""
        candidates = ranked(records, self.metric)
        if not candidates:
            return 0.0
        required = refit_seconds(candidates[0])
        if self.ensemble_size == 0:
            return required
        # copies are counted too (an upper bound): the deadline is checked before
        # every trial, and finding them would hash every trial's predictions each time
        choices = len(top_and_per_model(candidates, CANDIDATES_TOP, CANDIDATES_PER_MODEL))
        required += choices * self.ensemble_size * self._time_metric(candidates[0])
        family_best: dict[str, TrialRecord] = {}
        for record in candidates[1:]:
            if record.model != candidates[0].model:
                family_best.setdefault(record.model, record)
        optional = sum(refit_seconds(r) for r in family_best.values())
        return max(required, min(required + optional, self.ceiling))

    def _time_metric(self, record: TrialRecord) -> float:
        """Seconds of one metric call on the out-of-fold predictions, measured once.

        The first call is not timed: it pays one-off costs (a metric's lazy
        imports, for one, 0.7 s for ``roc_auc``) that the thousands of calls
        of greedy selection do not, and timing it made the reserve several
        times too large on big tables.
        """
        if self._metric_seconds is None:
            rows = np.all(np.isfinite(record.oof.reshape(len(self.y), -1)), axis=1)
            y, prediction = self.y[rows], record.oof[rows].astype(float)
            self.metric(y, prediction)
            started = time.perf_counter()
            self.metric(y, prediction)
            self._metric_seconds = time.perf_counter() - started
        return self._metric_seconds
