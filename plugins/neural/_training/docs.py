"""The docs of what the torch estimators share, written once and inserted into each.

:data:`TRAINING_PARAMETERS` describes the training parameters the estimators
share (learning rate, weight decay, batch size, epochs, early stopping,
device, precision, threads, time limit, seed ...) and
:data:`FITTED_ATTRIBUTES` what every fit leaves (``weights_``,
``history_`` ...). :func:`document_training` writes them into an estimator's
docstring, as numpydoc projects insert shared fragments, so nine estimators
do not repeat them. Part of :mod:`plugins.neural._training`; import from
there. This module does not import torch.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["ATTRIBUTES_MARKER", "FITTED_ATTRIBUTES", "PARAMETERS_MARKER", "TRAINING_PARAMETERS",
           "document_training"]

TRAINING_PARAMETERS: dict[str, tuple[str, str]] = {
    "learning_rate": ("float", "Peak AdamW learning rate."),
    "weight_decay": ("float", "AdamW (decoupled) weight decay of the weights."),
    "batch_size": ("int", "Rows per optimizer step (lowered on small data to ``n_rows // 8``, "
                          "not below :data:`MIN_BATCH_ROWS`)."),
    "l1": ("float", "L1 penalty on the weights (0 disables it)."),
    "schedule": ('{"cosine", "onecycle", "constant"}', "Learning-rate schedule."),
    "max_epochs": ("int", "Most epochs (the fidelity)."),
    "patience": ("int or None", "Early-stopping patience in epochs (None trains every epoch)."),
    "validation_fraction": ("float", "Rows held out (seeded, stratified for classification) "
                                     "for early stopping and the choice of the best weights."),
    "grad_clip": ("float or None", "Gradient-norm clipping (None disables it)."),
    "eval_batch_size": ("int", "Rows per batch for validation and prediction."),
    "device": ('{"auto", "cpu", "cuda", "cuda:N"}',
               "Where to train; prediction falls back to the CPU without CUDA."),
    "precision": ('{"auto", "fp32", "bf16", "fp16"}', "Mixed precision on CUDA."),
    "n_threads": ("int", "Torch threads during fit and predict."),
    "time_limit": ("float", "Seconds for training; past it training stops with the best "
                            "weights."),
    "random_state": ("int or None", "Seed; None draws one."),
}
"""Type and description of each training parameter the estimators share, for their docs."""

FITTED_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "weights_": ("dict of str to ndarray", "The network's ``state_dict`` as numpy arrays."),
    "net_config_": ("dict", "Arguments that rebuild the network."),
    "history_": ("list of dict", "One record per epoch: its number, training and validation "
                                 "losses and, as the estimator keeps them, the learning rate and "
                                 "seconds."),
    "n_epochs_": ("int", "Epochs run."),
    "best_epoch_": ("int or None", "The epoch whose weights were kept (None without "
                                   "validation)."),
    "stop_reason_": ("str", "Why training ended (see ``TrainResult.stop_reason``)."),
    "fit_seconds_": ("float", "Seconds training took."),
    "device_": ("str", "Where the network was trained."),
}
"""Type and description of the fitted attributes every torch estimator sets."""

PARAMETERS_MARKER = "{training parameters}"
"""The line of a ``Parameters`` section that :func:`document_training` fills."""

ATTRIBUTES_MARKER = "{fitted attributes}"
"""The line of an ``Attributes`` section that :func:`document_training` fills."""


def _default_text(value: Any) -> str:
    """A default as the docs show it: ``"auto"``, ``5e-3``, ``0.1``, ``None``."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value and abs(value) <= 1e-2:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    return repr(value)


def _documented(lines: Sequence[str], indent: str) -> set[str]:
    """Names that docstring lines at ``indent`` describe (``name : type`` or ``a, b``)."""
    names: set[str] = set()
    for line in lines:
        if line.startswith(indent) and not line.startswith(indent + " "):
            head = line.strip().split(" : ", 1)[0]
            names.update(name.strip() for name in head.split(","))
    return names


def _fill(lines: list[str], marker: str,
          entries: Iterable[tuple[str, str, str]]) -> list[str] | None:
    """``lines`` with the ``marker`` line replaced by the entries not described elsewhere.

    Each entry is ``(name, "type, default=...", description)``; None when no
    line is the marker.
    """
    at = next((i for i, line in enumerate(lines) if line.strip() == marker), None)
    if at is None:
        return None
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    documented = _documented(lines, indent)
    text: list[str] = []
    for name, head, description in entries:
        if name not in documented:
            text += [f"{indent}{name} : {head}",
                     *textwrap.wrap(description, 76, initial_indent=f"{indent}    ",
                                    subsequent_indent=f"{indent}    ")]
    return lines[:at] + text + lines[at + 1:]


def _parameter_entries(cls: type,
                       known: Mapping[str, tuple[str, str]]) -> list[tuple[str, str, str]]:
    """Entries of the parameters of ``cls.__init__`` that ``known`` describes, defaults read."""
    entries = []
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name in known:
            kind, description = known[name]
            head = f"{kind}, optional" if param.default is None and "None" not in kind \
                else f"{kind}, default={_default_text(param.default)}"
            entries.append((name, head, description))
    return entries


def document_training(cls: type | None = None, /, *,
                      extra: Mapping[str, tuple[str, str]] | None = None) -> Any:
    """Class decorator: write the shared parameters and fitted attributes into the docstring.

    The line :data:`PARAMETERS_MARKER` of the ``Parameters`` section becomes
    an entry of :data:`TRAINING_PARAMETERS` (and of ``extra``) for each
    parameter of ``cls.__init__`` that has one, in the signature's order, with
    the default read from the signature; the line :data:`ATTRIBUTES_MARKER`
    of the ``Attributes`` section, when there is one, becomes the entries of
    :data:`FITTED_ATTRIBUTES`. Names the docstring describes elsewhere are
    left out (a class may word one its own way). Use it bare
    (``@document_training``) or with entries of a family's own
    (``@document_training(extra={...})``).

    Parameters
    ----------
    cls : type, optional
        An estimator class whose docstring holds the parameters marker.
    extra : mapping of str to (str, str), optional
        More ``name -> (type, description)`` parameter entries.

    Returns
    -------
    type or callable
        ``cls``, its docstring completed; without ``cls``, the decorator.

    Raises
    ------
    ValueError
        When the docstring has no parameters marker.

    """
    if cls is None:
        return lambda target: document_training(target, extra=extra)
    lines = (cls.__doc__ or "").splitlines()
    parameters = _parameter_entries(cls, {**TRAINING_PARAMETERS, **(extra or {})})
    filled = _fill(lines, PARAMETERS_MARKER, parameters)
    if filled is None:
        raise ValueError(f"the docstring of {cls.__name__} has no {PARAMETERS_MARKER!r} line")
    attributes = [(name, kind, text) for name, (kind, text) in FITTED_ATTRIBUTES.items()]
    cls.__doc__ = "\n".join(_fill(filled, ATTRIBUTES_MARKER, attributes) or filled)
    return cls
