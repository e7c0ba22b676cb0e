"""A small SQLite log of finished trials, for :func:`search.optimize` (private).

One file holds any number of studies. Every finished trial is one row,
written in its own transaction, so a crash never leaves half a trial; the
database runs in WAL mode so readers do not block the writer. Only the
standard library's :mod:`sqlite3` is used.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search.strategy import Observation, Trial

__all__ = ["StoredTrial", "TrialStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY,
    directions TEXT NOT NULL,
    seed INTEGER,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    study TEXT NOT NULL REFERENCES studies(name),
    number INTEGER NOT NULL,
    config TEXT NOT NULL,
    objectives TEXT,
    status TEXT NOT NULL,
    error TEXT,
    cost REAL NOT NULL,
    fidelity REAL,
    finished REAL NOT NULL,
    PRIMARY KEY (study, number)
);
"""


@dataclass(frozen=True)
class StoredTrial:
    """A finished trial as stored: values as the objective returned them."""

    trial: Trial
    observation: Observation
    error: str | None


class TrialStore:
    """Finished trials of named studies in one SQLite file.

    Parameters
    ----------
    path : str or os.PathLike
        The database file; created if missing.

    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._conn = sqlite3.connect(self.path, timeout=30.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        with self._conn:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def study(self, name: str) -> tuple[list[str], int | None] | None:
        """Return ``(directions, seed)`` of a study, or None if it does not exist."""
        row = self._conn.execute(
            "SELECT directions, seed FROM studies WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), row[1]

    def create_study(self, name: str, directions: Sequence[str], seed: int | None) -> None:
        """Create a study (no-op if it exists)."""
        with self._conn:
            self._conn.execute(
                "INSERT OR IGNORE INTO studies (name, directions, seed, created) "
                "VALUES (?, ?, ?, ?)",
                (name, json.dumps(list(directions)), seed, time.time()),
            )

    def add(self, study: str, record: StoredTrial) -> None:
        """Store one finished trial, atomically.

        Raises
        ------
        ValueError
            If the study already holds a trial with this number (two
            searches writing the same study at once).

        """
        trial, obs = record.trial, record.observation
        objectives = obs.values if obs.values is not None else obs.value
        try:
            with self._conn:
                self._conn.execute(
                    "INSERT INTO trials (study, number, config, objectives, status, error, "
                    "cost, fidelity, finished) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        study,
                        trial.number,
                        json.dumps(dict(trial.config), allow_nan=False),
                        None if objectives is None else json.dumps(objectives),
                        obs.status,
                        record.error,
                        obs.cost,
                        trial.fidelity,
                        time.time(),
                    ),
                )
        except sqlite3.IntegrityError:
            raise ValueError(
                f"study {study!r} in {self.path} already holds trial {trial.number}; is "
                "another search writing to the same study?"
            ) from None

    def trials(self, study: str) -> list[StoredTrial]:
        """Every stored trial of a study, by trial number."""
        rows = self._conn.execute(
            "SELECT number, config, objectives, status, error, cost, fidelity FROM trials "
            "WHERE study = ? ORDER BY number",
            (study,),
        ).fetchall()
        return [_from_row(row) for row in rows]


def _from_row(row: tuple[Any, ...]) -> StoredTrial:
    number, config, objectives, status, error, cost, fidelity = row
    trial = Trial(number, json.loads(config), fidelity)
    value = values = None
    if objectives is not None:
        loaded = json.loads(objectives)
        if isinstance(loaded, list):
            values = tuple(float(v) for v in loaded)
        else:
            value = float(loaded)
    if status == "ok" and value is None and values is None:
        status = "failed"
    if value is not None and not math.isfinite(value):
        value, status = None, "failed"
    observation = Observation(
        value=value, values=values, status=status, cost=cost, fidelity=fidelity
    )
    return StoredTrial(trial, observation, error)
