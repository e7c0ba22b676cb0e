import io

from automl.metrics import BUILTIN_METRICS
from automl.progress import ProgressPrinter
from automl.records import TrialRecord

AUC = next(m for m in BUILTIN_METRICS if m.name == "roc_auc")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def records():
    return [TrialRecord(0, "xgboost", {}, "ok", score=0.91),
            TrialRecord(1, "knn", {}, "failed", error="ValueError: bad"),
            TrialRecord(2, "ridge", {}, "ok", score=0.95)]


def test_live_line_on_a_terminal():
    stream = Terminal()
    printer = ProgressPrinter(AUC, 60, stream, verbose=1)
    for record in records():
        printer(record, None)
    printer.close(records()[2], 12.0)
    out = stream.getvalue()
    assert out.count("\r") == 3 and "3 trials" in out and "left" in out
    assert "best roc_auc=0.9500 (ridge, trial 2)" in out
    assert "done in 12.0s" in out


def test_silent_when_not_a_terminal_and_lines_at_verbose_2():
    quiet = io.StringIO()
    printer = ProgressPrinter(AUC, 60, quiet, verbose=1)
    for record in records():
        printer(record, None)
    printer.close(records()[2], 1.0)
    assert quiet.getvalue() == ""
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
