"""Image benchmark: the ``cnn`` spec's default, pixel baselines and ``AutoML`` on 8x8 digits.

Usage::

    nice -n 10 python benchmarks/images.py [--budget 60] [--repeats 3] [--no-automl]
        [--tools cnn_default,hgb_pixels,logreg_pixels,automl,automl_holdout]
        [--out benchmarks/results/images.csv]

scikit-learn's digits (1,797 grey 8x8 images, pixels 0..16, 10 classes) are
given as ``(N, 8, 8)`` images. For every repeat seed ``0 .. repeats-1`` they are
split once (75/25, stratified, shuffled) and, one after the other on that split:

- ``cnn_default``: the ``cnn`` spec's first default config (what ``AutoML``
  tries first), built for the training rows with one torch thread and fitted
  directly; its seconds per epoch are recorded;
- ``hgb_pixels``: a default ``HistGradientBoostingClassifier`` on the 64 pixels;
- ``logreg_pixels``: ``StandardScaler`` + ``LogisticRegression`` on the 64 pixels;
- ``automl``: ``AutoML(time_budget=budget, random_state=seed)`` on the images,
  searching every registered model that supports images (the CNN and the
  pixel models);
- ``automl_holdout`` (only with ``--tools``): the same with ``cv="holdout"``.

Held-out accuracy and log loss and every fit time go to a CSV file; a markdown
table of medians over the repeats (with each tool's median paired difference
to the pixel HGB baseline) goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("AUTOML_DISABLE_PLUGIN_AUTOLOAD", "1")  # built-in plugins only

TOOLS = ("cnn_default", "hgb_pixels", "logreg_pixels", "automl", "automl_holdout")
DEFAULT_TOOLS = ("cnn_default", "hgb_pixels", "logreg_pixels", "automl")
BASELINE = "hgb_pixels"
TARGET_ACCURACY = 0.98


@dataclass
class Run:
    """One fit of one tool on one split, as written to the CSV file."""

    seed: int
    tool: str
    budget: float
    n_train: int
    accuracy: float = float("nan")
    log_loss: float = float("nan")
    fit_s: float = float("nan")
    epochs: float = float("nan")
    seconds_per_epoch: float = float("nan")
    detail: str = ""
    error: str = ""


def fit_cnn_default(X: np.ndarray, y: np.ndarray, seed: int, budget: float,
                    run: Run) -> Any:
    """The ``cnn`` spec's first default, sized for these images, on one thread."""
    from automl.specs import Context
    from plugins.neural.cnn import CNN_DEFAULTS, build_cnn

    ctx = Context(task="multiclass", n_rows=len(X), n_features=64, n_classes=10, seed=seed,
                  n_threads=1, device="cpu", modality="image", input_shape=(1, 8, 8))
    model = build_cnn(CNN_DEFAULTS[0], ctx).fit(X, y)
    run.epochs = model.n_epochs_
    run.seconds_per_epoch = float(np.mean([h["seconds"] for h in model.history_]))
    run.detail = f"stop={model.stop_reason_} best_epoch={model.best_epoch_}"
    return model


def fit_hgb(X: np.ndarray, y: np.ndarray, seed: int, budget: float, run: Run) -> Any:
    """Default histogram gradient boosting on the flattened pixels."""
    model = make_pipeline(FunctionTransformer(flatten),
                          HistGradientBoostingClassifier(random_state=seed))
    return model.fit(X, y)


def fit_logreg(X: np.ndarray, y: np.ndarray, seed: int, budget: float, run: Run) -> Any:
    """Standardised logistic regression on the flattened pixels."""
    model = make_pipeline(FunctionTransformer(flatten), StandardScaler(),
                          LogisticRegression(max_iter=2000))
    return model.fit(X, y)


def fit_automl(X: np.ndarray, y: np.ndarray, seed: int, budget: float, run: Run,
               **params: Any) -> Any:
    """``AutoML`` with its defaults on the images."""
    from automl import AutoML

    model = AutoML(time_budget=budget, random_state=seed, verbose=0, **params).fit(X, y)
    trials = model.trials_
    ok = [t for t in trials if t.status == "ok"]
    families = sorted({t.model for t in trials})
    cnn_ok = sum(t.model == "cnn" for t in ok)
    run.detail = (f"best={model.best_trial_.model} trials={len(ok)}/{len(trials)} "
                  f"cnn_ok={cnn_ok} members={len(model.final_.estimators)} "
                  f"searched={','.join(families)}")
    return model


def flatten(X: np.ndarray) -> np.ndarray:
    """``(N, H, W)`` images to ``(N, H * W)`` rows."""
    return np.asarray(X).reshape(len(X), -1)


def fit_automl_holdout(X: np.ndarray, y: np.ndarray, seed: int, budget: float,
                       run: Run) -> Any:
    """``AutoML(cv="holdout")``: one 80/20 split per trial instead of five folds."""
    return fit_automl(X, y, seed, budget, run, cv="holdout")


