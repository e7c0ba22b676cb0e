import io

from automl.engine.progress import ProgressPrinter
from automl.engine.records import TrialRecord
from automl.metrics import BUILTIN_METRICS

AUC = next(m for m in BUILTIN_METRICS if m.name == "roc_auc")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def records():
    return [TrialRecord(0, "xgboost", {}, "ok", score=0.91),
            TrialRecord(1, "knn", {}, "failed", error="ValueError: bad"),
            TrialRecord(2, "ridge", {}, "ok", score=0.95)]


def test_live_bar_on_a_terminal():
    stream = Terminal()
    printer = ProgressPrinter(AUC, 60, stream, verbose=1)
    printer.start("searching 2 model families")
    for record in records():
        printer(record, None)
    printer.close("final model: trial 2 (ridge)", 12.0)
    out = stream.getvalue()
    assert out.startswith("searching 2 model families\n")
    assert out.count("\r") == 3 and "3 trials" in out and "s left" in out
    assert "[" + "-" * 20 + "]" in out.split("\r")[1]  # the bar, nearly empty at once
    assert "best roc_auc=0.9500 (ridge, trial 2)" in out
    assert out.endswith("\ndone in 12.0s: 3 trials; final model: trial 2 (ridge)\n")


def test_improvements_when_not_a_terminal_and_every_trial_at_verbose_2():
    log = io.StringIO()
    printer = ProgressPrinter(AUC, 60, log, verbose=1)
    printer.start("searching")
    for record in records():
        printer(record, None)
    printer.note("interrupted after 3 trials")
    printer.close("final model: trial 2 (ridge)", 1.0)
    out = log.getvalue().splitlines()
    assert out[0] == "searching"
    assert "trial   0 xgboost" in out[1] and "roc_auc=0.9100 (new best, 1 trials done)" in out[1]
    assert "trial   2 ridge" in out[2] and "(new best, 3 trials done)" in out[2]
    assert out[3:] == ["interrupted after 3 trials",
                       "done in 1.0s: 3 trials; final model: trial 2 (ridge)"]
    lines = io.StringIO()
    printer = ProgressPrinter(AUC, 60, lines, verbose=2)
    for record in records():
        printer(record, None)
    out = lines.getvalue().splitlines()
    assert len(out) == 3 and "failed: ValueError: bad" in out[1]


def test_without_a_time_budget_the_elapsed_time_is_shown():
    import math

    live, lines = Terminal(), io.StringIO()
    for stream, verbose in ((live, 1), (lines, 2)):
        printer = ProgressPrinter(AUC, math.inf, stream, verbose=verbose)
        for record in records():
            printer(record, None)
    assert "left" not in live.getvalue() and "inf" not in live.getvalue()
    assert "inf" not in lines.getvalue() and lines.getvalue().startswith("[")
