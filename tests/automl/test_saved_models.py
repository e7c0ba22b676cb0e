"""Models saved by an earlier version still load and predict the same.

The model directories under ``saved_models/`` were written by
``saved_models/make_models.py`` at the commit in ``saved_models/commit.txt``,
before the packages moved; every built-in family of each task and modality is
in one of them.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from automl import AutoML

SAVED = Path(__file__).parent / "saved_models"
CASES = sorted(p.name for p in SAVED.iterdir() if (p / "model.skops").exists())


def expected(case):
    path = SAVED / case / "expected.skops"
    stored = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    rows = stored["rows"]
    if isinstance(rows, dict) and "columns" in rows:
        rows = pd.DataFrame(rows["columns"])
    return rows, stored["expected"]


def test_every_case_is_there():
    assert CASES == ["generation", "image", "multimodal", "recommendation", "sequence",
                     "tabular_binary", "tabular_regression", "text"]


@pytest.mark.parametrize("case", CASES)
def test_a_model_saved_before_the_move_loads_and_predicts_the_same(case):
    model = AutoML.load(SAVED / case)
    rows, before = expected(case)
    if case == "generation":
        sample = model.sample(10, random_state=0)
        pd.testing.assert_frame_equal(sample, pd.DataFrame(before), check_dtype=False)
        return
    after = model.predict(rows)
    if np.issubdtype(np.asarray(before).dtype, np.floating):
        np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-9)
    else:
        np.testing.assert_array_equal(after, before)
