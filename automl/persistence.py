"""Saving and loading a fitted ``AutoML`` without executing code from the file.

A model directory holds ``model.skops`` (skops' format: objects are rebuilt
from their state, never unpickled) and ``metadata.json`` (library versions,
task, metric and the SHA-256 of the model file). Loading

* refuses a model file whose hash does not match the metadata (altered or
  corrupted),
* refuses any type outside an explicit allow-list unless the caller names it
  in ``trusted``, so a crafted file cannot run code. The list is this
  project's own classes and the types each registered model family declares
  in ``ModelSpec.persisted_types`` (the scikit-learn and XGBoost internals its
  fitted estimators hold); the conformance kit checks each family's list,
* renames the types of classes that moved between modules since the file was
  saved (:data:`MOVED_TYPES`), so older model files keep loading,
* warns when the saved library versions differ from the running ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import io
import json
import sys
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
FORMAT = 2

TRUSTED_TYPES = frozenset({
    "functools.partial",
    "numpy.dtype",
    "sklearn.utils.validation.check_array",
})
"""Types beyond skops' defaults that the engine itself stores (the final model's
own parts); each model family declares the rest in ``ModelSpec.persisted_types``."""

TRUSTED_PREFIXES = ("automl.", "plugins.")
"""This project's own modules: their classes rebuild from plain state."""

TRUSTED_ONLY_BY_NAME = frozenset({
    # plugins (issue 15 move): the backbone moved; its old name stays listed
    "plugins.neural.transfer.backbone.TorchScriptBackbone",
    "plugins.neural._backbone.TorchScriptBackbone",
})
"""Project types that carry a program (a TorchScript backbone runs when the model
predicts): loaded only when the caller names them in ``trusted``."""

MOVED_TYPES: dict[str, str] = {
    # automl (issue 15 move)
    "automl.records.TrialRecord": "automl.engine.records.TrialRecord",
    "automl.final.FinalModel": "automl.final.model.FinalModel",
    "automl.ensemble.Ensemble": "automl.final.ensemble.Ensemble",
    "automl.stacking.StackedEnsemble": "automl.final.stacking.StackedEnsemble",
    "automl.interactions.InteractionSchema":
        "automl.tasks.recommendation.interactions.InteractionSchema",
    # plugins (issue 15 move)
    "plugins.neural._mlp_estimators.TabularMLPClassifier":
        "plugins.neural.mlp.estimators.TabularMLPClassifier",
    "plugins.neural._mlp_estimators.TabularMLPRegressor":
        "plugins.neural.mlp.estimators.TabularMLPRegressor",
    "plugins.neural._mlp_estimators._TabularMLP": "plugins.neural.mlp.estimators._TabularMLP",
    "plugins.neural._image_estimators.ImageCNNClassifier":
        "plugins.neural.cnn.estimators.ImageCNNClassifier",
    "plugins.neural._image_estimators.ImageCNNRegressor":
        "plugins.neural.cnn.estimators.ImageCNNRegressor",
    "plugins.neural._transfer_estimators.TransferCNNClassifier":
        "plugins.neural.transfer.estimators.TransferCNNClassifier",
    "plugins.neural._transfer_estimators.TransferCNNRegressor":
        "plugins.neural.transfer.estimators.TransferCNNRegressor",
    "plugins.neural._backbone.TorchScriptBackbone":
        "plugins.neural.transfer.backbone.TorchScriptBackbone",
    "plugins.neural.lstm.RecurrentSequenceClassifier":
        "plugins.neural.lstm.estimators.RecurrentSequenceClassifier",
    "plugins.neural.lstm.RecurrentSequenceRegressor":
        "plugins.neural.lstm.estimators.RecurrentSequenceRegressor",
    "plugins.neural.transformer.TransformerSequenceClassifier":
        "plugins.neural.transformer.estimators.TransformerSequenceClassifier",
    "plugins.neural.transformer.TransformerSequenceRegressor":
        "plugins.neural.transformer.estimators.TransformerSequenceRegressor",
    "plugins.neural._sequence_batches.SequenceScaler":
        "plugins.neural.sequence.batches.SequenceScaler",
    "plugins.neural.fusion.FusionClassifier": "plugins.neural.fusion.estimators.FusionClassifier",
    "plugins.neural.fusion.FusionRegressor": "plugins.neural.fusion.estimators.FusionRegressor",
    "plugins.neural._fusion_inputs.PartInputs": "plugins.neural.fusion.inputs.PartInputs",
    "plugins.neural._ncf_estimators.NeuMF": "plugins.neural.ncf.estimators.NeuMF",
    "plugins.neural._ncf_estimators.HybridMF": "plugins.neural.ncf.estimators.HybridMF",
    "plugins.neural._ncf_features.SideFeatures": "plugins.neural.ncf.features.SideFeatures",
    "plugins.neural._gan_estimator.TabularGAN": "plugins.neural.gan.estimator.TabularGAN",
    "plugins.neural._gan_transform.GANTransformer": "plugins.neural.gan.transform.GANTransformer",
}
"""Old fully qualified type name -> new one, for classes that moved between
modules since a file was saved; loading rewrites the file's schema in memory."""


