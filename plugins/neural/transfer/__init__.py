"""Transfer learning from a backbone of your own: :func:`transfer_spec`.

::

    from automl import AutoML
    from plugins.neural import transfer_spec

    spec = transfer_spec(my_pretrained_net)          # or "backbone.pt" (torch.jit.save)
    AutoML(models=["cnn", spec]).fit(images, labels)

The spec searches how to fine-tune the backbone: the head is trained first
with the backbone frozen for ``head_epochs`` epochs, then (when ``unfreeze``)
the whole network for ``max_epochs`` epochs (the fidelity) at a searched
fraction of the learning rate; dropout, weight decay, batch size, schedule
and augmentation are searched as in the ``cnn`` spec. Nothing is downloaded:
the backbone is the module you pass or a local TorchScript file.

Before the search the engine calls the spec's ``accepts(ctx)``, which runs a
zero batch of the training image shape through the backbone and raises a
``ValueError`` naming the backbone, the shape and the fix when the backbone
rejects it (a wrong channel count, images too small for its pooling).

The spec's ``build`` and ``accepts`` hold the backbone as TorchScript bytes
(:class:`~plugins.neural.transfer.backbone.TorchScriptBackbone`), so the spec travels
to worker processes and fitted models save with ``automl.persistence`` (the
bytes inside a ``plugins.`` class are plain data for skops; see the note on
trust in :mod:`plugins.neural.transfer.backbone`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Float, Int, Space

from .._torch_estimator import context_kwargs
from .._training import optimizer_space, training_kwargs
from .backbone import TorchScriptBackbone, backbone_features
from .estimators import (
    TRANSFER_MAX_EPOCHS,
    TransferCNNClassifier,
    TransferCNNRegressor,
    _TransferCNN,
    freeze_then_unfreeze,
)

__all__ = [
    "TRANSFER_DEFAULTS",
    "TRANSFER_MAX_EPOCHS",
    "TRANSFER_SPACE",
    "TorchScriptBackbone",
    "TransferCNNClassifier",
    "TransferCNNRegressor",
    "freeze_then_unfreeze",
    "transfer_spec",
]

TRANSFER_SPACE = Space([
    Float("dropout", 0.0, 0.5),
    *optimizer_space(learning_rate=(1e-4, 1e-2), weight_decay=(1e-6, 1e-2),
                     batch_size=[16, 32, 64, 128], schedule=["onecycle", "cosine"]),
    Int("head_epochs", 1, 10),
    Categorical("unfreeze", [True, False]),
    Float("finetune_lr_multiplier", 0.01, 0.5, log=True, when={"unfreeze": True}),
    Float("shift", 0.0, 0.25),
    Categorical("flip", [False, True]),
    Float("rotation", 0.0, 20.0),
    Float("color_jitter", 0.0, 0.4),
])
"""The search space of a transfer spec (``max_epochs``, the fine-tuning epochs,
is the fidelity)."""

TRANSFER_DEFAULTS = (
    # train the head, then fine-tune everything at a tenth of the learning rate
    {"dropout": 0.1, "learning_rate": 3e-3, "weight_decay": 1e-4, "batch_size": 32,
     "schedule": "onecycle", "head_epochs": 5, "unfreeze": True,
     "finetune_lr_multiplier": 0.1, "shift": 0.125, "flip": False, "rotation": 0.0,
     "color_jitter": 0.0},
    # a linear probe: the backbone stays frozen (small data sets, strong backbones)
    {"dropout": 0.0, "learning_rate": 1e-2, "weight_decay": 1e-4, "batch_size": 32,
     "schedule": "onecycle", "head_epochs": 10, "unfreeze": False, "shift": 0.0,
     "flip": False, "rotation": 0.0, "color_jitter": 0.0},
)
"""Known-good configs, tried first."""


class TransferBuild:
    """``build(config, ctx)`` of a transfer spec: a picklable callable holding the backbone.

    Parameters
    ----------
    backbone : TorchScriptBackbone
        The backbone.
    input_size : tuple of int, optional
        ``(H, W)`` the images are resized to before the backbone.
    standardize : bool
        Standardise each channel with the training images' statistics.
    max_epochs : int
        Fine-tuning epochs when the config does not set the fidelity.

    """

    def __init__(self, backbone: TorchScriptBackbone, input_size: tuple[int, int] | None,
                 standardize: bool, max_epochs: int) -> None:
        self.backbone = backbone
        self.input_size = input_size
        self.standardize = standardize
        self.max_epochs = max_epochs

    def __call__(self, config: Mapping[str, Any], ctx: Context) -> _TransferCNN:
        """Build the estimator for a config and a context.

        Parameters
        ----------
        config : mapping
            Values of :data:`TRANSFER_SPACE` (missing ones come from the
            first default), optionally with ``max_epochs``.
        ctx : automl.specs.Context
            Task, seed, device, threads and the time one fit may take.

        Returns
        -------
        TransferCNNClassifier or TransferCNNRegressor
            The unfitted estimator.

        """
        params = {**TRANSFER_DEFAULTS[0], **dict(config)}
        cls = TransferCNNClassifier if ctx.is_classification else TransferCNNRegressor
        unfreeze = bool(params["unfreeze"])
        return cls(
            backbone=self.backbone,
            input_size=self.input_size,
            standardize=self.standardize,
            dropout=float(params["dropout"]),
            head_epochs=int(params["head_epochs"]),
            unfreeze=unfreeze,
            finetune_lr_multiplier=float(params["finetune_lr_multiplier"]) if unfreeze
            else 0.1,
            shift=float(params["shift"]),
            flip=bool(params["flip"]),
            rotation=float(params["rotation"]),
            color_jitter=float(params["color_jitter"]),
            **training_kwargs(params, self.max_epochs),
            **context_kwargs(ctx),
        )


class BackboneCheck:
    """``accepts(ctx)`` of a transfer spec: a dry run of the backbone on the image shape.

    Parameters
    ----------
    backbone : TorchScriptBackbone
        The backbone.
    input_size : tuple of int, optional
        ``(H, W)`` the images are resized to before the backbone.

    """

    def __init__(self, backbone: TorchScriptBackbone,
                 input_size: tuple[int, int] | None) -> None:
        self.backbone = backbone
        self.input_size = input_size
        self._accepted: set[tuple[int, ...]] = set()

    def __call__(self, ctx: Context) -> bool:
        """Whether the backbone takes the images of ``ctx``.

        Parameters
        ----------
        ctx : automl.specs.Context
            The data's context; only images (``input_shape == (C, H, W)``) qualify.

        Returns
        -------
        bool
            True when a zero batch ``(1, C, H, W)`` passes through the
            backbone; False for other modalities.

        Raises
        ------
        ValueError
            When the backbone rejects images of this shape (the message names
            the backbone, the shape and the fix).

        """
        shape = tuple(int(s) for s in ctx.input_shape)
        if ctx.modality != "image" or len(shape) != 3:
            return False
        if shape not in self._accepted:
            backbone_features(self.backbone.load(), shape, name=self.backbone.name,
                              input_size=self.input_size)
            self._accepted.add(shape)
        return True

    def __getstate__(self) -> dict[str, Any]:
        """State without the cache of accepted shapes."""
        return {"backbone": self.backbone, "input_size": self.input_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore the state with an empty cache."""
        self.__dict__.update(state)
        self._accepted = set()


