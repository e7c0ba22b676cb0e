"""Tabular benchmark: ``AutoML`` against HistGradientBoosting and FLAML on the same splits.

Usage::

    python benchmarks/tabular.py [--budget 60] [--repeats 3] [--first-seed 0]
        [--datasets breast_cancer,wine,iris,digits,diabetes,bank] [--no-flaml]
        [--no-random | --noise-floor] [--out benchmarks/results/tabular-<date>.csv]

For every data set and every seed ``first_seed .. first_seed + repeats - 1`` the rows
are split once (75/25, stratified for classification, shuffled; ``bank`` also gets
10% of the cells of every feature column blanked) and, one after the other on that
split:

- ``AutoML(time_budget=budget, random_state=seed)``, defaults otherwise;
- a default ``HistGradientBoostingClassifier/Regressor`` with native categorical
  support (string columns become pandas ``category``);
- ``flaml.AutoML`` with the same time budget and seed, when flaml is installed;
- ``AutoML(strategy="random")``, the baseline of the default strategy (unless
  ``--no-random``), and with ``--noise-floor`` the same with ``random_state=seed + 1000``:
  two random searches differ only by chance, so they show how often and by how much
  a strategy's lead on these splits can come from chance alone.

Test-set scores: ROC AUC (binary), accuracy and log loss (multiclass), RMSE and R2
(regression). For AutoML also the score its search reached: the best trial's
cross-validated score in the search metric (``cv``). Every fit is timed. The raw
runs go to a CSV file; a markdown table of medians over the repeats goes to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

SKLEARN_SETS = {
    "breast_cancer": (datasets.load_breast_cancer, "binary"),
    "wine": (datasets.load_wine, "multiclass"),
    "iris": (datasets.load_iris, "multiclass"),
    "digits": (datasets.load_digits, "multiclass"),
    "diabetes": (datasets.load_diabetes, "regression"),
}
ALL_SETS = [*SKLEARN_SETS, "bank"]
METRICS = {  # task -> (main metric, second metric, higher main is better)
    "binary": ("roc_auc", "log_loss", True),
    "multiclass": ("accuracy", "log_loss", True),
    "regression": ("rmse", "r2", False),
}
BANK_BLANK_FRACTION = 0.1
TOOLS = ("automl", "automl_random", "hgb", "flaml")
RESEED = 1000  # the reseeded random search uses random_state = seed + RESEED


@dataclass
class Run:
    """One fit of one tool on one split, as written to the CSV file."""

    dataset: str
    task: str
    n_rows: int
    seed: int
    tool: str
    budget: float
    fit_s: float = float("nan")
    metric: str = ""
    score: float = float("nan")
    metric2: str = ""
    score2: float = float("nan")
    detail: str = ""
    error: str = ""
    cv_metric: str = ""
    cv: float = float("nan")


def load_dataset(name: str, seed: int) -> tuple[pd.DataFrame, pd.Series, str]:
    """Load a data set by name.

    Parameters
    ----------
    name : str
        A scikit-learn toy set (``breast_cancer``, ``wine``, ``iris``, ``digits``,
        ``diabetes``) or ``bank`` (UCI Bank Marketing, 10% of cells blanked).
    seed : int
        Seed of the blanked cells (``bank`` only).

    Returns
    -------
    X : pandas.DataFrame
    y : pandas.Series
    task : {"binary", "multiclass", "regression"}
    """
    if name == "bank":
        from automl.datasets import load_bank_marketing

        X, y = load_bank_marketing(blank_fraction=BANK_BLANK_FRACTION, seed=seed)
        return X, y, "binary"
    loader, task = SKLEARN_SETS[name]
    X, y = loader(return_X_y=True, as_frame=True)
    return X, y, task


def score(task: str, model: Any, X: pd.DataFrame, y: pd.Series) -> tuple[float, float]:
    """Score a fitted model on test rows.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        Picks the metrics, see ``METRICS``.
    model : estimator
        Fitted; classifiers need ``predict_proba`` and ``classes_``.
    X, y : test rows.

    Returns
    -------
    main, second : float
        ROC AUC and log loss (binary), accuracy and log loss (multiclass), RMSE and
        R2 (regression).
    """
    if task == "regression":
        prediction = np.asarray(model.predict(X), dtype=float)
        return root_mean_squared_error(y, prediction), r2_score(y, prediction)
    classes = np.asarray(model.classes_)
    proba = np.asarray(model.predict_proba(X), dtype=float)
    loss = log_loss(y, proba, labels=classes)
    if task == "binary":
        return roc_auc_score(y == classes[1], proba[:, 1]), loss
    return accuracy_score(y, np.asarray(model.predict(X))), loss


def fit_automl(X: pd.DataFrame, y: pd.Series, task: str, budget: float,
               seed: int, **params: Any) -> tuple[Any, str]:
    """Fit ``AutoML`` with its defaults; return the model and a one-line summary."""
    from automl import AutoML

    model = AutoML(time_budget=budget, random_state=seed, **params).fit(X, y)
    n_ok = sum(trial.status == "ok" for trial in model.trials_)
    members = len(model.final_.estimators)
    return model, (f"best={model.best_trial_.model} trials={n_ok}/{len(model.trials_)} "
                   f"ensemble_members={members}")


def fit_automl_random(X: pd.DataFrame, y: pd.Series, task: str, budget: float,
                      seed: int) -> tuple[Any, str]:
    """Fit ``AutoML(strategy="random")``: the baseline for the default strategy."""
    return fit_automl(X, y, task, budget, seed, strategy="random")


def fit_automl_random_reseeded(X: pd.DataFrame, y: pd.Series, task: str, budget: float,
                               seed: int) -> tuple[Any, str]:
    """Fit random search again with another ``random_state``: the noise floor.

    Its folds and its trials differ from ``automl_random``'s, its data do not, so
    the two differ only by chance: a difference between strategies smaller or rarer
    than theirs says nothing.
    """
    return fit_automl(X, y, task, budget, seed + RESEED, strategy="random")


def fit_hgb(X: pd.DataFrame, y: pd.Series, task: str, budget: float,
            seed: int) -> tuple[Any, str]:
    """Fit a default HistGradientBoosting model (categories from the ``category`` dtype)."""
    cls = HistGradientBoostingRegressor if task == "regression" \
        else HistGradientBoostingClassifier
    model = cls(categorical_features="from_dtype", random_state=seed)
    return model.fit(X, y), ""


def fit_flaml(X: pd.DataFrame, y: pd.Series, task: str, budget: float,
              seed: int) -> tuple[Any, str]:
    """Fit ``flaml.AutoML`` with the same budget and seed (without LightGBM if absent)."""
    import flaml

    extra = {}
    if importlib.util.find_spec("lightgbm") is None:  # flaml's default list needs it
        extra["estimator_list"] = ["xgboost", "xgb_limitdepth", "rf", "extra_tree"]
    model = flaml.AutoML()
    model.fit(X, y, task="regression" if task == "regression" else "classification",
              time_budget=budget, seed=seed, verbose=0, **extra)
    return model, f"best={model.best_estimator}"


def to_categorical(X_train: pd.DataFrame,
                   X_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn non-numeric columns into pandas ``category``, with the training categories.

    Returns
    -------
    X_train, X_test : pandas.DataFrame
        Copies; test values unseen in training become missing.
    """
    X_train, X_test = X_train.copy(), X_test.copy()
    for column in X_train.columns:
        if not pd.api.types.is_numeric_dtype(X_train[column]):
            X_train[column] = X_train[column].astype("category")
            X_test[column] = X_test[column].astype(X_train[column].dtype)
    return X_train, X_test


