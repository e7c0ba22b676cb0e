"""Crash-safe trial storage in SQLite.

Every finished trial is committed in its own transaction (WAL journal), with
its configuration, scores, extra measures, status, error, timing and
out-of-fold predictions (float32). A study is identified by its name;
fitting again with the same file and study resumes it. Several processes may
write the same study: writes take SQLite's write lock (``BEGIN IMMEDIATE``)
and a trial number already taken by another writer is moved to the next free
one.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from automl.records import TrialRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL,
    attributes TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    study TEXT NOT NULL REFERENCES studies(name),
    number INTEGER NOT NULL,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL,
    fold_scores TEXT NOT NULL,
    duration REAL NOT NULL,
    error TEXT,
    fidelity REAL,
    oof BLOB,
    oof_shape TEXT,
    finished REAL NOT NULL,
    extras TEXT,
    PRIMARY KEY (study, number)
);
"""
_COLUMNS = ("study, number, model, params, status, score, fold_scores, duration, error, "
            "fidelity, oof, oof_shape, finished, extras")
_PLACES = ", ".join("?" * len(_COLUMNS.split(",")))


class StudyMismatch(ValueError):
    """The stored study was made for other data, task or metric."""


class TrialStore:
    """The trial log of one study in a SQLite file.

    Parameters
    ----------
    path : str or Path, optional
        The database file; a temporary file (removed by :meth:`close`) when None.
        A ``sqlite:///path`` URL is accepted too.
    study : str
        Name of the study inside the file.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, study: str = "default") -> None:
        self._temporary = path is None
        if path is None:
            handle, path = tempfile.mkstemp(prefix="automl-", suffix=".db")
            os.close(handle)
        path = str(path)
        if path.startswith("sqlite:///"):
            path = path[len("sqlite:///"):]
        self.path = Path(path)
        if not self.path.parent.exists():
            raise ValueError(f"storage folder {self.path.parent} does not exist; create it first")
        self.study = study
        self._connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.executescript(SCHEMA)
        columns = {row[1] for row in self._connection.execute("PRAGMA table_info(trials)")}
        if "extras" not in columns:  # a file written before trials kept extra measures
            self._connection.execute("ALTER TABLE trials ADD COLUMN extras TEXT")

    def open_study(self, attributes: dict[str, Any]) -> None:
        """Create the study, or check that an existing one matches ``attributes``.

        Raises
        ------
        StudyMismatch
            When the study exists with different attributes (another data set,
            task or metric): resuming it would mix incomparable scores.
        """
        with self._write() as db:
            stored = self.study_attributes()
            if stored is None:
                db.execute("INSERT INTO studies VALUES (?, ?, ?)",
                           (self.study, time.time(), json.dumps(attributes, sort_keys=True)))
                return
        different = sorted(k for k in set(stored) | set(attributes)
                           if stored.get(k) != attributes.get(k))
        if different:
            raise StudyMismatch(
                f"study {self.study!r} in {self.path} was made with other {different}; "
                "use a new study name or the same data and settings"
            )

    def study_attributes(self) -> dict[str, Any] | None:
        """The attributes the study was created with, or None for a new study."""
        row = self._connection.execute("SELECT attributes FROM studies WHERE name = ?",
                                       (self.study,)).fetchone()
        return None if row is None else json.loads(row[0])

    def add(self, record: TrialRecord) -> TrialRecord:
        """Commit one finished trial; returns it with the number it was stored under."""
        oof = None if record.oof is None else np.ascontiguousarray(record.oof, np.float32)
        with self._write() as db:
            taken = db.execute("SELECT 1 FROM trials WHERE study = ? AND number = ?",
                               (self.study, record.number)).fetchone()
            if taken:
                (top,) = db.execute("SELECT MAX(number) FROM trials WHERE study = ?",
                                    (self.study,)).fetchone()
                record.number = int(top) + 1
            db.execute(
                f"INSERT INTO trials ({_COLUMNS}) VALUES ({_PLACES})",
                (self.study, record.number, record.model, json.dumps(record.params),
                 record.status, record.score, json.dumps(record.fold_scores),
                 record.duration, record.error, record.fidelity,
                 None if oof is None else oof.tobytes(),
                 None if oof is None else json.dumps(oof.shape), time.time(),
                 json.dumps(record.extras)),
            )
        return record

    def load(self) -> list[TrialRecord]:
        """Every stored trial of the study, in trial-number order."""
        rows = self._connection.execute(
            "SELECT number, model, params, status, score, fold_scores, duration, error, "
            "fidelity, oof, oof_shape, extras FROM trials WHERE study = ? ORDER BY number",
            (self.study,),
        ).fetchall()
        records = []
        for (number, model, params, status, score, folds, duration, error, fidelity,
             oof, shape, extras) in rows:
            array = None
            if oof is not None:
                array = np.frombuffer(oof, dtype=np.float32).reshape(json.loads(shape)).copy()
            records.append(TrialRecord(
                number=number, model=model, params=json.loads(params), status=status,
                score=score, fold_scores=json.loads(folds), duration=duration, error=error,
                fidelity=fidelity, oof=array, extras=json.loads(extras) if extras else {},
            ))
        return records

    def close(self) -> None:
        """Close the connection (and remove a temporary file)."""
        self._connection.close()
        if self._temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _write(self) -> _Transaction:
        return _Transaction(self._connection)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        self.connection.execute("ROLLBACK" if kind else "COMMIT")
