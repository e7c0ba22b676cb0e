"""A small residual CNN for images: the ``cnn`` spec (classification and regression).

The package's parts:

``plugins.neural.cnn`` (this module)
    The spec: the search space, the default configs, ``build`` and the
    ``automl_register_models`` hook.
:mod:`~plugins.neural.cnn.estimators`
    The estimators it builds, :class:`ImageCNNClassifier` and
    :class:`ImageCNNRegressor`; re-exported here.
:mod:`~plugins.neural.cnn.base`
    What every torch image estimator shares (input checks, augmentation,
    training within a time limit, prediction), also the base of the transfer
    estimators of :mod:`plugins.neural.transfer`.
:mod:`~plugins.neural.cnn.net`
    The network, :class:`~plugins.neural.cnn.net.ResidualCNN`, and its blocks.
:mod:`~plugins.neural.cnn.augment`
    The seeded augmentations of training batches.

Transfer learning from a backbone of your own is
:func:`plugins.neural.transfer_spec`.

The search covers the depth (stages and residual blocks per stage), the width
(channels of the first stage), dropout, AdamW's learning rate and weight decay
(both log-scaled), batch size, schedule, an optional L1 penalty and the data
augmentation of training batches: random shifts (pad and crop), horizontal
flips (a choice: right for photographs, wrong for digits), small rotations and
colour jitter (RGB images only). The epoch count is the fidelity
(``max_epochs``, up to :data:`CNN_MAX_EPOCHS`). Torch threads follow
:func:`~automl.preprocessing.suggested_threads`. Importing this module does
not import torch; fitting or predicting does.

The two defaults were chosen on scikit-learn's 8x8 digits (75/25 stratified
splits, seeds 0-2: median held-out accuracy 0.993 for the first, 0.978 for the
second, whose flips do not suit digits) and on generated 32x32 RGB shape
images (0.99 and 1.00), at 5 to 30 seconds per fit on one busy CPU core.

References
----------
.. [He2016] K. He, X. Zhang, S. Ren, J. Sun. "Deep Residual Learning for Image
   Recognition". CVPR 2016.
.. [Smith2019] L. N. Smith, N. Topin. "Super-Convergence: Very Fast Training of
   Neural Networks Using Large Learning Rates". 2019 (one-cycle schedule).

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Float, Int, Space

from ..._hooks import register_hook
from .._torch_estimator import context_kwargs
from .._training import MIN_BATCH_ROWS as MIN_BATCH_ROWS
from .._training import l1_space, optimizer_space, training_kwargs
from .estimators import CNN_MAX_EPOCHS, ImageCNNClassifier, ImageCNNRegressor, _ImageCNN
from .estimators import CNN_PATIENCE as CNN_PATIENCE

__all__ = [
    "CNN_DEFAULTS",
    "CNN_MAX_EPOCHS",
    "CNN_MIN_EPOCHS",
    "CNN_SPACE",
    "ImageCNNClassifier",
    "ImageCNNRegressor",
    "automl_register_models",
    "build_cnn",
    "model_specs",
]

CNN_MIN_EPOCHS = 2
"""Epochs of the cheapest look (the low end of the ``max_epochs`` fidelity)."""

CNN_SPACE = Space([
    Int("n_stages", 1, 4),
    Int("blocks_per_stage", 1, 3),
    Int("base_channels", 8, 64, log=True),
    Float("dropout", 0.0, 0.5),
    *optimizer_space(learning_rate=(5e-4, 2e-2), weight_decay=(1e-6, 1e-2),
                     batch_size=[32, 64, 128, 256], schedule=["onecycle", "cosine"]),
    *l1_space(1e-7, 1e-4),
    Float("shift", 0.0, 0.25),
    Categorical("flip", [False, True]),
    Float("rotation", 0.0, 20.0),
    Float("color_jitter", 0.0, 0.4),
])
"""The ``cnn`` search space (``shift`` is a share of the image side, ``rotation``
in degrees, ``color_jitter`` a relative strength used on RGB images only)."""

CNN_DEFAULTS = (
    # small and fast: two stages of one block, one-pixel shifts on 8x8 digits,
    # no flips (digits and text must not be mirrored)
    {"n_stages": 2, "blocks_per_stage": 1, "base_channels": 16, "dropout": 0.1,
     "learning_rate": 5e-3, "weight_decay": 1e-4, "batch_size": 64, "schedule": "onecycle",
     "use_l1": False, "shift": 0.125, "flip": False, "rotation": 0.0, "color_jitter": 0.0},
    # photographs: one stage deeper, more regularised, flips and colour jitter
    {"n_stages": 3, "blocks_per_stage": 1, "base_channels": 16, "dropout": 0.2,
     "learning_rate": 5e-3, "weight_decay": 5e-4, "batch_size": 64, "schedule": "onecycle",
     "use_l1": False, "shift": 0.125, "flip": True, "rotation": 0.0, "color_jitter": 0.1},
)
"""Known-good configs, tried first (see the module docstring for how they score)."""


def build_cnn(config: Mapping[str, Any], ctx: Context) -> _ImageCNN:
    """Build the ``cnn`` estimator for a config and a context.

    Parameters
    ----------
    config : mapping
        Values of :data:`CNN_SPACE` (missing ones come from the first
        default), optionally with ``max_epochs`` (the fidelity).
    ctx : automl.specs.Context
        Task, seed, device, threads and the time one fit may take (training
        stops there with its best weights).

    Returns
    -------
    ImageCNNClassifier or ImageCNNRegressor
        The unfitted estimator.

    """
    params = {**CNN_DEFAULTS[0], **dict(config)}
    cls = ImageCNNClassifier if ctx.is_classification else ImageCNNRegressor
    return cls(
        n_stages=int(params["n_stages"]),
        blocks_per_stage=int(params["blocks_per_stage"]),
        base_channels=int(params["base_channels"]),
        dropout=float(params["dropout"]),
        shift=float(params["shift"]),
        flip=bool(params["flip"]),
        rotation=float(params["rotation"]),
        color_jitter=float(params["color_jitter"]),
        **training_kwargs(params, CNN_MAX_EPOCHS),
        **context_kwargs(ctx),
    )


def model_specs() -> list[ModelSpec]:
    """Return the image CNN spec (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``cnn`` spec.

    """
    return [
        ModelSpec(
            name="cnn",
            tasks={"classification", "regression"},
            modalities={"image"},
            space=CNN_SPACE,
            build=build_cnn,
            fidelity=Fidelity("max_epochs", CNN_MIN_EPOCHS, CNN_MAX_EPOCHS),
            defaults=CNN_DEFAULTS,
            description="torch residual CNN for images with searched depth, width and "
                        "augmentation (epochs are the fidelity)",
        )
    ]


automl_register_models = register_hook(model_specs, "image CNN model family")
