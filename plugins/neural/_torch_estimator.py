"""What the torch estimators of :mod:`plugins.neural` share.

:class:`TorchEstimator` keeps a trained network as numpy arrays
(``weights_``) and rebuilds the torch module from them on demand, leaving
the module out of pickles and skops files (:mod:`automl.persistence` rebuilds
estimators from their plain state); it also records what training did
(``history_``, ``n_epochs_`` ...) and maps its parameters onto a
:class:`~plugins.neural._training.TrainSettings`
(:func:`~plugins.neural._training.train_settings`). :class:`TorchClassifierMixin`
and :class:`TorchRegressorMixin` add the target encoding and the
``predict``/``predict_proba`` of each task on top of a network's raw outputs.
:func:`store_params` and :func:`as_target` serve the estimators,
:func:`context_kwargs` the spec modules of every family. Importing this
module does not import torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from automl.preprocessing import suggested_threads

from ._training import MIN_BATCH_ROWS

__all__ = [
    "HISTORY_FIELDS",
    "TorchClassifierMixin",
    "TorchEstimator",
    "TorchRegressorMixin",
    "as_target",
    "context_kwargs",
    "store_params",
]

HISTORY_FIELDS = ("epoch", "train_loss", "val_loss", "learning_rate", "seconds")
"""Fields of a ``TrainResult.history`` record kept in ``history_`` by default."""


def store_params(estimator: BaseEstimator, values: Mapping[str, Any]) -> None:
    """Store a constructor's arguments as attributes of the same names.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator being constructed.
    values : mapping
        The constructor's ``locals()``: every parameter of its signature is
        stored unchanged, as scikit-learn's ``get_params`` and ``clone`` expect.

    """
    for name in estimator._get_param_names():
        setattr(estimator, name, values[name])


def context_kwargs(ctx: Any) -> dict[str, Any]:
    """Estimator arguments a context sets: device, threads, time limit and seed.

    Parameters
    ----------
    ctx : automl.specs.Context
        The context of one fit.

    Returns
    -------
    dict
        ``device``, ``n_threads`` (:func:`~automl.preprocessing.suggested_threads`),
        ``time_limit`` and ``random_state``.

    """
    return {"device": ctx.device, "n_threads": suggested_threads(ctx),
            "time_limit": ctx.time_limit, "random_state": ctx.seed}


def as_target(y: Any, n_rows: int, unit: str = "row of X") -> np.ndarray:
    """Check a training target: one value per row, at least two rows.

    Parameters
    ----------
    y : array-like of shape (n_rows,) or (n_rows, 1)
        Class labels or regression targets.
    n_rows : int
        Rows of X.
    unit : str, default="row of X"
        What a row is, for the error message (``"image"``, ``"text"`` ...).

    Returns
    -------
    ndarray of shape (n_rows,)
        The target.

    Raises
    ------
    ValueError
        For a target of another shape, or fewer than two rows.

    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != n_rows:
        raise ValueError(f"y must be 1-dimensional with {n_rows} rows, one value per {unit}, "
                         f"got shape {y.shape}")
    if n_rows < 2:
        raise ValueError("need at least 2 rows to fit")
    return y


