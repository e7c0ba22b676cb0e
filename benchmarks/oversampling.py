"""Oversampling benchmark: rare classes topped up by a generator, against class weights.

Usage::

    python benchmarks/oversampling.py [--seeds 5]
        [--sets binary_5pct,three_class,breast_cancer_8pct] [--models hgb,logreg]
        [--methods plain,independent,ctgan,balanced]
        [--ctgan-epochs 300] [--ctgan-time-limit 30]
        [--out benchmarks/results/oversampling.csv]

For every table and seed the rows are split 70/30 (stratified, the seed's
split); each classifier is fitted on the 70% four ways and scored on the 30%:

``plain``
    The classifier as it is.
``independent``
    :class:`plugins.neural.oversampling.OversampledClassifier` with the
    ``independent`` generator (every column sampled from the class's own
    marginals, one generator per rare class), ``target_ratio=1`` (every class
    topped up to the size of the largest).
``ctgan``
    The same with the ``ctgan`` generator: ``OVERSAMPLING_GAN_PARAMS`` with
    ``max_epochs`` from ``--ctgan-epochs`` (default 300, CTGAN's epoch count;
    the library's own is 100) and ``time_limit`` from ``--ctgan-time-limit``
    (default 30 s per generator fit), on the CPU, one torch thread. With one
    rare class (the binary tables) one GAN is fitted on that class's rows;
    with two (the 3-class table) one GAN conditioned on the class.
``balanced``
    The classifier with ``class_weight="balanced"`` (both classifiers here
    support it): the cheap baseline.

Classifiers: scikit-learn's ``HistGradientBoostingClassifier`` (``hgb``,
defaults) and ``LogisticRegression`` after a ``StandardScaler`` (``logreg``,
``max_iter=2000``). Everything runs on one thread (``threadpoolctl`` limits
OpenMP and BLAS to one: on the loaded 2-core machine, HistGradientBoosting's
OpenMP threads made a 0.5 s fit take up to a minute). Tables (no downloads):

``binary_5pct``
    ``make_classification``: 2,000 rows, 20 columns (6 informative, 4
    redundant), 5% minority, 1% flipped labels.
``three_class``
    ``make_classification``: 2,000 rows, 20 columns (6 informative), classes
    of 60%, 36% and 4%.
``breast_cancer_8pct``
    scikit-learn's breast cancer table with all 357 benign rows and a seeded
    draw of 31 malignant ones (8% of 388 rows); malignant is the positive class.

Metrics on the test rows: balanced accuracy, F1 of the minority class (binary)
or macro F1 (3 classes), ROC AUC (macro one-vs-rest for 3 classes), and the
fit seconds (generator included). One markdown table per data set: medians
over seeds, and the median of per-seed paired differences against ``plain``
(seconds: the ratio). Raw runs go to the CSV.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from sklearn.base import ClassifierMixin  # noqa: E402
from sklearn.datasets import load_breast_cancer, make_classification  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from plugins.neural.oversampling import OversampledClassifier  # noqa: E402

SETS = ("binary_5pct", "three_class", "breast_cancer_8pct")
MODELS = ("hgb", "logreg")
METHODS = ("plain", "independent", "ctgan", "balanced")
METRICS = ("balanced_accuracy", "f1", "roc_auc")


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A benchmark table: features and integer labels (the rarest class is the largest label).

    Parameters
    ----------
    name : str
        One of :data:`SETS`.

    Returns
    -------
    X : pandas.DataFrame
        Numeric features.
    y : ndarray
        Class labels.

    Raises
    ------
    ValueError
        For an unknown name.

    """
    if name == "binary_5pct":
        X, y = make_classification(n_samples=2000, n_features=20, n_informative=6,
                                   n_redundant=4, weights=[0.95, 0.05], flip_y=0.01,
                                   class_sep=1.0, random_state=0)
    elif name == "three_class":
        X, y = make_classification(n_samples=2000, n_features=20, n_informative=6,
                                   n_redundant=2, n_classes=3, n_clusters_per_class=1,
                                   weights=[0.60, 0.36, 0.04], flip_y=0.01,
                                   class_sep=1.0, random_state=1)
    elif name == "breast_cancer_8pct":
        data = load_breast_cancer()
        malignant = np.flatnonzero(data.target == 0)
        benign = np.flatnonzero(data.target == 1)
        keep = np.random.default_rng(0).choice(malignant, size=31, replace=False)
        rows = np.sort(np.concatenate([benign, keep]))
        frame = pd.DataFrame(data.data[rows], columns=list(data.feature_names))
        return frame, (data.target[rows] == 0).astype(int)
    else:
        raise ValueError(f"unknown table {name!r}; known: {SETS}")
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]), y.astype(int)


