"""One training loop for every torch network of the project.

Every neural model family (``mlp``, ``cnn`` and transfer learning, ``lstm``,
``transformer``, ``fusion``, ``neumf``/``hybrid_mf``) trains through
:func:`train_network` and predicts through :func:`predict_network`, so device
choice, mixed precision, regularisation, schedules, early stopping,
determinism and the thread and time limits behave the same everywhere; the
``ctgan`` loop, which trains two networks in turn, is built from the same
blocks. A network only supplies a model factory, its data and (when the
default losses do not fit) a loss.

This package is the one import point; the code lives in modules by job:

``runtime``
    :func:`resolve_device` (the one place ``Context.device`` becomes a torch
    device string), :func:`amp_dtype`, :func:`autocast`,
    :func:`make_grad_scaler`, :func:`limited_threads`,
    :func:`training_runtime`, :func:`oom_guard` and
    :class:`DeviceOutOfMemoryError`.
``optim``
    :func:`make_optimizer`, :func:`make_scheduler`, :func:`l1_penalty` and
    :func:`resolve_loss`.
``batches``
    :func:`validation_split`, :func:`iterate_batches` and :func:`to_device`.
``settings``
    :class:`TrainSettings` (every knob; ``max_epochs`` is the fidelity),
    :class:`EpochRecord`, :class:`TrainResult` and the :data:`STOP_REASONS`.
``loop``
    :func:`train_network` and its phases.
``predict``
    :func:`predict_network`.
``params``
    The training hyperparameters the estimators share: their search space
    (:func:`optimizer_space`), their estimator arguments
    (:func:`training_kwargs`) and their ``TrainSettings`` (:func:`train_settings`).
``docs``
    Their docs and those of the fitted attributes every estimator sets,
    written once and inserted into each estimator's docstring
    (:func:`document_training`).

Names are loaded from their module on first use, so importing this package
does not import torch: the spec modules use ``params`` and the estimator
modules ``docs`` when they are imported, and torch is imported when a network
is built.

Examples
--------
>>> import torch
>>> X = torch.randn(200, 3)
>>> y = (X[:, 0] > 0).long()
>>> settings = TrainSettings(max_epochs=3, batch_size=32, seed=0)
>>> result = train_network(lambda: torch.nn.Linear(3, 2), (X, y), settings,
...                        task="classification")
>>> logits = predict_network(result.model, (X,))
>>> logits.shape
(200, 2)

"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    **dict.fromkeys(("PRECISIONS", "DeviceOutOfMemoryError", "amp_dtype", "autocast",
                     "limited_threads", "make_grad_scaler", "oom_guard", "resolve_device",
                     "training_runtime"), "runtime"),
    **dict.fromkeys(("COSINE_FLOOR", "LOSSES", "SCHEDULES", "WARMUP_SHARE", "l1_penalty",
                     "make_optimizer", "make_scheduler", "resolve_loss"), "optim"),
    **dict.fromkeys(("DEVICE_DATA_BYTES", "iterate_batches", "to_device", "validation_split"),
                    "batches"),
    **dict.fromkeys(("MIN_VALIDATION_ROWS", "STOP_REASONS", "EpochRecord", "StopReason",
                     "TrainResult", "TrainSettings"), "settings"),
    **dict.fromkeys(("train_network",), "loop"),
    **dict.fromkeys(("predict_network",), "predict"),
    **dict.fromkeys(("MIN_BATCH_ROWS", "batch_rows", "fidelity_epochs", "l1_space",
                     "optimizer_space", "train_settings", "training_kwargs"), "params"),
    **dict.fromkeys(("FITTED_ATTRIBUTES", "TRAINING_PARAMETERS", "document_training"), "docs"),
}
"""The module of :mod:`plugins.neural._training` that holds each public name."""

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use.

    Parameters
    ----------
    name : str
        One of ``__all__``.

    Returns
    -------
    Any
        The object.

    Raises
    ------
    AttributeError
        For any other name.

    """
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the module's own attributes."""
    return sorted({*globals(), *__all__})
