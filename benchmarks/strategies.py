"""Strategy benchmark: the engine's search strategies side by side at an equal trial budget.

Usage::

    python benchmarks/strategies.py [--trials 40] [--repeats 3] [--first-seed 0]
        [--datasets breast_cancer,wine,iris,digits,diabetes,bank]
        [--strategies bayesian,random,genetic]
        [--out benchmarks/results/strategies.csv]

For every data set and seed ``first_seed .. first_seed + repeats - 1`` the rows
are split 75/25 exactly as in ``benchmarks/tabular.py`` (same loader, same seeds).
On that split each strategy runs ``AutoML(max_trials=trials, time_budget=3600,
strategy=..., random_state=seed, n_jobs=1)``: the budget is a number of trials,
not seconds, so results do not depend on the load of the machine and the same
command gives the same trials. The portfolio of defaults (the first trials) is
shared by every strategy; what differs is how the remaining trials are proposed.

Two scores per fit: the best cross-validated score among the trials (``cv``, in the
search metric; what the strategy optimises) and the final model's score on the test
rows (``test``, the metric of ``benchmarks/tabular.py``). Also recorded: the number
of distinct models the trials built (``distinct``: configurations that differ only
in ways the space rounds away count once) and the fit time. A markdown table of
medians over the repeats goes to stdout, the raw runs to a CSV file.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from benchmarks.tabular import ALL_SETS, METRICS, load_dataset, score  # noqa: E402

STRATEGIES = ("bayesian", "random", "genetic")


@dataclass
class Run:
    """One fit of one strategy on one split, as written to the CSV file."""

    dataset: str
    task: str
    seed: int
    strategy: str
    trials: int
    search_metric: str = ""
    cv: float = float("nan")
    cv_loss: float = float("nan")
    metric: str = ""
    test: float = float("nan")
    n_ok: int = 0
    distinct: int = 0
    models: int = 0
    best_model: str = ""
    fit_s: float = float("nan")
    error: str = ""


def distinct_models(model: Any) -> int:
    """Count trials that build different estimators (rounded parameters compared)."""
    keys = set()
    for record in model.trials_:
        params = tuple(sorted((k, f"{v:.6g}" if isinstance(v, float) else repr(v))
                              for k, v in record.params.items()))
        keys.add((record.model, params))
    return len(keys)


def run_one(name: str, seed: int, strategy: str, trials: int, split: tuple,
            task: str) -> Run:
    """Fit one strategy on one split and score it, recording failures instead of raising."""
    from automl import AutoML
    from automl.registry import get_registry

    X_train, X_test, y_train, y_test = split
    run = Run(name, task, seed, strategy, trials, metric=METRICS[task][0])
    started = time.perf_counter()
    try:
        model = AutoML(max_trials=trials, time_budget=3600, strategy=strategy,
                       random_state=seed, n_jobs=1).fit(X_train, y_train)
        run.fit_s = time.perf_counter() - started
        best = model.best_trial_
        run.search_metric, run.cv = model.metric_, float(best.score)
        run.cv_loss = get_registry().metric(model.metric_).to_loss(run.cv)
        ok = [r for r in model.trials_ if r.status == "ok"]
        run.n_ok, run.distinct = len(ok), distinct_models(model)
        run.models, run.best_model = len({r.model for r in ok}), best.model
        run.test = score(task, model, X_test, y_test)[0]
    except Exception as exc:  # a benchmark reports failures and goes on
        run.error = f"{type(exc).__name__}: {exc}"[:300]
        print(f"  {strategy} failed on {name} seed {seed}: {run.error}", file=sys.stderr)
    return run


def benchmark(names: list[str], strategies: list[str], seeds: range,
              trials: int) -> pd.DataFrame:
    """Run every strategy on every data set and seed, one fit at a time."""
    runs = []
    for name in names:
        for seed in seeds:
            X, y, task = load_dataset(name, seed)
            stratify = None if task == "regression" else y
            split = train_test_split(X, y, test_size=0.25, shuffle=True,
                                     stratify=stratify, random_state=seed)
            for strategy in strategies:
                run = run_one(name, seed, strategy, trials, split, task)
                runs.append(run)
                print(f"{name} seed={seed} {strategy:<9} cv {run.search_metric}={run.cv:.5g} "
                      f"test {run.metric}={run.test:.5g} distinct={run.distinct}/{run.n_ok} "
                      f"models={run.models} best={run.best_model} fit={run.fit_s:.0f}s",
                      file=sys.stderr, flush=True)
    return pd.DataFrame([asdict(run) for run in runs])


def summarize(frame: pd.DataFrame, strategies: list[str]) -> str:
    """Markdown table of medians over seeds, and paired comparisons with random search."""
    base = "random" if "random" in strategies else strategies[0]
    lines = ["| data set | search metric | " + " | ".join(f"cv {s}" for s in strategies)
             + " | test metric | " + " | ".join(f"test {s}" for s in strategies)
             + " | distinct " + " / ".join(strategies)
             + f" | cv vs {base}: better/tie/worse per strategy |",
             "|---" * (2 * len(strategies) + 4) + "|"]
    tally = {s: [0, 0, 0] for s in strategies}
    for name, group in frame.groupby("dataset", sort=False):
        group = group[group.error == ""]
        med = group.groupby("strategy").median(numeric_only=True)
        counts = []
        for s in strategies:
            paired = group.pivot(index="seed", columns="strategy", values="cv_loss")
            if s not in paired or base not in paired:
                counts.append("-")
                continue
            diff = paired[s] - paired[base]
            better, worse = int((diff < -1e-12).sum()), int((diff > 1e-12).sum())
            counts.append(f"{better}/{len(diff) - better - worse}/{worse}")
            verdict = np.sign(np.median(diff)) if len(diff) else 0
            tally[s][0 if verdict < 0 else 1 if verdict == 0 else 2] += 1
        row = [name, group.search_metric.iloc[0]]
        row += [f"{med.cv.get(s, np.nan):.5g}" for s in strategies]
        row += [group.metric.iloc[0]] + [f"{med.test.get(s, np.nan):.4f}" for s in strategies]
        row += [" / ".join(f"{med.distinct.get(s, np.nan):.0f}" for s in strategies)]
        row += ["; ".join(f"{s} {c}" for s, c in zip(strategies, counts, strict=True)
                          if s != base)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for s in strategies:
        if s != base:
            b, t, w = tally[s]
            lines.append(f"- {s} vs {base} (median paired cv loss per data set): "
                         f"better on {b}, equal on {t}, worse on {w}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print the table and write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--datasets", default=",".join(ALL_SETS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/strategies.csv"))
    args = parser.parse_args(argv)
    names, strategies = args.datasets.split(","), args.strategies.split(",")
    if unknown := sorted(set(names) - set(ALL_SETS)):
        parser.error(f"unknown data sets {unknown}; known: {', '.join(ALL_SETS)}")
    started = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.repeats)
    frame = benchmark(names, strategies, seeds, args.trials)
    print(summarize(frame, strategies))
    print(f"\nRun time {time.perf_counter() - started:.0f} s; {args.repeats} seeds, "
          f"{args.trials} trials per fit.")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"Raw results: {args.out}")


if __name__ == "__main__":
    main()
