"""The example plugin under examples/ is discovered through its entry point and searched."""

import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from automl import AutoML
from automl.registry import Registry, get_registry, reset_registry
from automl.testing import check_model_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin_example"


@pytest.fixture()
def installed_example(tmp_path, monkeypatch):
    """Make the example importable with a dist-info carrying its entry point, as pip would."""
    dist = tmp_path / "automl_example_plugin-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: automl-example-plugin\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text(
        "[automl]\nexample_naive_bayes = automl_example_plugin\n")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("AUTOML_DISABLE_PLUGIN_AUTOLOAD")
    reset_registry()
    yield
    sys.modules.pop("automl_example_plugin", None)
    reset_registry()


def test_entry_point_plugin_is_loaded_and_searched(installed_example):
    registry = get_registry()
    info = registry.plugins["example_naive_bayes"]
    assert info.version == "0.1.0" and info.models == ["gaussian_nb"]
    check_model_spec(registry.model("gaussian_nb"))
    X, X_test, y, y_test = train_test_split(*load_breast_cancer(return_X_y=True),
                                            random_state=0)
    model = AutoML(models=["gaussian_nb"], max_trials=3, time_budget=20,
                   random_state=0).fit(X, y)
    board = model.leaderboard()
    assert set(board["model"]) == {"gaussian_nb"} and (board["status"] == "ok").all()
    assert model.score(X_test, y_test) > 0.85  # held-out rows


def test_autoload_switch_and_block(installed_example, monkeypatch):
    assert "example_naive_bayes" not in Registry(autoload=False).plugins
    assert "example_naive_bayes" not in Registry(block=["example_naive_bayes"]).plugins
    monkeypatch.setenv("AUTOML_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "example_naive_bayes" not in Registry().plugins
