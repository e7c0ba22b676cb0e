"""Image, sequence and text benchmark: every registered spec, the non-neural baseline, AutoML.

Usage::

    python benchmarks/modalities.py [--budget 60] [--seeds 3] [--tasks spike_order,word_order]
        [--no-automl] [--tools sequence_summary,lstm,AutoML]
        [--out benchmarks/results/modalities.csv] [--from-csv FILE]

For every task of ``benchmarks/_modality_tasks.py`` (no downloads) and every seed
``0 .. seeds-1`` the rows are split once (75/25, stratified) and, one after the other:

- every registered spec serving the task's modality and task is built at its
  first default configuration (``Context`` with ``n_threads`` as an ``AutoML``
  trial gets with ``n_jobs=1``, CPU) and fitted on the training rows, timed;
  neural families report seconds per epoch from the fitted estimator's
  ``fit_seconds_`` / ``n_epochs_`` (or ``history_``);
- ``AutoML(time_budget=budget, random_state=seed)`` searches every such spec.

Test-set accuracy and log loss are recorded; the printed table shows medians over
seeds and the median of per-seed accuracy ratios against the modality's non-neural
baseline (``sequence_summary``, ``tfidf_linear``, ``pixels_hgb``). Neural specs
that are not registered (``lstm``, ``transformer``, ``cnn``) are listed and skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a source checkout without installing
    sys.path.insert(0, str(ROOT))

from benchmarks._modality_tasks import (  # noqa: E402
    TASK_MODALITIES,
    TASK_NAMES,
    ModalityTask,
    make_task,
    split_rows,
    take_rows,
)

BASELINES = {"sequence": "sequence_summary", "text": "tfidf_linear", "image": "pixels_hgb"}
"""The non-neural baseline of each modality: ratios are taken against it."""

NEURAL_FAMILIES = {"sequence": ("lstm", "transformer"), "text": ("lstm", "transformer"),
                   "image": ("cnn",)}
"""Neural specs expected per modality; missing ones are reported, not fatal."""

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "modalities.csv"


@dataclass
class Run:
    """One fit on one split, as written to the CSV file."""

    task: str
    modality: str
    n_rows: int
    seed: int
    tool: str
    budget: float = float("nan")
    accuracy: float = float("nan")
    log_loss: float = float("nan")
    fit_s: float = float("nan")
    n_epochs: float = float("nan")
    s_per_epoch: float = float("nan")
    detail: str = ""
    error: str = ""


def canonical(task: ModalityTask) -> tuple[Any, Any]:
    """The task's inputs in the engine's canonical form, and their schema."""
    from automl.modalities import SCHEMAS

    schema = SCHEMAS[task.modality].infer(task.X)
    return schema.transform(task.X), schema


def make_context(task: ModalityTask, schema: Any, n_rows: int, seed: int) -> Any:
    """The ``Context`` an ``AutoML`` trial with ``n_jobs=1`` would hand a spec."""
    from automl.engine.workers import threads_per_trial
    from automl.specs import Context

    shape = tuple(schema.input_shape)
    return Context(task=task.task, n_rows=n_rows, n_features=int(np.prod(shape)),
                   n_classes=task.n_classes, seed=seed, n_threads=threads_per_trial(1),
                   device="cpu", modality=task.modality, input_shape=shape)


def _children(estimator: Any) -> Iterator[Any]:
    for name in ("estimator_", "best_estimator_", "model_"):
        child = getattr(estimator, name, None)
        if child is not None:
            yield child
    for _, step in getattr(estimator, "steps", None) or []:
        if step is not None and not isinstance(step, str):
            yield step


def epoch_facts(estimator: Any) -> tuple[float, float]:
    """Epochs and seconds per epoch of a fitted (possibly wrapped) neural estimator.

    Looks for ``n_epochs_`` (or ``history_``) through ``estimator_``,
    ``model_`` and pipeline steps; seconds come from ``fit_seconds_``, else the
    ``seconds`` of the history. NaN for models without epochs.
    """
    queue, seen = [estimator], 0
    while queue and seen < 20:
        current = queue.pop(0)
        seen += 1
        history = getattr(current, "history_", None)
        epochs = getattr(current, "n_epochs_", None)
        if epochs is None and isinstance(history, list) and history:
            epochs = len(history)
        if epochs:
            seconds = getattr(current, "fit_seconds_", None)
            if seconds is None and isinstance(history, list) and history \
                    and isinstance(history[-1], dict) and "seconds" in history[-1]:
                seconds = sum(float(h.get("seconds", 0.0)) for h in history)
            per_epoch = float(seconds) / float(epochs) if seconds is not None else float("nan")
            return float(epochs), per_epoch
        queue.extend(_children(current))
    return float("nan"), float("nan")


def score_into(run: Run, model: Any, X_test: Any, y_test: np.ndarray, n_classes: int) -> None:
    """Test accuracy and log loss of a fitted classifier, written into ``run``."""
    proba = np.asarray(model.predict_proba(X_test), dtype=np.float64)
    proba /= proba.sum(axis=1, keepdims=True)  # float32 models sum to 1 within 1e-7 only
    run.log_loss = float(log_loss(y_test, proba, labels=np.arange(n_classes)))
    run.accuracy = float(accuracy_score(y_test, np.asarray(model.predict(X_test))))


def fit_default(spec: Any, ctx: Any, split: tuple, run: Run, n_classes: int) -> Run:
    """Fit ``spec`` at its first default on the split; record failures, never raise."""
    X_train, X_test, y_train, y_test = split
    config = dict(spec.defaults[0]) if spec.defaults else {}
    started = time.perf_counter()
    try:
        try:
            model = spec.build(config, ctx).fit(X_train, y_train)
        finally:
            run.fit_s = time.perf_counter() - started
        run.n_epochs, run.s_per_epoch = epoch_facts(model)
        score_into(run, model, X_test, y_test, n_classes)
    except Exception as exc:  # a benchmark reports failures and goes on
        run.error = f"{type(exc).__name__}: {exc}"[:300]
    return run


def fit_automl(raw_split: tuple, run: Run, budget: float, n_classes: int) -> Run:
    """Fit ``AutoML(time_budget=budget, random_state=seed)`` on the user-form split."""
    from automl import AutoML

    X_train, X_test, y_train, y_test = raw_split
    started = time.perf_counter()
    try:
        try:
            model = AutoML(time_budget=budget, random_state=run.seed).fit(X_train, y_train)
        finally:
            run.fit_s = time.perf_counter() - started
        ok = [t for t in model.trials_ if t.status == "ok"]
        families = sorted({t.model for t in ok})
        in_final = set(model.final_.estimators)
        members = sorted({t.model for t in model.trials_ if t.number in in_final})
        run.detail = (f"best={model.best_trial_.model} trials={len(ok)}/{len(model.trials_)} "
                      f"families={','.join(families)} final={','.join(members)}")
        score_into(run, model, X_test, y_test, n_classes)
    except Exception as exc:  # a benchmark reports failures and goes on
        run.error = f"{type(exc).__name__}: {exc}"[:300]
    return run


def eligible_specs(task: ModalityTask, ctx: Any) -> dict[str, Any]:
    """Registered specs serving the task's modality and task, baseline first."""
    from automl.registry import get_registry

    specs = {name: spec for name, spec in sorted(get_registry().models.items())
             if spec.supports(ctx)}
    baseline = BASELINES[task.modality]
    return dict(sorted(specs.items(), key=lambda item: item[0] != baseline))


