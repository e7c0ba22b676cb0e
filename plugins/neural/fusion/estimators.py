"""The ``fusion`` estimators: :class:`FusionClassifier` and :class:`FusionRegressor`.

Each part of a multimodal row is encoded by its fitted
:class:`~plugins.neural.fusion.inputs.PartInputs`, the network is
:class:`~plugins.neural.fusion.net.FusionNet` and training is the shared
:func:`~plugins.neural._training.train_network`. Importing this module does
not import torch. :mod:`plugins.neural.fusion` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from automl.multimodal import MultimodalData, MultimodalSchema

from .._torch_estimator import (
    TorchClassifierMixin,
    TorchEstimator,
    TorchRegressorMixin,
    as_target,
    store_params,
)
from .._training import document_training
from .inputs import FusionDataset, fit_parts, guess_modality, make_dataset

__all__ = ["FUSION_MAX_EPOCHS", "FusionClassifier", "FusionRegressor"]

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
        from .._training import train_network

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
        settings = self._train_settings(len(data), self._seed(), eval_batch_size=256)
        result = train_network(
            self._build_module, dataset, settings, task=self._task(),
            stratify=target if self._classification else None, collate_fn=dataset.collate,
        )
        self._keep(result.model, [(None, result)])
        return self

    # -- prediction ---------------------------------------------------------------

    @staticmethod
    def _network_class() -> type:
        from .net import FusionNet

        return FusionNet

    def _outputs(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "weights_")
        dataset = self._dataset(self._data(X, fitting=False), None)
        return self._network_outputs(dataset, batch_size=256, collate_fn=dataset.collate)


@document_training
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
    image_channels : int, default=16
        Width of the image CNN's first stage.
    text_max_length, sequence_max_length : int, default=64, 128
        Tokens of a text and steps of a sequence kept.
    vocab_size : int, default=5000
        Most token ids per text part.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Where to train.
    {training parameters}

    Attributes
    ----------
    classes_ : ndarray
        Class labels, sorted.
    part_names_ : list of str
        Parts in network order.
    inputs_ : list of PartInputs
        Fitted preprocessing per part.
    {fitted attributes}

    """


class FusionRegressor(TorchRegressorMixin, _Fusion):
    """Late-fusion regressor for rows of several modalities.

    Parameters are those of :class:`FusionClassifier`; the target is
    standardised for training (``target_mean_``, ``target_scale_``).
    """
