"""LSTM and GRU networks for sequences and texts: the ``lstm`` spec.

The spec serves classification and regression on float sequences of varying
length and on texts. Its estimators, :class:`RecurrentSequenceClassifier` and
:class:`RecurrentSequenceRegressor`, run stacked LSTM or GRU layers
(optionally bidirectional) on packed sequences, so padding never changes a
result, and pool the outputs by the final states, a masked mean or attention
pooling. Texts are tokenized (word or subword vocabulary, searched) and
embedded first. Inputs, training and prediction are shared with the
Transformer (:mod:`plugins.neural.sequence`).

The package's parts: this module holds the spec (search space, defaults,
``build`` and the ``automl_register_models`` hook);
:mod:`~plugins.neural.lstm.estimators` the estimators (re-exported here) and
:mod:`~plugins.neural.lstm.net` the network,
:class:`~plugins.neural.lstm.net.RecurrentNet`.

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

from ..._hooks import register_hook
from ..sequence.base import SEQUENCE_MAX_EPOCHS
from ..sequence.specs import shared_kwargs, shared_parameters
from .estimators import RecurrentSequenceClassifier, RecurrentSequenceRegressor, _RecurrentModel

__all__ = [
    "LSTM_DEFAULTS",
    "LSTM_SPACE",
    "RecurrentSequenceClassifier",
    "RecurrentSequenceRegressor",
    "automl_register_models",
    "model_specs",
]


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
