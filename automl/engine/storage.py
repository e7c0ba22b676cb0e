"""Crash-safe trial storage in SQLite: the search package's store, speaking ``TrialRecord``.

The engine keeps its trials in :class:`search._storage.TrialStore`, the one
store of every search (see there: one transaction per trial, WAL journal,
resumable studies named in one file). A trial's row holds its configuration
in the joined space (``model`` and the model's prefixed parameters), its
score as the objective value (as the metric gives it, not as a loss), its
status, error, duration (the cost) and fidelity; the fold scores and extra
measures are kept as JSON attributes and the out-of-fold predictions
(float32) as the binary payload. Several processes may write the same
study: writes take SQLite's write lock (``BEGIN IMMEDIATE``) and a trial
number already taken by another writer is moved to the next free one.

Files written before this layout (a ``trials`` table with ``model``,
``params``, ``score`` ... ``oof`` columns, with or without ``extras``) are
upgraded in place when opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import numpy as np

from automl.engine.model_search import MODEL_KEY, joint_config
from automl.engine.records import TrialRecord
from search import Observation, Space, Trial
from search._storage import StoredTrial, StudyMismatch
from search._storage import TrialStore as _SearchStore

__all__ = ["StudyMismatch", "TrialStore", "from_stored", "to_stored"]


class TrialStore(_SearchStore):
    """The trial log of one study in a SQLite file; a context manager.

    Parameters
    ----------
    path : str or Path, optional
        The database file; a temporary file (removed by :meth:`close`) when None.
        A ``sqlite:///path`` URL is accepted too.
    study : str
        Name of the study inside the file.
    """

    def add(self, record: TrialRecord) -> TrialRecord:
        """Commit one finished trial; returns it with the number it was stored under."""
        record.number = self.add_trial(to_stored(record), renumber=True)
        return record

    def load(self) -> list[TrialRecord]:
        """Every stored trial of the study, in trial-number order."""
        return [from_stored(stored) for stored in self.trials()]

    def load_others(self, known: Iterable[int]) -> list[TrialRecord]:
        """The stored trials whose numbers are not in ``known`` (other writers' trials).

        ``known`` must all be stored: then an equal count means nothing new, and
        the common case (one writer) costs one ``COUNT``.
        """
        known = set(known)
        if self.count() == len(known):
            return []
        missing = set(self.numbers()) - known
        return [from_stored(stored) for stored in self.trials_numbered(missing)]

    def _upgrade_trials(self, db: sqlite3.Connection, columns: set[str]) -> None:
        """Convert the rows of the engine's former trials table (see the module)."""
        if not {"model", "params", "score", "fold_scores", "oof"} <= columns:
            super()._upgrade_trials(db, columns)
        extras = "extras" if "extras" in columns else "NULL"
        rows = db.execute(
            "SELECT study, number, model, params, status, score, fold_scores, duration, "
            f"error, fidelity, oof, oof_shape, finished, {extras} FROM trials_old"
        )
        for (study, number, model, params, status, score, folds, duration, error, fidelity,
             oof, shape, finished, measures) in rows.fetchall():
            oof_array = None
            if oof is not None:
                oof_array = np.frombuffer(oof, dtype=np.float32).reshape(json.loads(shape))
            record = TrialRecord(
                number=number, model=model, params=json.loads(params), status=status,
                score=score, fold_scores=json.loads(folds), duration=duration, error=error,
                fidelity=fidelity, oof=oof_array,
                extras=json.loads(measures) if measures else {},
            )
            self._insert(db, to_stored(record), number, finished=finished, study=study)


def to_stored(record: TrialRecord) -> StoredTrial:
    """The trial record as the search package's store keeps it."""
    trial = Trial(record.number, joint_config(record.model, record.params), record.fidelity)
    if record.status == "ok":
        observation = Observation(value=record.score, cost=record.duration,
                                  fidelity=record.fidelity)
    else:
        observation = Observation(status=record.status, cost=record.duration,
                                  fidelity=record.fidelity)
    attributes: dict[str, Any] = {"fold_scores": list(record.fold_scores)}
    if record.extras:
        attributes["extras"] = dict(record.extras)
    if record.peak_memory is not None:
        attributes["peak_memory"] = int(record.peak_memory)
    payload = None
    if record.oof is not None:
        oof = np.ascontiguousarray(record.oof, np.float32)
        attributes["oof_shape"] = list(oof.shape)
        payload = oof.tobytes()
    return StoredTrial(trial, observation, record.error, attributes, payload)


def from_stored(stored: StoredTrial) -> TrialRecord:
    """The trial record of a stored trial (see :func:`to_stored`)."""
    model, params = Space.branch(stored.trial.config, MODEL_KEY)
    attributes, obs = stored.attributes, stored.observation
    oof = None
    if stored.payload is not None:
        oof = np.frombuffer(stored.payload, dtype=np.float32).reshape(
            attributes["oof_shape"]).copy()
    return TrialRecord(
        number=stored.trial.number, model=model, params=params, status=obs.status,
        score=obs.value, fold_scores=list(attributes.get("fold_scores", [])),
        duration=obs.cost, error=stored.error, fidelity=stored.trial.fidelity, oof=oof,
        extras=dict(attributes.get("extras", {})), peak_memory=attributes.get("peak_memory"),
    )
