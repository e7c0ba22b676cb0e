"""Built-in neural model plugins (torch).

One package per model family; each registers its specs through the
``automl_register_models`` hook of its ``__init__``, exactly like a
third-party plugin, and keeps its estimators, networks and other parts in
modules beside it:

``plugins.neural.mlp``
    ``mlp``: a tabular multilayer perceptron with categorical embeddings.
``plugins.neural.cnn``
    ``cnn``: a residual CNN for images with searched augmentation; its
    ``base`` is what every image estimator shares.
``plugins.neural.transfer``
    :func:`transfer_spec` builds a spec around a backbone the user passes in
    (re-exported here).
``plugins.neural.lstm``, ``plugins.neural.transformer``
    ``lstm`` (LSTM/GRU) and ``transformer`` for sequences and texts, on what
    :mod:`plugins.neural.sequence` holds for both; texts go through the
    :class:`~plugins.neural.tokenizer.Tokenizer` learned in fit.
``plugins.neural.fusion``
    ``fusion``: late-fusion networks for multimodal rows, built from the
    networks of the families above.
``plugins.neural.ncf``
    ``neumf`` and ``hybrid_mf`` recommenders.
``plugins.neural.gan``
    ``ctgan``: a tabular GAN for ``task="generation"``;
    :mod:`plugins.neural.oversampling` offers it as an oversampler of rare
    classes (:func:`~plugins.neural.oversampling.with_oversampling`).

:mod:`plugins.neural._training` holds the one training loop every network of
the project shares (device choice, mixed precision, AdamW, L1, gradient
clipping, learning-rate schedules, early stopping, seeded determinism, thread
and time limits) and the training hyperparameters the estimators share (their
search space, their ``TrainSettings`` and their docs);
:mod:`plugins.neural._torch_estimator` what the torch estimators share
(fitted weights, pickling, classifier and regressor outputs, spec helpers).
Importing this package or a plugin module does not import torch: a spec's
``build`` result imports it when it is fitted.
"""

from plugins.neural.transfer import transfer_spec

__all__ = ["transfer_spec"]
