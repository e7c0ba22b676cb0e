"""LSTM and GRU networks for sequences and texts: the ``lstm`` spec.

The spec serves classification and regression on float sequences of varying
length and on texts. Its estimators, :class:`RecurrentSequenceClassifier` and
:class:`RecurrentSequenceRegressor`, run stacked LSTM or GRU layers
(optionally bidirectional) on packed sequences, so padding never changes a
result, and pool the outputs by the final states, a masked mean or attention
pooling. Texts are tokenized (word or subword vocabulary, searched) and
embedded first. Inputs, training and prediction are shared with the
Transformer (:mod:`plugins.neural._sequence_estimators`).

The epoch count is the fidelity (``max_epochs``); without it, up to
:data:`SEQUENCE_MAX_EPOCHS` epochs with early stopping. Importing this module
does not import torch; fitting or predicting does.

References
----------
.. [Hochreiter1997] S. Hochreiter, J. Schmidhuber. "Long Short-Term Memory".
   Neural Computation 9(8), 1997.
.. [Cho2014] K. Cho et al. "Learning Phrase Representations using RNN
   Encoder-Decoder for Statistical Machine Translation". EMNLP 2014 (GRU).
.. [Yang2016] Z. Yang et al. "Hierarchical Attention Networks for Document
   Classification". NAACL 2016 (attention pooling over recurrent outputs).

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.specs import Context, Fidelity, ModelSpec
from search import Categorical, Int, Space

from ._sequence_estimators import (
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
    "LSTM_DEFAULTS",
    "LSTM_SPACE",
    "RecurrentSequenceClassifier",
    "RecurrentSequenceRegressor",
    "automl_register_models",
    "model_specs",
]


class _RecurrentModel(_SequenceModel):
    """The parameters of the recurrent estimators and their network."""

    def __init__(
        self,
        *,
        cell: str = "lstm",
        n_layers: int = 1,
        hidden_size: int = 64,
        bidirectional: bool = True,
        pooling: str = "mean",
        embedding_dim: int = 64,
        token_level: str = "word",
        vocab_size: int = 10000,
        max_length: int = 256,
        dropout: float = 0.1,
        learning_rate: float = 3e-3,
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
        from ._recurrent_net import RecurrentNet

        return RecurrentNet

    def _architecture(self) -> dict[str, Any]:
        return {"embedding_dim": int(self.embedding_dim), "cell": str(self.cell),
                "n_layers": int(self.n_layers), "hidden_size": int(self.hidden_size),
                "bidirectional": bool(self.bidirectional), "pooling": str(self.pooling),
                "dropout": float(self.dropout)}


class RecurrentSequenceClassifier(TorchClassifierMixin, _RecurrentModel):
    """LSTM or GRU classifier for texts and variable-length float sequences.

    See the module docstring; inputs and training are described in
    :mod:`plugins.neural._sequence_estimators`.

    Parameters
    ----------
    cell : {"lstm", "gru"}, default="lstm"
        Recurrent cell.
    n_layers : int, default=1
        Stacked recurrent layers.
    hidden_size : int, default=64
        Units per layer and direction.
    bidirectional : bool, default=True
        Also read each sequence backwards.
    pooling : {"last", "mean", "attention"}, default="mean"
        Final hidden states, masked mean of the outputs, or attention pooling.
    embedding_dim : int, default=64
        Token embedding size (texts only).
    token_level : {"word", "subword"}, default="word"
        Tokenizer vocabulary of words or subword pieces (texts only).
    vocab_size : int, default=10000
        Most token ids, padding and unknown included (texts only).
    max_length : int, default=256
        Steps or tokens kept from the start of each row.
    dropout : float, default=0.1
        Dropout on the inputs, between layers and before the head.
    learning_rate : float, default=3e-3
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
        Mixed precision on CUDA (the recurrent layers themselves run in fp32).
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


class RecurrentSequenceRegressor(TorchRegressorMixin, _RecurrentModel):
    """LSTM or GRU regressor for texts and variable-length float sequences.

    Parameters and fitted attributes are those of
    :class:`RecurrentSequenceClassifier` (without ``classes_``); the target is
    standardised for training.

    Attributes
    ----------
    target_mean_, target_scale_ : float
        Standardisation of the target.

    """


# Recurrent text classifiers are usually one or two layers of 64-512 units,
# bidirectional, with 50-300 dimensional embeddings; pooling over all steps
# (mean or attention) tends to beat the last state on long texts.
LSTM_SPACE = Space([
    Categorical("cell", ["lstm", "gru"]),
    Int("n_layers", 1, 3),
    Int("hidden_size", 32, 256, log=True),
    Categorical("bidirectional", [True, False]),
    Categorical("pooling", ["last", "mean", "attention"]),
    Int("embedding_dim", 16, 256, log=True),
    *shared_parameters(dropout_high=0.5, learning_rate=(1e-4, 1e-2)),
])
LSTM_DEFAULTS = (
    # one bidirectional LSTM layer with mean pooling over word embeddings
    {"cell": "lstm", "n_layers": 1, "hidden_size": 64, "bidirectional": True,
     "pooling": "mean", "embedding_dim": 64, "token_level": "word", "vocab_size": 10000,
     "dropout": 0.1, "learning_rate": 3e-3, "weight_decay": 1e-4, "batch_size": 32,
     "use_l1": False, "schedule": "cosine"},
    # two GRU layers with attention pooling over subword pieces: rare words, long rows
    {"cell": "gru", "n_layers": 2, "hidden_size": 64, "bidirectional": True,
     "pooling": "attention", "embedding_dim": 64, "token_level": "subword", "vocab_size": 4000,
     "dropout": 0.2, "learning_rate": 2e-3, "weight_decay": 1e-3, "batch_size": 32,
     "use_l1": False, "schedule": "onecycle"},
)


def _build_lstm(config: Mapping[str, Any], ctx: Context) -> _RecurrentModel:
    params = {**LSTM_DEFAULTS[0], **dict(config)}
    cls = RecurrentSequenceClassifier if ctx.is_classification else RecurrentSequenceRegressor
    return cls(
        cell=str(params["cell"]),
        n_layers=int(params["n_layers"]),
        hidden_size=int(params["hidden_size"]),
        bidirectional=bool(params["bidirectional"]),
        pooling=str(params["pooling"]),
        embedding_dim=int(params["embedding_dim"]),
        **shared_kwargs(params, ctx),
    )


def model_specs() -> list[ModelSpec]:
    """Return the recurrent sequence model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        The ``lstm`` spec.

    """
    return [
        ModelSpec(
            name="lstm",
            tasks={"classification", "regression"},
            modalities={"sequence", "text"},
            space=LSTM_SPACE,
            build=_build_lstm,
            fidelity=Fidelity("max_epochs", 4, SEQUENCE_MAX_EPOCHS),
            defaults=LSTM_DEFAULTS,
            description="torch LSTM/GRU on packed sequences or tokenized texts, with "
                        "last/mean/attention pooling (epochs are the fidelity)",
        )
    ]


automl_register_models = register_hook(model_specs, "recurrent sequence model family")
