"""Recommendation benchmark: each recommender's default config on generated low-rank data.

Usage::

    python benchmarks/recommendation.py [--seeds 3] [--users 300] [--items 200]
        [--density 0.1] [--out benchmarks/results/recommendation.csv]

For every seed ``0 .. seeds-1`` interactions come from
``automl.testing.make_interaction_data`` (rank 3, side features on,
so that ``hybrid_mf`` has something to use; the other models ignore them) and
three scenarios are run, each model fitted on the same training rows:

- ``explicit``: ratings, 20% of each user's ratings held out at random;
  RMSE on them;
- ``cold``: ratings, a third of the users keep only their first rating; RMSE
  on the rest of those users' ratings (where side features must carry the
  prediction);
- ``implicit``: interactions drawn by affinity, leave-last-out; NDCG@10 and
  HR@10 of the held-out item among 99 sampled negatives.

Models: the first default of every spec (``popularity``, ``biased_mf``,
``neumf``, ``hybrid_mf``), one thread each. A CSV of the raw runs is written;
a markdown table of medians, with per-seed paired ratios to popularity and
to biased_mf (medians), goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from automl.tasks.recommendation.ranking import (  # noqa: E402
    hit_rate_at_k,
    ndcg_at_k,
    rank_positives,
    seen_items,
    split_per_user,
)
from automl.testing import make_interaction_context, make_interaction_data  # noqa: E402

MODELS = ("popularity", "biased_mf", "neumf", "hybrid_mf")


def specs() -> dict:
    from plugins import recommenders
    from plugins.neural import ncf

    found = []
    recommenders.automl_register_models(register=found.append)
    ncf.automl_register_models(register=found.append)
    return {spec.name: spec for spec in found}


def scenario(name: str, seed: int, args: argparse.Namespace):
    implicit = name == "implicit"
    X, y, kwargs = make_interaction_data(n_users=args.users, n_items=args.items, rank=3,
                                         density=args.density, implicit=implicit,
                                         side_features=True, seed=seed)
    if name == "cold":
        cold = np.random.default_rng(seed).choice(args.users, args.users // 3, replace=False)
        first = ~X.duplicated("user").to_numpy()
        train_mask = ~np.isin(X["user"].to_numpy(), cold) | first
        train, test = np.flatnonzero(train_mask), np.flatnonzero(~train_mask)
    else:
        train, test = split_per_user(X["user"], how="last" if implicit else "random",
                                     fraction=0.2, seed=seed)
    X_train, X_test = X.iloc[train].reset_index(drop=True), X.iloc[test].reset_index(drop=True)
    y_train = None if implicit else y[train]
    y_test = None if implicit else y[test]
    ctx = make_interaction_context(kwargs, seed=seed, n_threads=1, n_rows=len(train))
    return X_train, y_train, X_test, y_test, ctx


def evaluate(est, X_train, y_train, X_test, y_test, n_items: int, seed: int) -> dict:
    start = time.perf_counter()
    est.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    if y_test is not None:
        rmse = float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
        return {"rmse": rmse, "fit_seconds": fit_seconds}
    seen = seen_items(X_train["user"], X_train["item"])
    ranks = rank_positives(est.predict, X_test[["user", "item"]], seen, n_items,
                           n_negatives=99, seed=seed)
    return {"ndcg@10": ndcg_at_k(ranks, 10), "hr@10": hit_rate_at_k(ranks, 10),
            "fit_seconds": fit_seconds}


def table(runs: pd.DataFrame) -> str:
    lines = ["| scenario | metric | " + " | ".join(MODELS) + " | " + " | ".join(
        f"{m} / popularity" for m in MODELS[1:]) + " | " + " | ".join(
        f"{m} / biased_mf" for m in MODELS[2:]) + " | fit s (median) |",
        "|" + "---|" * (3 + len(MODELS) + (len(MODELS) - 1) + (len(MODELS) - 2)) ]
    for (name, metric), part in runs.groupby(["scenario", "metric"], sort=False):
        wide = part.pivot(index="seed", columns="model", values="value")[list(MODELS)]
        medians = [f"{wide[m].median():.4f}" for m in MODELS]
        vs_pop = [f"{(wide[m] / wide['popularity']).median():.3f}x" for m in MODELS[1:]]
        vs_mf = [f"{(wide[m] / wide['biased_mf']).median():.3f}x" for m in MODELS[2:]]
        seconds = part.pivot(index="seed", columns="model", values="fit_seconds")
        fit = " / ".join(f"{seconds[m].median():.2f}" for m in MODELS)
        lines.append(f"| {name} | {metric} | " + " | ".join(medians + vs_pop + vs_mf)
                     + f" | {fit} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/recommendation.csv"))
    args = parser.parse_args()
    found = specs()
    rows = []
    for seed in range(args.seeds):
        for name in ("explicit", "cold", "implicit"):
            X_train, y_train, X_test, y_test, ctx = scenario(name, seed, args)
            for model in MODELS:
                spec = found[model]
                est = spec.build(dict(spec.defaults[0]), ctx)
                result = evaluate(est, X_train, y_train, X_test, y_test, args.items, seed)
                seconds = result.pop("fit_seconds")
                for metric, value in result.items():
                    rows.append({"scenario": name, "seed": seed, "model": model,
                                 "metric": metric, "value": value, "fit_seconds": seconds,
                                 "n_train": len(X_train), "n_test": len(X_test)})
                print(f"seed {seed} {name:8s} {model:10s} " + " ".join(
                    f"{k}={v:.4f}" for k, v in result.items()) + f" fit={seconds:.2f}s",
                    flush=True)
    runs = pd.DataFrame(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out, index=False)
    print()
    print(table(runs))
    print(f"\nraw runs: {out}")


if __name__ == "__main__":
    main()
