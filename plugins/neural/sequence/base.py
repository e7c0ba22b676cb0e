"""What the ``lstm`` and ``transformer`` estimators share: inputs, training, prediction.

An estimator takes either texts (a list, array or Series of non-empty
strings) or float sequences (an ``(N, T, F)`` array or a list of ``(T_i, F)``
arrays of varying length), decided in ``fit`` and checked again at predict
time. Texts are tokenized with a :class:`~plugins.neural.tokenizer.Tokenizer`
learned in fit (``token_level``, ``vocab_size``); sequences are standardised
per feature (:class:`~plugins.neural.sequence.batches.SequenceScaler`) and
clipped. Both are truncated to ``max_length`` steps or tokens and batched by
padding to the longest row of each batch.

Training is :func:`plugins.neural._training.train_network` (AdamW, optional
L1, gradient clipping, cosine or one-cycle schedule, early stopping on a
seeded, stratified validation split, best weights restored, out-of-memory as
a clear error). Regression targets are standardised for training. Prediction
batches rows sorted by length, so that little padding is computed. The fitted
state is numpy arrays and plain Python values (the torch module is rebuilt
from ``weights_`` on demand), so estimators pickle and save with skops.
Importing this module does not import torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from automl.modalities import SequenceSchema, TextSchema, detect_modality

from .._torch_estimator import TorchEstimator, as_target
from ..tokenizer import Tokenizer
from .batches import RaggedDataset, SequenceScaler, collate_padded, length_order, truncate

__all__ = ["PREDICT_BATCH_SIZE", "SEQUENCE_MAX_EPOCHS", "SEQUENCE_PATIENCE", "SequenceModel"]

SEQUENCE_MAX_EPOCHS = 60
"""Most epochs when the config does not set the ``max_epochs`` fidelity (early
stopping usually ends training sooner)."""

SEQUENCE_PATIENCE = 8
"""Epochs without a validation improvement before training stops."""

PREDICT_BATCH_SIZE = 256
"""Rows per batch when predicting and computing validation losses."""


def _is_text(X: Any) -> bool:
    """Whether ``X`` is meant as texts: detected as such, or a 1-D collection holding a str."""
    if detect_modality(X) == "text":
        return True
    if isinstance(X, pd.Series) or (isinstance(X, np.ndarray) and X.ndim == 1):
        X = X.tolist()
    return isinstance(X, list | tuple) and any(isinstance(v, str) for v in X)


class SequenceModel(TorchEstimator):
    """Fit and predict shared by the recurrent and Transformer estimators.

    Subclasses define ``__init__`` (the common parameters listed in
    :class:`plugins.neural.lstm.RecurrentSequenceClassifier` plus their own),
    ``_network_class`` and ``_architecture``.
    """

    # -- what a subclass supplies -----------------------------------------------

    def _architecture(self) -> dict[str, Any]:
        """Network arguments beyond the inputs and the outputs."""
        raise NotImplementedError

    # -- inputs -------------------------------------------------------------------

    def _max_length(self) -> int:
        if isinstance(self.max_length, bool) or int(self.max_length) != self.max_length \
                or self.max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {self.max_length!r}")
        return int(self.max_length)

    def _fit_inputs(self, X: Any) -> list[np.ndarray]:
        """Learn the tokenizer or the scaler; return the encoded training rows."""
        if isinstance(X, str):
            raise ValueError("X is a single string; pass a list of texts, one per row")
        max_length = self._max_length()
        self.tokenizer_: Tokenizer | None = None
        self.scaler_: SequenceScaler | None = None
        if _is_text(X):
            texts = TextSchema.infer(X).transform(X)
            self.modality_, self.n_features_ = "text", None
            self.tokenizer_ = Tokenizer(level=self.token_level, vocab_size=self.vocab_size,
                                        max_length=max_length).fit(texts)
            return self.tokenizer_.encode(texts)
        schema = SequenceSchema.infer(X)
        sequences = schema.transform(X)
        self.modality_, self.n_features_ = "sequence", schema.n_features
        self.scaler_ = SequenceScaler().fit(sequences)
        return truncate(self.scaler_.transform(sequences), max_length)

    def _transform_inputs(self, X: Any) -> list[np.ndarray]:
        """Encode rows to predict with the fitted tokenizer or scaler."""
        check_is_fitted(self, "weights_")
        if isinstance(X, str):
            raise ValueError("X is a single string; pass a list of texts, one per row")
        is_text = _is_text(X)
        if self.modality_ == "text":
            if not is_text:
                raise ValueError("this model was fitted on texts; pass a list of strings")
            return self.tokenizer_.encode(TextSchema().transform(X))
        if is_text:
            raise ValueError(f"this model was fitted on sequences of {self.n_features_} "
                             "features; pass an (N, T, F) array or a list of (T, F) arrays")
        sequences = SequenceSchema(self.n_features_).transform(X)
        return truncate(self.scaler_.transform(sequences), int(self.max_length))

    def _inputs_config(self) -> dict[str, Any]:
        if self.modality_ == "text":
            return {"n_features": None, "vocab_size": self.tokenizer_.n_tokens_}
        return {"n_features": int(self.n_features_), "vocab_size": None}

    # -- training -----------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> SequenceModel:
        """Learn the input encoding and train the network.

        Parameters
        ----------
        X : list of str, or (N, T, F) array, or list of (T_i, F) arrays
            Texts, or float sequences whose lengths may differ.
        y : array-like of shape (n_samples,)
            Class labels, or regression targets.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For empty, mixed or malformed inputs, mismatched or non-finite
            targets, or bad parameters.

        """
        from .._training import train_network

        items = self._fit_inputs(X)
        y = as_target(y, len(items), self.modality_)
        target, n_outputs = self._encode_target(y)
        self.net_config_ = {**self._inputs_config(), **self._architecture(),
                            "n_outputs": int(n_outputs)}
        settings = self._train_settings(len(items), self._seed(),
                                        eval_batch_size=PREDICT_BATCH_SIZE)
        result = train_network(
            self._build_module, RaggedDataset(items, target), settings, task=self._task(),
            stratify=target if self._classification else None, collate_fn=collate_padded,
        )
        self._keep(result.model, [(None, result)])
        self.seconds_per_epoch_ = result.seconds_per_epoch
        return self

    # -- prediction ---------------------------------------------------------------

    def _outputs(self, X: Any) -> np.ndarray:
        """Network outputs ``(n, n_outputs)`` in float64, in the order of ``X``."""
        items = self._transform_inputs(X)
        order = length_order(items)
        out = self._network_outputs(RaggedDataset([items[i] for i in order]),
                                    batch_size=PREDICT_BATCH_SIZE, collate_fn=collate_padded)
        outputs = np.empty_like(out)
        outputs[order] = out
        return outputs
