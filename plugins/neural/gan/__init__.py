"""A conditional tabular GAN: the ``ctgan`` spec (``task="generation"``) and :class:`TabularGAN`.

The design follows CTGAN (Xu et al. [Xu2019]_):

* mode-specific normalisation of numeric columns (a variational Gaussian
  mixture per column; a value becomes its position within one mode plus the
  mode's one-hot), one-hot categorical columns, missing values as their own
  mode or category, rare categories pooled
  (:mod:`plugins.neural.gan.transform`);
* a conditional vector over the categorical columns and "training by
  sampling": each batch conditions on a column drawn uniformly and one of its
  categories drawn by log-frequency, and the critic sees real rows holding
  that category, so rare categories are learned;
* a residual MLP generator and a PacGAN critic with dropout, trained with the
  WGAN-GP loss (:mod:`plugins.neural.gan.net`, :mod:`plugins.neural.gan.loop`),
  through the shared building blocks of :mod:`plugins.neural._training`.

Samples draw conditions by the training frequencies, so marginals come back;
numeric values are clipped to the training range and integer columns rounded.
The epoch count is the fidelity (``max_epochs``). This module holds the spec
(search space, defaults, ``build``, the hook); the estimator lives in
:mod:`plugins.neural.gan.estimator` and is re-exported here. Importing this
module does not import torch; fitting or sampling does. The fitted state is
numpy arrays and plain values (``weights_``, ``transformer_``), so the
estimator pickles and saves with skops.

References
----------
.. [Xu2019] L. Xu, M. Skoularidou, A. Cuesta-Infante, K. Veeramachaneni.
   "Modeling Tabular Data using Conditional GAN". NeurIPS 2019.

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Float, Int, Space

from ..._hooks import register_hook
from .._torch_estimator import context_kwargs
from .._training import fidelity_epochs
from .estimator import GAN_MAX_EPOCHS, TabularGAN
from .estimator import MAX_CONDITION_ROUNDS as MAX_CONDITION_ROUNDS

__all__ = [
    "GAN_DEFAULTS",
    "GAN_MAX_EPOCHS",
    "GAN_SPACE",
    "MAX_CONDITION_ROUNDS",
    "TabularGAN",
    "automl_register_models",
    "model_specs",
]

GAN_SPACE = Space([
    Int("embedding_dim", 16, 256, log=True),
    Int("generator_width", 64, 512, log=True),
    Int("generator_depth", 1, 3),
    Int("critic_width", 64, 512, log=True),
    Int("critic_depth", 1, 3),
    Float("critic_dropout", 0.0, 0.5),
    Float("generator_lr", 5e-5, 3e-3, log=True),
    Float("critic_lr", 5e-5, 3e-3, log=True),
    Categorical("batch_size", [100, 250, 500, 1000]),
    Categorical("pac", [1, 5, 10]),
    Float("gp_weight", 1.0, 20.0, log=True),
    Int("critic_steps", 1, 5),
    Categorical("schedule", ["constant", "cosine"]),
])
GAN_DEFAULTS = (
    # several critic steps per generator step, small batches, high learning rates: the
    # configuration a random search of benchmarks/generation.py found best on all three of
    # its tables; best of the three defaults on every table and seed there (C2ST AUC
    # 0.76-0.88, against 0.88-1.00 for the other two), at 1.4-2.8 times the fit time of
    # the next one
    {"embedding_dim": 220, "generator_width": 135, "generator_depth": 1,
     "critic_width": 220, "critic_depth": 3, "critic_dropout": 0.15,
     "generator_lr": 2.2e-3, "critic_lr": 1.8e-3, "batch_size": 100, "pac": 5,
     "gp_weight": 18.0, "critic_steps": 4, "schedule": "constant"},
    # smaller nets, higher learning rates than CTGAN's: as good or better than the
    # published settings on the benchmark tables, in 50-85% of their time
    {"embedding_dim": 64, "generator_width": 128, "generator_depth": 2,
     "critic_width": 128, "critic_depth": 2, "critic_dropout": 0.25,
     "generator_lr": 1e-3, "critic_lr": 1e-3, "batch_size": 250, "pac": 5,
     "gp_weight": 10.0, "critic_steps": 1, "schedule": "constant"},
    # CTGAN's published defaults
    {"embedding_dim": 128, "generator_width": 256, "generator_depth": 2,
     "critic_width": 256, "critic_depth": 2, "critic_dropout": 0.5,
     "generator_lr": 2e-4, "critic_lr": 2e-4, "batch_size": 500, "pac": 10,
     "gp_weight": 10.0, "critic_steps": 1, "schedule": "constant"},
)


def _build_gan(config: Mapping[str, Any], ctx: Context) -> TabularGAN:
    params = {**GAN_DEFAULTS[0], **dict(config)}
    return TabularGAN(
        numeric_columns=tuple(ctx.numeric_columns),
        categorical_columns=tuple(ctx.categorical_columns),
        embedding_dim=int(params["embedding_dim"]),
        generator_width=int(params["generator_width"]),
        generator_depth=int(params["generator_depth"]),
        critic_width=int(params["critic_width"]),
        critic_depth=int(params["critic_depth"]),
        critic_dropout=float(params["critic_dropout"]),
        generator_lr=float(params["generator_lr"]),
        critic_lr=float(params["critic_lr"]),
        batch_size=int(params["batch_size"]),
        pac=int(params["pac"]),
        gp_weight=float(params["gp_weight"]),
        critic_steps=int(params["critic_steps"]),
        schedule=str(params["schedule"]),
        max_epochs=fidelity_epochs(params, GAN_MAX_EPOCHS),
        **context_kwargs(ctx),
    )


def model_specs() -> list[ModelSpec]:
    """Return the tabular GAN spec (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``ctgan`` spec.

    """
    return [
        ModelSpec(
            name="ctgan",
            tasks={"generation"},
            modalities={"tabular"},
            space=GAN_SPACE,
            build=_build_gan,
            fidelity=Fidelity("max_epochs", 10, GAN_MAX_EPOCHS),
            defaults=GAN_DEFAULTS,
            description="conditional tabular GAN (CTGAN-style: mode-specific normalisation, "
                        "training by sampling, WGAN-GP, PacGAN; epochs are the fidelity)",
        )
    ]


automl_register_models = register_hook(model_specs, "tabular GAN family")