def classifier(model: str, seed: int, balanced: bool = False) -> ClassifierMixin:
    """An unfitted classifier of the benchmark.

    Parameters
    ----------
    model : {"hgb", "logreg"}
        Which classifier.
    seed : int
        Its random state.
    balanced : bool, default=False
        Set ``class_weight="balanced"``.

    Returns
    -------
    ClassifierMixin
        The estimator.

    Raises
    ------
    ValueError
        For an unknown model.

    """
    weight = "balanced" if balanced else None
    if model == "hgb":
        return HistGradientBoostingClassifier(class_weight=weight, random_state=seed)
    if model == "logreg":
        return make_pipeline(StandardScaler(),
                             LogisticRegression(max_iter=2000, class_weight=weight))
    raise ValueError(f"unknown model {model!r}; known: {MODELS}")


def estimator(model: str, method: str, seed: int, gan_params: dict[str, Any]) -> Any:
    """The estimator one method fits.

    Parameters
    ----------
    model : str
        One of :data:`MODELS`.
    method : str
        One of :data:`METHODS`.
    seed : int
        Seed of the classifier and the oversampling.
    gan_params : dict
        ``generator_params`` for the ``ctgan`` method.

    Returns
    -------
    estimator
        Unfitted.

    Raises
    ------
    ValueError
        For an unknown method.

    """
    if method == "plain":
        return classifier(model, seed)
    if method == "balanced":
        return classifier(model, seed, balanced=True)
    if method == "independent":
        return OversampledClassifier(classifier(model, seed), generator="independent",
                                     target_ratio=1.0, random_state=seed)
    if method == "ctgan":
        return OversampledClassifier(classifier(model, seed), generator="ctgan",
                                     target_ratio=1.0, generator_params=gan_params,
                                     random_state=seed)
    raise ValueError(f"unknown method {method!r}; known: {METHODS}")


def scores(y_true: np.ndarray, predicted: np.ndarray, proba: np.ndarray,
           classes: np.ndarray) -> dict[str, float]:
    """Balanced accuracy, minority (binary) or macro F1, and ROC AUC.

    Parameters
    ----------
    y_true, predicted : ndarray
        Test labels and predictions.
    proba : ndarray of shape (n_samples, n_classes)
        Predicted probabilities in ``classes`` order.
    classes : ndarray
        The classifier's classes.

    Returns
    -------
    dict
        One value per name in :data:`METRICS`.

    """
    if len(classes) == 2:
        f1 = f1_score(y_true, predicted, pos_label=classes[1], zero_division=0.0)
        auc = roc_auc_score(y_true, proba[:, 1])
    else:
        f1 = f1_score(y_true, predicted, average="macro", zero_division=0.0)
        auc = roc_auc_score(y_true, proba, multi_class="ovr", average="macro", labels=classes)
    return {"balanced_accuracy": float(balanced_accuracy_score(y_true, predicted)),
            "f1": float(f1), "roc_auc": float(auc)}


