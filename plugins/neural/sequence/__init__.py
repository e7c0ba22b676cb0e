"""What the ``lstm`` and ``transformer`` families share: sequence and text inputs.

Neither family registers here; each has its own package
(:mod:`plugins.neural.lstm`, :mod:`plugins.neural.transformer`) built on
these modules:

:mod:`~plugins.neural.sequence.base`
    :class:`~plugins.neural.sequence.base.SequenceModel`, the fit and predict
    of every sequence estimator: texts through a
    :class:`~plugins.neural.tokenizer.Tokenizer`, float sequences through a
    per-feature scaler, training and length-sorted prediction.
:mod:`~plugins.neural.sequence.batches`
    Variable-length inputs: scaling, truncation, datasets, padded batches and
    padding masks.
:mod:`~plugins.neural.sequence.layers`
    Network blocks of both families: masked mean and attention pooling,
    position encodings, token embeddings.
:mod:`~plugins.neural.sequence.specs`
    The search parameters and build arguments both specs share.
"""
