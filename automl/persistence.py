"""Saving and loading a fitted ``AutoML`` in a directory.

The directory holds ``model.joblib`` and ``metadata.json`` (versions, task,
metric, the SHA-256 of the model file). Loading refuses a model file whose hash
does not match and warns when library versions differ.

Security: ``model.joblib`` is a pickle. Load only directories you trust; a
format that cannot execute code on load is planned (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


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
    import joblib
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "final_")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    joblib.dump(model, model_path)
    metadata = {
        "format": 1,
        "versions": _versions(),
        "task": model.task_,
        "metric": model.metric_,
        "best_trial": model.best_trial_.number,
        "best_model": model.best_trial_.model,
        "sha256": _sha256(model_path),
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    return directory


def load(path: str | Path) -> Any:
    """Read a model saved by :func:`save`, checking its integrity and versions."""
    import joblib

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
    current = _versions()
    stale = {k: v for k, v in metadata.get("versions", {}).items() if current.get(k) != v}
    if stale:
        warnings.warn(f"model saved with {stale}, running with "
                      f"{ {k: current.get(k) for k in stale} }; predictions may differ",
                      stacklevel=2)
    return joblib.load(model_path)
