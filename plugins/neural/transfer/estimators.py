"""Transfer-learning estimators: :class:`TransferCNNClassifier` and :class:`TransferCNNRegressor`.

The network is :class:`plugins.neural.transfer.net.TransferNet`: per-channel
standardisation learned from the training images, an optional resize, the
user's backbone, global average pooling of 4-D outputs and a new linear head.
Training (:func:`freeze_then_unfreeze`) has two phases on the same seeded
validation split:

1. *head*: the backbone is frozen (no gradients, eval mode, so its batch-norm
   statistics stay as they were) and the head trains for ``head_epochs``
   epochs at ``learning_rate``;
2. *finetune* (when ``unfreeze``): everything trains for ``max_epochs``
   epochs at ``learning_rate * finetune_lr_multiplier``.

Each phase keeps its best validation weights. Training batches are augmented
as in the ``cnn`` spec. The backbone is a
:class:`plugins.neural.transfer.backbone.TorchScriptBackbone` (bytes); the fitted
weights of the whole network are numpy arrays in ``weights_``, so the
estimators pickle and save with skops. Importing this module does not import
torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from .._torch_estimator import store_params
from .._training import document_training
from ..cnn.base import ImageClassifierOutputs, ImageEstimatorBase, ImageRegressorOutputs
from .backbone import TorchScriptBackbone

__all__ = [
    "TRANSFER_MAX_EPOCHS",
    "TransferCNNClassifier",
    "TransferCNNRegressor",
    "freeze_then_unfreeze",
]

TRANSFER_MAX_EPOCHS = 10
"""Most fine-tuning epochs (after unfreezing) when the config does not set the
``max_epochs`` fidelity."""


def freeze_then_unfreeze(
    net: Any, data: Any, head_settings: Any, finetune_settings: Any | None, *, task: str,
    compute_loss: Callable[[Any, Any], Any], deadline: float | None = None,
    on_phase_end: Callable[[str, Any], None] | None = None,
) -> list[tuple[str, Any]]:
    """Train a :class:`~plugins.neural.transfer.net.TransferNet`: head first, then everything.

    Parameters
    ----------
    net : TransferNet
        The network; its backbone is frozen for the first phase and unfrozen
        for the second.
    data : tuple of arrays
        ``(images, target)``.
    head_settings : TrainSettings
        Settings of the head phase.
    finetune_settings : TrainSettings or None
        Settings of the fine-tuning phase; None trains the head only.
    task : str
        ``"classification"`` or ``"regression"``.
    compute_loss : callable
        ``compute_loss(model, batch) -> loss`` (augments training batches).
    deadline : float, optional
        ``time.monotonic()`` time by which training ends: the fine-tuning
        phase gets what the head phase left (none left: it is skipped).
    on_phase_end : callable, optional
        ``on_phase_end(phase, net)`` after each phase (``"head"``,
        ``"finetune"``).

    Returns
    -------
    list of (str, TrainResult)
        The phases run, in order.

    """
    from .._training import train_network

    results = []
    net.freeze_backbone(True)
    results.append(("head", train_network(net, data, head_settings, task=task,
                                          compute_loss=compute_loss)))
    if on_phase_end is not None:
        on_phase_end("head", net)
    if finetune_settings is not None and deadline is not None:
        left = deadline - time.monotonic()
        finetune_settings = None if left <= 0 else replace(finetune_settings, time_limit=left)
    if finetune_settings is not None:
        net.freeze_backbone(False)
        results.append(("finetune", train_network(net, data, finetune_settings, task=task,
                                                  compute_loss=compute_loss)))
        if on_phase_end is not None:
            on_phase_end("finetune", net)
    return results


class _TransferCNN(ImageEstimatorBase):
    """Shared constructor and fit of the transfer-learning estimators."""

    def __init__(
        self,
        *,
        backbone: TorchScriptBackbone | None = None,
        input_size: Sequence[int] | None = None,
        standardize: bool = True,
        dropout: float = 0.1,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 32,
        schedule: str = "onecycle",
        head_epochs: int = 5,
        unfreeze: bool = True,
        finetune_lr_multiplier: float = 0.1,
        shift: float = 0.125,
        flip: bool = False,
        rotation: float = 0.0,
        color_jitter: float = 0.0,
        max_epochs: int = TRANSFER_MAX_EPOCHS,
        patience: int | None = 5,
        validation_fraction: float = 0.1,
        grad_clip: float | None = 1.0,
        eval_batch_size: int = 256,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int = 1,
        time_limit: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def _backbone(self) -> TorchScriptBackbone:
        if not isinstance(self.backbone, TorchScriptBackbone):
            raise ValueError(
                "backbone must be a TorchScriptBackbone, got "
                f"{type(self.backbone).__name__}; build the estimator with transfer_spec(...) "
                "or TorchScriptBackbone.from_source(module)"
            )
        return self.backbone

    def _check_params(self) -> None:
        if isinstance(self.head_epochs, bool) or int(self.head_epochs) != self.head_epochs \
                or self.head_epochs < 1:
            raise ValueError(f"head_epochs must be a positive integer, got {self.head_epochs!r}")
        if not 0.0 < float(self.finetune_lr_multiplier) <= 1.0:
            raise ValueError("finetune_lr_multiplier must lie in (0, 1], got "
                             f"{self.finetune_lr_multiplier!r}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if self.input_size is not None and (len(self.input_size) != 2
                                            or min(int(s) for s in self.input_size) < 1):
            raise ValueError(f"input_size must be (H, W) or None, got {self.input_size!r}")

    def _build_module(self, backbone_module: Any = None) -> Any:
        from .net import TransferNet

        config = self.net_config_
        if backbone_module is None:
            backbone_module = self._backbone().load()
        input_size = config["input_size"]
        return TransferNet(
            backbone_module, config["in_channels"], config["n_features"], config["n_outputs"],
            dropout=config["dropout"], standardize=config["standardize"],
            input_size=None if input_size is None else tuple(input_size),
        )

    def fit(self, X: Any, y: Any) -> _TransferCNN:
        """Train the head with the backbone frozen, then (``unfreeze``) the whole network.

        Parameters
        ----------
        X : array-like of shape (N, C, H, W) or (N, H, W)
            Training images, any value range.
        y : array-like of shape (N,)
            Class labels, or regression targets.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For bad images or targets, bad parameters, or a backbone that does
            not accept the images.
        DeviceOutOfMemoryError
            When the device runs out of memory (lower ``batch_size``).

        """
        import torch

        from .._training import oom_guard, resolve_device
        from .backbone import backbone_features

        started = time.monotonic()
        self._check_params()
        backbone = self._backbone()
        images, target, n_outputs = self._prepare(X, y)
        input_size = None if self.input_size is None else [int(s) for s in self.input_size]
        seed = self._seed()
        with oom_guard(resolve_device(self.device)):
            module = backbone.load()
            n_features = backbone_features(module, self.input_shape_, name=backbone.name,
                                           input_size=input_size)
            self.net_config_ = {
                "in_channels": self.input_shape_[0], "n_features": n_features,
                "n_outputs": int(n_outputs), "dropout": float(self.dropout),
                "standardize": bool(self.standardize), "input_size": input_size,
            }
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)  # the new head's initialisation
                net = self._build_module(module)
            if self.standardize:
                net.standardize.set_statistics(self.channel_mean_, self.channel_std_)
            head = self._train_settings(len(images), seed, max_epochs=int(self.head_epochs))
            finetune = None
            if self.unfreeze:
                finetune = self._train_settings(
                    len(images), seed,
                    learning_rate=float(self.learning_rate) * float(self.finetune_lr_multiplier),
                )
            results = freeze_then_unfreeze(
                net, (images, target), head, finetune, task=self._task(),
                compute_loss=self._compute_loss(self._augmenter(seed)),
                deadline=None if self.time_limit is None else started + float(self.time_limit),
            )
        net.freeze_backbone(False)
        self._keep(net, results)
        return self


@document_training
class TransferCNNClassifier(ImageClassifierOutputs, _TransferCNN):
    """Image classifier fine-tuned from a backbone of your own (freeze, then unfreeze).

    See the module docstring for the network and the two training phases;
    :func:`plugins.neural.transfer_spec` builds these for ``AutoML``.

    Parameters
    ----------
    backbone : TorchScriptBackbone
        The backbone (see :meth:`TorchScriptBackbone.from_source`).
    input_size : tuple of int, optional
        ``(H, W)`` the images are resized to before the backbone.
    standardize : bool, default=True
        Standardise each channel with the statistics of the training images.
    dropout : float, default=0.1
        Dropout before the head.
    learning_rate : float, default=3e-3
        Peak AdamW learning rate of the head phase.
    {training parameters}
    schedule : {"onecycle", "cosine", "constant"}, default="onecycle"
        Learning-rate schedule of each phase.
    head_epochs : int, default=5
        Epochs of the head phase (backbone frozen).
    unfreeze : bool, default=True
        Fine-tune the whole network after the head phase.
    finetune_lr_multiplier : float, default=0.1
        Learning rate of the fine-tuning phase, as a share of ``learning_rate``.
    shift, flip, rotation, color_jitter
        Augmentation of training batches, as in
        :class:`~plugins.neural.cnn.ImageCNNClassifier`.
    max_epochs : int, default=TRANSFER_MAX_EPOCHS
        Epochs of the fine-tuning phase (the fidelity).
    patience : int or None, default=5
        Early-stopping patience in epochs, per phase.
    validation_fraction : float, default=0.1
        Images held out for early stopping (the same split in both phases).
    time_limit : float, optional
        Seconds for both phases; past it training stops with the best weights.
    random_state : int, optional
        Seed of the head's initialisation, batches, augmentation and the
        validation split; None draws one.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted.
    input_shape_ : tuple of int
        ``(C, H, W)`` of the training images.
    channel_mean_, channel_std_ : list of float
        Per-channel statistics of the training images.
    weights_ : dict of str to ndarray
        ``state_dict`` of the whole fine-tuned network (backbone and head).
    net_config_ : dict
        Arguments that rebuild the network around the backbone.
    history_ : list of dict
        Per-epoch records, each with its ``phase`` (``"head"``, ``"finetune"``).
    n_epochs_ : int
        Epochs run in both phases.
    best_epoch_, stop_reason_
        Of the last phase.
    {fitted attributes}

    """


class TransferCNNRegressor(ImageRegressorOutputs, _TransferCNN):
    """Image regressor fine-tuned from a backbone of your own (freeze, then unfreeze).

    Parameters and fitted attributes are those of
    :class:`TransferCNNClassifier` (without ``classes_``); the target is
    standardised for training.

    Attributes
    ----------
    target_mean_, target_scale_ : float
        Standardisation of the target.

    """
