import multiprocessing
import sqlite3

import numpy as np
import pytest

from automl.records import TrialRecord
from automl.storage import StudyMismatch, TrialStore


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
