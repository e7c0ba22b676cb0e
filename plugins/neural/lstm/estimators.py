"""The ``lstm`` estimators: LSTM or GRU classifier and regressor for sequences and texts.

:class:`RecurrentSequenceClassifier` and :class:`RecurrentSequenceRegressor`
run stacked LSTM or GRU layers on packed sequences
(:class:`plugins.neural.lstm.net.RecurrentNet`); inputs, training and
prediction are those of every sequence estimator
(:class:`plugins.neural.sequence.base.SequenceModel`). Importing this module
does not import torch. :mod:`plugins.neural.lstm` re-exports the public names.
"""

from __future__ import annotations

from typing import Any

from .._torch_estimator import TorchClassifierMixin, TorchRegressorMixin, store_params
from .._training import document_training
from ..sequence.base import SEQUENCE_MAX_EPOCHS, SEQUENCE_PATIENCE, SequenceModel

__all__ = ["RecurrentSequenceClassifier", "RecurrentSequenceRegressor"]


class _RecurrentModel(SequenceModel):
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
        from .net import RecurrentNet

        return RecurrentNet

    def _architecture(self) -> dict[str, Any]:
        return {"embedding_dim": int(self.embedding_dim), "cell": str(self.cell),
                "n_layers": int(self.n_layers), "hidden_size": int(self.hidden_size),
                "bidirectional": bool(self.bidirectional), "pooling": str(self.pooling),
                "dropout": float(self.dropout)}


@document_training
class RecurrentSequenceClassifier(TorchClassifierMixin, _RecurrentModel):
    """LSTM or GRU classifier for texts and variable-length float sequences.

    See the module docstring; inputs and training are described in
    :mod:`plugins.neural.sequence.base`.

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
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Mixed precision on CUDA (the recurrent layers themselves run in fp32).
    {training parameters}

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
    {fitted attributes}
    seconds_per_epoch_ : float
        Mean wall-clock seconds of an epoch.

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
