"""The SQLite trial store of every search: :func:`search.optimize` and the AutoML engine (private).

One file holds any number of studies; a :class:`TrialStore` reads and
writes one of them. A study has JSON ``attributes`` (what it was made with:
directions and seed for ``optimize``; data, task, metric, seed for the
engine). Every finished trial is one row, committed in its own transaction
(WAL journal, ``BEGIN IMMEDIATE``), so a crash never leaves half a trial and
readers do not block the writer: its configuration, objectives (as the
objective returned them, not minimised), status, error, cost, fidelity, and
what else its caller keeps (JSON ``attributes`` and one binary ``payload``,
such as the engine's out-of-fold predictions). Fitting or optimising again
with the same file and study resumes it. Only the standard library's
:mod:`sqlite3` is used.

**Older files** are upgraded in place when opened (in one transaction):
``optimize`` files, whose studies kept ``directions`` and ``seed`` columns,
get those as attributes, and their trials the two new columns. A subclass
upgrades a layout of its own through :meth:`TrialStore._upgrade_trials` (the
engine's store does so for its former table).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search.strategy import Observation, Trial

__all__ = ["StoredTrial", "StudyMismatch", "TrialStore"]

_STUDIES = """CREATE TABLE studies (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL,
    attributes TEXT NOT NULL
)"""
_TRIALS = """CREATE TABLE trials (
    study TEXT NOT NULL REFERENCES studies(name),
    number INTEGER NOT NULL,
    config TEXT NOT NULL,
    objectives TEXT,
    status TEXT NOT NULL,
    error TEXT,
    cost REAL NOT NULL,
    fidelity REAL,
    finished REAL NOT NULL,
    attributes TEXT,
    payload BLOB,
    PRIMARY KEY (study, number)
)"""
_COLUMNS = ("study, number, config, objectives, status, error, cost, fidelity, finished, "
            "attributes, payload")
_PLACES = ", ".join("?" * len(_COLUMNS.split(",")))


class StudyMismatch(ValueError):
    """The stored study was made with other attributes (other data, settings or directions)."""


@dataclass(frozen=True)
class StoredTrial:
    """A finished trial as stored.

    Attributes
    ----------
    trial : Trial
        The trial as the strategy asked it.
    observation : Observation
        Its outcome, values as the objective returned them.
    error : str or None
        Why it failed.
    attributes : mapping
        What else the caller keeps with it (JSON-serialisable).
    payload : bytes or None
        One binary blob the caller keeps with it.

    """

    trial: Trial
    observation: Observation
    error: str | None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    payload: bytes | None = None


class TrialStore:
    """The finished trials of one study in a SQLite file; a context manager.

    Parameters
    ----------
    path : str, os.PathLike or None, default None
        The database file, created if missing (its folder must exist); a
        ``sqlite:///path`` URL is accepted too. None: a temporary file,
        removed by :meth:`close`.
    study : str, default "default"
        Name of the study inside the file.

    Raises
    ------
    ValueError
        If the folder does not exist, or the file holds tables of a layout
        this store cannot read.

    """

    def __init__(self, path: str | os.PathLike[str] | None = None, study: str = "default") -> None:
        self._temporary = path is None
        if path is None:
            handle, path = tempfile.mkstemp(prefix="search-", suffix=".db")
            os.close(handle)
        path = os.fspath(path)
        if path.startswith("sqlite:///"):
            path = path[len("sqlite:///"):]
        self.path = Path(path)
        if not self.path.parent.exists():
            raise ValueError(f"storage folder {self.path.parent} does not exist; create it first")
        self.study = study
        self._connection = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            with self._write() as db:
                self._prepare(db)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (and remove a temporary file)."""
        self._connection.close()
        if self._temporary:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # studies --------------------------------------------------------------------
    def study_attributes(self) -> dict[str, Any] | None:
        """The attributes the study was created with, or None for a new study."""
        row = self._connection.execute("SELECT attributes FROM studies WHERE name = ?",
                                       (self.study,)).fetchone()
        return None if row is None else json.loads(row[0])

    def create_study(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Create the study with ``attributes`` unless it exists; return its stored attributes."""
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO studies VALUES (?, ?, ?)",
                       (self.study, time.time(), json.dumps(dict(attributes), sort_keys=True)))
        stored = self.study_attributes()
        assert stored is not None
        return stored

    def open_study(self, attributes: Mapping[str, Any]) -> None:
        """Create the study, or check that an existing one matches ``attributes``.

        Raises
        ------
        StudyMismatch
            When the study exists with different attributes (another data set,
            task or metric): resuming it would mix incomparable results.

        """
        stored = self.create_study(attributes)
        different = sorted(k for k in set(stored) | set(attributes)
                           if stored.get(k) != attributes.get(k))
        if different:
            raise StudyMismatch(
                f"study {self.study!r} in {self.path} was made with other {different}; "
                "use a new study name or the same data and settings"
            )

    # trials ---------------------------------------------------------------------
    def add_trial(self, stored: StoredTrial, *, renumber: bool = False) -> int:
        """Commit one finished trial; return the number it was stored under.

        Parameters
        ----------
        stored : StoredTrial
            The trial.
        renumber : bool, default False
            What to do when the study already holds a trial with its number
            (another process writes the same study): store it under the next
            free number, or (False) raise.

        Raises
        ------
        ValueError
            If the number is taken and ``renumber`` is False.

        """
        number = stored.trial.number
        with self._write() as db:
            taken = db.execute("SELECT 1 FROM trials WHERE study = ? AND number = ?",
                               (self.study, number)).fetchone()
            if taken:
                if not renumber:
                    raise ValueError(
                        f"study {self.study!r} in {self.path} already holds trial {number}; "
                        "is another search writing to the same study?"
                    )
                (top,) = db.execute("SELECT MAX(number) FROM trials WHERE study = ?",
                                    (self.study,)).fetchone()
                number = int(top) + 1
            self._insert(db, stored, number)
        return number

    def trials(self) -> list[StoredTrial]:
        """Every stored trial of the study, by trial number."""
        rows = self._connection.execute(
            "SELECT number, config, objectives, status, error, cost, fidelity, attributes, "
            "payload FROM trials WHERE study = ? ORDER BY number",
            (self.study,),
        ).fetchall()
        return [_from_row(row) for row in rows]

    def count(self) -> int:
        """How many trials the study holds."""
        (n,) = self._connection.execute(
            "SELECT COUNT(*) FROM trials WHERE study = ?", (self.study,)).fetchone()
        return int(n)

    def numbers(self) -> list[int]:
        """The trial numbers the study holds (cheap: no trial is read)."""
        rows = self._connection.execute(
            "SELECT number FROM trials WHERE study = ? ORDER BY number", (self.study,)
        ).fetchall()
        return [int(number) for (number,) in rows]

    def trials_numbered(self, numbers: Iterable[int]) -> list[StoredTrial]:
        """The stored trials of the study with these numbers, by trial number."""
        wanted = sorted({int(n) for n in numbers})
        found: list[StoredTrial] = []
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start:start + 500]
            found += [_from_row(row) for row in self._connection.execute(
                "SELECT number, config, objectives, status, error, cost, fidelity, "
                f"attributes, payload FROM trials WHERE study = ? AND number IN "
                f"({', '.join('?' * len(chunk))}) ORDER BY number", (self.study, *chunk),
            ).fetchall()]
        return found

    # internals ------------------------------------------------------------------
    def _insert(self, db: sqlite3.Connection, stored: StoredTrial, number: int, *,
                finished: float | None = None, study: str | None = None) -> None:
        """Insert one row (of this store's study, unless ``study`` names another)."""
        trial, obs = stored.trial, stored.observation
        objectives = obs.values if obs.values is not None else obs.value
        db.execute(
            f"INSERT INTO trials ({_COLUMNS}) VALUES ({_PLACES})",
            (self.study if study is None else study, number,
             json.dumps(dict(trial.config), allow_nan=False),
             None if objectives is None else json.dumps(objectives), obs.status,
             stored.error, obs.cost, trial.fidelity,
             time.time() if finished is None else finished,
             json.dumps(dict(stored.attributes)) if stored.attributes else None,
             stored.payload),
        )

    def _prepare(self, db: sqlite3.Connection) -> None:
        """Create the tables, or upgrade those of an older layout."""
        studies = _columns(db, "studies")
        if not studies:
            db.execute(_STUDIES)
        elif "attributes" not in studies:  # optimize's former studies table
            rows = db.execute("SELECT name, created, directions, seed FROM studies").fetchall()
            db.execute("DROP TABLE studies")
            db.execute(_STUDIES)
            for name, created, directions, seed in rows:
                attributes = {"directions": json.loads(directions), "seed": seed}
                db.execute("INSERT INTO studies VALUES (?, ?, ?)",
                           (name, created, json.dumps(attributes, sort_keys=True)))
        trials = _columns(db, "trials")
        if not trials:
            db.execute(_TRIALS)
        elif "config" in trials:
            for column, kind in (("attributes", "TEXT"), ("payload", "BLOB")):
                if column not in trials:  # optimize's former trials table
                    db.execute(f"ALTER TABLE trials ADD COLUMN {column} {kind}")
        else:
            db.execute("ALTER TABLE trials RENAME TO trials_old")
            db.execute(_TRIALS)
            self._upgrade_trials(db, trials)
            db.execute("DROP TABLE trials_old")

    def _upgrade_trials(self, db: sqlite3.Connection, columns: set[str]) -> None:
        """Copy the rows of ``trials_old``, a trials table of another layout, into ``trials``.

        This store knows no other layout: it raises ValueError (and the
        upgrade is rolled back). A subclass that wrote one converts its rows,
        of every study, with :meth:`_insert`.
        """
        raise ValueError(
            f"{self.path} holds a trials table this store cannot read (columns "
            f"{sorted(columns)}); is it an AutoML storage file? Open it with "
            "automl.engine.storage.TrialStore"
        )

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


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def _from_row(row: tuple[Any, ...]) -> StoredTrial:
    number, config, objectives, status, error, cost, fidelity, attributes, payload = row
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
    return StoredTrial(trial, observation, error, json.loads(attributes) if attributes else {},
                       payload)
