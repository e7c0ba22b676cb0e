"""Resuming a study, including after the searching process is killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from automl import AutoML
from automl.engine.storage import TrialStore

MODELS = ["logistic_regression", "random_forest", "hist_gradient_boosting"]


@pytest.mark.slow
def test_resume_continues_the_trial_count(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    db = tmp_path / "runs.db"
    first = AutoML(time_budget=120, max_trials=4, random_state=0, models=MODELS,
                   storage=db, study="bc").fit(X, y)
    second = AutoML(time_budget=120, max_trials=7, random_state=0, models=MODELS,
                    storage=db, study="bc").fit(X, y)
    numbers = sorted(r.number for r in second.trials_)
    assert numbers == list(range(7))
    assert [r.params for r in second.trials_[:4]] == [r.params for r in first.trials_]
    # the resumed search proposes what an uninterrupted one would have
    straight = AutoML(time_budget=120, max_trials=7, random_state=0, models=MODELS).fit(X, y)
    assert [(r.model, r.params) for r in second.trials_] == \
        [(r.model, r.params) for r in sorted(straight.trials_, key=lambda r: r.number)]


SCRIPT = textwrap.dedent("""
    import sys
    from sklearn.datasets import load_breast_cancer
    from automl import AutoML
    X, y = load_breast_cancer(return_X_y=True)
    AutoML(time_budget=600, max_trials=200, random_state=0, storage=sys.argv[1],
           study="crash", models={models!r}).fit(X, y)
""").format(models=MODELS)


@pytest.mark.slow
def test_sigkill_mid_search_loses_no_finished_trial(tmp_path):
    db = tmp_path / "crash.db"
    script = tmp_path / "crashing_search.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, str(script), str(db)], env=env)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if db.exists() and len(TrialStore(db, "crash").load()) >= 5:
                break
        else:
            raise AssertionError("the search stored fewer than 5 trials in 120 s")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    before = TrialStore(db, "crash").load()
    assert len(before) >= 5
    orphan = list(Path(tempfile.gettempdir()).glob(f"automl-data-{process.pid}-*.pkl"))
    assert len(orphan) == 1  # the killed fit could not remove its data file
    X, y = load_breast_cancer(return_X_y=True)
    resumed = AutoML(time_budget=120, max_trials=len(before) + 3, random_state=0,
                     storage=db, study="crash", models=MODELS).fit(X, y)
    after = {r.number: r for r in resumed.trials_}
    assert len(after) == len(before) + 3
    for old in before:  # every finished trial survived, unchanged
        assert after[old.number].params == old.params
        assert after[old.number].score == old.score
    assert sorted(after) == list(range(len(before) + 3))
    assert not orphan[0].exists()  # the next fit's pool removed it


def test_resume_without_random_state_reuses_the_study_seed(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    db = tmp_path / "runs.db"
    AutoML(time_budget=120, max_trials=3, models=MODELS, storage=db).fit(X, y)
    second = AutoML(time_budget=120, max_trials=5, models=MODELS, storage=db).fit(X, y)
    assert sorted(r.number for r in second.trials_) == list(range(5))
    with pytest.raises(ValueError, match=r"made with other \['seed'\]"):
        AutoML(time_budget=60, max_trials=6, models=MODELS, storage=db,
               random_state=12345).fit(X, y)
