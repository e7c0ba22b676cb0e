"""The plugin registry: built-in plugins and installed ones, behind one pluggy manager.

Built-in plugins are modules registered through the same hooks as third-party
ones. Installed plugins are found through the ``automl`` entry-point group
unless ``AUTOML_DISABLE_PLUGIN_AUTOLOAD`` is set; ``AUTOML_BLOCK_PLUGINS``
(comma-separated names) or ``Registry(block=[...])`` skips plugins by name. A
plugin that fails to import or to register is recorded in ``failures`` and
skipped: the search goes on without it.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from automl import hookspecs
from automl.specs import ModelSpec

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "automl"
DISABLE_AUTOLOAD_ENV = "AUTOML_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "AUTOML_BLOCK_PLUGINS"

BUILTIN_PLUGINS: tuple[str, ...] = (
    "automl.metrics",
    "automl.strategies",
    "plugins.sklearn_models",
    "plugins.xgboost_models",
    "plugins.text_models",
    "plugins.sequence_models",
    "plugins.pixel_models",
    "plugins.neural.cnn",
    "plugins.neural.lstm",
    "plugins.neural.transformer",
    "plugins.recommenders",
    "plugins.neural.ncf",
    "plugins.generators",
    "plugins.neural.gan",
    "plugins.neural.mlp",
    "plugins.neural.fusion",
)
"""Modules registered first, exactly as an entry point would register them."""


@dataclass
class PluginInfo:
    """What ``automl plugins`` shows about one plugin."""

    name: str
    version: str
    source: str
    models: list[str] = field(default_factory=list)
    strategies: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)


class Registry:
    """Loads plugins and holds the models, strategies and metrics they register.

    Parameters
    ----------
    autoload : bool, optional
        Load plugins from the ``automl`` entry-point group. Defaults to true
        unless the ``AUTOML_DISABLE_PLUGIN_AUTOLOAD`` environment variable is
        set to a non-empty value other than ``0``.
    block : iterable of str, optional
        Plugin names to skip, added to those in ``AUTOML_BLOCK_PLUGINS``.
    plugins : iterable, optional
        Extra plugin objects or modules to register (tests, scripts).
    """

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        block: Iterable[str] = (),
        plugins: Iterable[Any] = (),
    ) -> None:
        if autoload is None:
            autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "") in ("", "0")
        env_block = os.environ.get(BLOCK_ENV, "")
        self.blocked = {b.strip() for b in env_block.split(",") if b.strip()} | set(block)
        self.models: dict[str, ModelSpec] = {}
        self.strategies: dict[str, Callable[..., Any]] = {}
        self.metrics: dict[str, Any] = {}
        self.failures: dict[str, str] = {}
        self.plugins: dict[str, PluginInfo] = {}
        self._pm = pluggy.PluginManager("automl")
        self._pm.add_hookspecs(hookspecs)

        from automl import __version__

        for module_name in BUILTIN_PLUGINS:
            self._load(module_name, lambda m=module_name: importlib.import_module(m),
                       __version__, "built-in")
        if autoload:
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                version = ep.dist.version if ep.dist is not None else "unknown"
                self._load(ep.name, ep.load, version, f"entry point {ep.value}")
        for plugin in plugins:
            self.register_plugin(plugin)

    def register_plugin(self, plugin: Any, name: str | None = None,
                        version: str = "local") -> None:
        """Register a plugin object or module in code and collect what it registers."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        self._load(name, lambda: plugin, version, "registered in code")

    def _load(self, name: str, loader: Callable[[], Any], version: str, source: str) -> None:
        if name in self.blocked:
            logger.info("plugin %s is blocked; skipped", name)
            return
        if name in self.plugins or name in self.failures:
            return
        try:
            plugin = loader()
            self._pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must never stop the engine
            self._fail(name, f"failed to load: {type(exc).__name__}: {exc}")
            return
        info = PluginInfo(name=name, version=version, source=source)
        staged: dict[str, dict[str, Any]] = {"models": {}, "strategies": {}, "metrics": {}}
        try:
            self._collect(name, staged)
        except Exception as exc:
            self._pm.unregister(name=name)
            self._fail(name, f"failed to register: {type(exc).__name__}: {exc}")
            return
        self.models.update(staged["models"])
        self.strategies.update(staged["strategies"])
        self.metrics.update(staged["metrics"])
        info.models = sorted(staged["models"])
        info.strategies = sorted(staged["strategies"])
        info.metrics = sorted(staged["metrics"])
        self.plugins[name] = info

    def _fail(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        logger.warning("plugin %s skipped: %s", name, reason)

    def _collect(self, plugin_name: str, staged: dict[str, dict[str, Any]]) -> None:
        """Call this plugin's hooks only, validating what each registers."""
        from automl.metrics import Metric

        def add(kind: str, key: str, value: Any) -> None:
            existing = getattr(self, kind)
            if key in existing or key in staged[kind]:
                raise ValueError(f"{kind[:-1]} name {key!r} is already registered")
            staged[kind][key] = value

        def register_model(spec: ModelSpec) -> None:
            if not isinstance(spec, ModelSpec):
                raise TypeError(f"register() expects a ModelSpec, got {type(spec).__name__}")
            add("models", spec.name, spec)

        def register_strategy(name: str, factory: Callable[..., Any]) -> None:
            if not callable(factory):
                raise TypeError(f"strategy {name!r}: factory must be callable")
            add("strategies", name, factory)

        def register_metric(metric: Metric) -> None:
            if not isinstance(metric, Metric):
                raise TypeError(f"register() expects a Metric, got {type(metric).__name__}")
            add("metrics", metric.name, metric)

        plugin = self._pm.get_plugin(plugin_name)
        calls = (
            ("automl_register_models", register_model),
            ("automl_register_strategies", register_strategy),
            ("automl_register_metrics", register_metric),
        )
        for hook_name, register in calls:
            for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(register=register)

    # -- look-ups with errors that list the known names ---------------------------------

    def model(self, name: str) -> ModelSpec:
        """Return the model spec called ``name`` or raise a ValueError listing known ones."""
        return _lookup(self.models, name, "model", "models")

    def strategy(self, name: str) -> Callable[..., Any]:
        """Return the strategy factory called ``name`` or raise a ValueError."""
        return _lookup(self.strategies, name, "strategy", "strategies")

    def metric(self, name: str) -> Any:
        """Return the metric called ``name`` or raise a ValueError listing known ones."""
        return _lookup(self.metrics, name, "metric", "metrics")


def _lookup(table: dict[str, Any], name: str, what: str, plural: str) -> Any:
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise ValueError(f"unknown {what} {name!r}; known {plural}: {known}") from None


_default: Registry | None = None


def get_registry() -> Registry:
    """Return the process-wide registry, loading plugins on first use."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def reset_registry() -> None:
    """Forget the process-wide registry so the next use reloads plugins."""
    global _default
    _default = None