def family_types() -> frozenset[str]:
    """Every type that a registered model family declares its fitted estimators store.

    The allow-list of :func:`load` is :data:`TRUSTED_TYPES`, this project's own
    classes and these, so installing a plugin whose spec declares its types
    lets its models load without ``trusted``.
    """
    from automl.registry import get_registry

    declared: set[str] = set()
    for spec in get_registry().models.values():
        declared |= spec.persisted_types
    return frozenset(declared)


def refused_types(found: Iterable[str], trusted: Iterable[str] = (),
                  allowed: Iterable[str] | None = None) -> list[str]:
    """The types among ``found`` that loading refuses.

    Parameters
    ----------
    found : iterable of str
        Fully qualified type names a skops file holds beyond skops' defaults
        (``skops.io.get_untrusted_types``).
    trusted : iterable of str
        Names the caller trusts on top of the allow-list (a class's name from
        before it moved counts for its new name too).
    allowed : iterable of str, optional
        The family types to allow; :func:`family_types` when None.

    Returns
    -------
    list of str
        The refused names, sorted; empty when the file may be loaded.
    """
    trusted = set(trusted)
    accepted = TRUSTED_TYPES | trusted | {MOVED_TYPES[t] for t in trusted if t in MOVED_TYPES}
    refused = sorted(t for t in found if t not in accepted and (
        t in TRUSTED_ONLY_BY_NAME or not t.startswith(TRUSTED_PREFIXES)))
    if not refused:  # the registry (every plugin) is loaded only when it has a say
        return refused
    allowed = family_types() if allowed is None else frozenset(allowed)
    return [t for t in refused if t not in allowed]


def _origin(type_name: str) -> str:
    """Where a refused type comes from, in words: its installed distribution, if any."""
    from importlib import metadata

    top = type_name.split(".", 1)[0]
    distributions = metadata.packages_distributions().get(top)
    if top in ("automl", "plugins"):
        return f"{type_name} (a built-in type that runs code when the model predicts)"
    if distributions:
        return f"{type_name} (from the installed package {', '.join(distributions)})"
    return f"{type_name} (from {top!r}, which is not installed here)"


def refusal_message(model_path: Path, refused: list[str]) -> str:
    """The error for a file holding ``refused`` types: what they are and how to allow them."""
    origins = "; ".join(_origin(t) for t in refused)
    flags = " ".join(f"--trust {t}" for t in refused)
    return (f"{model_path} holds types that are not trusted: {refused}. They are {origins}. "
            "A plugin lets its models load by declaring them in ModelSpec.persisted_types; "
            "if you trust the file's source, pass them as AutoML.load(path, trusted=[...]) "
            f"or `automl predict ... {flags}`")