def run_one(name: str, X: pd.DataFrame, y: np.ndarray, model: str, method: str, seed: int,
            gan_params: dict[str, Any]) -> dict[str, Any]:
    """Fit one method on one table's training split and score it on the test split.

    Parameters
    ----------
    name : str
        The table's name.
    X, y : DataFrame, ndarray
        The whole table.
    model, method : str
        Classifier and method.
    seed : int
        Split and model seed.
    gan_params : dict
        ``generator_params`` for ``ctgan``.

    Returns
    -------
    dict
        One CSV row.

    """
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed)
    est = estimator(model, method, seed, gan_params)
    started = time.monotonic()
    est.fit(X_train, y_train)
    fit_s = time.monotonic() - started
    row: dict[str, Any] = {"set": name, "model": model, "method": method, "seed": seed,
                           "n_classes": len(np.unique(y)), "train_rows": len(y_train),
                           "train_minority": int(np.bincount(y_train).min()),
                           "test_minority": int(np.bincount(y_test).min())}
    row.update({k: round(v, 4) for k, v in scores(
        y_test, est.predict(X_test), est.predict_proba(X_test), est.classes_).items()})
    row["fit_s"] = round(fit_s, 3)
    oversampler = getattr(est, "oversampler_", None)
    row["synthetic_rows"] = (int(sum(oversampler.synthetic_counts_.values()))
                             if oversampler is not None else 0)
    gans = list(oversampler.generators_.values()) if method == "ctgan" else []
    row["gan_epochs"] = "/".join(str(g.n_epochs_) for g in gans)
    row["gan_stop"] = "/".join(g.stop_reason_ for g in gans)
    return row


def summary(results: pd.DataFrame, methods: list[str]) -> None:
    """Print one markdown table per data set: medians and paired differences vs plain.

    Parameters
    ----------
    results : pandas.DataFrame
        The raw runs.
    methods : list of str
        Methods in column order (``plain`` is the reference when present).

    """
    names = {"balanced_accuracy": "bal. acc.", "f1": "F1", "roc_auc": "ROC AUC"}
    for name, part in results.groupby("set", sort=False):
        first = part.iloc[0]
        binary = int(first["n_classes"]) == 2
        f1_kind = "minority F1" if binary else "macro F1"
        auc_kind = "ROC AUC" if binary else "ROC AUC (macro OvR)"
        print(f"\n### {name} ({first['train_rows']} training rows, "
              f"{first['train_minority']} of the rarest class; "
              f"{first['test_minority']} in the test rows)\n")
        labels = {"balanced_accuracy": "bal. acc.", "f1": f1_kind, "roc_auc": auc_kind}
        header = ["model", "method"]
        for metric in METRICS:
            header += [labels[metric], f"{names[metric]} vs plain"]
        header += ["fit s", "fit s vs plain"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for model, runs in part.groupby("model", sort=False):
            plain = runs[runs["method"] == "plain"].set_index("seed")
            for method in methods:
                mine = runs[runs["method"] == method].set_index("seed")
                if mine.empty:
                    continue
                cells = [str(model), method]
                for metric in METRICS:
                    cells.append(f"{mine[metric].median():.4f}")
                    if method == "plain" or plain.empty:
                        cells.append("-")
                    else:
                        diff = (mine[metric] - plain[metric]).dropna().median()
                        cells.append(f"{diff:+.4f}")
                cells.append(f"{mine['fit_s'].median():.2f}")
                if method == "plain" or plain.empty:
                    cells.append("-")
                else:
                    ratio = (mine["fit_s"] / plain["fit_s"].clip(lower=1e-3)).dropna().median()
                    cells.append(f"{ratio:.0f}x" if ratio >= 100 else f"{ratio:.3g}x")
                print("| " + " | ".join(cells) + " |")


def main() -> None:
    """Run the benchmark, write the raw runs and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--ctgan-epochs", type=int, default=300)
    parser.add_argument("--ctgan-time-limit", type=float, default=30.0,
                        help="seconds per ctgan fit")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/oversampling.csv"))
    args = parser.parse_args()
    methods = [m for m in args.methods.split(",") if m]
    gan_params = {"max_epochs": args.ctgan_epochs, "time_limit": args.ctgan_time_limit,
                  "device": "cpu", "n_threads": 1}
    started = time.monotonic()
    rows = []
    with threadpool_limits(limits=1):
        for name in args.sets.split(","):
            X, y = load(name)
            for seed in range(args.seeds):
                for model in args.models.split(","):
                    for method in methods:
                        row = run_one(name, X, y, model, method, seed, gan_params)
                        print(row, flush=True)
                        rows.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    summary(pd.DataFrame(rows), methods)
    print(f"\n{platform.platform()}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; {time.monotonic() - started:.0f} s; raw runs in {out}")


if __name__ == "__main__":
    main()
