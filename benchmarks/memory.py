"""Peak memory of a fit: the calling process and its trial workers, on a shared table.

Usage::

    python benchmarks/memory.py [--table clf_num__Diabetes130US] [--budget 60] [--seeds 1]
        [--memory-limit auto] [--out benchmarks/results/memory-<date>.csv]

Each seed runs ``AutoML(time_budget=budget, random_state=seed, memory_limit=...)`` on
the 75% training part of a seeded split of the table, in a fresh process, and reports
the peak resident memory of that process (``ru_maxrss``), the largest peak of any trial
worker (``TrialRecord.peak_memory``, sampled by the pool), the limit each worker had,
and how many trials were stopped as ``out_of_memory``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TABLES = ROOT.parent / "shared" / "data" / "tables"

CHILD = """
import json, resource, sys
import pandas as pd
from sklearn.model_selection import train_test_split
from automl import AutoML
from automl.engine.memory import parse_memory, resolve_limit

table, budget, seed, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
limit = None if limit == "none" else limit
frame = pd.read_csv(table)
target = frame.columns[-1]
train, _ = train_test_split(frame, test_size=0.25, random_state=seed)
model = AutoML(time_budget=budget, random_state=seed, memory_limit=limit, verbose=0)
model.fit(train.drop(columns=target), train[target])
peaks = [r.peak_memory for r in model.trials_ if r.peak_memory]
print(json.dumps({
    "rows": len(train), "columns": train.shape[1] - 1,
    "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_peak_mb": max(peaks) / 1e6 if peaks else None,
    "worker_limit_mb": (resolve_limit(parse_memory(limit), 1) or 0) / 1e6,
    "trials": len(model.trials_),
    "out_of_memory": sum(r.status == "out_of_memory" for r in model.trials_),
    "final": model.final_model_description(),
}))
"""


def main(argv: list[str] | None = None) -> None:
    """Run each seed in a fresh process and print one row per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="clf_num__Diabetes130US")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--memory-limit", default="auto", help="a size, 'auto' or 'none'")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        f"memory-{datetime.date.today()}.csv")
    args = parser.parse_args(argv)
    rows = []
    for seed in range(args.seeds):
        done = subprocess.run([sys.executable, "-c", CHILD, str(TABLES / f"{args.table}.csv.gz"),
                               str(args.budget), str(seed), args.memory_limit],
                              capture_output=True, text=True, check=True)
        rows.append({"table": args.table, "budget": args.budget, "seed": seed,
                     **json.loads(done.stdout.strip().splitlines()[-1])})
        print(rows[-1], file=sys.stderr, flush=True)
    results = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    print(results.drop(columns="final").to_string(index=False))
    print(f"raw runs: {args.out}")


if __name__ == "__main__":
    main()
