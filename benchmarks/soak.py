"""Soak: many cheap trials through AutoML and search.optimize, with a SQLite store.

Usage::

    python benchmarks/soak.py [--automl-trials 1000] [--optimize-trials 10000]
        [--ask-at 100,1000] [--out benchmarks/results/soak-<date>.csv]

* ``AutoML``: ``--automl-trials`` trials of a model that predicts the class prior
  (its fit takes microseconds), random search, 2-fold cv, one worker process, a
  SQLite file. The calling process's resident memory is sampled every 0.1 s; the
  engine's overhead per trial is the search's wall time, less the trials' own
  durations as the workers measured them, over the trial count.
* ``search.optimize``: ``--optimize-trials`` trials of a quadratic, random search,
  in this process (``n_jobs=1``), a SQLite file: memory the same way, and the wall
  time per trial.
* ``ask`` cost of each strategy after ``n`` told trials of a 4-dimensional space,
  for each ``n`` of ``--ask-at``: the median of 5 single asks.

One row per measurement goes to the CSV; a table is printed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from automl.engine.memory import resident_bytes  # noqa: E402


class Prior(ClassifierMixin, BaseEstimator):
    """Predicts the training class frequencies, shrunk toward uniform by ``shrink``."""

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.prior_ = (1 - self.shrink) * counts / counts.sum() + self.shrink / len(counts)
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))


class MemorySampler:
    """Samples this process's resident memory every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval, self.samples = interval, [resident_bytes(os.getpid()) or 0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(resident_bytes(os.getpid()) or 0)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(resident_bytes(os.getpid()) or 0)

    def summary(self) -> dict[str, float]:
        """Start, end and peak in MB, and the slope of a line through the samples (MB/min)."""
        mb = np.asarray(self.samples, dtype=float) / 1e6
        minutes = np.arange(len(mb)) * self.interval / 60
        slope = float(np.polyfit(minutes, mb, 1)[0]) if len(mb) > 2 else float("nan")
        return {"start_mb": mb[0], "end_mb": mb[-1], "peak_mb": mb.max(),
                "slope_mb_per_min": slope}


def soak_automl(n_trials: int) -> dict:
    """``n_trials`` prior-model trials through ``AutoML`` with a SQLite store."""
    from sklearn.datasets import load_breast_cancer

    from automl import AutoML, ModelSpec
    from automl.registry import get_registry
    from search import Float, Space

    get_registry().models["prior"] = ModelSpec(
        name="prior", tasks={"classification"}, modalities={"tabular"},
        space=Space([Float("shrink", 0.0, 1.0)]), build=lambda c, ctx: Prior(c["shrink"]),
        description="class prior")
    X, y = load_breast_cancer(return_X_y=True)
    with tempfile.TemporaryDirectory() as tmp, MemorySampler() as memory:
        started = time.perf_counter()
        model = AutoML(models=["prior"], strategy="random", max_trials=n_trials, cv=2,
                       ensemble_size=0, storage=Path(tmp) / "soak.db", random_state=0,
                       verbose=0).fit(X, y)
        wall = time.perf_counter() - started
    own = sum(r.duration for r in model.trials_)
    return {"what": "AutoML", "trials": len(model.trials_), "wall_s": wall,
            "overhead_ms_per_trial": 1000 * (wall - own) / len(model.trials_),
            **memory.summary()}


def soak_optimize(n_trials: int) -> dict:
    """``n_trials`` quadratic trials through ``search.optimize`` with a SQLite store."""
    from search import Float, Space, optimize

    space = Space([Float("x", -5.0, 5.0), Float("y", -5.0, 5.0)])
    with tempfile.TemporaryDirectory() as tmp, MemorySampler() as memory:
        started = time.perf_counter()
        optimize(lambda c: (c["x"] - 1) ** 2 + c["y"] ** 2, space, strategy="random",
                 n_trials=n_trials, storage=Path(tmp) / "soak.db", seed=0)
        wall = time.perf_counter() - started
    return {"what": "search.optimize", "trials": n_trials, "wall_s": wall,
            "overhead_ms_per_trial": 1000 * wall / n_trials, **memory.summary()}


def ask_costs(sizes: list[int]) -> list[dict]:
    """Median seconds of one ``ask`` after ``n`` told trials, per strategy and ``n``."""
    from search import BayesianSearch, Float, GeneticSearch, Int, Observation, RandomSearch, Space

    space = Space([Float("a", 0.0, 1.0), Float("b", 1e-3, 1.0, log=True), Int("c", 1, 50),
                   Float("d", -1.0, 1.0)])
    rows = []
    for name, cls in (("random", RandomSearch), ("bayesian", BayesianSearch),
                      ("genetic", GeneticSearch)):
        for n in sizes:
            strategy = cls(space, seed=0)
            rng = np.random.default_rng(0)
            for trial in strategy.ask(n):
                strategy.tell(trial, Observation(value=float(rng.normal()), cost=1.0))
            times = []
            for _ in range(5):
                started = time.perf_counter()
                trial = strategy.ask(1)[0]
                times.append(time.perf_counter() - started)
                strategy.tell(trial, Observation(value=float(rng.normal()), cost=1.0))
            rows.append({"what": f"ask {name}", "trials": n,
                         "ask_ms": 1000 * statistics.median(times)})
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the soaks and the ask timings; write the CSV and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--automl-trials", type=int, default=1000)
    parser.add_argument("--optimize-trials", type=int, default=10_000)
    parser.add_argument("--ask-at", default="100,1000")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        f"soak-{datetime.date.today()}.csv")
    args = parser.parse_args(argv)
    rows = [soak_automl(args.automl_trials)]
    print(rows[-1], file=sys.stderr, flush=True)
    rows.append(soak_optimize(args.optimize_trials))
    print(rows[-1], file=sys.stderr, flush=True)
    rows += ask_costs([int(n) for n in args.ask_at.split(",")])
    results = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    print(results.round(2).to_string(index=False))
    print(f"raw runs: {args.out}")


if __name__ == "__main__":
    main()
