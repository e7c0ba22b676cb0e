"""The ``transformer`` estimators: Transformer-encoder classifier and regressor.

:class:`TransformerSequenceClassifier` and :class:`TransformerSequenceRegressor`
run :class:`plugins.neural.transformer.net.TransformerNet`; inputs, training
and prediction are those of every sequence estimator
(:class:`plugins.neural.sequence.base.SequenceModel`). Importing this module
does not import torch. :mod:`plugins.neural.transformer` re-exports the public
names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._torch_estimator import TorchClassifierMixin, TorchRegressorMixin, store_params
from .._training import document_training
from ..sequence.base import (
    PREDICT_BATCH_SIZE,
    SEQUENCE_MAX_EPOCHS,
    SEQUENCE_PATIENCE,
    SequenceModel,
)
from ..sequence.batches import RaggedDataset, collate_padded

__all__ = ["TransformerSequenceClassifier", "TransformerSequenceRegressor"]


class _TransformerModel(SequenceModel):
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
        from .net import TransformerNet

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

        from .._training import iterate_batches, limited_threads, oom_guard, resolve_device

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


@document_training
class TransformerSequenceClassifier(TorchClassifierMixin, _TransformerModel):
    """Transformer-encoder classifier for texts and variable-length float sequences.

    See the module docstring; inputs and training are described in
    :mod:`plugins.neural.sequence.base`.

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
