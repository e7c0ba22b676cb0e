"""A third-party plugin: registers Gaussian naive Bayes as a searchable model.

Install it next to the engine (``pip install ./examples/plugin_example``) and
``automl plugins`` lists it; ``AutoML(models=["gaussian_nb", ...])`` searches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from automl import Context, ModelSpec, hookimpl
from automl.preprocessing import tabular_preprocessor
from search import Float, Space


def build(config: Mapping[str, Any], ctx: Context) -> Any:
    """A pipeline: the engine's tabular preprocessing, then GaussianNB."""
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        tabular_preprocessor(ctx, categorical="onehot", scale=True),
        GaussianNB(var_smoothing=config["var_smoothing"]),
    )


@hookimpl
def automl_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register the ``gaussian_nb`` model spec."""
    register(ModelSpec(
        name="gaussian_nb",
        tasks={"classification"},
        modalities={"tabular"},
        space=Space([Float("var_smoothing", 1e-12, 1e-1, log=True)]),
        build=build,
        defaults=[{"var_smoothing": 1e-9}],
        description="Gaussian naive Bayes (example third-party plugin)",
    ))
