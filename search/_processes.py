"""Worker processes that behave under Ctrl-C and never outlive their parent (private).

Both process pools of the project (``search.optimize``'s and the AutoML
engine's) start loky workers through :func:`worker_executor`:

* a worker ignores SIGINT, so that Ctrl-C in a terminal (sent to the whole
  process group) interrupts the parent only: the parent decides what to keep
  and stops its workers itself;
* a worker ends itself within a second of its parent's death (a parent
  killed with SIGKILL cannot stop it), instead of running its trial on;
* loky's warning that "a worker stopped while some jobs were given to the
  executor", which follows every worker the parent kills on purpose (a trial
  past its time limit), is not shown, nor its resource tracker's note at exit
  that the queues of such workers "leaked semlock objects" (it removes them).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from typing import Any

PARENT_CHECK_SECONDS = 1.0

warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the "
                                          "executor", category=UserWarning)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def start_worker(parent: int) -> None:
    """Initializer of every worker: ignore SIGINT; end when ``parent`` is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="parent-watch").start()


def _start_quiet_resource_tracker() -> None:
    """Start loky's resource tracker (once per process) with its warnings off."""
    from joblib.externals.loky.backend import resource_tracker

    before = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = "ignore::UserWarning"
    try:
        resource_tracker.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = before


def worker_executor(max_workers: int, env: dict[str, str] | None = None) -> Any:
    """A loky ``ProcessPoolExecutor`` whose workers start with :func:`start_worker`."""
    from joblib.externals.loky import ProcessPoolExecutor

    _start_quiet_resource_tracker()
    return ProcessPoolExecutor(max_workers=max_workers, env=env, initializer=start_worker,
                               initargs=(os.getpid(),))
