"""Small non-tabular data: 5-fold cross-validation against a 20% holdout inside AutoML.

Usage::

    python benchmarks/small_data_cv.py [--tasks spike_order,word_order] [--rows 400]
        [--seeds 3] [--budget 45] [--out benchmarks/results/small-data-cv-<date>.csv]

For each task and seed, the generated task of ``--rows`` rows is split 75/25
(stratified); ``AutoML(time_budget=budget, random_state=seed, cv=...)`` is fitted
on the training rows once with ``cv=5`` and once with ``cv="holdout"``, one after
the other, and scored on the test rows (accuracy). This is the measurement behind
``cv="auto"`` for images, sequences and texts (5 folds up to
``AUTO_CV_MAX_ROWS_NON_TABULAR`` rows, a holdout above).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from benchmarks._modality_tasks import make_task, split_rows, take_rows  # noqa: E402

SETTINGS = {"5-fold": 5, "holdout": "holdout"}


def run_one(task_name: str, rows: int, seed: int, budget: float, cv: int | str) -> dict:
    """Fit one AutoML on the training part of a split and score it on the test part."""
    from automl import AutoML

    task = make_task(task_name, n_rows=rows, seed=seed)
    train, test = split_rows(task.y, seed)
    X_train, X_test = take_rows(task.X, train), take_rows(task.X, test)
    started = time.perf_counter()
    model = AutoML(time_budget=budget, random_state=seed, cv=cv, verbose=0).fit(
        X_train, task.y[train])
    fit_s = time.perf_counter() - started
    accuracy = float(np.mean(model.predict(X_test) == task.y[test]))
    ok = [t for t in model.trials_ if t.status == "ok"]
    return {"task": task_name, "rows": rows, "seed": seed, "cv": str(cv), "accuracy": accuracy,
            "fit_s": round(fit_s, 1), "trials_ok": len(ok), "trials": len(model.trials_),
            "best": model.best_trial_.model}


def summarize(results: pd.DataFrame) -> str:
    """Median test accuracy per task and setting, and the per-seed wins of 5-fold."""
    lines = ["| task | rows | 5-fold accuracy (median) | holdout accuracy (median) | "
             "5-fold better / tied / worse | trials ok 5-fold / holdout (median) |",
             "|---|---|---|---|---|---|"]
    for (task, rows), part in results.groupby(["task", "rows"], sort=False):
        wide = part.pivot(index="seed", columns="cv", values="accuracy")
        trials = part.groupby("cv")["trials_ok"].median()
        diff = wide["5"] - wide["holdout"]
        lines.append(f"| {task} | {rows} | {wide['5'].median():.3f} | "
                     f"{wide['holdout'].median():.3f} | {(diff > 0).sum()}/{(diff == 0).sum()}/"
                     f"{(diff < 0).sum()} | {trials['5']:.0f} / {trials['holdout']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run every task, seed and setting, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="spike_order,word_order")
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=45.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        f"small-data-cv-{datetime.date.today()}.csv")
    args = parser.parse_args(argv)
    rows = []
    for task in args.tasks.split(","):
        for seed in range(args.seeds):
            for cv in SETTINGS.values():
                rows.append(run_one(task, args.rows, seed, args.budget, cv))
                print(rows[-1], file=sys.stderr, flush=True)
    results = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    print(summarize(results))
    print(f"raw runs: {args.out}")


if __name__ == "__main__":
    main()
