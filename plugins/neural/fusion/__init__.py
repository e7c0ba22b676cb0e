"""Late-fusion networks for multimodal rows: the ``fusion`` spec (classification, regression).

``AutoML().fit({"image": images, "text": texts, "tabular": table}, y)`` hands
the estimator a :class:`~automl.multimodal.MultimodalData`. Each part gets an
encoder chosen by its modality, reusing the project's networks with
``n_outputs = embed_dim`` so that they output a part vector:

* image: a small :class:`~plugins.neural.cnn.net.ResidualCNN` (two stages);
* text: a Transformer (:class:`~plugins.neural.transformer.net.TransformerNet`)
  or an LSTM/GRU (:class:`~plugins.neural.lstm.net.RecurrentNet`) over word
  ids of a :class:`~plugins.neural.tokenizer.Tokenizer` (searched);
* sequence: a Transformer or an LSTM/GRU over standardised steps (searched);
* tabular: the :class:`~plugins.neural.mlp.net.TabularNet` trunk.

Each part vector is layer-normalised; a row lacking a part (``present``
False) gets that part's learned "missing" vector instead. The part vectors
are concatenated and an MLP (searched width and depth, dropout) maps them to
the outputs (:class:`~plugins.neural.fusion.net.FusionNet`). Training is the shared
:func:`~plugins.neural._training.train_network` (AdamW, cosine schedule,
early stopping on a stratified validation split, best weights kept, time
limit). The fitted state is numpy arrays and plain Python objects, so
estimators pickle and save with skops. Importing this module does not
import torch.

The package's parts: this module holds the spec (search space, defaults,
``build`` and the ``automl_register_models`` hook);
:mod:`~plugins.neural.fusion.estimators` the estimators
(:class:`FusionClassifier`, :class:`FusionRegressor`, re-exported here),
:mod:`~plugins.neural.fusion.inputs` the per-part preprocessing and batches,
:mod:`~plugins.neural.fusion.net` the network.

References
----------
.. [Baltrusaitis2019] T. Baltrusaitis, C. Ahuja, L.-P. Morency. "Multimodal Machine
   Learning: A Survey and Taxonomy". IEEE TPAMI 41(2), 2019 (late fusion).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Float, Int, Space

from ..._hooks import register_hook
from .._torch_estimator import context_kwargs
from .._training import MIN_BATCH_ROWS as MIN_BATCH_ROWS
from .._training import optimizer_space, training_kwargs
from .estimators import FUSION_MAX_EPOCHS, FusionClassifier, FusionRegressor, _Fusion

__all__ = [
    "FUSION_DEFAULTS",
    "FUSION_MAX_EPOCHS",
    "FUSION_SPACE",
    "FusionClassifier",
    "FusionRegressor",
    "automl_register_models",
    "model_specs",
]

FUSION_SPACE = Space([
    Categorical("embed_dim", [32, 64, 128]),
    Categorical("text_encoder", ["gru", "lstm", "transformer"]),
    Categorical("sequence_encoder", ["gru", "lstm", "transformer"]),
    Int("fusion_width", 32, 256, log=True),
    Int("fusion_depth", 1, 3),
    Float("dropout", 0.0, 0.5),
    *optimizer_space(learning_rate=(3e-4, 1e-2), weight_decay=(1e-6, 1e-2),
                     batch_size=[32, 64, 128]),
])
FUSION_DEFAULTS = (
    {"embed_dim": 64, "text_encoder": "gru", "sequence_encoder": "gru", "fusion_width": 128,
     "fusion_depth": 1, "dropout": 0.1, "learning_rate": 5e-3, "weight_decay": 1e-4,
     "batch_size": 64},
)


def _build_fusion(config: Mapping[str, Any], ctx: Context) -> _Fusion:
    params = {**FUSION_DEFAULTS[0], **dict(config)}
    cls = FusionClassifier if ctx.is_classification else FusionRegressor
    return cls(
        part_modalities=tuple((name, part.modality) for name, part in ctx.parts) or None,
        embed_dim=int(params["embed_dim"]), text_encoder=str(params["text_encoder"]),
        sequence_encoder=str(params["sequence_encoder"]),
        fusion_width=int(params["fusion_width"]), fusion_depth=int(params["fusion_depth"]),
        dropout=float(params["dropout"]), **training_kwargs(params, FUSION_MAX_EPOCHS),
        **context_kwargs(ctx),
    )


def model_specs() -> list[ModelSpec]:
    """Return the late-fusion model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``fusion`` spec.

    """
    return [
        ModelSpec(
            name="fusion", tasks={"classification", "regression"},
            modalities={"multimodal"}, space=FUSION_SPACE, build=_build_fusion,
            fidelity=Fidelity("max_epochs", 3, FUSION_MAX_EPOCHS), defaults=FUSION_DEFAULTS,
            description="late fusion: a CNN / Transformer or RNN / MLP encoder per part, "
                        "learned missing vectors, an MLP head (epochs are the fidelity)",
        )
    ]


automl_register_models = register_hook(model_specs, "late-fusion model family")