class TorchEstimator(BaseEstimator):
    """Fitted-state handling of the torch estimators (not used directly).

    Subclasses set their parameters in ``__init__`` (those read by
    :meth:`_train_settings`: ``max_epochs``, ``batch_size``,
    ``learning_rate``, ``weight_decay``, ``validation_fraction``,
    ``patience``, ``time_limit``, ``device``, ``precision``, ``n_threads``
    and ``random_state``, and the other ``TrainSettings`` fields they take),
    train in ``fit`` and store the network with :meth:`_keep`, and implement
    :meth:`_network_class` (or :meth:`_build_module`). The torch module lives
    in the ``_net`` attribute, which pickles and skops files leave out.
    """

    _classification = False
    _history_fields: tuple[str, ...] = HISTORY_FIELDS
    _min_batch_rows = MIN_BATCH_ROWS

    def _seed(self) -> int:
        """``random_state`` as an int, or a fresh draw when it is None."""
        if isinstance(self.random_state, int | np.integer):
            return int(self.random_state)
        return int(np.random.default_rng().integers(2**31 - 1))

    def _task(self) -> str:
        return "classification" if self._classification else "regression"

    def _train_settings(self, n_rows: int, seed: int, **changes: Any) -> Any:
        """``TrainSettings`` of the estimator's parameters, updated by ``changes``.

        See :func:`~plugins.neural._training.train_settings`.
        """
        from ._training import train_settings

        return train_settings(self.get_params(deep=False), n_rows=n_rows, seed=seed,
                              min_batch_rows=self._min_batch_rows, **changes)

    def _keep_weights(self, net: Any) -> None:
        """Store a trained network: its ``state_dict`` as numpy arrays, and the module."""
        net = net.cpu().eval()
        self.weights_ = {k: v.detach().cpu().numpy().copy()
                         for k, v in net.state_dict().items()}
        self._net = net

    def _keep(self, net: Any, results: Sequence[tuple[str | None, Any]]) -> None:
        """Store the trained network and what training did.

        Parameters
        ----------
        net : torch.nn.Module
            The trained network.
        results : sequence of (str or None, TrainResult)
            The training calls, in order, each with its phase (None: the
            history records name no phase).

        """
        self._keep_weights(net)
        self.history_ = [
            {**({} if phase is None else {"phase": phase}),
             **{name: getattr(record, name) for name in self._history_fields}}
            for phase, result in results for record in result.history
        ]
        last = results[-1][1]
        self.n_epochs_ = sum(result.epochs for _, result in results)
        self.best_epoch_ = last.best_epoch
        self.stop_reason_ = last.stop_reason
        self.fit_seconds_ = float(sum(result.seconds for _, result in results))
        self.device_ = last.device

    @staticmethod
    def _network_class() -> type:
        """The torch module class that ``net_config_`` configures (imported on demand)."""
        raise NotImplementedError

    def _build_module(self) -> Any:
        """A fresh torch module shaped by the fitted attributes (weights not loaded).

        ``_network_class()(**net_config_)`` unless a subclass builds it its own way.
        """
        return self._network_class()(**self.net_config_)

    def _module(self) -> Any:
        """The fitted torch module in eval mode, rebuilt from ``weights_`` when needed."""
        net = self.__dict__.get("_net")
        if net is None:
            import torch

            net = self._build_module()
            net.load_state_dict({k: torch.from_numpy(np.array(v, copy=True))
                                 for k, v in self.weights_.items()})
            net.eval()
            self._net = net
        return net

    def _network_outputs(self, data: Any, **options: Any) -> np.ndarray:
        """Outputs of the fitted network on ``data`` in float64 (CUDA when there, else CPU).

        ``options`` go to :func:`~plugins.neural._training.predict_network`
        (``batch_size``, ``collate_fn``).
        """
        from ._training import predict_network, resolve_device

        out = predict_network(self._module(), data,
                              device=resolve_device(self.device, strict=False),
                              n_threads=int(self.n_threads), **options)
        return out.astype(np.float64)

    def __getstate__(self) -> dict[str, Any]:
        """State without the torch module (rebuilt from ``weights_`` when needed).

        Returns
        -------
        dict
            The instance's attributes but ``_net``.

        """
        state = dict(super().__getstate__())
        state.pop("_net", None)
        return state


class TorchClassifierMixin(ClassifierMixin):
    """Label encoding, ``predict_proba`` and ``predict`` of a torch classifier.

    Goes before the estimator class in the bases; the estimator supplies
    ``_outputs(X)``, the network's logits ``(n_samples, n_classes)``.
    """

    _classification = True

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        """Set ``classes_``; return class indices and the number of outputs."""
        self.classes_ = np.unique(y)
        return np.searchsorted(self.classes_, y).astype(np.int64), max(len(self.classes_), 1)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like
            Rows in the form the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order; rows sum to 1.

        """
        logits = self._outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class labels.

        Parameters
        ----------
        X : array-like
            Rows in the form the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.

        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class TorchRegressorMixin(RegressorMixin):
    """Target standardisation and ``predict`` of a torch regressor.

    Goes before the estimator class in the bases; the estimator supplies
    ``_outputs(X)``, the network's outputs ``(n_samples, 1)``.
    """

    def _encode_target(self, y: np.ndarray) -> tuple[np.ndarray, int]:
        """Set ``target_mean_`` and ``target_scale_``; return the standardised target."""
        target = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(target)):
            raise ValueError("regression targets must be finite; drop or fill the rows whose "
                             "target is NaN or infinite")
        self.target_mean_ = float(target.mean())
        scale = float(target.std())
        self.target_scale_ = scale if scale > 0 else 1.0
        return ((target - self.target_mean_) / self.target_scale_).astype(np.float32), 1

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        X : array-like
            Rows in the form the estimator was fitted on.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predictions in the target's units.

        """
        return self._outputs(X)[:, 0] * self.target_scale_ + self.target_mean_
