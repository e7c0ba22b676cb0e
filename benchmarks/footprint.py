"""What a new user meets around the model: install size, fit wall time, model file, predict time.

Usage::

    python benchmarks/footprint.py [--table reg_num__wine_quality] [--budgets 5,20,60]
        [--repeats 3] [--out benchmarks/results/footprint-<date>.csv]

For each budget, ``repeats`` times: ``automl fit`` on a shared table (at most 20,000
rows, the 75% training part of a seeded split) in a fresh process, timed from the
start of the command to its end, then ``automl predict`` of 50 test rows in a fresh
process, timed the same way. It also prints the size of the running environment
(``sys.prefix``) and of each saved model file. Budgets are judged against
``1.05 x budget + 2 s`` for the fit call (``fit_s``, printed by the command) and the
whole command (``wall_s``, process start-up and imports included).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT.parent / "shared" / "data" / "tables"


def directory_size(path: Path) -> int:
    """Bytes of every file below ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def split_table(name: str, workdir: Path, seed: int = 0) -> tuple[Path, Path, str]:
    """Write the training rows and 50 test rows (without the target) as CSV files."""
    frame = pd.read_csv(TABLES / f"{name}.csv.gz")
    if len(frame) > 20_000:
        frame = frame.sample(20_000, random_state=seed)
    target = frame.columns[-1]
    stratify = frame[target] if name.startswith("clf_") else None
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=stratify)
    train_path, test_path = workdir / "train.csv", workdir / "test.csv"
    train.to_csv(train_path, index=False)
    test.drop(columns=target).head(50).to_csv(test_path, index=False)
    return train_path, test_path, target


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``command`` and return its wall seconds and its result."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - start, result


def fit_seconds(stderr: str) -> float | None:
    """The fit time the command reports on its closing line (``done in 20.4s: ...``)."""
    found = re.findall(r"done in ([0-9.]+)s", stderr)
    return float(found[-1]) if found else None


def measure(table: str, budgets: list[float], repeats: int) -> pd.DataFrame:
    """One row per fit: budget, wall and fit seconds, model size, predict seconds."""
    automl = [sys.executable, "-m", "automl.cli"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        train, test, target = split_table(table, workdir)
        for budget in budgets:
            for repeat in range(repeats):
                model = workdir / f"model-{budget:g}-{repeat}"
                wall, fit = timed([*automl, "fit", str(train), "--target", target,
                                   "--time-budget", f"{budget:g}", "--seed", str(repeat),
                                   "--output", str(model)], workdir)
                predict_wall, predict = timed([*automl, "predict", str(model), str(test)],
                                              workdir)
                rows.append({
                    "table": table, "budget": budget, "seed": repeat,
                    "wall_s": round(wall, 2), "fit_s": fit_seconds(fit.stderr),
                    "fit_rc": fit.returncode,
                    "model_mb": round(directory_size(model) / 1e6, 2) if model.exists() else None,
                    "predict_s": round(predict_wall, 2), "predict_rc": predict.returncode,
                })
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame) -> str:
    """Medians per budget, and whether every fit kept 1.05 x budget + 2 s."""
    lines = ["| budget s | fit s (median) | command s (median) | within 1.05 x budget + 2 s "
             "(fit / command) | model MB | predict 50 rows s |", "|---|---|---|---|---|---|"]
    for budget, group in runs.groupby("budget"):
        limit = 1.05 * budget + 2
        fit_ok = (group["fit_s"] <= limit).sum()
        wall_ok = (group["wall_s"] <= limit).sum()
        lines.append(f"| {budget:g} | {group['fit_s'].median():.1f} | "
                     f"{group['wall_s'].median():.1f} | {fit_ok}/{len(group)} / "
                     f"{wall_ok}/{len(group)} | {group['model_mb'].median():.2f} | "
                     f"{group['predict_s'].median():.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="reg_num__wine_quality")
    parser.add_argument("--budgets", default="5,20,60")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    budgets = [float(b) for b in args.budgets.split(",")]
    print(f"environment {sys.prefix}: {directory_size(Path(sys.prefix)) / 1e9:.2f} GB; "
          f"{os.cpu_count()} cores; table {args.table}", flush=True)
    runs = measure(args.table, budgets, args.repeats)
    out = Path(args.out or ROOT / "benchmarks" / "results" /
               f"footprint-{datetime.date.today().isoformat()}.csv")
    runs.to_csv(out, index=False)
    print(summarize(runs))
    print(f"raw runs: {out}")


if __name__ == "__main__":
    main()