def _migrate(content: bytes) -> bytes:
    """``content`` with the types of :data:`MOVED_TYPES` renamed in its schema."""
    if not MOVED_TYPES:
        return content
    source = zipfile.ZipFile(io.BytesIO(content))
    schema = json.loads(source.read("schema.json"))
    if not _rename_types(schema):
        return content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = json.dumps(schema) if item.filename == "schema.json" \
                else source.read(item.filename)
            target.writestr(item, data)
    return out.getvalue()


def _rename_types(node: Any) -> bool:
    """Rename moved ``__module__``/``__class__`` pairs in a skops schema, in place."""
    changed = False
    if isinstance(node, dict):
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        if name in MOVED_TYPES:
            module, _, cls = MOVED_TYPES[name].rpartition(".")
            node["__module__"], node["__class__"] = module, cls
            changed = True
        for value in node.values():
            changed = _rename_types(value) or changed
    elif isinstance(node, list):
        for value in node:
            changed = _rename_types(value) or changed
    return changed


class _TorchRefused(importlib.abc.MetaPathFinder):
    """An import finder that makes ``import torch`` fail (see :func:`_torch_kept_out`)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:  # noqa: ARG002
        """Refuse torch and its submodules; leave every other import to the next finder."""
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("torch is kept out while skops.io is imported")


@contextlib.contextmanager
def _torch_kept_out() -> Iterator[None]:
    """Within the block, ``import torch`` fails unless torch is loaded already.

    Importing ``skops.io`` lists scikit-learn's estimators by walking its packages,
    and the walk imports ``sklearn.externals.array_api_compat.torch``, which imports
    torch: about two of the six seconds ``automl predict`` took for a model without a
    network. No estimator lives there, and the walk skips a package that fails to
    import, so skops trusts the same types either way; a model with network
    members imports torch when it is read, after the block.
    """
    if "torch" in sys.modules:
        yield
        return
    finder = _TorchRefused()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _skops_io() -> Any:
    """``skops.io``, imported without pulling in torch (see :func:`_torch_kept_out`)."""
    import sklearn.utils  # noqa: F401 - scipy, below it, looks for torch as it loads

    with _torch_kept_out():
        import skops.io

    return skops.io


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
    from sklearn.utils.validation import check_is_fitted

    sio = _skops_io()

    check_is_fitted(model, "final_")
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    model_path = directory / MODEL_FILE
    # deflated: the schema is JSON text, several times larger than the arrays it describes
    sio.dump(model, model_path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
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
    directory = Path(path)
    model_path, meta_path = directory / MODEL_FILE, directory / METADATA_FILE
    if not model_path.exists() or not meta_path.exists():
        raise FileNotFoundError(
            f"{directory} is not a saved model (expected {MODEL_FILE} and {METADATA_FILE}); "
            "create one with `automl fit ... --output DIR` or model.save(DIR)"
        )
    sio = _skops_io()
    metadata = json.loads(meta_path.read_text())
    if _sha256(model_path) != metadata.get("sha256"):
        raise ValueError(f"{model_path} does not match the hash in {meta_path}: the file was "
                         "altered or corrupted; refit and save the model again")
    content = _migrate(model_path.read_bytes())
    found = sio.get_untrusted_types(data=content)
    refused = refused_types(found, trusted)
    if refused:
        raise ValueError(refusal_message(model_path, refused))
    _warn_on_version_change(metadata)
    return sio.loads(content, trusted=found)


def _warn_on_version_change(metadata: dict[str, Any]) -> None:
    current = _versions()
    stale = {k: v for k, v in metadata.get("versions", {}).items() if current.get(k) != v}
    if stale:
        now = {k: current.get(k) for k in stale}
        warnings.warn(f"model saved with {stale}, running with {now}; predictions may differ",
                      stacklevel=3)
