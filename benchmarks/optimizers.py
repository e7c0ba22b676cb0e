"""Optimiser benchmark: the ``search`` strategies against Optuna on test functions.

Usage::

    python benchmarks/optimizers.py [--seeds 10] [--evals 100]
        [--functions branin,hartmann6,rosenbrock,ackley,mixed]
        [--strategies random,grid,bayesian,genetic,optuna_tpe,optuna_random]
        [--out benchmarks/results/optimizers-<date>.csv]

Every strategy minimises every function ``evals`` times, one ``ask(1)``/``tell`` at a time,
once per seed ``0 .. seeds-1``; genetic and random go on to 200 (or ``evals``). Grid search uses the
finest resolution whose grid holds at most ``evals`` points, visited in a seeded shuffled
order (so seeds differ and early checkpoints do not depend on parameter order); it stops when
the grid is done. Regret is the best value found minus the known optimum. Optuna (a peer for
comparison, not a dependency) gets the same space through a define-by-run translation of the
``search.Space``: the root categorical first, then only the parameters active on its branch.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

import search  # noqa: E402
from search import Categorical, Float, Int, Observation, Space  # noqa: E402

try:
    import optuna
except ImportError:  # the script still runs; Optuna's columns say "not installed"
    optuna = None

CHECKPOINTS = (25, 50, 100, 200)
STRATEGIES = ("random", "grid", "bayesian", "genetic", "optuna_tpe", "optuna_random")
LONG_RUNS = ("random", "genetic")  # also run to 200 evals: genetic must beat random there
RATIO_TARGET = {"branin": 0.5, "hartmann6": 0.5}  # Bayesian/TPE regret @50; 1.0 elsewhere


@dataclass(frozen=True)
class Problem:
    """A test function: its space, objective on a configuration, and known minimum."""

    space: Space
    objective: Callable[[dict[str, Any]], float]
    optimum: float


def _vector(config: dict[str, Any], d: int) -> np.ndarray:
    return np.array([config[f"x{i}"] for i in range(d)], dtype=float)


def _box(d: int, low: float, high: float) -> Space:
    return Space([Float(f"x{i}", low, high) for i in range(d)])


def branin(config: dict[str, Any]) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; minimum 0.397887 at three points."""
    x1, x2 = config["x0"], config["x1"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                 [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(config: dict[str, Any]) -> float:
    """Hartmann 6-D on [0, 1]^6; minimum -3.32237."""
    x = _vector(config, 6)
    return float(-_H_ALPHA @ np.exp(-(_H_A * (x - _H_P) ** 2).sum(axis=1)))


def rosenbrock(config: dict[str, Any]) -> float:
    """Rosenbrock 4-D on [-5, 10]^4; minimum 0 at (1, 1, 1, 1)."""
    x = _vector(config, 4)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley(config: dict[str, Any]) -> float:
    """Ackley 5-D on [-32.768, 32.768]^5; minimum 0 at the origin."""
    x = _vector(config, 5)
    a = -20 * math.exp(-0.2 * math.sqrt(np.mean(x**2)))
    return float(a - math.exp(np.mean(np.cos(2 * math.pi * x))) + 20 + math.e)


def mixed(config: dict[str, Any]) -> float:
    """Conditional function; minimum 0 on branch "a" at lr=10**-2.5, depth=7, drop=0.3.

    Branch "b" is a trap (best 0.2), branch "c" is worse (best 0.6).
    """
    choice, p = Space.branch(config, "branch")
    if choice == "a":
        return ((math.log10(p["lr"]) + 2.5) ** 2 / 4 + ((p["depth"] - 7) / 5) ** 2
                + 4 * (p["drop"] - 0.3) ** 2 + 0.1 * math.sin(5 * math.pi * (p["drop"] - 0.3)) ** 2)
    if choice == "b":
        return 0.2 + 0.1 * (p["x"] - 1) ** 2 + 0.25 * math.log10(p["scale"]) ** 2
    penalty = {"linear": 0.5, "rbf": 0.0, "poly": 0.25}[p["kernel"]]
    return 0.6 + (math.log10(p["n"]) - 2) ** 2 + penalty


MIXED_SPACE = Space.conditional("branch", {
    "a": [Float("lr", 1e-5, 1.0, log=True), Int("depth", 1, 20), Float("drop", 0.0, 0.9)],
    "b": [Float("x", -5.0, 5.0), Float("scale", 1e-3, 1e2, log=True)],
    "c": [Int("n", 1, 1000, log=True), Categorical("kernel", ["linear", "rbf", "poly"])],
})
PROBLEMS = {
    "branin": Problem(Space([Float("x0", -5.0, 10.0), Float("x1", 0.0, 15.0)]), branin,
                      0.397887357729738),
    "hartmann6": Problem(_box(6, 0.0, 1.0), hartmann6, -3.322368011415515),
    "rosenbrock": Problem(_box(4, -5.0, 10.0), rosenbrock, 0.0),
    "ackley": Problem(_box(5, -32.768, 32.768), ackley, 0.0),
    "mixed": Problem(MIXED_SPACE, mixed, 0.0),
}


def grid_resolution(space: Space, evals: int) -> int:
    """Return the finest resolution (at least 2) whose grid holds at most ``evals`` points."""
    resolution = 2
    while space.grid_size(resolution + 1) <= evals:
        resolution += 1
    return resolution


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Suggest a configuration define-by-run: parents first, then only active children.

    Parameters
    ----------
    trial : optuna.trial.Trial
        A trial from ``study.ask()``.
    space : Space
        The search space to mirror.

    Returns
    -------
    dict
        A valid configuration of ``space``.
    """
    config: dict[str, Any] = {}
    for p in space:
        if not space.is_active(p.name, config):
            continue
        if isinstance(p, Categorical):
            config[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif isinstance(p, Int):
            config[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        else:
            config[p.name] = trial.suggest_float(p.name, p.low, p.high, log=p.log)
    return config


def run_once(problem: Problem, strategy: str, seed: int, evals: int) -> dict[str, Any]:
    """Minimise one problem with one strategy and seed, one ``ask(1)``/``tell`` at a time.

    Parameters
    ----------
    problem : Problem
        The test function.
    strategy : str
        One of :data:`STRATEGIES`.
    seed, evals : int
        Seed of the strategy (or sampler); evaluations (fewer when a grid runs out).

    Returns
    -------
    dict
        ``n_evals``, ``seconds`` (whole run), ``ask_ms`` (median per ask) and
        ``regret_<k>`` per checkpoint ``k`` (NaN beyond ``evals``).
    """
    space, best, ask_times, trace = problem.space, math.inf, [], []
    if strategy.startswith("optuna"):
        sampler = (optuna.samplers.TPESampler(seed=seed) if strategy == "optuna_tpe"
                   else optuna.samplers.RandomSampler(seed=seed))
        study = optuna.create_study(sampler=sampler)
    elif strategy == "grid":
        resolution = grid_resolution(space, evals)
        searcher = search.GridSearch(space, seed=seed, resolution=resolution, shuffle=True)
    else:
        kinds = {"random": search.RandomSearch, "bayesian": search.BayesianSearch,
                 "genetic": search.GeneticSearch}
        searcher = kinds[strategy](space, seed=seed)
    start = time.perf_counter()
    for _ in range(evals):
        tic = time.perf_counter()
        if strategy.startswith("optuna"):
            trial = study.ask()
            config = suggest(trial, space)
        elif trials := searcher.ask(1):
            trial, config = trials[0], trials[0].config
        else:
            break  # the grid is done
        ask_times.append(time.perf_counter() - tic)
        value = problem.objective(config)
        if strategy.startswith("optuna"):
            study.tell(trial, value)
        else:
            searcher.tell(trial, Observation(value=value))
        best = min(best, value)
        trace.append(best - problem.optimum)
    row: dict[str, Any] = {"n_evals": len(trace), "seconds": time.perf_counter() - start,
                           "ask_ms": 1e3 * float(np.median(ask_times))}
    for k in CHECKPOINTS:
        row[f"regret_{k}"] = trace[min(k, len(trace)) - 1] if k <= evals else math.nan
    return row


def benchmark(functions: list[str], strategies: list[str], seeds: int,
              evals: int) -> list[dict[str, Any]]:
    """Run every function x strategy x seed (Optuna's only when installed); one row per run."""
    rows = []
    for name in functions:
        for strategy in strategies:
            if strategy.startswith("optuna") and optuna is None:
                continue
            budget = max(evals, 200) if strategy in LONG_RUNS else evals
            for seed in range(seeds):
                row = run_once(PROBLEMS[name], strategy, seed, budget)
                rows.append({"function": name, "strategy": strategy, "seed": seed, **row})
            print(f"  {name:<10} {strategy:<13} {sum(r['seconds'] for r in rows[-seeds:]):7.1f} s",
                  file=sys.stderr, flush=True)
    return rows


def fmt(value: float) -> str:
    """Format a number compactly for the tables (``-`` for NaN)."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3g}" if value < 1e4 else f"{value:.2e}"


def medians(rows: list[dict[str, Any]], name: str, strategy: str) -> dict[str, float] | None:
    """Median of every numeric column over the seeds of one function and strategy."""
    runs = [r for r in rows if r["function"] == name and r["strategy"] == strategy]
    if not runs:
        return None
    keys = ["ask_ms", "n_evals"] + [f"regret_{k}" for k in CHECKPOINTS]
    return {k: float(np.median([r[k] for r in runs])) for k in keys}


def ratio(ours: float, theirs: float) -> float:
    """``ours / theirs``, with 0/0 = 1 and x/0 = inf."""
    if theirs > 0:
        return ours / theirs
    return 1.0 if ours == 0 else math.inf


def summarize(rows: list[dict[str, Any]], functions: list[str], strategies: list[str],
              evals: int) -> str:
    """Render a markdown table of medians over seeds per function, then the targets met."""
    ks = [k for k in CHECKPOINTS if k <= max(evals, 200)]
    lines, targets = [], []
    for name in functions:
        med = {s: medians(rows, name, s) for s in strategies}
        tpe = med.get("optuna_tpe")
        lines += [f"\n### {name} (optimum {PROBLEMS[name].optimum:g}; median over seeds)\n",
                  "| strategy | " + " | ".join(f"regret @{k}" for k in ks)
                  + " | ask (ms) | evals | regret @50 / TPE's |",
                  "|---" * (len(ks) + 4) + "|"]
        for s in strategies:
            m = med[s]
            if m is None:
                cells = ["not installed"] * (len(ks) + 3)
            else:
                vs = fmt(ratio(m["regret_50"], tpe["regret_50"])) if tpe else "n/a"
                cells = [fmt(m[f"regret_{k}"]) for k in ks] + [
                    f"{m['ask_ms']:.2f}", f"{m['n_evals']:.0f}", vs]
            lines.append(f"| {s} | " + " | ".join(cells) + " |")
        if med.get("bayesian") and tpe:
            r, limit = ratio(med["bayesian"]["regret_50"], tpe["regret_50"]), RATIO_TARGET.get(
                name, 1.0)
            targets.append(f"- {name}: Bayesian/TPE regret @50 = {fmt(r)} (target <= {limit:g}): "
                           + ("met" if r <= limit else "NOT met"))
        if med.get("genetic") and med.get("random") and 200 in ks:
            g, rnd = med["genetic"]["regret_200"], med["random"]["regret_200"]
            targets.append(f"- {name}: genetic {fmt(g)} vs random {fmt(rnd)} regret @200: "
                           + ("met" if g < rnd else "NOT met"))
    if targets:
        lines += ["\n### Targets\n", *targets]
    return "\n".join(lines)


def machine_line() -> str:
    """Cores, Python and library versions and load average, in one line."""
    versions = [f"{name} {importlib.metadata.version(name)}" for name in ("numpy", "scipy", "deap")]
    versions.append(f"optuna {optuna.__version__}" if optuna else "optuna not installed")
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"Machine: {os.cpu_count()} cores, {platform.machine()}, load average {load} "
            f"(1/5/15 min); Python {platform.python_version()}; " + ", ".join(versions))


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print the tables and write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--functions", default=",".join(PROBLEMS))
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    today = datetime.date.today().isoformat()
    parser.add_argument("--out", default=str(ROOT / f"benchmarks/results/optimizers-{today}.csv"))
    args = parser.parse_args(argv)
    functions, strategies = args.functions.split(","), args.strategies.split(",")
    for given, known in ((functions, PROBLEMS), (strategies, STRATEGIES)):
        if unknown := sorted(set(given) - set(known)):
            parser.error(f"unknown {unknown}; known: {', '.join(known)}")
    if optuna is not None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(machine_line())
    start = time.perf_counter()
    rows = benchmark(functions, strategies, args.seeds, args.evals)
    print(summarize(rows, functions, strategies, args.evals))
    print(f"\nRun time {time.perf_counter() - start:.0f} s; {args.seeds} seeds, "
          f"{args.evals} evals (genetic and random {max(args.evals, 200)}). End: {machine_line()}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["function"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"Raw results: {args.out}")


if __name__ == "__main__":
    main()
