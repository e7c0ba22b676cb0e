"""Built-in neural model plugins (torch).

Each module registers its model families through the ``automl_register_models``
hook, exactly like a third-party plugin:

``plugins.neural.mlp``
    ``mlp``: a tabular multilayer perceptron with categorical embeddings.
``plugins.neural.cnn``
    ``cnn``: a residual CNN for images with searched augmentation;
    :func:`transfer_spec` builds a spec around a backbone the user passes in.
``plugins.neural.lstm``, ``plugins.neural.transformer``
    ``lstm`` (LSTM/GRU) and ``transformer`` for sequences and texts, texts
    through the :class:`~plugins.neural.tokenizer.Tokenizer` learned in fit.
``plugins.neural.fusion``
    ``fusion``: late-fusion networks for multimodal rows.
``plugins.neural.ncf``
    ``neumf`` and ``hybrid_mf`` recommenders.
``plugins.neural.gan``
    ``ctgan``: a tabular GAN for ``task="generation"``;
    ``plugins.neural.oversampling`` offers it as an oversampler of rare classes.

``plugins.neural._training`` holds the one training loop every network of the
project shares (device choice, mixed precision, AdamW, L1, gradient clipping,
learning-rate schedules, early stopping, seeded determinism, thread and time
limits); ``plugins.neural._torch_estimator`` what the torch estimators share
(fitted weights, pickling, classifier and regressor outputs, spec helpers).
Importing this package or a plugin module does not import torch: a spec's
``build`` result imports it when it is fitted.
"""

from plugins.neural._transfer import transfer_spec

__all__ = ["transfer_spec"]
