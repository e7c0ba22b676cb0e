"""Built-in plugins, registered through the same ``automl_*`` hooks as third-party ones.

Each module below is listed in :data:`automl.registry.BUILTIN_PLUGINS` and holds
one ``automl_register_models`` hookimpl that registers its model specs:

``sklearn_models``, ``xgboost_models``
    The tabular families (linear models, forests, gradient boosting, k nearest
    neighbours, XGBoost).
``text_models``, ``sequence_models``, ``pixel_models``
    The non-neural baselines of texts, sequences and images (the last two
    reuse the tabular specs through ``_tabular_adapter``).
``recommenders``
    The ``popularity`` and ``biased_mf`` recommenders (on ``_recsys_base``).
``generators``
    The ``independent_columns`` baseline generator.
:mod:`plugins.neural`
    The torch families, one package each: ``mlp``, ``cnn`` (and transfer
    learning), ``lstm``, ``transformer``, ``fusion``, ``ncf``, ``gan``.
"""
