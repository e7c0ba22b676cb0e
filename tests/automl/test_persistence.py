"""Saving and loading: every built-in family reloads; refused types are explained; moved types."""

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from automl import AutoML, persistence
from automl.registry import get_registry
from tests.automl.test_cli import cli

TABULAR_FAMILIES = ["logistic_regression", "ridge", "random_forest", "extra_trees",
                    "hist_gradient_boosting", "knn", "xgboost"]


def low_dimensional_table(n=300, seed=0):
    """Two informative columns and a category: the neighbours' search uses a KD tree."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "kind": rng.choice(["x", "y"], size=n)})
    y = np.where(X["a"] ** 2 + X["b"] ** 2 > 1.2, "out", "in")
    return X, y


def rehash(directory):
    meta_path = directory / persistence.METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["sha256"] = hashlib.sha256((directory / persistence.MODEL_FILE).read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


@pytest.mark.slow
def test_a_knn_model_saved_by_the_cli_predicts_and_shows_its_leaderboard(tmp_path):
    """The defect of the first hour: a fit with a neighbours model could not be reloaded."""
    X, y = low_dimensional_table()
    X.assign(label=y).to_csv(tmp_path / "train.csv", index=False)
    X.head(20).to_csv(tmp_path / "test.csv", index=False)
    fit = cli("fit", "train.csv", "--target", "label", "--models", "knn", "--max-trials", "2",
              "--output", "model", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr
    stored = sio.get_untrusted_types(file=tmp_path / "model" / persistence.MODEL_FILE)
    assert "sklearn.neighbors._kd_tree.KDTree" in stored
    predict = cli("predict", "model", "test.csv", "--output", "preds.csv", cwd=tmp_path)
    assert predict.returncode == 0, predict.stderr
    assert set(pd.read_csv(tmp_path / "preds.csv")["prediction"]) <= {"in", "out"}
    board = cli("leaderboard", "model", cwd=tmp_path)
    assert board.returncode == 0, board.stderr
    assert "knn" in board.stdout


def test_reading_a_model_without_networks_does_not_import_torch(tmp_path):
    """`automl predict` imports what the model needs: skops' import would pull in torch."""
    X, y = low_dimensional_table()
    model = AutoML(models=["random_forest"], max_trials=1, random_state=0).fit(X, y)
    model.save(tmp_path / "model")
    X.head(5).to_csv(tmp_path / "rows.csv", index=False)
    script = ("import sys; from automl.persistence import load; "
              "import pandas as pd; m = load(sys.argv[1]); "
              "print(len(m.predict(pd.read_csv(sys.argv[2]))), 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", script, tmp_path / "model", tmp_path / "rows.csv"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["5", "False"]


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_an_ensemble_of_the_tabular_families_reloads_and_predicts_the_same(tmp_path, task):
    X, y = low_dimensional_table(seed=1)
    if task == "regression":
        y = X["a"].to_numpy() * 2 + np.sin(3 * X["b"].to_numpy())
    excluded = "ridge" if task == "binary" else "logistic_regression"
    models = [m for m in TABULAR_FAMILIES if m != excluded]
    model = AutoML(models=models, max_trials=len(models), random_state=0).fit(X, y)
    members = {model.trials_[n].model for n in model.final_.estimators} \
        if len(model.final_.estimators) > 1 else {model.best_trial_.model}
    model.save(tmp_path / "m")
    loaded = AutoML.load(tmp_path / "m")
    assert {r.model for r in model.trials_} == set(models)
    assert len(members) >= 2, members
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_every_declared_type_is_allowed_and_nothing_else_is():
    declared = set()
    for spec in get_registry().models.values():
        declared |= spec.persisted_types
    assert "sklearn.neighbors._kd_tree.KDTree" in declared
    assert persistence.refused_types(sorted(declared)) == []
    assert persistence.refused_types(["fractions.Fraction"]) == ["fractions.Fraction"]
    assert persistence.refused_types(["fractions.Fraction"], trusted=["fractions.Fraction"]) == []
    backbone = "plugins.neural._backbone.TorchScriptBackbone"
    assert persistence.refused_types([backbone]) == [backbone]


def test_a_refused_type_names_where_it_comes_from_and_the_cli_flag(tmp_path):
    import fractions

    X, y = low_dimensional_table()
    model = AutoML(models=["logistic_regression"], max_trials=1, random_state=0).fit(X, y)
    model.save(tmp_path / "m")
    sio.dump({"model": model, "extra": fractions.Fraction(1, 3)},
             tmp_path / "m" / persistence.MODEL_FILE)
    rehash(tmp_path / "m")
    with pytest.raises(ValueError, match=r"fractions.Fraction \(from 'fractions', which is not "
                                         r"installed here\).*--trust fractions.Fraction"):
        AutoML.load(tmp_path / "m")
    refused = cli("leaderboard", "m", cwd=tmp_path)
    assert refused.returncode == 2 and "--trust fractions.Fraction" in refused.stderr
    # a dict is not a model, so the trusted leaderboard fails later, past the type check
    trusted = cli("leaderboard", "m", "--trust", "fractions.Fraction", cwd=tmp_path)
    assert "not trusted" not in trusted.stderr


def test_a_class_that_moved_since_the_file_was_saved_still_loads(tmp_path, monkeypatch):
    X, y = low_dimensional_table()
    model = AutoML(models=["logistic_regression"], max_trials=1, random_state=0).fit(X, y)
    model.save(tmp_path / "m")
    path = tmp_path / "m" / persistence.MODEL_FILE
    old = "automl.old_home.AutoML"
    path.write_bytes(_renamed(path.read_bytes(), "automl.estimator.AutoML", old))
    rehash(tmp_path / "m")
    with pytest.raises(ModuleNotFoundError, match="automl.old_home"):
        AutoML.load(tmp_path / "m")
    monkeypatch.setitem(persistence.MOVED_TYPES, old, "automl.estimator.AutoML")
    loaded = AutoML.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def _renamed(content, old, new):
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(content))
    schema = source.read("schema.json").decode()
    old_module, _, old_class = old.rpartition(".")
    new_module, _, new_class = new.rpartition(".")
    pattern = f'"__class__": "{old_class}",\n  "__module__": "{old_module}"'
    assert pattern in schema
    schema = schema.replace(pattern, f'"__class__": "{new_class}",\n  "__module__": "{new_module}"')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, schema if item.filename == "schema.json"
                            else source.read(item.filename))
    return out.getvalue()


def test_loading_a_model_saved_with_other_versions_warns_and_names_them(tmp_path):
    X, y = low_dimensional_table()
    model = AutoML(models=["logistic_regression"], max_trials=1, random_state=0).fit(X, y)
    model.save(tmp_path / "m")
    meta_path = tmp_path / "m" / persistence.METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["versions"]["scikit-learn"] = "0.24.0"
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match=r"saved with \{'scikit-learn': '0.24.0'\}, running "
                                         r"with \{'scikit-learn': '1\.") as caught:
        loaded = AutoML.load(tmp_path / "m")
    assert len(caught) == 1
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
