"""The training hyperparameters the torch estimators share: searched and built.

* :func:`optimizer_space` (and :func:`l1_space`): the search parameters of
  the optimiser knobs (learning rate, weight decay, batch size, an optional
  L1 penalty, the schedule), which a spec joins with those of its
  architecture;
* :func:`training_kwargs` and :func:`fidelity_epochs`: a configuration of
  them (and the ``max_epochs`` fidelity) as estimator arguments;
* :func:`train_settings`: an estimator's parameters as the
  :class:`~plugins.neural._training.TrainSettings` of a fit.

Their docs are in :mod:`plugins.neural._training.docs`.

Part of :mod:`plugins.neural._training`; import from there. This module does
not import torch (spec modules use it when they are imported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from search import Categorical, Float
from search.parameters import Parameter

__all__ = [
    "MIN_BATCH_ROWS",
    "batch_rows",
    "fidelity_epochs",
    "l1_space",
    "optimizer_space",
    "train_settings",
    "training_kwargs",
]

MIN_BATCH_ROWS = 16
"""Smallest effective batch by default: ``batch_size`` is lowered to ``n_rows // 8``
(at least this) so that small data still gets several steps per epoch."""


def optimizer_space(*, learning_rate: tuple[float, float], weight_decay: tuple[float, float],
                    batch_size: Sequence[int] | None = None,
                    l1: tuple[float, float] | None = None,
                    schedule: Sequence[str] | None = None) -> list[Parameter]:
    """The search parameters of the optimiser knobs, for a spec to join with its own.

    In this order: ``learning_rate`` and ``weight_decay`` (log-scaled),
    ``batch_size`` (a choice), ``use_l1`` with ``l1`` (log-scaled, active when
    ``use_l1`` is true) and ``schedule`` (a choice); the optional ones only
    when their values are given. :func:`training_kwargs` turns a configuration
    of them into estimator arguments.

    Parameters
    ----------
    learning_rate : tuple of float
        ``(low, high)`` of the peak AdamW learning rate.
    weight_decay : tuple of float
        ``(low, high)`` of AdamW's weight decay.
    batch_size : sequence of int, optional
        Batch sizes to choose from.
    l1 : tuple of float, optional
        ``(low, high)`` of an optional L1 penalty.
    schedule : sequence of str, optional
        Learning-rate schedules to choose from (see
        :func:`~plugins.neural._training.make_scheduler`).

    Returns
    -------
    list of search parameters
        To be put in a :class:`~search.Space`.

    """
    params: list[Parameter] = [
        Float("learning_rate", float(learning_rate[0]), float(learning_rate[1]), log=True),
        Float("weight_decay", float(weight_decay[0]), float(weight_decay[1]), log=True),
    ]
    if batch_size is not None:
        params.append(Categorical("batch_size", [int(b) for b in batch_size]))
    if l1 is not None:
        params += l1_space(*l1)
    if schedule is not None:
        params.append(Categorical("schedule", [str(s) for s in schedule]))
    return params


def l1_space(low: float, high: float) -> list[Parameter]:
    """The search parameters of an optional L1 penalty: ``use_l1``, and ``l1`` when it is true.

    Part of :func:`optimizer_space`; on its own for a space that wants the
    penalty elsewhere in its order.

    Parameters
    ----------
    low, high : float
        Range of the penalty (log-scaled).

    Returns
    -------
    list of search parameters
        ``use_l1`` and ``l1``.

    """
    return [Categorical("use_l1", [False, True]),
            Float("l1", float(low), float(high), log=True, when={"use_l1": True})]


def fidelity_epochs(params: Mapping[str, Any], default: int) -> int:
    """The ``max_epochs`` of a configuration: its fidelity value, rounded, or ``default``.

    Parameters
    ----------
    params : mapping
        A configuration, optionally with ``max_epochs`` (the fidelity).
    default : int
        Epochs when the configuration does not set them.

    Returns
    -------
    int
        At least 1.

    """
    value = params.get("max_epochs")
    return int(default) if value is None else max(1, round(float(value)))


def training_kwargs(params: Mapping[str, Any], default_epochs: int) -> dict[str, Any]:
    """Estimator arguments of the optimiser knobs a configuration holds, and the fidelity.

    Parameters
    ----------
    params : mapping
        A full configuration (defaults filled in) with ``learning_rate`` and
        ``weight_decay``, and those of ``batch_size``, ``use_l1`` (with ``l1``
        when it is true) and ``schedule`` that its space has (see
        :func:`optimizer_space`); ``max_epochs`` is the fidelity.
    default_epochs : int
        Epochs when the configuration does not set the fidelity.

    Returns
    -------
    dict
        ``learning_rate``, ``weight_decay``, ``max_epochs`` and, as the
        configuration has them, ``batch_size``, ``l1`` (0 without ``use_l1``)
        and ``schedule``.

    """
    kwargs: dict[str, Any] = {"learning_rate": float(params["learning_rate"]),
                              "weight_decay": float(params["weight_decay"])}
    if "batch_size" in params:
        kwargs["batch_size"] = int(params["batch_size"])
    if "use_l1" in params:
        kwargs["l1"] = float(params["l1"]) if params["use_l1"] else 0.0
    if "schedule" in params:
        kwargs["schedule"] = str(params["schedule"])
    kwargs["max_epochs"] = fidelity_epochs(params, default_epochs)
    return kwargs


def batch_rows(batch_size: int, n_rows: int, min_rows: int) -> int:
    """The effective batch: ``batch_size`` lowered to ``n_rows // 8`` (at least ``min_rows``).

    Parameters
    ----------
    batch_size : int
        The requested batch.
    n_rows : int
        Training rows.
    min_rows : int
        Smallest batch the lowering gives.

    Returns
    -------
    int
        At least 1, so that small data still gets several steps per epoch.

    """
    return max(1, min(int(batch_size), max(int(min_rows), int(n_rows) // 8)))


_SETTINGS: dict[str, Callable[[Any], Any] | None] = {
    "max_epochs": int, "learning_rate": float, "weight_decay": float, "l1": float,
    "grad_clip": None, "schedule": str, "validation_fraction": float, "patience": None,
    "time_limit": None, "device": str, "precision": str, "n_threads": int,
    "eval_batch_size": int,
}
"""``TrainSettings`` fields an estimator may have as parameters, with their conversion."""


def train_settings(params: Mapping[str, Any], *, n_rows: int, seed: int,
                   min_batch_rows: int = MIN_BATCH_ROWS, **changes: Any) -> Any:
    """The ``TrainSettings`` of a fit from an estimator's parameters.

    Every ``TrainSettings`` field the estimator has as a parameter is taken
    from it (``batch_size`` lowered by :func:`batch_rows`); the others keep
    their defaults; ``changes`` override both.

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params(deep=False)``), with at
        least ``batch_size``.
    n_rows : int
        Training rows.
    seed : int
        Seed of the fit.
    min_batch_rows : int, default=MIN_BATCH_ROWS
        Smallest batch the lowering gives.
    **changes
        ``TrainSettings`` fields to set instead.

    Returns
    -------
    TrainSettings
        The settings (importing them imports torch).

    """
    from .settings import TrainSettings

    values: dict[str, Any] = {
        name: params[name] if convert is None else convert(params[name])
        for name, convert in _SETTINGS.items() if name in params
    }
    values["batch_size"] = batch_rows(params["batch_size"], n_rows, min_batch_rows)
    values["seed"] = seed
    values.update(changes)
    return TrainSettings(**values)
