"""Multimodal benchmark: the ``fusion`` net on all parts vs the same net on each part alone.

Usage::

    nice -n 10 python benchmarks/multimodal.py [--repeats 3] [--rows 600] [--epochs 30]
        [--automl] [--out benchmarks/results/multimodal.csv]

A synthetic task whose label needs two modalities at once: each row has an
8x8 grey image whose top-left quarter is brightened or not (bit ``a``), a
short text of random filler words ending in "yes" or "no" (bit ``b``), and a
table with a number ``x`` drawn around ``+-0.5`` by the label (a weak signal)
plus a noise category. The label is ``a XOR b``, so the image alone and the
text alone carry no information about it and the table only a little (the
best possible accuracy from ``x`` alone is Phi(0.5) = 0.69).

For every repeat seed the ``fusion`` spec's first default config
(:class:`~plugins.neural.fusion.FusionClassifier`, one torch thread,
``--epochs`` epochs at most) is fitted on ``--rows`` rows and scored on 400
new ones:

- ``fused``: all three parts;
- ``image_only``, ``text_only``, ``tabular_only``: the same net on a
  single-part dict;
- with ``--automl`` also ``automl_<part>``: ``AutoML(max_trials=3)`` on that
  part alone in its own modality (every registered model that supports it).

Held-out accuracy and fit seconds go to a CSV; a table of medians over the
repeats goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

WORDS = np.array(["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"])
TEST_ROWS = 400


def make_rows(n: int, seed: int) -> tuple[dict[str, Any], np.ndarray]:
    """Rows of the XOR task (see the module docstring).

    Parameters
    ----------
    n : int
        Rows.
    seed : int
        Seed of the generator.

    Returns
    -------
    X : dict
        ``{"image": (n, 1, 8, 8) float32, "text": list of str, "tabular": DataFrame}``.
    y : ndarray of int
        ``a XOR b``.

    """
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 2, n), rng.integers(0, 2, n)
    y = a ^ b
    images = (rng.normal(size=(n, 1, 8, 8)) * 0.5).astype(np.float32)
    images[:, 0, :4, :4] += a[:, None, None] * 1.5
    texts = [" ".join(rng.choice(WORDS, 4)) + (" yes" if bit else " no") for bit in b]
    table = pd.DataFrame({"x": rng.normal(size=n) + (y - 0.5),
                          "c": rng.choice(["u", "v", "w"], n)})
    return {"image": images, "text": texts, "tabular": table}, y


def _fusion(epochs: int, seed: int) -> Any:
    from plugins.neural.fusion import FUSION_DEFAULTS, FusionClassifier

    return FusionClassifier(**FUSION_DEFAULTS[0], max_epochs=epochs, n_threads=1,
                            random_state=seed)


def benchmark(repeats: int, rows: int, epochs: int, automl: bool) -> pd.DataFrame:
    """Fit every tool on every repeat and return one record per fit.

    Parameters
    ----------
    repeats : int
        Seeds ``0 .. repeats - 1``.
    rows : int
        Training rows.
    epochs : int
        Most epochs of the fusion nets.
    automl : bool
        Also run ``AutoML`` on each part alone.

    Returns
    -------
    pandas.DataFrame
        Columns ``seed, tool, accuracy, seconds``.

    """
    import torch

    torch.set_num_threads(1)
    records = []
    for seed in range(repeats):
        X, y = make_rows(rows, 1000 + seed)
        X_test, y_test = make_rows(TEST_ROWS, 2000 + seed)
        runs: list[tuple[str, Any, Any, Any]] = [("fused", _fusion(epochs, seed), X, X_test)]
        for part in X:
            runs.append((f"{part}_only", _fusion(epochs, seed), {part: X[part]},
                         {part: X_test[part]}))
        if automl:
            from automl import AutoML

            for part in X:
                model = AutoML(max_trials=3, time_budget=120, cv="holdout", random_state=seed)
                runs.append((f"automl_{part}", model, X[part], X_test[part]))
        for tool, model, train, test in runs:
            started = time.perf_counter()
            model.fit(train, y)
            seconds = time.perf_counter() - started
            accuracy = float(np.mean(np.asarray(model.predict(test)) == y_test))
            records.append({"seed": seed, "tool": tool, "accuracy": accuracy,
                            "seconds": round(seconds, 2)})
            print(f"seed {seed} {tool:>16}: accuracy {accuracy:.3f} in {seconds:.1f} s",
                  flush=True)
    return pd.DataFrame(records)


def summarize(results: pd.DataFrame) -> str:
    """Markdown table of median accuracy and seconds per tool (fused first)."""
    table = results.groupby("tool", sort=False)[["accuracy", "seconds"]].median()
    lines = ["| tool | median accuracy | median fit s |", "|---|---|---|"]
    lines += [f"| {tool} | {row.accuracy:.3f} | {row.seconds:.1f} |"
              for tool, row in table.iterrows()]
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--automl", action="store_true")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "multimodal.csv")
    args = parser.parse_args()
    started = time.perf_counter()
    results = benchmark(args.repeats, args.rows, args.epochs, args.automl)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    print(summarize(results))
    print(f"\n{len(results)} fits in {time.perf_counter() - started:.0f} s; raw runs: {args.out}")


if __name__ == "__main__":
    main()
