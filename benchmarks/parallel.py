"""Trials per minute with one and two worker processes, and budget adherence.

Searches cheap models (logistic regression, k-nearest neighbours) on the
breast cancer data with a fixed time budget at ``n_jobs=1`` and ``n_jobs=2``
(and on a two-worker Dask cluster on loopback when dask.distributed is
installed), and prints trials per minute, the ratio to one worker, and the
wall time of ``fit`` against the budget (target: within 5% + 2 s).

    python benchmarks/parallel.py [--budget 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from sklearn.datasets import load_breast_cancer

from automl import AutoML

MODELS = ["logistic_regression", "knn"]


def search(budget: float, seed: int, **params) -> tuple[float, float]:
    """Trials per minute and wall seconds of one search."""
    X, y = load_breast_cancer(return_X_y=True)
    started = time.perf_counter()
    model = AutoML(time_budget=budget, random_state=seed, models=MODELS,
                   strategy="random", ensemble_size=0, **params).fit(X, y)
    wall = time.perf_counter() - started
    return 60 * len(model.trials_) / wall, wall


def main() -> None:
    """Measure each setting ``repeats`` times and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = {"n_jobs=1": {"n_jobs": 1}, "n_jobs=2": {"n_jobs": 2}}
    cluster = None
    try:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
        settings["dask, 2 workers"] = {"backend": "dask"}
    except ImportError:
        client = None
    results = {name: [search(args.budget, seed, **params) for seed in range(args.repeats)]
               for name, params in settings.items()}
    if client is not None:
        client.close()
        cluster.close()
    base = statistics.median(rate for rate, _ in results["n_jobs=1"])
    limit = 1.05 * args.budget + 2
    print(f"## Parallel trials: budget {args.budget:g} s, median of {args.repeats} runs\n")
    print("| setting | trials / min | ratio to n_jobs=1 | fit s (median / max) | within "
          f"{limit:g} s |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        rate = statistics.median(r for r, _ in runs)
        walls = [w for _, w in runs]
        print(f"| {name} | {rate:.0f} | {rate / base:.2f} | {statistics.median(walls):.1f} / "
              f"{max(walls):.1f} | {sum(w <= limit for w in walls)}/{len(walls)} |")
    print(f"\nMachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
