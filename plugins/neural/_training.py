"""One training loop for every torch network of the project.

Every neural model family (the tabular MLP here; CNN, LSTM/GRU, Transformer
and GAN plugins later) trains through :func:`train_network` and predicts
through :func:`predict_network`, so device choice, mixed precision,
regularisation, schedules, early stopping, determinism and the thread and
time limits behave the same everywhere. A network only supplies a model
factory, its data and (when the default losses do not fit) a loss.

This module is the one import point; the code lives in private modules by job:

``_runtime``
    :func:`resolve_device` (the one place ``Context.device`` becomes a torch
    device string), :func:`amp_dtype`, :func:`autocast`,
    :func:`make_grad_scaler`, :func:`limited_threads`,
    :func:`training_runtime`, :func:`oom_guard` and
    :class:`DeviceOutOfMemoryError`.
``_optim``
    :func:`make_optimizer`, :func:`make_scheduler`, :func:`l1_penalty` and
    :func:`resolve_loss`.
``_batches``
    :func:`validation_split`, :func:`iterate_batches` and :func:`to_device`.
``_loop``
    :class:`TrainSettings` (every knob; ``max_epochs`` is the fidelity),
    :class:`EpochRecord`, :class:`TrainResult` and :func:`train_network`.
``_predict``
    :func:`predict_network`.

The building blocks are public so that loops needing more than one optimizer
(a GAN trains a generator and a discriminator in turn) can reuse them.

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

from ._batches import DEVICE_DATA_BYTES as DEVICE_DATA_BYTES
from ._batches import iterate_batches, to_device, validation_split
from ._loop import MIN_VALIDATION_ROWS as MIN_VALIDATION_ROWS
from ._loop import EpochRecord, TrainResult, TrainSettings, train_network
from ._optim import COSINE_FLOOR as COSINE_FLOOR
from ._optim import LOSSES, SCHEDULES, l1_penalty, make_optimizer, make_scheduler, resolve_loss
from ._optim import WARMUP_SHARE as WARMUP_SHARE
from ._predict import predict_network
from ._runtime import (
    PRECISIONS,
    DeviceOutOfMemoryError,
    amp_dtype,
    autocast,
    limited_threads,
    make_grad_scaler,
    oom_guard,
    resolve_device,
    training_runtime,
)

__all__ = [
    "LOSSES",
    "PRECISIONS",
    "SCHEDULES",
    "DeviceOutOfMemoryError",
    "EpochRecord",
    "TrainResult",
    "TrainSettings",
    "amp_dtype",
    "autocast",
    "iterate_batches",
    "l1_penalty",
    "limited_threads",
    "make_grad_scaler",
    "make_optimizer",
    "make_scheduler",
    "oom_guard",
    "predict_network",
    "resolve_device",
    "resolve_loss",
    "to_device",
    "train_network",
    "training_runtime",
    "validation_split",
]
