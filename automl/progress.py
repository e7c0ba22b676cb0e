"""Progress of a search: a live status line on a terminal, or one line per trial.

``verbose=1`` shows one status line rewritten in place (trials done, best score,
time left) when the stream is a terminal, and nothing otherwise; ``verbose=2``
prints one line per finished trial anywhere. Everything else goes through the
standard ``logging`` module (logger names under ``automl``).
"""

from __future__ import annotations

import math
import time
from typing import Any, TextIO

from automl.metrics import Metric


class ProgressPrinter:
    """The engine's ``on_trial`` callback that reports progress.

    Parameters
    ----------
    metric : Metric
        The search metric, for its name and direction.
    time_budget : float
        Seconds of the whole fit, to show the time left (``inf``: elapsed time only).
    stream : file-like
        Where progress goes (standard error in the CLI).
    verbose : int
        1: live status line on a terminal only; 2: a line per trial.
    """

    def __init__(self, metric: Metric, time_budget: float, stream: TextIO,
                 verbose: int = 1) -> None:
        self.metric, self.time_budget, self.stream = metric, time_budget, stream
        self.per_trial = verbose >= 2
        self.live = not self.per_trial and _is_terminal(stream)
        self.started = time.monotonic()
        self.best: tuple[float, int, str] | None = None
        self.done = 0

    def __call__(self, record: Any, search: Any) -> None:
        """Report one finished trial."""
        self.done += 1
        if record.status == "ok":
            loss = self.metric.to_loss(record.score)
            if self.best is None or loss < self.best[0]:
                self.best = (loss, record.number, record.model)
        elapsed = time.monotonic() - self.started
        best = "" if self.best is None else \
            f"best {self.metric.name}={self.metric.to_loss(self.best[0]):.4f} " \
            f"({self.best[2]}, trial {self.best[1]})"
        if self.per_trial:
            if record.status == "ok":
                outcome = f"{self.metric.name}={record.score:.4f}"
            else:
                outcome = f"{record.status}: {(record.error or '')[:60]}"
            of_budget = f"/{self.time_budget:g}s" if math.isfinite(self.time_budget) else "s"
            print(f"[{elapsed:6.1f}{of_budget}] trial {record.number:3d} "
                  f"{record.model:<24} {outcome}  {best}", file=self.stream, flush=True)
        elif self.live:
            left = max(0.0, self.time_budget - elapsed)
            line = f"{self.done} trials, {best}" + (
                f", {left:.0f}s left" if math.isfinite(left) else f", {elapsed:.0f}s")
            print(f"\r{line[:110]:<110}", end="", file=self.stream, flush=True)

    def close(self, best: Any, elapsed: float) -> None:
        """Finish the status line and print the summary."""
        if not (self.live or self.per_trial):
            return
        if self.live:
            print(file=self.stream)
        score = "unscored" if best.score is None else f"{self.metric.name}={best.score:.4f}"
        print(f"done in {elapsed:.1f}s: {self.done} trials, best trial {best.number} "
              f"({best.model}) {score}", file=self.stream, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
