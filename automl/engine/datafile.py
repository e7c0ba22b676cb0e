"""The file through which a process pool shares a search's data with its workers.

A pool writes its :class:`~automl.engine.workers.TrialData` once (with
cloudpickle: specs may hold lambdas) to a private temporary file that every
worker loads. The file's name carries the owner's pid, so that the data files
of a fit killed with SIGKILL, which could not remove its own, are removed by
the next pool of any process (:func:`remove_orphaned_data_files`).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

DATA_FILE_PREFIX = "automl-data-"
"""Start of the name of a pool's data file (then the owner's pid and ``-``)."""


def write_data_file(data: Any) -> str:
    """Write ``data`` to a new private temporary file named for this process; its path."""
    import cloudpickle

    remove_orphaned_data_files()
    handle, path = tempfile.mkstemp(prefix=f"{DATA_FILE_PREFIX}{os.getpid()}-", suffix=".pkl")
    with os.fdopen(handle, "wb") as out:
        cloudpickle.dump(data, out)
    return path


def remove_orphaned_data_files(directory: str | None = None) -> list[str]:
    """Delete the data files of pools whose process is gone (a fit killed by SIGKILL).

    Returns the paths removed. A file whose name carries no pid, or the pid of
    a live process, is left alone.
    """
    removed = []
    folder = directory or tempfile.gettempdir()
    for name in os.listdir(folder):
        owner = name.removeprefix(DATA_FILE_PREFIX).split("-", 1)[0]
        if not (name.startswith(DATA_FILE_PREFIX) and name.endswith(".pkl")
                and owner.isdigit()) or _alive(int(owner)):
            continue
        try:
            os.unlink(os.path.join(folder, name))
            removed.append(os.path.join(folder, name))
        except OSError:
            pass  # removed meanwhile by another process, or not ours to remove
    return removed


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
