"""Memory of trial workers: the limit ``AutoML(memory_limit=...)`` sets, and how it is read.

A process pool reads the resident memory of each busy worker every time it
looks for finished trials (about every 50 ms) and stops a trial whose worker
is over the limit (:class:`~automl.engine.workers.ProcessPool`). Resident
memory is read from ``/proc`` (Linux); where there is no ``/proc``, the limit
is not enforced and :func:`resident_bytes` returns None.
"""

from __future__ import annotations

import os
import re

DEFAULT_SHARE = 0.8
"""``memory_limit="auto"``: this share of the memory available when ``fit``
starts, divided among the trials that run at once."""

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_memory(value: int | float | str | None) -> int | str | None:
    """``memory_limit`` as bytes, or ``"auto"`` or None (no limit) as given.

    Accepts a positive number of bytes or a string such as ``"4GB"``,
    ``"512 MiB"`` or ``"1.5e9"``.

    Raises
    ------
    ValueError
        Naming the value and the accepted forms.
    """
    if value is None or value == "auto":
        return value
    if isinstance(value, bool):
        raise ValueError(f"memory_limit must be bytes, a size such as '4GB', 'auto' or None, "
                         f"got {value!r}")
    if isinstance(value, int | float):
        amount = float(value)
    else:
        match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(value))
        unit = match.group(2).upper() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(f"memory_limit {value!r} is not a size: use bytes or a number "
                             "with KB, MB, GB, TB, KiB, MiB, GiB or TiB, e.g. '4GB'")
        amount = float(match.group(1)) * _UNITS[unit]
    if not amount >= 2**20:
        raise ValueError(f"memory_limit must be at least 1 MiB, got {value!r}")
    return int(amount)


def resolve_limit(value: int | str | None, workers: int) -> int | None:
    """Bytes each worker may hold: ``value`` itself, or the share ``"auto"`` gives it."""
    if value != "auto":
        return value  # type: ignore[return-value]
    available = available_bytes()
    if available is None:
        return None
    return int(DEFAULT_SHARE * available / max(1, workers))


def available_bytes() -> int | None:
    """Memory the system can give without swapping (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resident_bytes(pid: int) -> int | None:
    """Resident memory of process ``pid`` in bytes, or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def megabytes(n_bytes: int) -> str:
    """``1234567890`` -> ``"1,235 MB"``."""
    return f"{n_bytes / 1e6:,.0f} MB"
