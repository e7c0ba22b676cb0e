"""Built-in plugins, registered through the same ``automl_*`` hooks as third-party ones.

``plugins.sklearn_models`` and ``plugins.xgboost_models`` register the tabular
model families; each module holds one ``@automl.hookimpl`` per hook it serves.
"""