def benchmark(task_names: list[str], seeds: int, budget: float, automl: bool,
              tools: set[str] | None = None) -> pd.DataFrame:
    """Run every eligible spec's default and AutoML on every task and seed.

    ``tools`` limits the specs fitted at their defaults to those names (and
    AutoML to when ``"AutoML"`` is among them); None runs them all.
    """
    runs: list[Run] = []
    for name in task_names:
        for seed in range(seeds):
            task = make_task(name, seed=seed)
            X, schema = canonical(task)
            train, test = split_rows(task.y, seed)
            split = (take_rows(X, train), take_rows(X, test), task.y[train], task.y[test])
            ctx = make_context(task, schema, len(train), seed)
            for spec_name, spec in eligible_specs(task, ctx).items():
                if tools is not None and spec_name not in tools:
                    continue
                run = fit_default(spec, ctx, split, Run(name, task.modality, len(task.y),
                                                        seed, spec_name), task.n_classes)
                runs.append(run)
                report(run)
            if automl and (tools is None or "AutoML" in tools):
                raw = (take_rows(task.X, train), take_rows(task.X, test), task.y[train],
                       task.y[test])
                run = fit_automl(raw, Run(name, task.modality, len(task.y), seed, "AutoML",
                                          budget), budget, task.n_classes)
                runs.append(run)
                report(run)
    return pd.DataFrame([asdict(run) for run in runs])


def report(run: Run) -> None:
    """One progress line on stderr."""
    epochs = "" if np.isnan(run.s_per_epoch) else \
        f" epochs={run.n_epochs:.0f} s/epoch={run.s_per_epoch:.3f}"
    error = f" ERROR {run.error}" if run.error else ""
    print(f"{run.task} seed={run.seed} {run.tool}: acc={run.accuracy:.4f} "
          f"fit={run.fit_s:.1f}s{epochs} {run.detail}{error}", file=sys.stderr, flush=True)


