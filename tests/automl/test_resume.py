"""Resuming a study, including after the searching process is killed with SIGKILL."""

import json
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

from automl import AutoML, ModelSpec
from automl.engine.storage import TrialStore
from automl.registry import get_registry
from search import Float, Space
from tests.automl.priors import ClassPrior

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


class SlowRefit(ClassPrior):
    """A class prior whose fit on all 569 rows (the final refit) marks ``flag`` and hangs."""

    def __init__(self, shrink=0.0, flag=""):
        self.shrink, self.flag = shrink, flag

    def toward_uniform(self):
        return self.shrink

    def before_fit(self, X, y):
        if len(X) == 569 and self.flag:
            Path(self.flag).write_text("refitting")
            time.sleep(300)


def slow_refit_spec(flag: str) -> ModelSpec:
    """The spec of :class:`SlowRefit`; ``flag`` empty: its refit does not hang."""
    return ModelSpec(name="slow_refit", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Float("shrink", 0.0, 0.9)]),
                     build=lambda config, ctx: SlowRefit(config["shrink"], flag),
                     description="hangs in its final refit")


REFIT_SCRIPT = textwrap.dedent("""
    import sys
    from sklearn.datasets import load_breast_cancer
    from automl import AutoML
    from automl.registry import get_registry
    from tests.automl.test_resume import slow_refit_spec

    get_registry().models["slow_refit"] = slow_refit_spec(sys.argv[2])
    X, y = load_breast_cancer(return_X_y=True)
    AutoML(max_trials=4, random_state=0, storage=sys.argv[1], study="refit",
           models=["slow_refit"]).fit(X, y)
""")


def test_sigkill_during_the_final_refit_then_fit_again_builds_the_model(tmp_path,
                                                                        monkeypatch):
    db, flag = tmp_path / "refit.db", tmp_path / "refitting"
    script = tmp_path / "refit_search.py"
    script.write_text(REFIT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    process = subprocess.Popen([sys.executable, str(script), str(db), str(flag)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert time.monotonic() < deadline, "the search never reached its final refit"
            time.sleep(0.1)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    stored = TrialStore(db, "refit").load()
    assert len(stored) == 4 and all(r.status == "ok" for r in stored)
    monkeypatch.setitem(get_registry().models, "slow_refit", slow_refit_spec(""))
    X, y = load_breast_cancer(return_X_y=True)
    again = AutoML(max_trials=4, random_state=0, storage=db, study="refit",
                   models=["slow_refit"]).fit(X, y)
    assert [(r.number, r.params, r.score) for r in again.trials_] == \
        [(r.number, r.params, r.score) for r in stored]  # no new trial, none lost
    assert again.predict_proba(X).shape == (569, 2)  # a complete model


WRITER_SCRIPT = textwrap.dedent("""
    import json, sys
    from sklearn.datasets import load_breast_cancer
    from automl import AutoML
    X, y = load_breast_cancer(return_X_y=True)
    model = AutoML(max_trials=6, random_state=0, storage=sys.argv[1], study="shared",
                   models=["logistic_regression", "random_forest"], cv=2, verbose=0).fit(X, y)
    print(json.dumps(sorted(r.number for r in model.trials_)))
""")


def test_three_processes_fit_one_study_at_once_and_a_reader_lists_it(tmp_path):
    db = tmp_path / "shared.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    writers = [subprocess.Popen([sys.executable, str(script), str(db)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(3)]
    seen = 0
    while any(w.poll() is None for w in writers):  # a reader lists the study meanwhile
        if db.exists():
            with TrialStore(db, "shared") as reader:
                seen = max(seen, len(reader.load()))
        time.sleep(0.2)
    outputs = [w.communicate() for w in writers]
    for writer, (_, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "locked" not in err
    stored = TrialStore(db, "shared").load()
    numbers = [r.number for r in stored]
    assert numbers == list(range(len(stored)))  # none lost, none stored twice
    ended = [set(json.loads(out)) for out, _ in outputs]
    assert set().union(*ended) == set(numbers)  # every writer's trials are there
    assert max(len(e) for e in ended) == len(stored)  # the last to end saw them all
    assert len(stored) < 3 * 6  # a configuration another writer fitted is not fitted again
    assert seen <= len(stored)
