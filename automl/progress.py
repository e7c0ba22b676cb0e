"""A progress display for searches: one line per trial, then a summary."""

from __future__ import annotations

import time
from typing import Any, TextIO

from automl.metrics import Metric


class ProgressPrinter:
    """Prints each finished trial with the elapsed time and the best score so far.

    Parameters
    ----------
    metric : Metric
        The search metric, for its name and direction.
    time_budget : float
        Seconds of the whole fit, shown beside the elapsed time.
    stream : file-like
        Where lines go (standard error in the CLI).
    """

    def __init__(self, metric: Metric, time_budget: float, stream: TextIO) -> None:
        self.metric, self.time_budget, self.stream = metric, time_budget, stream
        self.started = time.monotonic()
        self.best: tuple[float, int] | None = None

    def __call__(self, record: Any, search: Any) -> None:
        """Report one finished trial (the engine's ``on_trial`` callback)."""
        elapsed = time.monotonic() - self.started
        if record.status == "ok":
            loss = self.metric.to_loss(record.score)
            if self.best is None or loss < self.best[0]:
                self.best = (loss, record.number)
            outcome = f"{self.metric.name}={record.score:.4f}"
        else:
            outcome = f"{record.status}: {(record.error or '')[:60]}"
        best = ""
        if self.best is not None:
            best = f"  best={self.metric.to_loss(self.best[0]):.4f} (trial {self.best[1]})"
        print(f"[{elapsed:6.1f}s/{self.time_budget:g}s] trial {record.number:3d} "
              f"{record.model:<24} {outcome}{best}", file=self.stream, flush=True)

    def close(self, best: Any, elapsed: float) -> None:
        """Print the summary line after the refit."""
        score = "unscored" if best.score is None else f"{self.metric.name}={best.score:.4f}"
        print(f"done in {elapsed:.1f}s: best trial {best.number} ({best.model}) {score}",
              file=self.stream, flush=True)
