"""Progress of a search, as a person reads it: a start line, improvements, a closing line.

``verbose=1`` (the default) prints a line saying what is searched, then either a
live progress bar rewritten in place (when the stream is a terminal) or one line
per improvement of the best score (a log file, a notebook, CI), and a closing
line naming the final model. ``verbose=2`` prints one line per finished trial
anywhere; ``verbose=0`` prints nothing. Notes from the engine (members dropped
from the ensemble, an interrupted search) come as one readable line each.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sized
from typing import Any, TextIO

from automl.metrics import Metric

logger = logging.getLogger("automl")

BAR_WIDTH = 20
LINE_WIDTH = 110


class ProgressPrinter:
    """The engine's ``on_trial`` callback that reports progress.

    Parameters
    ----------
    metric : Metric
        The search metric, for its name and direction.
    time_budget : float
        Seconds of the whole fit, to show the time left (``inf``: elapsed time only).
    stream : file-like
        Where progress goes (standard error).
    verbose : int
        1: start line, improvements (or a live bar on a terminal), closing line;
        2: a line per trial.
    """

    def __init__(self, metric: Metric, time_budget: float, stream: TextIO,
                 verbose: int = 1) -> None:
        self.metric, self.time_budget, self.stream = metric, time_budget, stream
        self.per_trial = verbose >= 2
        self.live = not self.per_trial and _is_terminal(stream)
        self.started = time.monotonic()
        self.best: tuple[float, int, str] | None = None
        self.done = 0
        self._live_shown = False

    def start(self, description: str) -> None:
        """Print what the search is about to do (one line)."""
        self._line(description)

    def __call__(self, record: Any, search: Any = None) -> None:
        """Report one finished trial."""
        self.done += 1
        improved = record.status == "ok" and (
            self.best is None or self.metric.to_loss(record.score) < self.best[0])
        if improved:
            self.best = (self.metric.to_loss(record.score), record.number, record.model)
        if self.per_trial:
            self._line(f"{self._clock()} trial {record.number:3d} {record.model:<24} "
                       f"{_outcome(record, self.metric)}  {self._best()}")
        elif self.live:
            self._show_live()
        elif improved:
            self._line(f"{self._clock()} trial {record.number:3d} {record.model:<24} "
                       f"{self.metric.name}={record.score:.4f} (new best, "
                       f"{self.done} trials done)")

    def note(self, message: str) -> None:
        """Print a remark of the engine on a line of its own."""
        self._line(message)

    def close(self, summary: str, elapsed: float) -> None:
        """Finish the live line and print the closing summary."""
        self._line(f"done in {elapsed:.1f}s: {self.done} trials; {summary}")

    # -- output --------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        if self._live_shown:
            print(file=self.stream)
            self._live_shown = False
        print(text, file=self.stream, flush=True)

    def _show_live(self) -> None:
        elapsed = time.monotonic() - self.started
        if math.isfinite(self.time_budget):
            share = min(1.0, elapsed / self.time_budget)
            filled = round(share * BAR_WIDTH)
            clock = (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {elapsed:.0f}/"
                     f"{self.time_budget:g}s, {max(0.0, self.time_budget - elapsed):.0f}s left")
        else:
            clock = f"{elapsed:.0f}s"
        line = f"{clock}, {self.done} trials, {self._best()}"
        print(f"\r{line[:LINE_WIDTH]:<{LINE_WIDTH}}", end="", file=self.stream, flush=True)
        self._live_shown = True

    def _clock(self) -> str:
        elapsed = time.monotonic() - self.started
        of_budget = f"/{self.time_budget:g}s" if math.isfinite(self.time_budget) else "s"
        return f"[{elapsed:6.1f}{of_budget}]"

    def _best(self) -> str:
        if self.best is None:
            return "no successful trial yet"
        return (f"best {self.metric.name}={self.metric.to_loss(self.best[0]):.4f} "
                f"({self.best[2]}, trial {self.best[1]})")


def _outcome(record: Any, metric: Metric) -> str:
    if record.status == "ok":
        return f"{metric.name}={record.score:.4f}"
    return f"{record.status}: {(record.error or '')[:60]}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _seconds(value: float) -> str:
    """Seconds to a tenth, without a trailing zero: ``60``, ``53.4``."""
    return f"{value:.1f}".removesuffix(".0")


def search_line(models: Sized, limits: Any, data: Any, metric_name: str, reason: str) -> str:
    """What a search is about to do, and why its task is what it is, in one line.

    Parameters
    ----------
    models : collection of str
        The model families searched.
    limits : Budget
        The search's time budget and trial count.
    data : Dataset
        The training data (rows, modality, task).
    metric_name : str
        The metric searched.
    reason : str
        Why the task is what it is; empty to say nothing.
    """
    budget = [f"{_seconds(limits.time_budget)} s"] if math.isfinite(limits.time_budget) else []
    budget += [f"{limits.max_trials} trials"] if limits.max_trials else []
    families = "family" if len(models) == 1 else "families"
    return (f"searching {len(models)} model {families} ({', '.join(models)}) for "
            f"{' or '.join(budget) or 'no limit'} on {len(data.X):,} rows of "
            f"{data.schema.modality} data, {data.task}{f' ({reason})' if reason else ''}, "
            f"metric {metric_name}")


def tell(progress: ProgressPrinter | None, message: str) -> None:
    """A remark for the user: on the progress stream, else as a logged warning."""
    if progress is not None:
        progress.note(message)
    else:
        logger.warning(message)
