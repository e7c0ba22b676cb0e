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
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

import automl
from automl.multimodal import MultimodalData, MultimodalSchema
from automl.preprocessing import suggested_threads
from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Float, Int, Space

from ._fusion_inputs import FusionDataset, fit_parts, guess_modality, make_dataset

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

MIN_BATCH_ROWS = 16
"""``batch_size`` is lowered to ``n_rows // 8`` (at least this) on small data."""


class _Fusion(BaseEstimator):
    """Shared fit/predict of :class:`FusionClassifier` and :class:`FusionRegressor`."""

    _classification = False

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
        self.part_modalities = part_modalities
        self.embed_dim = embed_dim
        self.text_encoder = text_encoder
        self.sequence_encoder = sequence_encoder
        self.fusion_width = fusion_width
        self.fusion_depth = fusion_depth
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.image_channels = image_channels
        self.text_max_length = text_max_length
        self.sequence_max_length = sequence_max_length
        self.vocab_size = vocab_size
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.time_limit = time_limit
        self.random_state = random_state

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

    def _seed(self) -> int:
        if isinstance(self.random_state, int | np.integer):
            return int(self.random_state)
        return int(np.random.default_rng().integers(2**31 - 1))

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        raise NotImplementedError

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
        from ._training import TrainSettings, train_network

        data = self._data(X, fitting=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1 or len(y) != len(data):
            raise ValueError(f"y must be 1-dimensional with {len(data)} rows, got {y.shape}")
        if len(data) < 2:
            raise ValueError("need at least 2 rows to fit")
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
        batch = max(1, min(int(self.batch_size), max(MIN_BATCH_ROWS, len(data) // 8)))
        settings = TrainSettings(
            max_epochs=int(self.max_epochs), batch_size=batch,
            learning_rate=float(self.learning_rate), weight_decay=float(self.weight_decay),
            schedule="cosine", validation_fraction=float(self.validation_fraction),
            patience=self.patience, time_limit=self.time_limit, device=str(self.device),
            precision=str(self.precision), seed=self._seed(), n_threads=int(self.n_threads),
            eval_batch_size=256,
        )
        config = dict(self.net_config_)
        result = train_network(
            lambda: FusionNet(**config), dataset, settings,
            task="classification" if self._classification else "regression",
            stratify=target if self._classification else None, collate_fn=dataset.collate,
        )
        net = result.model.cpu().eval()
        self.weights_ = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
        self._net = net
        self.history_ = [{"epoch": r.epoch, "train_loss": r.train_loss, "val_loss": r.val_loss}
                         for r in result.history]
        self.n_epochs_ = result.epochs
        self.best_epoch_ = result.best_epoch
        self.stop_reason_ = result.stop_reason
        self.fit_seconds_ = result.seconds
        return self

    # -- prediction ---------------------------------------------------------------

    def _module(self) -> Any:
        net = self.__dict__.get("_net")
        if net is None:
            import torch

            from ._fusion_net import FusionNet

            net = FusionNet(**self.net_config_)
            net.load_state_dict({k: torch.from_numpy(np.array(v, copy=True))
                                 for k, v in self.weights_.items()})
            net.eval()
            self._net = net
        return net

    def _outputs(self, X: Any) -> np.ndarray:
        from ._training import predict_network, resolve_device

        check_is_fitted(self, "weights_")
        dataset = self._dataset(self._data(X, fitting=False), None)
        out = predict_network(
            self._module(), dataset, device=resolve_device(self.device, strict=False),
            batch_size=256, n_threads=int(self.n_threads), collate_fn=dataset.collate,
        )
        return out.astype(np.float64)

    def __getstate__(self) -> dict[str, Any]:
        """State without the torch module (rebuilt from ``weights_`` when needed)."""
        state = dict(super().__getstate__())
        state.pop("_net", None)
        return state


class FusionClassifier(ClassifierMixin, _Fusion):
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

    _classification = True

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        self.classes_ = np.unique(y)
        return np.searchsorted(self.classes_, y).astype(np.int64), max(len(self.classes_), 1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` in ``classes_`` order.

        Parameters
        ----------
        X : MultimodalData or dict of modalities
            Rows with the parts seen in fit (missing entries are fine).

        Returns
        -------
        ndarray
            Rows sum to 1.

        """
        logits = self._outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class labels, from ``classes_``.

        Parameters
        ----------
        X : MultimodalData or dict of modalities
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels.

        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class FusionRegressor(RegressorMixin, _Fusion):
    """Late-fusion regressor for rows of several modalities.

    Parameters are those of :class:`FusionClassifier`; the target is
    standardised for training (``target_mean_``, ``target_scale_``).
    """

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        target = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(target)):
            raise ValueError("regression targets must be finite")
        self.target_mean_ = float(target.mean())
        scale = float(target.std())
        self.target_scale_ = scale if scale > 0 else 1.0
        return ((target - self.target_mean_) / self.target_scale_).astype(np.float32), 1

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets ``(n_samples,)`` in the target's units.

        Parameters
        ----------
        X : MultimodalData or dict of modalities
            Rows to predict.

        Returns
        -------
        ndarray
            Predictions.

        """
        return self._outputs(X)[:, 0] * self.target_scale_ + self.target_mean_


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
    max_epochs = params.pop("max_epochs", None)
    max_epochs = FUSION_MAX_EPOCHS if max_epochs is None else max(1, round(float(max_epochs)))
    cls = FusionClassifier if ctx.is_classification else FusionRegressor
    return cls(
        part_modalities=tuple((name, part.modality) for name, part in ctx.parts) or None,
        embed_dim=int(params["embed_dim"]), text_encoder=str(params["text_encoder"]),
        sequence_encoder=str(params["sequence_encoder"]),
        fusion_width=int(params["fusion_width"]), fusion_depth=int(params["fusion_depth"]),
        dropout=float(params["dropout"]), learning_rate=float(params["learning_rate"]),
        weight_decay=float(params["weight_decay"]), batch_size=int(params["batch_size"]),
        max_epochs=max_epochs, device=ctx.device, n_threads=suggested_threads(ctx),
        time_limit=ctx.time_limit, random_state=ctx.seed,
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


@automl.hookimpl
def automl_register_models(register: Any) -> None:
    """Register the late-fusion model family.

    Parameters
    ----------
    register : callable
        ``register(ModelSpec)``, supplied by the host.

    """
    for spec in model_specs():
        register(spec)