FITTERS = {"cnn_default": fit_cnn_default, "hgb_pixels": fit_hgb,
           "logreg_pixels": fit_logreg, "automl": fit_automl,
           "automl_holdout": fit_automl_holdout}


def run_one(tool: str, split: tuple, run: Run) -> Run:
    """Fit and score one tool on one split, recording failures instead of raising."""
    X_train, X_test, y_train, y_test = split
    from threadpoolctl import threadpool_limits

    # single models get one thread, like the CNN: on a shared 2-core machine
    # HistGradientBoosting with every OpenMP thread took 96 s instead of 2 s
    limits = None if tool == "automl" else 1
    started = time.perf_counter()
    try:
        try:
            with threadpool_limits(limits=limits):
                model = FITTERS[tool](X_train, y_train, run.seed, run.budget, run)
        finally:
            run.fit_s = time.perf_counter() - started
        proba = np.asarray(model.predict_proba(X_test), dtype=float)
        proba /= proba.sum(axis=1, keepdims=True)
        run.accuracy = accuracy_score(y_test, np.asarray(model.classes_)[proba.argmax(1)])
        run.log_loss = log_loss(y_test, proba, labels=np.asarray(model.classes_))
    except Exception as exc:  # a benchmark reports failures and goes on
        run.error = f"{type(exc).__name__}: {exc}"[:300]
        print(f"  {tool} failed on seed {run.seed}: {run.error}", file=sys.stderr)
    return run


def benchmark(budget: float, repeats: int, tools: list[str]) -> pd.DataFrame:
    """Run every tool on every repeat split, one fit at a time.

    Returns
    -------
    pandas.DataFrame
        One row per fit, the fields of :class:`Run`.
    """
    digits = load_digits()
    images, y = digits.images.astype(np.float32), digits.target
    runs = []
    for seed in range(repeats):
        split = train_test_split(images, y, test_size=0.25, shuffle=True, stratify=y,
                                 random_state=seed)
        for tool in tools:
            print(f"digits seed={seed} {tool} ...", file=sys.stderr, flush=True)
            run = run_one(tool, split, Run(seed, tool, budget, len(split[0])))
            runs.append(run)
            print(f"  accuracy={run.accuracy:.4f} fit={run.fit_s:.1f}s {run.detail}",
                  file=sys.stderr, flush=True)
    return pd.DataFrame([asdict(run) for run in runs])


def summarize(results: pd.DataFrame, tools: list[str]) -> str:
    """Render the markdown table of medians over repeats, one row per tool."""
    header = ["tool", "accuracy (median)", "accuracy min / max", f"accuracy vs {BASELINE}",
              f"error rate / {BASELINE}'s", "log loss", "fit s (median)", "epochs",
              "s / epoch", "failed"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    base = results[results.tool == BASELINE].set_index("seed")
    for tool in tools:
        rows = results[results.tool == tool].set_index("seed")
        paired = rows.accuracy - base.accuracy.reindex(rows.index)
        error_ratio = (1 - rows.accuracy) / (1 - base.accuracy.reindex(rows.index))
        cells = [
            tool,
            f"{rows.accuracy.median():.4f}",
            f"{rows.accuracy.min():.4f} / {rows.accuracy.max():.4f}",
            "-" if tool == BASELINE or paired.isna().all() else f"{paired.median():+.4f}",
            "-" if tool == BASELINE or error_ratio.isna().all()
            else f"{error_ratio.median():.2f}x",
            f"{rows.log_loss.median():.4f}",
            f"{rows.fit_s.median():.1f}",
            "-" if rows.epochs.isna().all() else f"{rows.epochs.median():.0f}",
            "-" if rows.seconds_per_epoch.isna().all()
            else f"{rows.seconds_per_epoch.median():.3f}",
            str(int((rows.error != "").sum())),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    best = results.groupby("tool").accuracy.median()
    lines.append("")
    lines.append(f"best median accuracy: {best.idxmax()} {best.max():.4f}")
    if "automl" in best:
        verdict = "met" if best["automl"] >= TARGET_ACCURACY else "not met"
        lines.append(f"AutoML median accuracy {best['automl']:.4f}: target >= "
                     f"{TARGET_ACCURACY} {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the benchmark, write the CSV file, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0,
                        help="AutoML time budget in seconds")
    parser.add_argument("--repeats", type=int, default=3, help="splits (seeds 0..n-1)")
    parser.add_argument("--no-automl", action="store_true", help="skip the AutoML runs")
    parser.add_argument("--tools", default=",".join(DEFAULT_TOOLS),
                        help=f"comma-separated subset of {','.join(TOOLS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "images.csv")
    args = parser.parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown or BASELINE not in tools:
        parser.error(f"--tools must name {BASELINE} and others of {TOOLS}; unknown: {unknown}")
    if args.no_automl:
        tools = [t for t in tools if not t.startswith("automl")]
    started = time.perf_counter()
    results = benchmark(args.budget, args.repeats, tools)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    print(summarize(results, tools))
    print(f"\n{len(results)} fits in {time.perf_counter() - started:.0f} s; raw runs: {args.out}")


if __name__ == "__main__":
    main()
