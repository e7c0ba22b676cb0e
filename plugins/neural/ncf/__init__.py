"""Neural recommenders: the ``neumf`` and ``hybrid_mf`` specs (explicit and implicit feedback).

``neumf``
    Neural collaborative filtering [He2017]: a generalised matrix
    factorisation branch (a dot product) and an MLP branch over user and
    item embeddings, summed with user and item biases.
``hybrid_mf``
    A factorisation machine [Rendle2010] over the user, the item and the
    side-feature columns (categorical embeddings, numeric values scaling
    their embeddings, missing indicators), optionally with a deep part
    [Guo2017]; ID dropout teaches it to score unseen users and items from
    their side features. Only offered when the data has side features.

Both train with the shared trainer (:mod:`plugins.neural._training`): MSE on
standardised ratings for explicit feedback, binary cross-entropy with
negatives re-drawn every batch for implicit feedback, plus a ridge penalty
on the embeddings in the units of alternating least squares
(``embedding_reg``); the epoch count is the fidelity. Importing this module
does not import torch.

The package's parts: this module holds the specs (search spaces, defaults,
``build`` and the ``automl_register_models`` hook);
:mod:`~plugins.neural.ncf.estimators` the estimators (:class:`NeuMF`,
:class:`HybridMF`, re-exported here), :mod:`~plugins.neural.ncf.base` the
training and prediction they share, :mod:`~plugins.neural.ncf.features` the
side-feature encoding of ``hybrid_mf`` and :mod:`~plugins.neural.ncf.net` the
networks.

References
----------
.. [He2017] X. He, L. Liao, H. Zhang, L. Nie, X. Hu, T.-S. Chua. "Neural
   Collaborative Filtering". WWW 2017 (embedding sizes, tower, negatives 1-10).
.. [Rendle2010] S. Rendle. "Factorization Machines". ICDM 2010.
.. [Guo2017] H. Guo, R. Tang, Y. Ye, Z. Li, X. He. "DeepFM: A Factorization-Machine
   based Neural Network for CTR Prediction". IJCAI 2017.
.. [Rendle2020] S. Rendle, W. Krichene, L. Zhang, J. Anderson. "Neural
   Collaborative Filtering vs. Matrix Factorization Revisited". RecSys 2020
   (a well-regularised dot product is hard to beat: the GMF branch is one).

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.preprocessing import suggested_threads
from automl.specs import Context, Fidelity, ModelSpec
from plugins._recsys_base import interaction_facts
from search import Categorical, Float, Int, Space

from ..._hooks import register_hook
from .._training import optimizer_space, training_kwargs
from .estimators import NCF_MAX_EPOCHS, NCF_PATIENCE, HybridMF, NeuMF

__all__ = [
    "HYBRID_DEFAULTS",
    "HYBRID_SPACE",
    "NCF_MAX_EPOCHS",
    "NCF_PATIENCE",
    "NEUMF_DEFAULTS",
    "NEUMF_SPACE",
    "HybridMF",
    "NeuMF",
    "automl_register_models",
    "model_specs",
]

# He et al. [He2017] search embedding sizes 8-64, 1-3 tower layers and 1-10
# negatives per positive. ``embedding_reg`` is a ridge penalty in the units of
# alternating least squares (each embedding row penalised once per epoch,
# however often it is used): AdamW's decoupled decay alone did not regularise
# the embeddings on small data (its effect grows with the number of steps).
_TRAINING = [
    *optimizer_space(learning_rate=(1e-4, 3e-2), weight_decay=(1e-6, 1e-1)),
    Float("embedding_reg", 1e-2, 30.0, log=True),
    Int("negatives", 1, 10),
    Categorical("batch_size", [128, 256, 512, 1024]),
]

NEUMF_SPACE = Space([
    Int("gmf_dim", 4, 64, log=True),
    Int("mlp_dim", 4, 64, log=True),
    Int("n_layers", 1, 3),
    Float("dropout", 0.0, 0.5),
    *_TRAINING,
])
NEUMF_DEFAULTS = (
    {"gmf_dim": 16, "mlp_dim": 16, "n_layers": 2, "dropout": 0.0, "learning_rate": 1e-2,
     "weight_decay": 1e-5, "embedding_reg": 1.0, "negatives": 4, "batch_size": 256},
    # a stronger penalty with faster steps: the best on ratings in the tuning runs
    {"gmf_dim": 16, "mlp_dim": 16, "n_layers": 2, "dropout": 0.0, "learning_rate": 3e-2,
     "weight_decay": 1e-5, "embedding_reg": 3.0, "negatives": 4, "batch_size": 256},
)

HYBRID_SPACE = Space([
    Int("dim", 4, 64, log=True),
    Categorical("n_layers", [0, 1, 2]),
    Categorical("width", [32, 64, 128], when={"n_layers": [1, 2]}),
    Float("dropout", 0.0, 0.5),
    Float("id_dropout", 0.0, 0.5),
    *_TRAINING,
])
HYBRID_DEFAULTS = (
    {"dim": 16, "n_layers": 0, "dropout": 0.0, "id_dropout": 0.1, "learning_rate": 1e-2,
     "weight_decay": 1e-5, "embedding_reg": 1.0, "negatives": 4, "batch_size": 256},
    {"dim": 16, "n_layers": 1, "width": 64, "dropout": 0.1, "id_dropout": 0.2,
     "learning_rate": 1e-2, "weight_decay": 1e-5, "embedding_reg": 3.0, "negatives": 4,
     "batch_size": 256},
)


def _common(params: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    n_users, n_items, implicit = interaction_facts(ctx)
    return {
        **training_kwargs(params, NCF_MAX_EPOCHS),
        "embedding_reg": float(params["embedding_reg"]),
        "negatives": int(params["negatives"]),
        "n_users": n_users, "n_items": n_items, "implicit": implicit,
        "device": ctx.device, "n_threads": suggested_threads(ctx), "random_state": ctx.seed,
    }


def _build_neumf(config: Mapping[str, Any], ctx: Context) -> NeuMF:
    params = {**NEUMF_DEFAULTS[0], **dict(config)}
    return NeuMF(gmf_dim=int(params["gmf_dim"]), mlp_dim=int(params["mlp_dim"]),
                 n_layers=int(params["n_layers"]), dropout=float(params["dropout"]),
                 **_common(params, ctx))


def _build_hybrid(config: Mapping[str, Any], ctx: Context) -> HybridMF:
    params = {**HYBRID_DEFAULTS[0], **dict(config)}
    return HybridMF(dim=int(params["dim"]), n_layers=int(params["n_layers"]),
                    width=int(params.get("width") or 64), dropout=float(params["dropout"]),
                    id_dropout=float(params["id_dropout"]),
                    numeric_columns=tuple(ctx.numeric_columns),
                    categorical_columns=tuple(ctx.categorical_columns),
                    **_common(params, ctx))


def _has_side_features(ctx: Context) -> bool:
    return bool(ctx.numeric_columns or ctx.categorical_columns)


def model_specs() -> list[ModelSpec]:
    """Return the neural recommender specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        ``neumf`` and ``hybrid_mf``.

    """
    tasks, modalities = {"recommendation"}, {"interactions"}
    fidelity = Fidelity("max_epochs", 2, NCF_MAX_EPOCHS)
    return [
        ModelSpec(
            name="neumf", tasks=tasks, modalities=modalities, space=NEUMF_SPACE,
            build=_build_neumf, fidelity=fidelity, defaults=NEUMF_DEFAULTS,
            description="neural collaborative filtering (GMF + MLP), sampled negatives for "
                        "implicit feedback (epochs are the fidelity)",
        ),
        ModelSpec(
            name="hybrid_mf", tasks=tasks, modalities=modalities, space=HYBRID_SPACE,
            build=_build_hybrid, fidelity=fidelity, defaults=HYBRID_DEFAULTS,
            accepts=_has_side_features,
            description="factorisation machine over users, items and side features "
                        "(optional deep part; scores cold users from their features)",
        ),
    ]


automl_register_models = register_hook(model_specs, "neural recommender families")
