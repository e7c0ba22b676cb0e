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

import numpy as np

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Int, Space

from ._sequence_batches import RaggedDataset, collate_padded
from ._sequence_estimators import (
    PREDICT_BATCH_SIZE,
    SEQUENCE_MAX_EPOCHS,
    SEQUENCE_PATIENCE,
    _SequenceModel,
)
from ._sequence_specs import shared_kwargs, shared_parameters
from ._torch_estimator import (
    TorchClassifierMixin,
    TorchRegressorMixin,
    register_hook,
    store_params,
)

__all__ = [
    "TRANSFORMER_DEFAULTS",
    "TRANSFORMER_SPACE",
    "TransformerSequenceClassifier",
    "TransformerSequenceRegressor",
    "automl_register_models",
    "model_specs",
]


class _TransformerModel(_SequenceModel):
    """The parameters of the Transformer estimators, their network and attention maps."""

    def __init__(
        self,
        *,
        n_layers: int = 2,
        n_heads: int = 4,
        head_dim: int = 16,
        ff_multiplier: int = 2,
        positional: str = "sinusoidal",
        pooling: str = "mean",
        token_level: str = "word",
        vocab_size: int = 10000,
        max_length: int = 256,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 32,
        l1: float = 0.0,
        schedule: str = "cosine",
        max_epochs: int = SEQUENCE_MAX_EPOCHS,
        patience: int | None = SEQUENCE_PATIENCE,
        validation_fraction: float = 0.1,
        grad_clip: float | None = 1.0,
        device: str = "auto",
        precision: str = "auto",
        n_threads: int = 1,
        time_limit: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        store_params(self, locals())

    @staticmethod
    def _network_class() -> type:
        from ._transformer_net import TransformerNet

        return TransformerNet

    def _architecture(self) -> dict[str, Any]:
        return {"n_layers": int(self.n_layers), "n_heads": int(self.n_heads),
                "head_dim": int(self.head_dim), "ff_multiplier": int(self.ff_multiplier),
                "positional": str(self.positional), "pooling": str(self.pooling),
                "max_length": self._max_length(), "dropout": float(self.dropout)}

    def attention_weights(self, X: Any) -> list[np.ndarray]:
        """Attention maps of every encoder layer, per head, for inspection.

        Parameters
        ----------
        X : list of str, or (N, T, F) array, or list of (T_i, F) arrays
            Rows of the modality seen in fit.

        Returns
        -------
        list of ndarray of float32
            One array of shape ``(n_samples, n_heads, T, T)`` per layer, where
            ``T`` is the longest encoded row of ``X`` (plus one when
            ``pooling="cls"``: the CLS token is position 0). Entry
            ``[i, h, q, k]`` is how much head ``h`` at query position ``q``
            attends to key position ``k`` of row ``i``: rows of real positions
            sum to 1, padded keys get 0, and padded query rows are 0. Token
            positions follow :meth:`Tokenizer.encode` (``tokenizer_``).

        Raises
        ------
        DeviceOutOfMemoryError
            When the maps do not fit in memory; pass fewer rows.

        """
        import torch

        from ._training import iterate_batches, limited_threads, oom_guard, resolve_device

        items = self._transform_inputs(X)
        device = resolve_device(self.device, strict=False)
        net = self._module().to(device).eval()
        extra = 1 if self.pooling == "cls" else 0
        longest = max(len(i) for i in items) + extra
        heads = int(self.net_config_["n_heads"])
        maps = [np.zeros((len(items), heads, longest, longest), dtype=np.float32)
                for _ in range(int(self.net_config_["n_layers"]))]
        start = 0
        with limited_threads(int(self.n_threads)), oom_guard(device), torch.inference_mode():
            for values, lengths in iterate_batches(RaggedDataset(items), device=device,
                                                   batch_size=PREDICT_BATCH_SIZE,
                                                   collate_fn=collate_padded):
                stop = start + len(lengths)
                for layer, weights in enumerate(net.attention_maps(values, lengths)):
                    size = weights.shape[-1]
                    maps[layer][start:stop, :, :size, :size] = weights.float().cpu().numpy()
                start = stop
        return maps


class TransformerSequenceClassifier(TorchClassifierMixin, _TransformerModel):
    """Transformer-encoder classifier for texts and variable-length float sequences.

    See the module docstring; inputs and training are described in
    :mod:`plugins.neural._sequence_estimators`.

    Parameters
    ----------
    n_layers : int, default=2
        Encoder layers.
    n_heads : int, default=4
        Attention heads per layer.
    head_dim : int, default=16
        Width of one head; the model width is ``n_heads * head_dim``.
    ff_multiplier : int, default=2
        Feed-forward width as a multiple of the model width.
    positional : {"sinusoidal", "learned"}, default="sinusoidal"
        Position encoding.
    pooling : {"mean", "cls"}, default="mean"
        Masked mean over positions, or the output at a learned CLS token.
    token_level : {"word", "subword"}, default="word"
        Tokenizer vocabulary of words or subword pieces (texts only).
    vocab_size : int, default=10000
        Most token ids, padding and unknown included (texts only).
    max_length : int, default=256
        Steps or tokens kept from the start of each row (also the most
        positions encoded).
    dropout : float, default=0.1
        Dropout after the position encoding, in the layers and before the head.
    learning_rate : float, default=1e-3
        Peak AdamW learning rate.
    weight_decay : float, default=1e-4
        AdamW weight decay.
    batch_size : int, default=32
        Rows per step (lowered on small data; see ``MIN_BATCH_ROWS``).
    l1 : float, default=0.0
        L1 penalty on the weights.
    schedule : {"cosine", "onecycle", "constant"}, default="cosine"
        Learning-rate schedule.
    max_epochs : int, default=SEQUENCE_MAX_EPOCHS
        Most epochs (the fidelity).
    patience : int or None, default=SEQUENCE_PATIENCE
        Early-stopping patience in epochs.
    validation_fraction : float, default=0.1
        Rows held out for early stopping (stratified).
    grad_clip : float or None, default=1.0
        Gradient-norm clipping.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Where to train; prediction falls back to the CPU without CUDA.
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
    modality_ : {"text", "sequence"}
        What ``fit`` was given.
    tokenizer_ : Tokenizer or None
        The fitted tokenizer (texts).
    scaler_ : SequenceScaler or None
        The fitted per-feature standardisation (sequences).
    n_features_ : int or None
        Features per step (sequences).
    weights_ : dict of str to ndarray
        The network's ``state_dict`` as numpy arrays.
    net_config_ : dict
        Arguments that rebuild the network.
    history_ : list of dict
        Per-epoch training and validation losses, learning rate and seconds.
    n_epochs_, best_epoch_ : int
        Epochs run and the epoch whose weights were kept.
    seconds_per_epoch_ : float
        Mean wall-clock seconds of an epoch.
    stop_reason_ : str
        Why training ended (see ``TrainResult.stop_reason``).

    """


class TransformerSequenceRegressor(TorchRegressorMixin, _TransformerModel):
    """Transformer-encoder regressor for texts and variable-length float sequences.

    Parameters, fitted attributes and :meth:`attention_weights` are those of
    :class:`TransformerSequenceClassifier` (without ``classes_``); the target
    is standardised for training.

    Attributes
    ----------
    target_mean_, target_scale_ : float
        Standardisation of the target.

    """


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
