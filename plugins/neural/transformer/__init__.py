"""Transformer encoders for sequences and texts: the ``transformer`` spec.

The spec serves classification and regression on float sequences of varying
length and on texts. Its estimators, :class:`TransformerSequenceClassifier`
and :class:`TransformerSequenceRegressor`, run a pre-norm Transformer encoder
[Vaswani2017]_ over projected sequence steps or embedded tokens (the same
:class:`~plugins.neural.tokenizer.Tokenizer` as the ``lstm`` spec), with
sinusoidal or learned position encodings, key padding masks, and masked mean
pooling or a CLS token. The model width is ``n_heads * head_dim``, so the
heads always divide it. :meth:`TransformerSequenceClassifier.attention_weights`
returns every layer's attention maps for inspection.

The package's parts: this module holds the spec (search space, defaults,
``build`` and the ``automl_register_models`` hook);
:mod:`~plugins.neural.transformer.estimators` the estimators (re-exported
here) and :mod:`~plugins.neural.transformer.net` the network,
:class:`~plugins.neural.transformer.net.TransformerNet`. Inputs, training and
prediction are shared with the ``lstm`` spec (:mod:`plugins.neural.sequence`).

The epoch count is the fidelity (``max_epochs``); without it, up to
:data:`SEQUENCE_MAX_EPOCHS` epochs with early stopping (the cosine schedule
warms the learning rate up over the first 5% of the steps). Importing this
module does not import torch; fitting or predicting does.

References
----------
.. [Vaswani2017] A. Vaswani et al. "Attention Is All You Need". NeurIPS 2017.
.. [Xiong2020] R. Xiong et al. "On Layer Normalization in the Transformer
   Architecture". ICML 2020 (pre-norm layers train without long warm-ups).
.. [Devlin2019] J. Devlin et al. "BERT: Pre-training of Deep Bidirectional
   Transformers for Language Understanding". NAACL 2019 (CLS pooling).

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Int, Space

from ..._hooks import register_hook
from ..sequence.base import SEQUENCE_MAX_EPOCHS
from ..sequence.specs import shared_kwargs, shared_parameters
from .estimators import (
    TransformerSequenceClassifier,
    TransformerSequenceRegressor,
    _TransformerModel,
)

__all__ = [
    "TRANSFORMER_DEFAULTS",
    "TRANSFORMER_SPACE",
    "TransformerSequenceClassifier",
    "TransformerSequenceRegressor",
    "automl_register_models",
    "model_specs",
]


# Small encoders (1-4 layers, width 32-256) suit the data an AutoML search
# meets; the width is searched as heads x head width so that the heads always
# divide it. Transformers want lower learning rates and less dropout than
# recurrent nets.
TRANSFORMER_SPACE = Space([
    Int("n_layers", 1, 4),
    Categorical("n_heads", [1, 2, 4, 8]),
    Categorical("head_dim", [8, 16, 32, 64]),
    Categorical("ff_multiplier", [2, 4]),
    Categorical("positional", ["sinusoidal", "learned"]),
    Categorical("pooling", ["mean", "cls"]),
    *shared_parameters(dropout_high=0.3, learning_rate=(1e-4, 3e-3)),
])
TRANSFORMER_DEFAULTS = (
    # two small layers (width 64), sinusoidal positions, masked mean pooling, words
    {"n_layers": 2, "n_heads": 4, "head_dim": 16, "ff_multiplier": 2,
     "positional": "sinusoidal", "pooling": "mean", "token_level": "word",
     "vocab_size": 10000, "dropout": 0.1, "learning_rate": 1e-3, "weight_decay": 1e-4,
     "batch_size": 32, "use_l1": False, "schedule": "cosine"},
    # wider (width 128), learned positions, CLS token, subword pieces
    {"n_layers": 2, "n_heads": 4, "head_dim": 32, "ff_multiplier": 2,
     "positional": "learned", "pooling": "cls", "token_level": "subword",
     "vocab_size": 4000, "dropout": 0.1, "learning_rate": 5e-4, "weight_decay": 1e-3,
     "batch_size": 32, "use_l1": False, "schedule": "onecycle"},
)


def _build_transformer(config: Mapping[str, Any], ctx: Context) -> _TransformerModel:
    params = {**TRANSFORMER_DEFAULTS[0], **dict(config)}
    cls = TransformerSequenceClassifier if ctx.is_classification \
        else TransformerSequenceRegressor
    return cls(
        n_layers=int(params["n_layers"]),
        n_heads=int(params["n_heads"]),
        head_dim=int(params["head_dim"]),
        ff_multiplier=int(params["ff_multiplier"]),
        positional=str(params["positional"]),
        pooling=str(params["pooling"]),
        **shared_kwargs(params, ctx),
    )


def model_specs() -> list[ModelSpec]:
    """Return the Transformer sequence model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``transformer`` spec.

    """
    return [
        ModelSpec(
            name="transformer",
            tasks={"classification", "regression"},
            modalities={"sequence", "text"},
            space=TRANSFORMER_SPACE,
            build=_build_transformer,
            fidelity=Fidelity("max_epochs", 4, SEQUENCE_MAX_EPOCHS),
            defaults=TRANSFORMER_DEFAULTS,
            description="torch Transformer encoder on sequences or tokenized texts: "
                        "masked attention, mean or CLS pooling (epochs are the fidelity)",
        )
    ]


automl_register_models = register_hook(model_specs, "Transformer sequence model family")
