"""Sizes for ``memory_limit``, the ``"auto"`` default, and reading a process's memory."""

import os

import numpy as np
import pytest

from automl.engine.memory import available_bytes, parse_memory, resident_bytes, resolve_limit


@pytest.mark.parametrize("value, expected", [
    ("4GB", 4 * 10**9), ("512 MiB", 512 * 2**20), ("1.5e9", 1_500_000_000),
    (2**30, 2**30), ("2gib", 2 * 2**30), ("auto", "auto"), (None, None)])
def test_sizes_are_read_in_bytes(value, expected):
    assert parse_memory(value) == expected


def test_auto_shares_the_available_memory_among_the_workers():
    available = available_bytes()
    assert available is not None and available > 2**28  # this machine has /proc
    two = resolve_limit("auto", 2)
    assert two == pytest.approx(0.8 * available / 2, rel=0.05)
    assert resolve_limit(10**9, 2) == 10**9 and resolve_limit(None, 2) is None


def test_resident_memory_grows_with_what_the_process_holds():
    before = resident_bytes(os.getpid())
    held = np.ones(100 * 2**20 // 8)  # 100 MiB, touched
    after = resident_bytes(os.getpid())
    assert after - before > 90 * 2**20
    assert resident_bytes(2**22 + 12345) is None  # no such process
    del held
