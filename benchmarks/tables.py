"""Real tables: ``AutoML`` against HistGradientBoosting, FLAML and AutoGluon (issue 16).

Usage::

    python benchmarks/tables.py [--budget 60] [--splits 3] [--first-seed 0]
        [--tables clf_num__credit,...] [--tools automl,hgb,flaml,autogluon,autogluon_best]
        [--out benchmarks/results/tables-<budget>s-<date>.csv]
    python benchmarks/tables.py --summary benchmarks/results/tables-60s-*.csv

The twelve tables of ``shared/data/tables`` (Grinsztajn et al., NeurIPS 2022; target in
the last column, ``clf_*`` binary, ``reg_*`` regression). For every table and split seed
``first_seed .. first_seed + splits - 1``: at most 20,000 rows (a sample seeded by the
split seed), a 75/25 split with that seed (stratified for classification), then, one
after the other on the same rows, each tool in its own subprocess
(``benchmarks/_tables_runner.py``):

- ``automl``: ``AutoML(time_budget=B, random_state=seed, task=...)``, the project's
  interpreter;
- ``hgb``: a default ``HistGradientBoostingClassifier/Regressor``, same interpreter;
- ``flaml``: ``flaml.AutoML().fit(task, time_budget=B, seed, metric roc_auc | r2)``;
- ``autogluon``: ``TabularPredictor(label, eval_metric roc_auc | r2, problem_type,
  path=<tmp>, verbosity=0).fit(train, time_limit=B)``, default preset;
- ``autogluon_best``: the same with ``presets="best_quality"``;

the peers with ``benchmarks/.peers-venv/bin/python`` (``bash benchmarks/install_peers.sh``;
without it they are skipped). A subprocess still running at 1.5 x B + 60 s is killed with
its process tree and recorded as ``timeout``. Test rows are scored here, from the
subprocess's predictions: ROC AUC (classification) or R^2 (regression).

Memory: this process polls ``/proc`` every 0.2 s and records the peak, over the samples,
of the summed RSS (``peak_rss_mb``) and PSS (``peak_pss_mb``, shared pages split between
the processes that map them) of the subprocess and all its descendants, from start to exit
(imports and loading included; the fit dominates). The subprocess also reports
``ru_maxrss`` of itself and of its largest finished child after the fit (``maxrss_*``).

The raw runs go to a CSV file, rewritten after every fit; markdown tables of medians
over the splits go to stdout. ``--summary`` re-prints them from CSV files.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from benchmarks._tables_summary import TOOLS, summarize  # noqa: E402

DATA = Path(os.environ.get("AUTOML_TABLES_DIR", ROOT.parent / "shared" / "data" / "tables"))
RUNNER = ROOT / "benchmarks" / "_tables_runner.py"
PEERS_PYTHON = ROOT / "benchmarks" / ".peers-venv" / "bin" / "python"
TABLES = ["clf_cat__electricity", "clf_num__MagicTelescope", "clf_num__california",
          "clf_num__credit", "clf_num__house_16H", "clf_num__Diabetes130US",
          "reg_cat__diamonds", "reg_cat__Bike_Sharing_Demand", "reg_num__houses",
          "reg_num__elevators", "reg_num__wine_quality", "reg_num__sulfur"]
PEERS = {"flaml": "flaml", "autogluon": "autogluon.tabular",
         "autogluon_best": "autogluon.tabular"}  # tool -> module it needs
MAX_ROWS = 20_000
POLL_S = 0.2


@dataclass
class Run:
    """One fit of one tool on one split, as written to the CSV file."""

    table: str
    task: str
    n_rows: int
    n_features: int
    seed: int
    tool: str
    budget: float
    metric: str = ""
    score: float = float("nan")
    fit_s: float = float("nan")
    wall_s: float = float("nan")
    peak_rss_mb: float = float("nan")
    peak_pss_mb: float = float("nan")
    maxrss_self_mb: float = float("nan")
    maxrss_children_mb: float = float("nan")
    status: str = ""
    error: str = ""
    detail: str = ""


# -- data ----------------------------------------------------------------------------------


def task_of(table: str) -> str:
    """``binary`` for ``clf_*`` tables, ``regression`` for ``reg_*``."""
    return "binary" if table.startswith("clf_") else "regression"


def split_rows(y: pd.Series, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded sample of at most ``MAX_ROWS`` rows, then a seeded 75/25 split.

    Returns
    -------
    train, test : row positions in the table.
    """
    rows = np.arange(len(y))
    if len(rows) > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_ROWS, replace=False))
    stratify = y.iloc[rows].astype(str) if task == "binary" else None
    return train_test_split(rows, test_size=0.25, shuffle=True, stratify=stratify,
                            random_state=seed)


