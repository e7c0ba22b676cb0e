import multiprocessing
import sqlite3

import numpy as np
import pytest

from automl.engine.records import TrialRecord
from automl.engine.storage import StudyMismatch, TrialStore


def record(number, score=0.9):
    return TrialRecord(number=number, model="m", params={"a": number}, status="ok",
                       score=score, fold_scores=[score, score], duration=0.5,
                       oof=np.arange(6, dtype=np.float32).reshape(3, 2) * number)


def test_round_trip_with_oof_and_failures(tmp_path):
    store = TrialStore(tmp_path / "runs.db", "s")
    store.open_study({"data": "x"})
    store.add(record(0))
    store.add(TrialRecord(number=1, model="m", params={}, status="failed",
                          error="ValueError: bad", duration=0.1))
    store.close()
    loaded = TrialStore(f"sqlite:///{tmp_path / 'runs.db'}", "s").load()
    assert [r.number for r in loaded] == [0, 1]
    assert loaded[0].oof.dtype == np.float32 and loaded[0].oof.shape == (3, 2)
    assert loaded[0].fold_scores == [0.9, 0.9] and loaded[0].params == {"a": 0}
    assert loaded[1].status == "failed" and loaded[1].error == "ValueError: bad"
    mode = sqlite3.connect(tmp_path / "runs.db").execute("PRAGMA journal_mode").fetchone()
    assert mode[0] == "wal"


def test_extra_measures_round_trip_and_older_files_gain_their_column(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a trial file written before trials kept extras
        db.executescript("""
            CREATE TABLE studies (name TEXT PRIMARY KEY, created REAL NOT NULL,
                                  attributes TEXT NOT NULL);
            CREATE TABLE trials (study TEXT NOT NULL, number INTEGER NOT NULL,
                model TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL, score REAL,
                fold_scores TEXT NOT NULL, duration REAL NOT NULL, error TEXT,
                fidelity REAL, oof BLOB, oof_shape TEXT, finished REAL NOT NULL,
                PRIMARY KEY (study, number));
            INSERT INTO studies VALUES ('s', 0, '{}');
            INSERT INTO trials VALUES ('s', 0, 'm', '{}', 'ok', 0.5, '[0.5]', 1.0, NULL,
                                       NULL, NULL, NULL, 0);
        """)
    store = TrialStore(path, "s")
    store.add(TrialRecord(number=1, model="m", params={}, status="ok", score=0.7,
                          extras={"tstr_r2": 0.25}))
    store.close()
    old, new = TrialStore(path, "s").load()
    assert old.extras == {} and old.score == 0.5
    assert new.extras == {"tstr_r2": 0.25}


def test_a_file_of_earlier_versions_is_upgraded_in_place(tmp_path):
    path = tmp_path / "v1.db"
    oof = (np.arange(6, dtype=np.float32).reshape(3, 2) / 7).tobytes()
    with sqlite3.connect(path) as db:  # the engine's own table, before its store was search's
        db.executescript("""
            CREATE TABLE studies (name TEXT PRIMARY KEY, created REAL NOT NULL,
                                  attributes TEXT NOT NULL);
            CREATE TABLE trials (study TEXT NOT NULL REFERENCES studies(name),
                number INTEGER NOT NULL, model TEXT NOT NULL, params TEXT NOT NULL,
                status TEXT NOT NULL, score REAL, fold_scores TEXT NOT NULL,
                duration REAL NOT NULL, error TEXT, fidelity REAL, oof BLOB, oof_shape TEXT,
                finished REAL NOT NULL, extras TEXT, PRIMARY KEY (study, number));
            INSERT INTO studies VALUES ('s', 0, '{"data": "x", "seed": 3}');
            INSERT INTO studies VALUES ('t', 0, '{}');
            INSERT INTO trials VALUES ('t', 0, 'm', '{}', 'timeout', NULL, '[]', 9.0,
                                       'killed after 9s', NULL, NULL, NULL, 5, '{}');
        """)
        db.execute("INSERT INTO trials VALUES ('s', 0, 'lr', '{\"C\": 0.5}', 'ok', 0.875, "
                   "'[0.75, 1.0]', 1.5, NULL, 0.25, ?, '[3, 2]', 7, '{\"tstr_r2\": 0.5}')",
                   (oof,))
    with TrialStore(path, "s") as store:
        store.open_study({"data": "x", "seed": 3})
        [old] = store.load()
        [raw] = store.trials()
    assert (old.model, old.params, old.score, old.fold_scores) == ("lr", {"C": 0.5}, 0.875,
                                                                   [0.75, 1.0])
    assert (old.duration, old.fidelity, old.extras) == (1.5, 0.25, {"tstr_r2": 0.5})
    np.testing.assert_array_equal(old.oof, np.arange(6, dtype=np.float32).reshape(3, 2) / 7)
    assert raw.trial.config == {"model": "lr", "lr:C": 0.5}  # a configuration of the search
    [timeout] = TrialStore(path, "t").load()
    assert (timeout.status, timeout.error, timeout.score) == ("timeout", "killed after 9s", None)
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(trials)")]
        (finished,) = db.execute("SELECT finished FROM trials WHERE study = 't'").fetchone()
    assert "config" in columns and "model" not in columns and finished == 5


def test_temporary_store_is_removed():
    store = TrialStore()
    path = store.path
    store.add(record(0))
    store.close()
    assert not path.exists()


def test_study_with_other_data_is_refused(tmp_path):
    TrialStore(tmp_path / "r.db", "s").open_study({"data": "a", "task": "binary"})
    with pytest.raises(StudyMismatch, match=r"made with other \['data'\]"):
        TrialStore(tmp_path / "r.db", "s").open_study({"data": "b", "task": "binary"})


def _writer(path, offset):
    store = TrialStore(path, "shared")
    for i in range(25):
        store.add(record(i, score=offset + i))
    store.close()


def test_two_processes_writing_one_study(tmp_path):
    path = tmp_path / "shared.db"
    TrialStore(path, "shared").open_study({})
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(path, k * 100)) for k in range(2)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    loaded = TrialStore(path, "shared").load()
    assert len(loaded) == 50
    assert sorted(r.number for r in loaded) == list(range(50))
    assert sorted(r.score for r in loaded) == sorted([float(i) for i in range(25)]
                                                     + [100.0 + i for i in range(25)])