def transfer_spec(
    backbone: Any, *, name: str = "transfer_cnn", input_size: Sequence[int] | None = None,
    input_shape: Sequence[int] | None = None, standardize: bool = True,
    max_epochs: int = TRANSFER_MAX_EPOCHS, description: str | None = None,
) -> ModelSpec:
    """A model spec that fine-tunes a backbone of your own on images.

    Parameters
    ----------
    backbone : torch.nn.Module, str or os.PathLike
        The network (scripted with ``torch.jit.script``, or traced when that
        fails and ``input_shape`` is given), or the path of a local
        TorchScript file written by ``torch.jit.save``. It maps
        ``(N, C, H, W)`` images to ``(N, C', H', W')`` maps (average-pooled)
        or ``(N, F)`` features; a new linear head is put on top.
    name : str, default="transfer_cnn"
        The spec's name in ``AutoML(models=...)`` and the leaderboard.
    input_size : sequence of int, optional
        ``(H, W)`` to resize the images to (bilinear) before the backbone,
        e.g. for a backbone that needs larger images.
    input_shape : sequence of int, optional
        ``(C, H, W)`` used only to trace a module that cannot be scripted.
    standardize : bool, default=True
        Standardise each channel with the mean and standard deviation of the
        training images (pixels may then be 0..1 or 0..255 alike).
    max_epochs : int, default=TRANSFER_MAX_EPOCHS
        Most fine-tuning epochs (the fidelity's high end).
    description : str, optional
        One line for ``automl plugins``; a default names the backbone.

    Returns
    -------
    ModelSpec
        Classification and regression on images; ``accepts`` dry-runs the
        backbone on the training image shape.

    Raises
    ------
    ValueError
        For a backbone that cannot be turned into TorchScript, a missing or
        invalid file, a bad ``input_size`` or ``max_epochs``.

    """
    if input_size is not None:
        if len(input_size) != 2 or min(int(s) for s in input_size) < 1:
            raise ValueError(f"input_size must be (H, W) of positive sizes, got {input_size!r}")
        input_size = (int(input_size[0]), int(input_size[1]))
    if isinstance(max_epochs, bool) or int(max_epochs) != max_epochs or max_epochs < 2:
        raise ValueError(f"max_epochs must be an integer of at least 2, got {max_epochs!r}")
    stored = TorchScriptBackbone.from_source(backbone, input_shape=input_shape)
    return ModelSpec(
        name=name,
        tasks={"classification", "regression"},
        modalities={"image"},
        space=TRANSFER_SPACE,
        build=TransferBuild(stored, input_size, bool(standardize), int(max_epochs)),
        fidelity=Fidelity("max_epochs", 1, int(max_epochs)),
        defaults=TRANSFER_DEFAULTS,
        description=description or f"fine-tunes the backbone {stored.name!r} "
                                   "(head first with the backbone frozen, then all)",
        accepts=BackboneCheck(stored, input_size),
    )
