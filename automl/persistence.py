"""Saving and loading a fitted ``AutoML`` without executing code from the file.

A model directory holds ``model.skops`` (skops' format: objects are rebuilt
from their state, never unpickled) and ``metadata.json`` (library versions,
task, metric and the SHA-256 of the model file). Loading

* refuses a model file whose hash does not match the metadata (altered or
  corrupted),
* refuses any type outside an explicit allow-list (this project's own classes,
  the scikit-learn and XGBoost internals its models hold) unless the caller
  names it in ``trusted``, so a crafted file cannot run code,
* warns when the saved library versions differ from the running ones.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
FORMAT = 2

TRUSTED_TYPES = frozenset({
    "functools.partial",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    "sklearn.utils.validation.check_array",
    "xgboost.core.Booster",
})
"""Types beyond skops' defaults that the built-in models need."""

TRUSTED_PREFIXES = ("automl.", "plugins.")
"""This project's own modules: their classes rebuild from plain state."""

TRUSTED_ONLY_BY_NAME = frozenset({"plugins.neural._backbone.TorchScriptBackbone"})
"""Project types that carry a program (a TorchScript backbone runs when the model
predicts): loaded only when the caller names them in ``trusted``."""


def _versions() -> dict[str, str]:
    import sklearn
    import xgboost

    import automl

    return {"automl": automl.__version__, "scikit-learn": sklearn.__version__,
            "xgboost": xgboost.__version__}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save(model: Any, path: str | Path) -> Path:
    """Write a fitted ``AutoML`` to the directory ``path`` (created if needed)."""
    import skops.io as sio
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "final_")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    sio.dump(model, model_path)
    metadata = {
        "format": FORMAT,
        "versions": _versions(),
        "task": model.task_,
        "metric": model.metric_,
        "best_trial": model.best_trial_.number,
        "best_model": model.best_trial_.model,
        "sha256": _sha256(model_path),
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return directory


def load(path: str | Path, trusted: Iterable[str] = ()) -> Any:
    """Read a model saved by :func:`save`, checking integrity, types and versions.

    Parameters
    ----------
    path : str or Path
        The model directory.
    trusted : iterable of str
        Extra fully qualified type names to allow (a third-party plugin's
        estimator classes, say), for files from a source you trust.

    Raises
    ------
    FileNotFoundError
        When the directory is not a saved model.
    ValueError
        When the file was altered, or holds types that are not trusted.
    """
    import skops.io as sio

    directory = Path(path)
    model_path, meta_path = directory / MODEL_FILE, directory / METADATA_FILE
    if not model_path.exists() or not meta_path.exists():
        raise FileNotFoundError(
            f"{directory} is not a saved model (expected {MODEL_FILE} and {METADATA_FILE}); "
            "create one with `automl fit ... --output DIR` or model.save(DIR)"
        )
    metadata = json.loads(meta_path.read_text())
    if _sha256(model_path) != metadata.get("sha256"):
        raise ValueError(f"{model_path} does not match the hash in {meta_path}: the file was "
                         "altered or corrupted; refit and save the model again")
    found = sio.get_untrusted_types(file=model_path)
    allowed = TRUSTED_TYPES | set(trusted)
    refused = sorted(t for t in found if t not in allowed and (
        t in TRUSTED_ONLY_BY_NAME or not t.startswith(TRUSTED_PREFIXES)))
    if refused:
        raise ValueError(
            f"{model_path} holds types that are not trusted: {refused}. If you trust the "
            "file's source, pass them as AutoML.load(path, trusted=[...])"
        )
    current = _versions()
    stale = {k: v for k, v in metadata.get("versions", {}).items() if current.get(k) != v}
    if stale:
        now = {k: current.get(k) for k in stale}
        warnings.warn(f"model saved with {stale}, running with {now}; predictions may differ",
                      stacklevel=2)
    return sio.load(model_path, trusted=found)
