"""The examples run as their docstrings say."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_scripted_search_continues_the_stored_study(tmp_path):
    storage = tmp_path / "tuning.db"
    runs = [subprocess.run([sys.executable, str(EXAMPLES / "scripted_search.py"), str(storage),
                            "4"], capture_output=True, text=True, timeout=300, check=True)
            for _ in range(2)]
    assert runs[0].stdout.startswith("4 trials in the study")
    assert runs[1].stdout.startswith("8 trials in the study")