FITTERS = {"automl": fit_automl, "automl_random": fit_automl_random, "hgb": fit_hgb,
           "flaml": fit_flaml, "automl_random_reseeded": fit_automl_random_reseeded}


def run_one(tool: str, split: tuple, task: str, run: Run) -> Run:
    """Fit and score one tool on one split, recording failures instead of raising."""
    X_train, X_test, y_train, y_test = split
    if tool == "hgb":
        X_train, X_test = to_categorical(X_train, X_test)
    run.metric, run.metric2, _ = METRICS[task]
    started = time.perf_counter()
    try:
        try:
            model, run.detail = FITTERS[tool](X_train, y_train, task, run.budget, run.seed)
        finally:
            run.fit_s = time.perf_counter() - started
        run.score, run.score2 = score(task, model, X_test, y_test)
        if hasattr(model, "best_trial_"):  # AutoML: the score its search reached
            run.cv_metric, run.cv = model.metric_, model.best_trial_.score
    except Exception as exc:  # a benchmark reports failures and goes on
        run.error = f"{type(exc).__name__}: {exc}"[:300]
        print(f"  {tool} failed on {run.dataset} seed {run.seed}: {run.error}",
              file=sys.stderr)
    return run


def benchmark(names: list[str], budget: float, seeds: range, tools: list[str]) -> pd.DataFrame:
    """Run every tool on every data set and seed, one fit at a time.

    Returns
    -------
    pandas.DataFrame
        One row per fit, the fields of :class:`Run`.
    """
    runs = []
    for name in names:
        for seed in seeds:
            X, y, task = load_dataset(name, seed)
            stratify = None if task == "regression" else y
            split = train_test_split(X, y, test_size=0.25, shuffle=True,
                                     stratify=stratify, random_state=seed)
            for tool in tools:
                print(f"{name} seed={seed} {tool} ...", file=sys.stderr, flush=True)
                run = Run(name, task, len(X), seed, tool, budget)
                runs.append(run_one(tool, split, task, run))
                print(f"  {run.metric}={run.score:.4f} fit={run.fit_s:.1f}s {run.detail}",
                      file=sys.stderr, flush=True)
    return pd.DataFrame([asdict(run) for run in runs])


