"""Write the saved-model fixtures that ``tests/automl/test_saved_models.py`` reloads.

Run once, at the commit named in ``commit.txt``, before the packages were
moved (issue 15): ``python tests/automl/saved_models/make_models.py``. Each
case is a small fit of every built-in family of one task and modality, saved
with ``AutoML.save``, beside the rows it predicts and what it predicted
(``expected.skops``; for generation, 10 rows sampled with ``random_state=0``).
The loading test needs only those files; this script stays as the record of
how they were made.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio

from automl import AutoML
from automl.testing import make_interaction_data, make_modality_data, make_tabular_data

HERE = Path(__file__).parent
CLASSIFIERS = ["logistic_regression", "random_forest", "extra_trees",
               "hist_gradient_boosting", "knn", "xgboost", "mlp"]
REGRESSORS = ["ridge", "random_forest", "extra_trees", "hist_gradient_boosting", "knn",
              "xgboost", "mlp"]


def cases():
    """(name, models, task, X, y, rows to predict) of every fixture."""
    X, y, _ = make_tabular_data("binary", n_rows=80, seed=0)
    yield "tabular_binary", CLASSIFIERS, None, X, y, X.head(25)
    X, y, _ = make_tabular_data("regression", n_rows=80, seed=1)
    yield "tabular_regression", REGRESSORS, None, X, y, X.head(25)
    for modality, models in (("image", ["cnn", "pixels_logistic", "pixels_hgb"]),
                             ("sequence", ["lstm", "transformer", "sequence_summary"]),
                             ("text", ["lstm", "transformer", "tfidf_linear"])):
        X, y, _ = make_modality_data(modality, "binary", n_rows=80, seed=2)
        yield modality, models, None, X, y, X[:20]
    images, y, _ = make_modality_data("image", "binary", n_rows=80, seed=5)
    texts, _, _ = make_modality_data("text", "binary", n_rows=80, seed=5)
    X = {"image": images, "text": list(texts)}
    yield "multimodal", ["fusion"], None, X, y, {"image": images[:20], "text": list(texts[:20])}
    X, y, _ = make_interaction_data(n_users=30, n_items=20, density=0.3, seed=3)
    yield ("recommendation", ["popularity", "biased_mf", "neumf", "hybrid_mf"],
           "recommendation", X, y, X.head(25))
    X, _, _ = make_tabular_data("regression", n_rows=120, seed=4)
    yield "generation", ["independent_columns", "ctgan"], "generation", X, None, None


def main() -> None:
    """Fit and save every case."""
    for name, models, task, X, y, rows in cases():
        model = AutoML(models=models, max_trials=len(models), task=task, random_state=0,
                       time_budget=None, cv=2 if task is None else "auto")
        model.fit(X, y)
        directory = HERE / name
        model.save(directory)
        if task == "generation":
            sample = model.sample(10, random_state=0)
            expected = {c: sample[c].to_numpy() for c in sample}
        else:
            expected = np.asarray(model.predict(rows))
        if isinstance(rows, pd.DataFrame):  # skops stores no DataFrame: one array per column
            rows = {"columns": {c: rows[c].to_numpy() for c in rows}}
        sio.dump({"rows": rows, "expected": expected}, directory / "expected.skops")
        size = (directory / "model.skops").stat().st_size
        print(f"{name}: {[t.model for t in model.trials_]}, {size / 1e3:.0f} kB", flush=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    (HERE / "commit.txt").write_text(commit + "\n")


if __name__ == "__main__":
    sys.exit(main())
