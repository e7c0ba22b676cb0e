"""Built-in neural model plugins (torch).

Each module registers its model families through the ``automl_register_models``
hook, exactly like a third-party plugin:

``plugins.neural.mlp``
    ``mlp``: a tabular multilayer perceptron with embeddings for categorical
    columns (classification and regression); its estimators live in
    ``plugins.neural._mlp_estimators`` and are re-exported there.

``plugins.neural._training`` holds the one training loop every network of the
project shares (device choice, mixed precision, AdamW, L1, gradient clipping,
learning-rate schedules, early stopping, seeded determinism, thread and time
limits). Importing this package, or ``plugins.neural.mlp``, does not import
torch: a spec's ``build`` result imports it when it is fitted.
"""