def summarize(results: pd.DataFrame) -> str:
    """Markdown table of medians over seeds, one row per task and tool."""
    header = ["task", "modality", "tool", "accuracy", "log loss", "vs baseline",
              "fit s", "s/epoch", "failed"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (name, modality), rows in results.groupby(["task", "modality"], sort=False):
        baseline = BASELINES[modality]
        base = rows[rows["tool"] == baseline].set_index("seed")["accuracy"]
        for tool, own in rows.groupby("tool", sort=False):
            accuracy = own.set_index("seed")["accuracy"]
            ratio = (accuracy / base.reindex(accuracy.index)).median()
            label = f"{tool} (baseline)" if tool == baseline else tool
            lines.append("| " + " | ".join([
                name, modality, label, _fmt(accuracy.median()), _fmt(own["log_loss"].median()),
                "-" if np.isnan(ratio) else f"{ratio:.3f}x", f"{own['fit_s'].median():.1f}",
                _fmt(own["s_per_epoch"].median(), 3), str(int((own["error"] != "").sum())),
            ]) + " |")
    return "\n".join(lines)


def automl_lines(results: pd.DataFrame) -> list[str]:
    """One line per AutoML run: its score, time and what the search kept."""
    rows = results[results["tool"] == "AutoML"]
    return [f"- {r.task} seed {r.seed}: accuracy {_fmt(r.accuracy)}, {r.fit_s:.1f} s, "
            f"{r.detail or r.error}" for r in rows.itertuples()]


def _fmt(value: float, digits: int = 4) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def missing_neural(task_names: list[str]) -> list[str]:
    """Notes on expected neural specs that are not registered (or failed to load)."""
    from automl.registry import get_registry

    registry = get_registry()
    modalities = {TASK_MODALITIES[name] for name in task_names}
    expected = sorted({f for m in modalities for f in NEURAL_FAMILIES[m]})
    notes = [f"neural spec {name!r} is not registered; skipped" for name in expected
             if name not in registry.models]
    notes += [f"plugin {plugin} failed to load: {error}"
              for plugin, error in getattr(registry, "failures", {}).items()]
    return notes


def machine_line() -> str:
    """Cores, load and versions, in one line."""
    import sklearn
    import torch

    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    return (f"Machine: {os.cpu_count()} cores, {platform.machine()}, load average {load} "
            f"(1/5/15 min, at the end); Python {platform.python_version()}, scikit-learn "
            f"{sklearn.__version__}, torch {torch.__version__}")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run the benchmark, write the CSV and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per AutoML fit (default 60)")
    parser.add_argument("--seeds", type=int, default=3, help="splits per task (default 3)")
    parser.add_argument("--tasks", default=",".join(TASK_NAMES),
                        help=f"comma-separated tasks (default all: {','.join(TASK_NAMES)})")
    parser.add_argument("--no-automl", action="store_true",
                        help="fit the specs' defaults only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV of the raw runs")
    parser.add_argument("--tools", default=None,
                        help="comma-separated spec names and/or AutoML to run (default all)")
    parser.add_argument("--from-csv", type=Path, default=None,
                        help="print the table of runs saved earlier instead of running")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.tasks.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TASK_NAMES))
    if unknown:
        parser.error(f"unknown tasks {unknown}; known: {list(TASK_NAMES)}")

    if args.from_csv is not None:  # re-render saved runs
        results = pd.read_csv(args.from_csv, dtype={"error": object, "detail": object})
        results[["error", "detail"]] = results[["error", "detail"]].fillna("")
        notes: list[str] = []
    else:
        notes = missing_neural(names)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        tools = None if args.tools is None else {t.strip() for t in args.tools.split(",")}
        results = benchmark(names, args.seeds, args.budget, automl=not args.no_automl,
                            tools=tools)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        results.to_csv(args.out, index=False)
    print(summarize(results))
    print()
    print(f"Medians over {results['seed'].nunique()} seeds; 'vs baseline' is the median "
          f"per-seed accuracy ratio against {BASELINES}; 's/epoch' is fit_seconds_ / "
          f"n_epochs_ of the fitted network.")
    print("AutoML runs:")
    print("\n".join(automl_lines(results)))
    for note in notes:
        print(f"Note: {note}.")
    if args.from_csv is None:
        print(machine_line())
    print(f"Raw runs: {args.from_csv or args.out}")


if __name__ == "__main__":
    main()
