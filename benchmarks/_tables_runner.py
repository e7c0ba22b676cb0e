"""One fit of one tool on one split, run in its own process by ``benchmarks/tables.py``.

Usage (written by ``tables.py``, not meant to be typed)::

    python benchmarks/_tables_runner.py TOOL WORKDIR

``WORKDIR/job.json`` names the table, task, positive class, budget and seed;
``WORKDIR/train.npy`` and ``WORKDIR/test.npy`` hold row positions in the table's CSV.
The runner writes ``WORKDIR/pred.npy`` (the prediction, or the probability of the
positive class, for every test row) and ``WORKDIR/result.json`` (seconds of the
tool's model construction and fit call, imports and data loading not counted, the
process's ``ru_maxrss`` and its children's, a one-line detail, the error if any).

Only numpy, pandas and scikit-learn are imported at the top: the peers' interpreter
(``benchmarks/.peers-venv``) runs this file too, without the engine installed.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# this folder holds scripts named like modules (parallel.py, tabular.py ...): never import them
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def load(job: dict, workdir: Path) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return the training rows, their target and the test rows of the job's table."""
    frame = pd.read_csv(job["path"])
    X, y = frame.iloc[:, :-1], frame.iloc[:, -1]
    if job["task"] == "regression":
        y = y.astype(float)
    train, test = np.load(workdir / "train.npy"), np.load(workdir / "test.npy")
    return (X.iloc[train].reset_index(drop=True), y.iloc[train].reset_index(drop=True),
            X.iloc[test].reset_index(drop=True))


def positive_proba(proba: Any, classes: Any, positive: str) -> np.ndarray:
    """The column of ``proba`` whose class prints as ``positive``."""
    names = [str(c) for c in classes]
    if positive not in names:
        raise ValueError(f"positive class {positive!r} not among the model's classes {names}")
    return np.asarray(proba, dtype=float)[:, names.index(positive)]


def predict_sklearn_like(model: Any, X: pd.DataFrame, job: dict) -> np.ndarray:
    """Predictions (regression) or P(positive) from ``predict_proba`` and ``classes_``."""
    if job["task"] == "regression":
        return np.asarray(model.predict(X), dtype=float)
    return positive_proba(model.predict_proba(X), model.classes_, job["positive"])


def preload(tool: str) -> None:
    """Import what the tool needs, so that the fit's clock does not count imports."""
    if tool == "automl":
        if str(ROOT) not in sys.path:  # a source checkout without installing
            sys.path.insert(0, str(ROOT))
        from automl import AutoML  # noqa: F401
    else:
        importlib.import_module({"hgb": "sklearn.ensemble", "flaml": "flaml"}.get(
            tool, "autogluon.tabular"))


def fit_automl(X: pd.DataFrame, y: pd.Series, job: dict, workdir: Path) -> tuple[Any, str]:
    """``AutoML(time_budget, random_state)``, defaults otherwise; the task is given."""
    from automl import AutoML

    model = AutoML(time_budget=job["budget"], random_state=job["seed"], task=job["task"])
    return model.fit(X, y), automl_detail(model)


def automl_detail(model: Any) -> str:
    """Best model and trial counts, from the fitted attributes; '' where they moved."""
    try:
        trials = model.trials_
        ok = sum(trial.status == "ok" for trial in trials)
        return f"best={model.best_trial_.model} trials={ok}/{len(trials)}"
    except Exception:  # internals change: a missing detail must not fail the fit
        return ""


def fit_hgb(X: pd.DataFrame, y: pd.Series, job: dict, workdir: Path) -> tuple[Any, str]:
    """A default HistGradientBoosting model."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if job["task"] == "regression" \
        else HistGradientBoostingClassifier
    return cls(random_state=job["seed"]).fit(X, y), ""


def fit_flaml(X: pd.DataFrame, y: pd.Series, job: dict, workdir: Path) -> tuple[Any, str]:
    """``flaml.AutoML().fit(task, time_budget, seed, metric)``, defaults otherwise."""
    import flaml

    regression = job["task"] == "regression"
    model = flaml.AutoML()
    model.fit(X, y, task="regression" if regression else "classification",
              metric="r2" if regression else "roc_auc",
              time_budget=job["budget"], seed=job["seed"], verbose=0)
    return model, f"best={model.best_estimator}"


def fit_autogluon(X: pd.DataFrame, y: pd.Series, job: dict, workdir: Path,
                  presets: str | None = None) -> tuple[Any, str]:
    """``TabularPredictor(label, eval_metric, problem_type).fit(time_limit)``.

    ``problem_type`` is given because an integer-valued regression target (wine
    quality) would otherwise be read as classes.
    """
    from autogluon.tabular import TabularPredictor

    regression = job["task"] == "regression"
    label = job["target"]
    predictor = TabularPredictor(label=label, eval_metric="r2" if regression else "roc_auc",
                                 problem_type=job["task"], path=str(workdir / "autogluon"),
                                 verbosity=0)
    extra = {"presets": presets} if presets else {}
    predictor.fit(X.assign(**{label: y.to_numpy()}), time_limit=job["budget"], **extra)
    return predictor, f"best={getattr(predictor, 'model_best', '?')}"


def fit_autogluon_best(X: pd.DataFrame, y: pd.Series, job: dict,
                       workdir: Path) -> tuple[Any, str]:
    """AutoGluon with ``presets="best_quality"``."""
    return fit_autogluon(X, y, job, workdir, presets="best_quality")


def predict_autogluon(predictor: Any, X: pd.DataFrame, job: dict) -> np.ndarray:
    """Predictions or P(positive) of a fitted ``TabularPredictor``."""
    if job["task"] == "regression":
        return np.asarray(predictor.predict(X), dtype=float)
    proba = predictor.predict_proba(X)
    return positive_proba(proba.to_numpy(), proba.columns, job["positive"])


FITTERS = {"automl": fit_automl, "hgb": fit_hgb, "flaml": fit_flaml,
           "autogluon": fit_autogluon, "autogluon_best": fit_autogluon_best}


def maxrss_mb() -> tuple[float, float]:
    """``ru_maxrss`` of this process and of its largest waited-for child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def run(tool: str, workdir: Path) -> dict:
    """Fit, predict and report; failures become the ``error`` field."""
    job = json.loads((workdir / "job.json").read_text())
    result: dict = {"fit_s": float("nan"), "detail": "", "error": ""}
    try:
        X, y, X_test = load(job, workdir)
        preload(tool)
        started = time.perf_counter()
        try:
            model, result["detail"] = FITTERS[tool](X, y, job, workdir)
        finally:
            result["fit_s"] = time.perf_counter() - started
        result["maxrss_self_mb"], result["maxrss_children_mb"] = maxrss_mb()
        predict = predict_autogluon if tool.startswith("autogluon") else predict_sklearn_like
        np.save(workdir / "pred.npy", predict(model, X_test, job))
    except BaseException as exc:  # reported to the parent, which goes on
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result["error"] = (f"{type(exc).__name__}: {exc}"[:400]
                           + f" (at {Path(where.filename).name}:{where.lineno})")
        traceback.print_exc()
    result.setdefault("maxrss_self_mb", maxrss_mb()[0])
    result.setdefault("maxrss_children_mb", maxrss_mb()[1])
    return result


def main() -> None:
    """``python _tables_runner.py TOOL WORKDIR``."""
    tool, workdir = sys.argv[1], Path(sys.argv[2])
    result = run(tool, workdir)
    (workdir / "result.json").write_text(json.dumps(result))
    sys.exit(1 if result["error"] else 0)


if __name__ == "__main__":
    main()
