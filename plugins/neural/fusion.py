"""Late-fusion networks for multimodal rows: the ``fusion`` spec (classification, regression).

``AutoML().fit({"image": images, "text": texts, "tabular": table}, y)`` hands
the estimator a :class:`~automl.multimodal.MultimodalData`. Each part gets an
encoder chosen by its modality, reusing the project's networks with
``n_outputs = embed_dim`` so that they output a part vector:

* image: a small :class:`~plugins.neural._cnn_net.ResidualCNN` (two stages);
* text: a Transformer or an LSTM/GRU over word ids of a
  :class:`~plugins.neural.tokenizer.Tokenizer` (searched);
* sequence: a Transformer or an LSTM/GRU over standardised steps (searched);
* tabular: the :class:`~plugins.neural._tabular_net.TabularNet` trunk.

Each part vector is layer-normalised; a row lacking a part (``present``
False) gets that part's learned "missing" vector instead. The part vectors are concatenated
and an MLP (searched width and depth, dropout) maps them to the outputs
(``_fusion_net.FusionNet``). Training is the shared
:func:`~plugins.neural._training.train_network` (AdamW, cosine schedule,
early stopping on a stratified validation split, best weights kept, time
limit). The fitted state is numpy arrays and plain Python objects, so
estimators pickle and save with skops. Importing this module does not
import torch.

References
----------
.. [Baltrusaitis2019] T. Baltrusaitis, C. Ahuja, L.-P. Morency. "Multimodal Machine
   Learning: A Survey and Taxonomy". IEEE TPAMI 41(2), 2019 (late fusion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from automl.multimodal import MultimodalData, MultimodalSchema
from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Float, Int, Space

from ._fusion_inputs import FusionDataset, fit_parts, guess_modality, make_dataset
from ._torch_estimator import MIN_BATCH_ROWS as MIN_BATCH_ROWS
from ._torch_estimator import (
    TorchClassifierMixin,
    TorchEstimator,
    TorchRegressorMixin,
    as_target,
    context_kwargs,
    fidelity_epochs,
    register_hook,
    store_params,
)

__all__ = [
    "FUSION_DEFAULTS",
    "FUSION_MAX_EPOCHS",
    "FUSION_SPACE",
    "FusionClassifier",
    "FusionRegressor",
    "automl_register_models",
    "model_specs",
]

FUSION_MAX_EPOCHS = 60
"""Most epochs when the config does not set the ``max_epochs`` fidelity."""


class _Fusion(TorchEstimator):
    """Shared fit/predict of :class:`FusionClassifier` and :class:`FusionRegressor`."""

    _history_fields = ("epoch", "train_loss", "val_loss")

    def __init__(
        self,
        *,
        part_modalities: Sequence[tuple[str, str]] | None = None,
        embed_dim: int = 64,
        text_encoder: str = "gru",
        sequence_encoder: str = "gru",
        fusion_width: int = 128,
        fusion_depth: int = 1,
        dropout: float = 0.1,
        learning_rate: float = 5e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 64,
        max_epochs: int = FUSION_MAX_EPOCHS,
        patience: int | None = 8,
        validation_fraction: float = 0.1,
        image_channels: int = 16,
        text_max_length: int = 64,
        sequence_max_length: int = 128,
        vocab_size: int = 5000,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int = 1,
        time_limit: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        store_params(self, locals())

    # -- inputs -------------------------------------------------------------------

    def _data(self, X: Any, fitting: bool) -> MultimodalData:
        if isinstance(X, MultimodalData):
            if fitting:
                self.schema_ = None
            return X
        if not isinstance(X, Mapping):
            raise ValueError("X must be a MultimodalData or a dict of modalities, e.g. "
                             "{'image': images, 'text': texts, 'tabular': table}")
        if fitting:
            self.schema_ = MultimodalSchema.infer(X)
        elif self.schema_ is None:
            raise ValueError("this model was fitted on MultimodalData; pass the same")
        return self.schema_.transform(X)

    def _dataset(self, data: MultimodalData, target: np.ndarray | None) -> FusionDataset:
        return make_dataset(self.part_names_, self.inputs_, data, target)

    # -- training -----------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> _Fusion:
        """Learn each part's encoding and train the fused network.

        Parameters
        ----------
        X : MultimodalData or dict of modalities
            Rows of several modalities (a dict is validated with
            :class:`~automl.multimodal.MultimodalSchema`).
        y : array-like of shape (n_samples,)
            Class labels, or regression targets.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For malformed inputs or mismatched, non-finite targets.

        """
        from ._fusion_net import FusionNet
        from ._training import train_network

        data = self._data(X, fitting=True)
        y = as_target(y, len(data))
        if self.schema_ is not None:
            modalities = [(n, s.modality) for n, s in self.schema_.parts]
        else:
            given = dict(self.part_modalities or ())
            modalities = [(n, given.get(n) or guess_modality(v)) for n, v in data.parts.items()]
        self.part_names_ = [n for n, _ in modalities]
        self.inputs_ = fit_parts(data, modalities, int(self.text_max_length),
                                 int(self.sequence_max_length), int(self.vocab_size))
        target, n_outputs = self._encode_target(y)
        self.net_config_ = {
            "parts": [i.network_config() for i in self.inputs_],
            "embed_dim": int(self.embed_dim), "text_encoder": str(self.text_encoder),
            "sequence_encoder": str(self.sequence_encoder),
            "fusion_width": int(self.fusion_width), "fusion_depth": int(self.fusion_depth),
            "dropout": float(self.dropout), "n_outputs": int(n_outputs),
            "image_channels": int(self.image_channels),
        }
        dataset = self._dataset(data, target)
        settings = self._train_settings(len(data), self._seed(), schedule="cosine",
                                        eval_batch_size=256)
        config = dict(self.net_config_)
        result = train_network(
            lambda: FusionNet(**config), dataset, settings, task=self._task(),
            stratify=target if self._classification else None, collate_fn=dataset.collate,
        )
        self._keep(result.model, [(None, result)])
        return self

    # -- prediction ---------------------------------------------------------------

    def _build_module(self) -> Any:
        from ._fusion_net import FusionNet

        return FusionNet(**self.net_config_)

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        dataset = self._dataset(self._data(X, fitting=False), None)
        return self._network_outputs(dataset, batch_size=256, collate_fn=dataset.collate)


class FusionClassifier(TorchClassifierMixin, _Fusion):
    """Late-fusion classifier for rows of several modalities.

    See the module docstring for the encoders and the training.

    Parameters
    ----------
    part_modalities : sequence of (name, modality) pairs, optional
        Modality of each part of a ``MultimodalData`` (guessed from the
        values when absent; a dict X brings its own schema).
    embed_dim : int, default=64
        Width of each part vector.
    text_encoder, sequence_encoder : {"gru", "lstm", "transformer"}, default="gru"
        Encoder of text parts and of sequence parts.
    fusion_width : int, default=128
        Units per hidden layer of the fusion head.
    fusion_depth : int, default=1
        Hidden layers of the fusion head.
    dropout : float, default=0.1
        Dropout in the fusion head.
    learning_rate : float, default=5e-3
        Peak AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    batch_size : int, default=64
        Rows per step (lowered on small data).
    max_epochs : int, default=FUSION_MAX_EPOCHS
        Most epochs (the fidelity).
    patience : int or None, default=8
        Early-stopping patience in epochs.
    validation_fraction : float, default=0.1
        Rows held out for early stopping (stratified).
    image_channels : int, default=16
        Width of the image CNN's first stage.
    text_max_length, sequence_max_length : int, default=64, 128
        Tokens of a text and steps of a sequence kept.
    vocab_size : int, default=5000
        Most token ids per text part.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Where to train.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Mixed precision on CUDA.
    n_threads : int, default=1
        Torch threads during fit and predict.
    time_limit : float, optional
        Seconds for training; past it training stops with the best weights.
    random_state : int, optional
        Seed; None draws one.

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted.
    part_names_ : list of str
        Parts in network order.
    inputs_ : list of PartInputs
        Fitted preprocessing per part.
    weights_ : dict of str to ndarray
        The network's ``state_dict`` as numpy arrays.
    net_config_ : dict
        Arguments that rebuild the network.

    """


class FusionRegressor(TorchRegressorMixin, _Fusion):
    """Late-fusion regressor for rows of several modalities.

    Parameters are those of :class:`FusionClassifier`; the target is
    standardised for training (``target_mean_``, ``target_scale_``).
    """


FUSION_SPACE = Space([
    Categorical("embed_dim", [32, 64, 128]),
    Categorical("text_encoder", ["gru", "lstm", "transformer"]),
    Categorical("sequence_encoder", ["gru", "lstm", "transformer"]),
    Int("fusion_width", 32, 256, log=True),
    Int("fusion_depth", 1, 3),
    Float("dropout", 0.0, 0.5),
    Float("learning_rate", 3e-4, 1e-2, log=True),
    Float("weight_decay", 1e-6, 1e-2, log=True),
    Categorical("batch_size", [32, 64, 128]),
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
        dropout=float(params["dropout"]), learning_rate=float(params["learning_rate"]),
        weight_decay=float(params["weight_decay"]), batch_size=int(params["batch_size"]),
        max_epochs=fidelity_epochs(params, FUSION_MAX_EPOCHS), **context_kwargs(ctx),
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