def positive_class(y: pd.Series) -> str:
    """The larger of the two labels, as text: ROC AUC scores its probability."""
    return str(sorted(y.unique())[1])


def test_score(task: str, y_test: pd.Series, prediction: np.ndarray, positive: str) -> float:
    """ROC AUC of P(positive) or R^2 of the prediction on the test rows."""
    if prediction.shape != (len(y_test),) or not np.isfinite(prediction).all():
        raise ValueError(f"bad prediction: shape {prediction.shape}, "
                         f"{(~np.isfinite(prediction)).sum()} non-finite")
    if task == "binary":
        return float(roc_auc_score(y_test.astype(str) == positive, prediction))
    return float(r2_score(y_test.astype(float), prediction))


# -- one fit in a subprocess -----------------------------------------------------------------


class TreeWatch:
    """Samples the summed RSS and PSS of a process and its descendants from ``/proc``."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_rss = self.peak_pss = 0.0
        self.seen: dict[int, str] = {}  # pid -> start time, to kill strays by their id

    def tree(self) -> list[int]:
        """The root and every live descendant (parents read from ``/proc/*/stat``)."""
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = read_stat(int(entry.name))
                if stat:
                    children.setdefault(int(stat[1]), []).append(int(entry.name))
        found, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def sample(self) -> None:
        """Add one sample to the peaks."""
        rss = pss = 0.0
        for pid in self.tree():
            stat = read_stat(pid)
            if stat:
                self.seen.setdefault(pid, stat[19])
            rss += read_kb(f"/proc/{pid}/status", "VmRSS:")
            pss += read_kb(f"/proc/{pid}/smaps_rollup", "Pss:")
        self.peak_rss = max(self.peak_rss, rss / 1024)
        self.peak_pss = max(self.peak_pss, pss / 1024)

    def kill_all(self) -> None:
        """SIGKILL every process of the tree seen that still runs (same pid, same start)."""
        for pid, started in self.seen.items():
            stat = read_stat(pid)
            if stat and stat[19] == started:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def read_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (state, ppid, ...), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def read_kb(path: str, key: str) -> float:
    """The kB value of the line starting with ``key`` in a ``/proc`` file, 0 if absent."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def run_fit(run: Run, python: Path, job: dict, train: np.ndarray, test: np.ndarray) -> dict:
    """Run one fit in its own subprocess; return the runner's result and this side's numbers.

    The subprocess gets its own session (process group); on timeout, and after it exits,
    whatever it left running is killed by pid.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"tables-{run.tool}-"))
    try:
        (workdir / "job.json").write_text(json.dumps(job))
        np.save(workdir / "train.npy", train)
        np.save(workdir / "test.npy", test)
        limit = 1.5 * run.budget + 60
        with open(workdir / "log.txt", "wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen([str(python), str(RUNNER), run.tool, str(workdir)],
                                    cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            watch = TreeWatch(proc.pid)
            try:
                timed_out = watch_until_exit(proc, watch, limit)
            finally:  # on timeout, or when this process is interrupted
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)  # its own session: its group
                    proc.wait()
                watch.kill_all()  # descendants that left the group
            wall = time.perf_counter() - started
        outcome = {"wall_s": wall, "peak_rss_mb": watch.peak_rss,
                   "peak_pss_mb": watch.peak_pss, "timed_out": timed_out,
                   "returncode": proc.returncode, "log": tail(workdir / "log.txt")}
        result_file, pred_file = workdir / "result.json", workdir / "pred.npy"
        if result_file.exists():
            outcome.update(json.loads(result_file.read_text()))
        if pred_file.exists():
            outcome["prediction"] = np.load(pred_file)
        return outcome
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def watch_until_exit(proc: subprocess.Popen, watch: TreeWatch, limit: float) -> bool:
    """Sample memory until the process exits or ``limit`` seconds pass; True on timeout."""
    deadline = time.monotonic() + limit
    while proc.poll() is None:
        watch.sample()
        if time.monotonic() > deadline:
            return True
        time.sleep(POLL_S)
    return False


def tail(path: Path, n: int = 300) -> str:
    """The last ``n`` characters of a log file, on one line."""
    try:
        return " ".join(path.read_text(errors="replace")[-n:].split())
    except OSError:
        return ""


def fill(run: Run, outcome: dict, y_test: pd.Series, positive: str) -> Run:
    """Copy a subprocess's outcome into ``run`` and score its prediction."""
    for name in ("wall_s", "peak_rss_mb", "peak_pss_mb", "fit_s", "maxrss_self_mb",
                 "maxrss_children_mb", "detail"):
        if name in outcome:
            setattr(run, name, outcome[name])
    if outcome["timed_out"]:
        run.status, run.error = "timeout", f"killed after {1.5 * run.budget + 60:g} s"
    elif outcome.get("error"):
        run.status, run.error = "error", outcome["error"]
    elif "prediction" not in outcome:
        run.status = "crashed"
        run.error = f"exit code {outcome['returncode']}, no result: {outcome['log']}"
    else:
        try:
            run.score = test_score(run.task, y_test, outcome["prediction"], positive)
            run.status = "ok"
        except ValueError as exc:
            run.status, run.error = "error", str(exc)
    return run


# -- the benchmark ---------------------------------------------------------------------------


def benchmark(tables: list[str], budget: float, seeds: range, tools: list[str],
              out: Path) -> pd.DataFrame:
    """Every tool on every table and split, one fit at a time; the CSV after every fit."""
    runs: list[Run] = []
    for table in tables:
        path = DATA / f"{table}.csv.gz"
        frame = pd.read_csv(path)
        y, task = frame.iloc[:, -1], task_of(table)
        positive = positive_class(y) if task == "binary" else ""
        for seed in seeds:
            train, test = split_rows(y, task, seed)
            job = {"path": str(path), "target": str(frame.columns[-1]), "task": task,
                   "positive": positive, "budget": budget, "seed": seed}
            for tool in tools:
                run = Run(table, task, len(train) + len(test), frame.shape[1] - 1, seed,
                          tool, budget, metric="roc_auc" if task == "binary" else "r2")
                print(f"{table} seed={seed} {tool} ...", file=sys.stderr, flush=True)
                python = PEERS_PYTHON if tool in PEERS else Path(sys.executable)
                outcome = run_fit(run, python, job, train, test)
                runs.append(fill(run, outcome, y.iloc[test], positive))
                print(f"  {run.status} {run.metric}={run.score:.4f} fit={run.fit_s:.1f}s "
                      f"wall={run.wall_s:.1f}s rss={run.peak_rss_mb:.0f}MB {run.detail} "
                      f"{run.error}", file=sys.stderr, flush=True)
                write_csv(runs, out)
    return pd.DataFrame([asdict(run) for run in runs])


def write_csv(runs: list[Run], out: Path) -> None:
    """Write the runs so far (atomically: a kill leaves the previous version)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    pd.DataFrame([asdict(run) for run in runs],
                 columns=[f.name for f in fields(Run)]).to_csv(part, index=False)
    part.replace(out)


# -- tables of results -----------------------------------------------------------------------


def peer_versions() -> dict[str, str] | None:
    """Versions of the peers' packages, read by their interpreter; None without it."""
    if not PEERS_PYTHON.exists():
        return None
    code = ("import importlib.metadata as m, json\nv = {}\n"
            "for p in ('autogluon.tabular', 'flaml', 'lightgbm', 'catboost', 'xgboost', "
            "'xgboost-cpu', 'ray', 'torch', 'scikit-learn', 'pandas'):\n"
            "    try: v[p] = m.version(p)\n    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(v))")
    done = subprocess.run([str(PEERS_PYTHON), "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tempfile.gettempdir())
    return json.loads(done.stdout) if done.returncode == 0 else {}


def usable_tools(tools: list[str], versions: dict[str, str] | None) -> tuple[list[str], str]:
    """Drop the peers that cannot run; say why, and how to install them."""
    if versions is None:
        missing = [t for t in tools if t in PEERS]
        note = (f"Peers skipped ({', '.join(missing)}): {PEERS_PYTHON.relative_to(ROOT)} not "
                "found; install them with `bash benchmarks/install_peers.sh`.") if missing else ""
        return [t for t in tools if t not in PEERS], note
    absent = [t for t in tools if t in PEERS and PEERS[t] not in versions]
    note = (f"Peers skipped ({', '.join(absent)}): not installed in "
            f"{PEERS_PYTHON.relative_to(ROOT)}; rerun `bash benchmarks/install_peers.sh`."
            ) if absent else ""
    return [t for t in tools if t not in absent], note


def machine_line(versions: dict[str, str] | None) -> str:
    """Cores, memory, load, Python and library versions, in one line."""
    own = []
    for package in ("automl-engine", "numpy", "pandas", "scikit-learn", "xgboost", "torch"):
        try:
            own.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            own.append(f"{package} not installed")
    memory = read_kb("/proc/meminfo", "MemTotal:") / 1024 ** 2
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    peers = ", ".join(f"{k} {v}" for k, v in (versions or {}).items()) or "none"
    return (f"Machine: {os.cpu_count()} cores, {memory:.0f} GiB, {platform.machine()}, "
            f"load average {load} (1/5/15 min, at the end; above the core count, timings "
            f"are inflated); Python {platform.python_version()}; engine side: "
            + ", ".join(own) + f"; peers' venv: {peers}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per fit for automl, flaml and autogluon (default 60)")
    parser.add_argument("--splits", type=int, default=3, help="splits per table (default 3)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seed of the first split (default 0)")
    parser.add_argument("--tables", default=",".join(TABLES),
                        help="comma-separated subset of the twelve tables (default all)")
    parser.add_argument("--tools", default=",".join(TOOLS),
                        help=f"comma-separated subset of {','.join(TOOLS)} (default all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="CSV of raw runs (default benchmarks/results/"
                             "tables-<budget>s-<date>.csv)")
    parser.add_argument("--summary", type=Path, nargs="+", metavar="CSV",
                        help="only re-print the tables from these raw CSV files")
    args = parser.parse_args(argv)
    args.tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for kind, chosen, allowed in (("tables", args.tables, TABLES), ("tools", args.tools, TOOLS)):
        if not chosen or set(chosen) - set(allowed):
            parser.error(f"unknown {kind} {sorted(set(chosen) - set(allowed))}; "
                         f"choose from {','.join(allowed)}")
    return args


def shown(path: Path) -> Path:
    """A path relative to the checkout where it lies inside it."""
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its tables, or re-print them with ``--summary``."""
    args = parse(argv)
    if args.summary:
        results = pd.concat([pd.read_csv(path, keep_default_na=False, na_values=[""])
                             for path in args.summary], ignore_index=True)
        print(summarize(results))
        print("Raw runs: " + ", ".join(str(shown(p)) for p in args.summary))
        return
    versions = peer_versions()
    tools, note = usable_tools(args.tools, versions)
    if note:
        print(note, file=sys.stderr)
    if not tools:
        sys.exit("no tool left to run")
    out = args.out or ROOT / "benchmarks" / "results" / \
        f"tables-{args.budget:g}s-{datetime.date.today().isoformat()}.csv"
    seeds = range(args.first_seed, args.first_seed + args.splits)
    results = benchmark(args.tables, args.budget, seeds, tools, out)
    print(summarize(results))
    if note:
        print(note)
    print(f"Raw runs: {shown(out)}")
    print(machine_line(versions))


if __name__ == "__main__":
    main()
