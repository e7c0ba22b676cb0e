import types

import pytest

from automl import ModelSpec, hookimpl
from automl.registry import Registry
from search import Float, Space


def make_plugin(name, register_body):
    module = types.ModuleType(name)
    module.automl_register_models = hookimpl(register_body)
    return module


def constant_spec(name):
    from sklearn.dummy import DummyClassifier

    return ModelSpec(name=name, tasks={"classification"}, modalities={"tabular"},
                     space=Space([Float("unused", 0.0, 1.0)]),
                     build=lambda config, ctx: DummyClassifier(), description="dummy")


def test_builtins_register_through_hooks():
    registry = Registry(autoload=False)
    assert {"automl.metrics", "automl.strategies", "plugins.sklearn_models",
            "plugins.xgboost_models"} <= set(registry.plugins)
    assert {"random_forest", "xgboost", "hist_gradient_boosting"} <= set(registry.models)
    assert {"random", "grid"} <= set(registry.strategies)
    assert {"accuracy", "roc_auc", "rmse", "r2"} <= set(registry.metrics)
    assert "xgboost" in registry.plugins["plugins.xgboost_models"].models


def test_plugin_raising_on_registration_is_skipped_and_named():
    def register(register):
        register(constant_spec("good_before_error"))
        raise RuntimeError("boom")

    registry = Registry(autoload=False, plugins=[make_plugin("broken", register)])
    assert "boom" in registry.failures["broken"]
    assert "good_before_error" not in registry.models  # nothing half-registered
    assert "random_forest" in registry.models


def test_plugin_failing_to_import_is_skipped(monkeypatch):
    registry = Registry(autoload=False)
    registry._load("missing_plugin", lambda: __import__("no_such_module_xyz"), "1", "test")
    assert "ModuleNotFoundError" in registry.failures["missing_plugin"]


def test_duplicate_model_name_is_refused():
    plugin = make_plugin("dupe", lambda register: register(constant_spec("random_forest")))
    registry = Registry(autoload=False, plugins=[plugin])
    assert "already registered" in registry.failures["dupe"]


def test_block_by_name_and_env(monkeypatch):
    registry = Registry(autoload=False, block=["plugins.xgboost_models"])
    assert "xgboost" not in registry.models
    monkeypatch.setenv("AUTOML_BLOCK_PLUGINS", "plugins.sklearn_models")
    registry = Registry(autoload=False)
    assert "random_forest" not in registry.models and "xgboost" in registry.models


def test_unknown_names_list_known_ones():
    registry = Registry(autoload=False)
    with pytest.raises(ValueError, match="unknown model 'nope'; known models: .*random_forest"):
        registry.model("nope")
    with pytest.raises(ValueError, match="unknown strategy 'nope'; known strategies: .*random"):
        registry.strategy("nope")
    with pytest.raises(ValueError, match="unknown metric 'nope'; known metrics: .*accuracy"):
        registry.metric("nope")


def test_register_rejects_non_spec():
    plugin = make_plugin("wrong", lambda register: register({"name": "x"}))
    registry = Registry(autoload=False, plugins=[plugin])
    assert "expects a ModelSpec" in registry.failures["wrong"]