def compare(ours: pd.Series, theirs: pd.Series, higher_is_better: bool) -> str:
    """Median of paired per-split differences (scores) or ratios (RMSE)."""
    if theirs.isna().all() or ours.isna().all():
        return "-"
    if higher_is_better:
        return f"{np.nanmedian(ours.to_numpy() - theirs.to_numpy()):+.4f}"
    return f"{np.nanmedian(ours.to_numpy() / theirs.to_numpy()):.3f}x"


def summarize(results: pd.DataFrame, budget: float, tools: list[str]) -> str:
    """Render the markdown table of medians over repeats, one row per data set."""
    header = ["data set", "n rows", "metric", "AutoML", "AutoML random", "HGB", "FLAML",
              "AutoML vs HGB", "AutoML vs FLAML", "AutoML vs random",
              "search cv AutoML / random (better/tie/worse)",
              "2nd metric AutoML / random / HGB / FLAML",
              "AutoML fit s median / max", "within budget", "failed fits"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    limit = 1.05 * budget + 2
    for name, rows in results.groupby("dataset", sort=False):
        wide = rows.pivot(index="seed", columns="tool", values="score")
        wide2 = rows.pivot(index="seed", columns="tool", values="score2")
        wide, wide2 = wide.reindex(columns=TOOLS), wide2.reindex(columns=TOOLS)
        task = rows["task"].iloc[0]
        metric, metric2, higher = METRICS[task]
        medians = [fmt(wide[tool].median()) for tool in TOOLS]
        seconds = rows.loc[rows["tool"] == "automl", "fit_s"]
        within = (seconds <= limit).sum()
        second = " / ".join(fmt(wide2[tool].median()) for tool in TOOLS)
        lines.append("| " + " | ".join([
            name, str(rows["n_rows"].iloc[0]), metric + ("" if higher else " (lower better)"),
            *medians,
            compare(wide["automl"], wide["hgb"], higher),
            compare(wide["automl"], wide["flaml"], higher),
            compare(wide["automl"], wide["automl_random"], higher),
            search_scores(rows),
            f"{metric2}: {second}",
            f"{seconds.median():.1f} / {seconds.max():.1f} (budget {budget:g})",
            f"{within}/{len(seconds)}",
            str((rows["error"] != "").sum()),
        ]) + " |")
    legend = (
        "\nMedians over repeat seeds on a 75/25 split (test rows scored). "
        "'AutoML vs X' is the median of paired per-split differences AutoML - X for "
        "ROC AUC and accuracy (positive: AutoML better), and the median of per-split "
        "ratios AutoML / X for RMSE (below 1x: AutoML better). 'within budget': AutoML "
        f"fits that took at most 1.05 x budget + 2 s = {limit:g} s. "
        f"Tools run: {', '.join(tools)}."
    )
    return "\n".join(lines) + "\n" + legend


def search_scores(rows: pd.DataFrame) -> str:
    """Median best-trial cv of the default strategy and of random search, and the
    count of splits where the default reached a better, equal or worse score."""
    cv = rows.pivot(index="seed", columns="tool", values="cv").reindex(
        columns=["automl", "automl_random"])
    if cv.isna().all().any():
        return "-"
    name = rows.loc[rows["tool"] == "automl", "cv_metric"].iloc[0]
    from automl.registry import get_registry

    sign = 1.0 if get_registry().metric(name).greater_is_better else -1.0
    gain = sign * (cv["automl"] - cv["automl_random"]).to_numpy()
    return (f"{name}: {fmt(cv['automl'].median())} / {fmt(cv['automl_random'].median())} "
            f"({better_tie_worse(gain)})")


def better_tie_worse(gain: np.ndarray) -> str:
    """Count paired gains (positive: better) as 'better/tie/worse'."""
    return f"{(gain > 1e-9).sum()}/{(abs(gain) <= 1e-9).sum()}/{(gain < -1e-9).sum()}"


def noise_floor(results: pd.DataFrame) -> str:
    """Markdown table: the default against random search, next to two random searches.

    On the test rows, the paired per-split comparison of the default strategy with
    random search, and of the reseeded random search with random search:
    better/tie/worse counts and the median absolute difference. (Cross-validated
    scores are not compared with the reseeded run: its folds are other folds.)
    """
    header = ["data set", "splits", "test: default vs random", "test: reseeded vs random"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, rows in results.groupby("dataset", sort=False):
        sign = 1.0 if METRICS[rows["task"].iloc[0]][2] else -1.0
        wide = rows.pivot(index="seed", columns="tool", values="score")
        cells = []
        for tool in ("automl", "automl_random_reseeded"):
            gain = sign * (wide[tool] - wide["automl_random"]).to_numpy()
            gain = gain[np.isfinite(gain)]
            spread = np.median(np.abs(gain)) if len(gain) else float("nan")
            cells.append(f"{better_tie_worse(gain)} (median abs diff {spread:.4g})")
        lines.append("| " + " | ".join([name, str(rows["seed"].nunique()), *cells]) + " |")
    legend = ("\nbetter/tie/worse: splits where the first named did better than random "
              f"search, paired; 'reseeded' is random search with random_state + {RESEED}, "
              "which differs from random search only by chance (the noise floor).")
    return "\n".join(lines) + "\n" + legend


def fmt(value: float) -> str:
    """Format a score, '-' when missing."""
    return "-" if pd.isna(value) else f"{value:.4f}"


def machine_line() -> str:
    """Cores, Python and library versions, in one line."""
    versions = []
    for package in ("automl-engine", "numpy", "pandas", "scikit-learn", "xgboost",
                    "torch", "flaml", "lightgbm"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            if package == "automl-engine":
                import automl

                versions.append(f"automl {automl.__version__} (source)")
            else:
                versions.append(f"{package} not installed")
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"Machine: {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.system()}, load average {load} (1/5/15 min, at the end; above the "
            f"core count, timings are inflated); Python {platform.python_version()}; "
            + ", ".join(versions))


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the benchmark, write the CSV and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per fit for AutoML and FLAML (default 60)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="splits per data set (default 3)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seed of the first split (default 0)")
    parser.add_argument("--datasets", default=",".join(ALL_SETS),
                        help=f"comma-separated subset of {','.join(ALL_SETS)}")
    parser.add_argument("--no-flaml", action="store_true", help="skip FLAML")
    parser.add_argument("--no-random", action="store_true",
                        help="skip AutoML(strategy='random'), the baseline of the default")
    parser.add_argument("--noise-floor", action="store_true",
                        help="also run random search with another random_state, and print "
                             "how often two random searches differ by chance")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV of raw runs (default benchmarks/results/tabular-<date>.csv)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = sorted(set(names) - set(ALL_SETS))
    if unknown:
        parser.error(f"unknown data sets {unknown}; choose from {ALL_SETS}")
    tools = ["automl", "hgb"] if args.no_random else ["automl", "automl_random", "hgb"]
    if args.noise_floor:
        if args.no_random:
            parser.error("--noise-floor compares against random search; drop --no-random")
        tools.insert(2, "automl_random_reseeded")
    if args.no_flaml:
        flaml_note = "FLAML: skipped (--no-flaml)"
    elif importlib.util.find_spec("flaml") is None:
        flaml_note = "FLAML: not installed"
    else:
        tools.append("flaml")
        flaml_note = "FLAML: run"
    print(flaml_note, file=sys.stderr)

    seeds = range(args.first_seed, args.first_seed + args.repeats)
    results = benchmark(names, args.budget, seeds, tools)
    out = args.out or ROOT / "benchmarks" / "results" / \
        f"tabular-{datetime.date.today().isoformat()}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(out, index=False)

    print(f"## Tabular benchmark: budget {args.budget:g} s, {args.repeats} repeat(s)\n")
    print(summarize(results, args.budget, tools))
    if args.noise_floor:
        print("\n### The default and a reseeded random search, each paired with random search\n")
        print(noise_floor(results))
    print(f"\n{flaml_note}. Raw runs: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    print(machine_line())


if __name__ == "__main__":
    main()
