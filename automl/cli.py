"""The ``automl`` command: demo, fit, run, predict, sample, leaderboard, plugins."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

STARTED = time.monotonic()
"""When this module was imported: where ``--time-budget`` counts from when the
process is the ``automl`` command (:func:`main` called without ``argv``)."""

import pandas as pd  # noqa: E402 - after the clock starts

DEMO_DATASETS = ("breast_cancer", "wine", "iris", "digits", "diabetes")

SAVE_SHARE = 0.1
"""Share of ``--time-budget`` kept for what follows the search (printing the
leaderboard, saving the model), at least 1 s and at most 10 s."""


def _positive_seconds(value: str) -> float:
    """An argparse type: a positive, finite number of seconds (the error names the flag)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return seconds


def _jobs(value: str) -> int:
    """An argparse type: a positive number of parallel trials, or -1 for one per core."""
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if jobs == 0 or jobs < -1:
        raise argparse.ArgumentTypeError(f"must be a positive integer or -1, got {value}")
    return jobs


def _add_search_options(parser: argparse.ArgumentParser, default_budget: float) -> None:
    parser.add_argument("--time-budget", type=_positive_seconds, default=None,
                        help=f"seconds for the whole command, reading the data and "
                             f"saving the model included (default: {default_budget:g}, "
                             "none with --max-trials)")
    parser.set_defaults(default_budget=default_budget, started=None)
    parser.add_argument("--max-trials", type=int, default=None, help="stop after N trials")
    parser.add_argument("--trial-time-limit", type=_positive_seconds, default=None,
                        help="seconds after which a trial is stopped (default: a third of "
                             "the budget)")
    parser.add_argument("--n-jobs", type=_jobs, default=1,
                        help="trials run at once, each in its own process (-1: one per "
                             "core; default: 1)")
    parser.add_argument("--task", default=None,
                        help="binary, multiclass, classification, regression (inferred), "
                             "recommendation or generation")
    parser.add_argument("--modality", default=None,
                        choices=("tabular", "image", "sequence", "text"),
                        help="what the rows are (detected from the data by default)")
    parser.add_argument("--metric", default=None, help="metric name (task default)")
    parser.add_argument("--models", default=None,
                        help="comma-separated model names (all eligible by default)")
    parser.add_argument("--strategy", default="bayesian",
                        help="search strategy: bayesian (default), random, grid, genetic")
    parser.add_argument("--cv", default="auto",
                        help="folds, a holdout fraction, 'holdout' or 'auto' (default)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                        help="0: silent; 1 (default): what is searched, a live bar on a "
                             "terminal or a line per improvement, the final model; "
                             "2: a line per trial")


def _cv(value: str) -> int | float | str:
    if value in ("holdout", "auto"):
        return value
    number = float(value)
    return int(number) if number.is_integer() and number >= 2 else number


def _time_budget(args: argparse.Namespace) -> float | None:
    """``--time-budget``, else the command's default unless ``--max-trials`` bounds the fit."""
    if args.time_budget is not None or args.max_trials is not None:
        return args.time_budget
    return args.default_budget


def _search_budget(args: argparse.Namespace) -> float | None:
    """The part of the command's budget left for ``AutoML.fit``.

    What the command has used so far (start-up, imports, reading the data) and
    a reserve for what follows the search (:data:`SAVE_SHARE`) are taken off,
    so that the command, not only the search, keeps to ``--time-budget``. The
    search keeps at least half the budget.
    """
    budget = _time_budget(args)
    if budget is None:
        return None
    started = time.monotonic() if args.started is None else args.started
    reserve = min(max(1.0, SAVE_SHARE * budget), 10.0)
    left = budget - (time.monotonic() - started) - reserve
    return max(left, budget / 2)


def _describe_budget(args: argparse.Namespace) -> str:
    """The fit's budget in words, e.g. ``30s`` or ``5 trials``."""
    seconds = _time_budget(args)
    trials = "" if args.max_trials is None else f"{args.max_trials} trials"
    if seconds is None:
        return trials
    return f"{seconds:g}s" + (f", {trials}" if trials else "")


def _make_automl(args: argparse.Namespace):  # noqa: ANN202 - AutoML is imported lazily
    from automl import AutoML

    return AutoML(
        time_budget=_search_budget(args), max_trials=args.max_trials, task=args.task,
        modality=args.modality, metric=args.metric,
        models=args.models.split(",") if args.models else None,
        strategy=args.strategy, cv=_cv(args.cv), random_state=args.seed,
        verbose=args.verbose, trial_time_limit=args.trial_time_limit, n_jobs=args.n_jobs,
    )


