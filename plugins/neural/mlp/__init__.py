"""A multilayer perceptron for tables: the ``mlp`` spec (classification and regression).

The package's parts:

``plugins.neural.mlp`` (this module)
    The spec: the search space, the default configs, ``build`` and the
    ``automl_register_models`` hook.
:mod:`~plugins.neural.mlp.estimators`
    The estimators it builds, :class:`TabularMLPClassifier` and
    :class:`TabularMLPRegressor` (preprocessing, categorical embeddings,
    training); re-exported here.
:mod:`~plugins.neural.mlp.net`
    The torch network, :class:`~plugins.neural.mlp.net.TabularNet` (also the
    tabular encoder of the ``fusion`` spec).

The epoch count is the fidelity (``max_epochs``); without it, up to
:data:`MLP_MAX_EPOCHS` epochs with early stopping. Torch threads follow
:func:`~automl.preprocessing.suggested_threads` (one on small tables: on a busy
2-core machine two threads made an epoch 10-20 times slower). Importing this
module does not import torch; fitting or predicting does.

References
----------
.. [Kadra2021] A. Kadra, M. Lindauer, F. Hutter, J. Grabocka. "Well-tuned Simple
   Nets Excel on Tabular Datasets". NeurIPS 2021.
.. [Gorishniy2021] Y. Gorishniy, I. Rubachev, V. Khrulkov, A. Babenko. "Revisiting
   Deep Learning Models for Tabular Data". NeurIPS 2021 (MLP space and defaults).
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
from .._training import optimizer_space, training_kwargs
from .estimators import MLP_MAX_EPOCHS, TabularMLPClassifier, TabularMLPRegressor, _TabularMLP
from .estimators import MLP_PATIENCE as MLP_PATIENCE
from .estimators import NUMERIC_CLIP as NUMERIC_CLIP

__all__ = [
    "MLP_DEFAULTS",
    "MLP_MAX_EPOCHS",
    "MLP_SPACE",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "automl_register_models",
    "model_specs",
]

# Kadra et al. [Kadra2021] and Gorishniy et al. [Gorishniy2021] tune depth,
# width, dropout, learning rate (log) and weight decay (log) for tabular MLPs;
# the regularisation cocktail adds the normalisation and the schedule. Batch
# size, activation and an optional L1 penalty complete the knobs of the shared
# trainer. The number of epochs is the fidelity, not a searched parameter.
MLP_SPACE = Space([
    Int("n_layers", 1, 4),
    Int("width", 32, 512, log=True),
    Float("dropout", 0.0, 0.5),
    Categorical("norm", ["batch", "layer", "none"]),
    Categorical("activation", ["relu", "gelu", "silu"]),
    *optimizer_space(learning_rate=(1e-4, 3e-2), weight_decay=(1e-6, 1e-1),
                     batch_size=[64, 128, 256, 512], l1=(1e-7, 1e-3),
                     schedule=["cosine", "onecycle"]),
])
MLP_DEFAULTS = (
    # a plain, moderately regularised two-layer net (close to the RTDL MLP default)
    {"n_layers": 2, "width": 256, "dropout": 0.1, "norm": "batch", "activation": "relu",
     "learning_rate": 1e-3, "weight_decay": 1e-5, "batch_size": 128, "use_l1": False,
     "schedule": "cosine"},
    # wider and more regularised, one-cycle: small or noisy tables
    {"n_layers": 3, "width": 128, "dropout": 0.25, "norm": "layer", "activation": "silu",
     "learning_rate": 3e-3, "weight_decay": 1e-3, "batch_size": 64, "use_l1": False,
     "schedule": "onecycle"},
)


def _build_mlp(config: Mapping[str, Any], ctx: Context) -> _TabularMLP:
    params = {**MLP_DEFAULTS[0], **dict(config)}
    cls = TabularMLPClassifier if ctx.is_classification else TabularMLPRegressor
    return cls(
        numeric_columns=tuple(ctx.numeric_columns),
        categorical_columns=tuple(ctx.categorical_columns),
        n_layers=int(params["n_layers"]),
        width=int(params["width"]),
        dropout=float(params["dropout"]),
        norm=str(params["norm"]),
        activation=str(params["activation"]),
        **training_kwargs(params, MLP_MAX_EPOCHS),
        **context_kwargs(ctx),
    )


def model_specs() -> list[ModelSpec]:
    """Return the neural tabular model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``mlp`` spec.

    """
    return [
        ModelSpec(
            name="mlp",
            tasks={"classification", "regression"},
            modalities={"tabular"},
            space=MLP_SPACE,
            build=_build_mlp,
            fidelity=Fidelity("max_epochs", 5, MLP_MAX_EPOCHS),
            defaults=MLP_DEFAULTS,
            description="torch MLP with categorical embeddings, AdamW and early stopping "
                        "(epochs are the fidelity)",
        )
    ]


automl_register_models = register_hook(model_specs, "neural tabular model family")
