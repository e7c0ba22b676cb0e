"""Shared fixtures. Tests never auto-load plugins installed on the machine."""

import os

os.environ["AUTOML_DISABLE_PLUGIN_AUTOLOAD"] = "1"
os.environ.pop("AUTOML_BLOCK_PLUGINS", None)
