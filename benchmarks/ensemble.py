"""Does the final ensemble beat the best single trial on held-out data?

For every classification and regression data set scikit-learn ships, and
several split seeds: fit ``AutoML`` on 75% of the rows, then score on the other
25% (a) the final model (the greedy ensemble, or the best trial when the
ensemble was not kept) and (b) the best single trial refitted on the same
training rows. Prints a markdown table of medians and win counts.

    python benchmarks/ensemble.py [--budget 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split

from automl import AutoML
from automl.engine.evaluation import predict_matrix
from automl.registry import get_registry

SETS = ("breast_cancer", "wine", "iris", "digits", "diabetes")


def held_out(task: str, y_true: np.ndarray, prediction: np.ndarray, classes: np.ndarray
             ) -> float:
    """The task's default metric on test rows (ROC AUC, log loss or RMSE)."""
    if task == "regression":
        return float(np.sqrt(mean_squared_error(y_true, prediction)))
    codes = np.searchsorted(classes, y_true)
    if task == "binary":
        return float(roc_auc_score(codes, prediction[:, 1]))
    return float(log_loss(codes, np.clip(prediction, 1e-15, 1), labels=range(len(classes))))


def run(name: str, seed: int, budget: float) -> dict:
    """One split: the final model and the best single trial on the same test rows."""
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    regression = name == "diabetes"
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=None if regression else y)
    started = time.perf_counter()
    model = AutoML(time_budget=budget, random_state=seed).fit(X_train, y_train)
    fit_s = time.perf_counter() - started
    Xt_train, Xt_test = model.schema_.transform(X_train), model.schema_.transform(X_test)
    classes = getattr(model, "classes_", None)
    best = model.best_trial_
    spec = get_registry().model(best.model)
    single = spec.build(dict(best.params), _context(model, Xt_train, seed))
    y_codes = y_train if regression else np.searchsorted(classes, y_train)
    single.fit(Xt_train, y_codes)
    n_classes = None if regression else len(classes)
    final_pred = model.final_.predict_matrix(Xt_test)
    single_pred = predict_matrix(single, Xt_test, n_classes)
    return {
        "dataset": name, "seed": seed, "task": model.task_, "metric": model.metric_,
        "final": held_out(model.task_, y_test, final_pred, classes),
        "best_single": held_out(model.task_, y_test, single_pred, classes),
        "members": len(model.final_.estimators), "trials": len(model.trials_),
        "fit_s": fit_s,
    }


def _context(model: AutoML, X: pd.DataFrame, seed: int):
    from automl.specs import Context

    return Context(task=model.task_, n_rows=len(X), n_features=X.shape[1],
                   n_classes=len(getattr(model, "classes_", [])) or None,
                   numeric_columns=model.schema_.numeric,
                   categorical_columns=model.schema_.categorical, seed=seed,
                   n_threads=os.cpu_count() or 1)


def main() -> None:
    """Run every data set and seed, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = [run(name, seed, args.budget) for name in SETS for seed in range(args.repeats)]
    table = pd.DataFrame(rows)
    print(f"## Ensemble vs best single trial: budget {args.budget:g} s, "
          f"{args.repeats} splits per data set\n")
    print("| data set | metric | final (median) | best single (median) | final at least "
          "as good | median members | median trials |")
    print("|---|---|---|---|---|---|---|")
    for name, part in table.groupby("dataset", sort=False):
        lower_better = part["metric"].iloc[0] in ("log_loss", "rmse")
        wins = (part["final"] <= part["best_single"] + 1e-12) if lower_better \
            else (part["final"] >= part["best_single"] - 1e-12)
        print(f"| {name} | {part['metric'].iloc[0]}{' (lower better)' if lower_better else ''}"
              f" | {part['final'].median():.4f} | {part['best_single'].median():.4f} | "
              f"{int(wins.sum())}/{len(part)} | {part['members'].median():g} | "
              f"{part['trials'].median():g} |")
    print(f"\nMachine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
