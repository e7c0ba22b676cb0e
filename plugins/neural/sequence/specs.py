"""Search-space pieces and build arguments shared by the ``lstm`` and ``transformer`` specs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl.preprocessing import suggested_threads
from automl.specs import Context
from search import Categorical, Float, Int
from search.parameters import Parameter

from .._torch_estimator import context_kwargs
from .._training import optimizer_space, training_kwargs
from .base import SEQUENCE_MAX_EPOCHS

__all__ = ["ROWS_PER_THREAD", "sequence_threads", "shared_kwargs", "shared_parameters"]

ROWS_PER_THREAD = 20_000
"""Rows (sequences or texts) that justify one more torch thread. A row is a
whole sequence, far more work than a table row; still, on small data one
thread is fastest (thread wake-ups cost more than the small matrix products
they share)."""


def sequence_threads(ctx: Context) -> int:
    """Torch threads for a sequence model: one per :data:`ROWS_PER_THREAD` rows, within the cap.

    Parameters
    ----------
    ctx : automl.specs.Context
        Gives ``n_rows`` and the cap ``n_threads``.

    Returns
    -------
    int
        Between 1 and ``ctx.n_threads``.

    """
    return suggested_threads(ctx, cells_per_thread=ROWS_PER_THREAD * max(int(ctx.n_features), 1))


def shared_parameters(
    *, dropout_high: float, learning_rate: tuple[float, float]
) -> list[Parameter]:
    """The tokenizer and regularisation knobs both specs search.

    ``token_level`` and ``vocab_size`` only matter for texts (a sequence model
    ignores them). Weight decay and the learning rate are searched on a log
    scale; an L1 penalty is optional; batch size and schedule are choices.

    Parameters
    ----------
    dropout_high : float
        Largest dropout searched.
    learning_rate : tuple of float
        Learning-rate range.

    Returns
    -------
    list of search parameters
        To be joined with the architecture's own.

    """
    low, high = learning_rate
    return [
        Categorical("token_level", ["word", "subword"]),
        Int("vocab_size", 1000, 30000, log=True),
        Float("dropout", 0.0, float(dropout_high)),
        *optimizer_space(learning_rate=(low, high), weight_decay=(1e-6, 1e-1),
                         batch_size=[16, 32, 64, 128], l1=(1e-7, 1e-4),
                         schedule=["cosine", "onecycle"]),
    ]


def shared_kwargs(params: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Estimator arguments of the shared knobs, the fidelity and the context.

    Parameters
    ----------
    params : mapping
        A full configuration (defaults filled in); ``max_epochs`` is the
        fidelity (absent: :data:`SEQUENCE_MAX_EPOCHS`).
    ctx : automl.specs.Context
        Seed, device, threads and the time limit of one fit.

    Returns
    -------
    dict
        Keyword arguments of the sequence estimators.

    """
    return {
        "token_level": str(params["token_level"]),
        "vocab_size": int(params["vocab_size"]),
        "dropout": float(params["dropout"]),
        **training_kwargs(params, SEQUENCE_MAX_EPOCHS),
        **context_kwargs(ctx),
        "n_threads": sequence_threads(ctx),
    }