def _print_leaderboard(board: pd.DataFrame, rows: int = 10) -> None:
    shown = board.drop(columns=["params", "error"], errors="ignore").head(rows)
    print(shown.to_string(index=False))
    if len(board) > rows:
        print(f"... {len(board) - rows} more trials")


def cmd_demo(args: argparse.Namespace) -> int:
    """Run a real search on a data set scikit-learn ships and report the held-out score."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loader = getattr(datasets, f"load_{args.dataset}")
    X, y = loader(return_X_y=True, as_frame=True)
    regression = args.dataset == "diabetes"
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=None if regression else y)
    print(f"demo: {args.dataset} ({len(X_train)} training rows, {X.shape[1]} columns), "
          f"budget {_describe_budget(args)}", file=sys.stderr)
    model = _make_automl(args).fit(X_train, y_train)
    print("\nLeaderboard (cross-validated on the training rows):")
    _print_leaderboard(model.leaderboard())
    print(f"\nfinal model: {model.final_model_description()}")
    searched = _search_metric(model, X_test, y_test)
    print(f"held-out rows ({len(X_test)}): {model.metric_} {searched:.4f} (the metric "
          f"searched), {_score_name(model)} {model.score(X_test, y_test):.4f} (model.score)")
    return 0


def _score_name(model) -> str:  # noqa: ANN001 - AutoML is imported lazily
    return "R^2" if model.task_ == "regression" else "accuracy"


def _search_metric(model, X, y) -> float:  # noqa: ANN001 - AutoML is imported lazily
    """The held-out score in the metric the search optimised."""
    import numpy as np

    from automl.registry import get_registry

    metric = get_registry().metric(model.metric_)
    if model.task_ == "regression":
        return metric(np.asarray(y, dtype=float), model.predict(X))
    code = {label: i for i, label in enumerate(model.classes_)}
    return metric(np.asarray([code[label] for label in y]), model.predict_proba(X))


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit on a data file (see ``automl.datafiles``) and save the model directory."""
    from automl.datafiles import read_training_data

    if args.target is None and args.task not in ("recommendation", "generation"):
        raise ValueError("--target is required (only --task recommendation, for implicit "
                         "feedback, and --task generation omit it)")
    X, y = read_training_data(args.train, args.target, args.modality)
    model = _make_automl(args)
    if args.task == "recommendation":
        model.set_params(user_column=args.user_column, item_column=args.item_column)
    model.fit(X, y)
    _print_leaderboard(model.leaderboard())
    if args.output:
        model.save(args.output)
        print(f"model saved to {args.output}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the search a TOML spec file describes (see ``automl.specfile``)."""
    from automl import AutoML
    from automl.datafiles import read_training_data
    from automl.specfile import load_spec

    spec = load_spec(args.spec)
    modality = spec.params.get("modality")
    X, y = read_training_data(spec.train, spec.target, modality)
    params = {"verbose": 1, **spec.params}
    model = AutoML(**params).fit(X, y)
    _print_leaderboard(model.leaderboard())
    if spec.test is not None:
        X_test, y_test = read_training_data(spec.test, spec.target, modality)
        kind = "R^2" if model.task_ == "regression" else "accuracy"
        print(f"held-out {kind} on {spec.test.name}: {model.score(X_test, y_test):.4f}")
    if spec.output is not None:
        model.save(spec.output)
        print(f"model saved to {spec.output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict the rows of a data file with a saved model."""
    from automl.datafiles import read_features
    from automl.persistence import load

    model = load(args.model, trusted=args.trust)
    X = read_features(args.data, model.modality_)
    if args.proba:
        out = pd.DataFrame(model.predict_proba(X),
                           columns=[f"proba_{c}" for c in model.classes_])
    else:
        out = pd.DataFrame({"prediction": model.predict(X)})
    if args.output:
        out.to_csv(args.output, index=False)
        print(f"{len(out)} predictions written to {args.output}")
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """Draw synthetic rows from a saved generation model."""
    from automl.persistence import load

    model = load(args.model, trusted=args.trust)
    if getattr(model, "task_", None) != "generation":
        raise ValueError(f"{args.model} is not a generation model; fit one with "
                         "`automl fit table.csv --task generation --output DIR`")
    rows = model.sample(args.n, random_state=args.seed)
    if args.output:
        rows.to_csv(args.output, index=False)
        print(f"{len(rows)} rows written to {args.output}")
    else:
        rows.to_csv(sys.stdout, index=False)
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """Print the leaderboard of a saved model."""
    from automl.persistence import load

    board = load(args.model, trusted=args.trust).leaderboard()
    _print_leaderboard(board, rows=args.rows)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """List loaded plugins with their versions and what they register, and failures."""
    from automl.registry import get_registry

    registry = get_registry()
    for info in registry.plugins.values():
        print(f"{info.name} {info.version} ({info.source})")
        for kind in ("models", "strategies", "metrics"):
            names = getattr(info, kind)
            if names:
                print(f"  {kind}: {', '.join(names)}")
    for name, reason in registry.failures.items():
        print(f"{name}: SKIPPED, {reason}")
    return 0


def _add_trust_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="append", default=[], metavar="TYPE",
                        help="a fully qualified type the model file may hold beyond the "
                             "allow-list (a third-party plugin's class); repeat for several; "
                             "only for files from a source you trust")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``automl`` command."""
    parser = argparse.ArgumentParser(prog="automl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="search a built-in data set and report")
    demo.add_argument("--dataset", choices=DEMO_DATASETS, default="breast_cancer")
    _add_search_options(demo, default_budget=30)
    demo.set_defaults(func=cmd_demo)

    fit = commands.add_parser("fit", help="fit on a data file (CSV table or texts, .npz arrays)")
    fit.add_argument("train", help="CSV file with a header row, or .npz arrays "
                                   "(see automl.datafiles)")
    fit.add_argument("--target", default=None,
                     help="name of the target column (CSV) or array (.npz); required "
                          "except for implicit-feedback recommendation and generation "
                          "(there, a column every trial is also scored on by a model "
                          "trained on synthetic rows; it becomes the last column)")
    fit.add_argument("--user-column", default=None,
                     help="--task recommendation: the user id column (detected by name)")
    fit.add_argument("--item-column", default=None,
                     help="--task recommendation: the item id column (detected by name)")
    fit.add_argument("--output", help="directory to save the fitted model in")
    _add_search_options(fit, default_budget=60)
    fit.set_defaults(func=cmd_fit)

    run = commands.add_parser("run", help="run the search a TOML spec file describes")
    run.add_argument("spec", help="spec file (see automl.specfile for the format)")
    run.set_defaults(func=cmd_run)

    predict = commands.add_parser("predict", help="predict a data file with a saved model")
    predict.add_argument("model", help="directory written by `automl fit --output`")
    predict.add_argument("data", help="CSV file with the training columns (or the texts), "
                                      "or .npz/.npy arrays")
    predict.add_argument("--output", help="CSV file for the predictions (stdout if absent)")
    predict.add_argument("--proba", action="store_true", help="class probabilities")
    _add_trust_option(predict)
    predict.set_defaults(func=cmd_predict)

    sample = commands.add_parser("sample", help="draw rows from a saved generation model")
    sample.add_argument("model", help="directory written by `automl fit --task generation`")
    sample.add_argument("n", type=int, help="rows to draw")
    sample.add_argument("--output", help="CSV file for the rows (stdout if absent)")
    sample.add_argument("--seed", type=int, default=None, help="seed of the draw")
    _add_trust_option(sample)
    sample.set_defaults(func=cmd_sample)

    board = commands.add_parser("leaderboard", help="show a saved model's leaderboard")
    board.add_argument("model", help="directory written by `automl fit --output`")
    board.add_argument("--rows", type=int, default=20)
    _add_trust_option(board)
    board.set_defaults(func=cmd_leaderboard)

    plugins = commands.add_parser("plugins", help="list loaded plugins")
    plugins.set_defaults(func=cmd_plugins)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202 - warnings.showwarning's signature
    """Warnings as one readable line, without the source line of the code that warned."""
    print(f"warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``automl`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments. None reads them from ``sys.argv``: the process is the
        command, and ``--time-budget`` counts from its start (:data:`STARTED`);
        given, the budget counts from this call.
    """
    import warnings

    warnings.showwarning = _show_warning
    args = build_parser().parse_args(argv)
    args.started = STARTED if argv is None else time.monotonic()
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
