"""Tabular models on flattened pixels: baselines for small images.

Registers ``pixels_logistic`` (classification), ``pixels_ridge`` (regression)
and ``pixels_hgb`` (both task families). Each is a tabular spec of
:mod:`plugins.sklearn_models` (``logistic_regression``, ``ridge``,
``hist_gradient_boosting``) adapted by
:func:`plugins._tabular_adapter.adapt_tabular_spec`: the same search space,
defaults, fidelity and ``build``, run on the ``C * H * W`` pixel values of each
image as numeric columns.

Pixels have neither missing values nor categories, so the tabular
preprocessing is replaced: the linear models get a ``StandardScaler`` (median
imputation of thousands of pixel columns costs seconds per fit and does
nothing), and histogram gradient boosting gets the pixels as they are.

The specs accept images of at most :data:`MAX_PIXELS` values (``C * H * W``):
64 x 64 grey or 36 x 36 colour. Larger images are left to convolutional
networks; flattening them gives tables too wide for these models to pay off.
"""

from __future__ import annotations

from typing import Any

from sklearn.preprocessing import StandardScaler

from automl.specs import Context, ModelSpec
from plugins import sklearn_models
from plugins._hooks import register_hook
from plugins._tabular_adapter import adapt_tabular_spec

__all__ = ["MAX_PIXELS", "accepts_small_images", "automl_register_models", "model_specs"]

MAX_PIXELS = 4096
"""Most values per image (``C * H * W``) for which the pixel models apply."""

PIXEL_PREFIX = "pixel"
"""Column names of the flattened pixels: ``pixel0, pixel1, ...``."""

_ADAPTED = {  # tabular spec -> (pixel spec, preprocessing replacing the tabular one)
    "logistic_regression": ("pixels_logistic", "scale"),
    "ridge": ("pixels_ridge", "scale"),
    "hist_gradient_boosting": ("pixels_hgb", "passthrough"),
}


def accepts_small_images(ctx: Context) -> bool:
    """Whether images of ``ctx`` are small enough to flatten (at most :data:`MAX_PIXELS`).

    Parameters
    ----------
    ctx : automl.specs.Context
        Context of image data: ``n_features`` is ``C * H * W``.

    Returns
    -------
    bool
        True for at most :data:`MAX_PIXELS` values per image.

    """
    return ctx.n_features <= MAX_PIXELS


def _pixel_count(ctx: Context) -> int:
    return int(ctx.n_features)


def _scaler(table_ctx: Context) -> StandardScaler:
    return StandardScaler()


def _passthrough(table_ctx: Context) -> str:
    return "passthrough"


def model_specs() -> list[ModelSpec]:
    """Return the pixel model specs (what the hook registers).

    Returns
    -------
    list of ModelSpec
        ``pixels_logistic``, ``pixels_ridge`` and ``pixels_hgb``.

    """
    tabular = {spec.name: spec for spec in sklearn_models.model_specs()}
    preps: dict[str, Any] = {"scale": _scaler, "passthrough": _passthrough}
    specs = []
    for tabular_name, (name, prep) in _ADAPTED.items():
        source = tabular[tabular_name]
        specs.append(adapt_tabular_spec(
            source, name=name, modality="image", n_columns=_pixel_count,
            prep=preps[prep], prefix=PIXEL_PREFIX, accepts=accepts_small_images,
            description=f"{tabular_name} on flattened pixels (images of at most "
                        f"{MAX_PIXELS} values)",
        ))
    return specs


automl_register_models = register_hook(model_specs, "pixel model specs")
