"""The SQLite trial store of every search: round trips, conflicts, older files."""

import sqlite3

import pytest

from search import Float, Observation, Space, Trial, optimize
from search._storage import StoredTrial, StudyMismatch, TrialStore


def plane():
    return Space([Float("x", -3.0, 3.0), Float("y", -3.0, 3.0)])


def quadratic(config):
    return (config["x"] - 1.0) ** 2 + (config["y"] + 0.5) ** 2


def stored(number, value=0.5, **kwargs):
    return StoredTrial(Trial(number, {"x": 0.1 * number}), Observation(value=value, cost=1.0),
                       None, **kwargs)


def test_round_trip_with_attributes_and_payload(tmp_path):
    with TrialStore(tmp_path / "s.db", "s") as store:
        store.open_study({"seed": 1})
        store.add_trial(stored(0, attributes={"folds": [0.5, 0.25]}, payload=b"\x00\x01"))
        store.add_trial(StoredTrial(Trial(1, {"x": 1.0}, 0.5),
                                    Observation.failed(cost=0.2, fidelity=0.5), "boom"))
        store.add_trial(StoredTrial(Trial(2, {"x": 2.0}), Observation(values=(1.0, 2.0)), None))
    with TrialStore(f"sqlite:///{tmp_path / 's.db'}", "s") as store:
        first, failed, pair = store.trials()
        assert store.study_attributes() == {"seed": 1}
    assert first.attributes == {"folds": [0.5, 0.25]} and first.payload == b"\x00\x01"
    assert first.observation.value == 0.5 and first.observation.cost == 1.0
    assert failed.observation.status == "failed" and failed.error == "boom"
    assert failed.trial.fidelity == 0.5 and failed.attributes == {} and failed.payload is None
    assert pair.observation.values == (1.0, 2.0)


def test_a_taken_number_raises_or_moves_to_the_next_free_one(tmp_path):
    with TrialStore(tmp_path / "s.db") as store:
        store.add_trial(stored(0))
        with pytest.raises(ValueError, match="already holds trial 0"):
            store.add_trial(stored(0))
        assert store.add_trial(stored(0), renumber=True) == 1
        assert [s.trial.number for s in store.trials()] == [0, 1]


def test_temporary_store_and_other_attributes(tmp_path):
    store = TrialStore()
    path = store.path
    store.open_study({"data": "a"})
    assert store.create_study({"data": "b"}) == {"data": "a"}  # kept, not replaced
    with pytest.raises(StudyMismatch, match=r"made with other \['data'\]"):
        store.open_study({"data": "b"})
    store.close()
    assert not path.exists()
    with pytest.raises(ValueError, match="does not exist"):
        TrialStore(tmp_path / "missing" / "s.db")


def _optimize_file_of_earlier_versions(path):
    """What ``search.optimize`` wrote before its store and the engine's were one."""
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE studies (name TEXT PRIMARY KEY, directions TEXT NOT NULL,
                                  seed INTEGER, created REAL NOT NULL);
            CREATE TABLE trials (study TEXT NOT NULL REFERENCES studies(name),
                number INTEGER NOT NULL, config TEXT NOT NULL, objectives TEXT,
                status TEXT NOT NULL, error TEXT, cost REAL NOT NULL, fidelity REAL,
                finished REAL NOT NULL, PRIMARY KEY (study, number));
            INSERT INTO studies VALUES ('s', '["minimize"]', 6, 0);
            INSERT INTO trials VALUES ('s', 0, '{"x": 1.0, "y": -0.5}', '0.0', 'ok', NULL,
                                       0.1, NULL, 0);
            INSERT INTO trials VALUES ('s', 1, '{"x": 2.0, "y": 0.0}', NULL, 'failed',
                                       'RuntimeError: diverged', 0.2, NULL, 0);
        """)


def test_an_optimize_file_of_earlier_versions_is_upgraded_and_resumes(tmp_path):
    path = tmp_path / "old.db"
    _optimize_file_of_earlier_versions(path)
    with TrialStore(path, "s") as store:
        assert store.study_attributes() == {"directions": ["minimize"], "seed": 6}
        ok, failed = store.trials()
    assert ok.observation.value == 0.0 and failed.error == "RuntimeError: diverged"
    result = optimize(quadratic, plane(), strategy="random", n_trials=3, storage=path,
                      study="s")
    assert [t.number for t, _, _ in result.trials] == [0, 1, 2, 3, 4]
    assert result.strategy.seed == 6 and result.best_value == 0.0
    with pytest.raises(ValueError, match="direction"):
        optimize(quadratic, plane(), n_trials=1, storage=path, study="s", direction="maximize")


def test_a_file_of_another_layout_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE trials (study TEXT, number INTEGER, model TEXT)")
    with pytest.raises(ValueError, match="cannot read"):
        TrialStore(path)
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        columns = [row[1] for row in db.execute("PRAGMA table_info(trials)")]
    assert tables == {"trials"} and columns == ["study", "number", "model"]
