"""Ctrl-C during fit, as a terminal sends it: SIGINT to the whole process group.

Each test runs a real fit in a subprocess of its own session (its own process
group, so that the signal reaches its loky workers as it would in a terminal),
and checks what a user sees and that no process of the group is left.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from automl import AutoML, ModelSpec
from search import Float, Space

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")

SCRIPT = textwrap.dedent("""
    import sys
    from sklearn.datasets import make_classification
    from automl import AutoML

    X, y = make_classification(n_samples=int(sys.argv[2]), n_features=20, random_state=0)
    model = AutoML(time_budget=float(sys.argv[4]), storage=sys.argv[1], random_state=0,
                   verbose=2,
                   models=sys.argv[3].split(","))
    try:
        model.fit(X, y)
    except KeyboardInterrupt:
        print("no model", flush=True)
        sys.exit(130)
    print(f"fitted {len(model.trials_)} trials", flush=True)
""")


def _as_in_a_terminal():
    """SIGINT as a shell started from a terminal leaves it (a background job ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Fit:
    """A fit in a subprocess of its own process group, its stderr read as it comes."""

    def __init__(self, tmp_path, rows, models, budget=120):
        self.storage = tmp_path / "study.db"
        self.process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(self.storage), str(rows), ",".join(models),
             str(budget)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=_as_in_a_terminal)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, predicate, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.lines):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("never seen; stderr:\n" + "".join(self.lines))

    def interrupt(self):
        os.killpg(self.process.pid, signal.SIGINT)

    def finish(self, timeout=30):
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        stdout = self.process.stdout.read()
        return self.process.returncode, stdout, "".join(self.lines)

    def group_alive(self):
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait_group_gone(self, timeout=10):
        deadline = time.monotonic() + timeout
        while self.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        return not self.group_alive()


def trials_done(lines):
    return sum(" trial " in line and "roc_auc=" in line.split(" trial ", 1)[1]
               for line in lines)


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_trials_and_leaves_nothing_running(tmp_path):
    models = ["logistic_regression", "hist_gradient_boosting", "random_forest"]
    fit = Fit(tmp_path, rows=4000, models=models)
    fit.wait_for(lambda lines: trials_done(lines) >= 2)
    interrupted_at = time.monotonic()
    fit.interrupt()
    code, stdout, stderr = fit.finish()
    assert time.monotonic() - interrupted_at < 20
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "interrupted after" in stderr
    kept = int(stdout.split("fitted ", 1)[1].split()[0])
    assert kept >= 2
    assert fit.wait_group_gone(), "a worker of the interrupted fit is still running"
    # the study is resumable: a second fit starts from the kept trials
    X, y = make_classification(n_samples=4000, n_features=20, random_state=0)
    resumed = AutoML(storage=fit.storage, random_state=0, models=models,
                     max_trials=kept + 1).fit(X, y)
    assert len(resumed.trials_) == kept + 1


def test_ctrl_c_before_any_trial_finished_raises_keyboard_interrupt(tmp_path):
    fit = Fit(tmp_path, rows=30000, models=["random_forest"])
    fit.wait_for(lambda lines: any("searching" in line for line in lines))
    time.sleep(0.5)
    fit.interrupt()
    code, stdout, stderr = fit.finish()
    assert code == 130, stderr
    assert "no model" in stdout
    assert "interrupted before any trial finished" in stderr
    assert fit.wait_group_gone()


def test_no_worker_outlives_a_finished_fit_script(tmp_path):
    fit = Fit(tmp_path, rows=300, models=["logistic_regression"], budget=5)
    code, stdout, stderr = fit.finish(timeout=120)
    assert code == 0 and "fitted" in stdout, stderr
    assert fit.wait_group_gone(), "a loky worker or resource tracker outlived the script"


class SignalsItself(ClassifierMixin, BaseEstimator):
    """Sends SIGINT to its own process while fitting in a worker, as a terminal's Ctrl-C does."""

    def __init__(self, C=1.0, main_pid=None):
        self.C = C
        self.main_pid = main_pid

    def fit(self, X, y):
        if os.getpid() != self.main_pid:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def test_trial_workers_ignore_sigint():
    main = os.getpid()
    spec = ModelSpec(name="signals_itself", tasks={"classification"}, modalities={"tabular"},
                     space=Space([Float("C", 0.1, 10.0, log=True)]),
                     build=lambda config, ctx: SignalsItself(C=config["C"], main_pid=main),
                     defaults=[{"C": 1.0}], description="interrupts itself")
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    model = AutoML(models=[spec], max_trials=2, random_state=0, ensemble=None).fit(X, y)
    assert [t.status for t in model.trials_] == ["ok", "ok"], model.trials_[0].error
