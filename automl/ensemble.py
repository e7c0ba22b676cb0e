"""Ensembles over the out-of-fold predictions of finished trials.

Two ways to combine the best trials of a search:

* :func:`select_ensemble`: greedy ensemble selection with replacement
  (Caruana et al., 2004). Models are added one at a time, each time the one
  whose addition gives the best metric of the averaged predictions; the best
  prefix of that path is kept and the selection counts become weights.
* :func:`stack`: a regularised linear model (logistic regression or ridge)
  fitted on the members' out-of-fold predictions, with its own
  cross-validated score.

The greedy arithmetic runs in torch on a CUDA device when one is asked for
(``device="cuda"``, or ``"auto"`` with a GPU present) and in numpy otherwise,
with the same result. torch is imported only on the CUDA path.

References
----------
R. Caruana, A. Niculescu-Mizil, G. Crew and A. Ksikes, "Ensemble Selection
from Libraries of Models", ICML 2004.

"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from automl.metrics import Metric
from automl.records import TrialRecord

if TYPE_CHECKING:
    import torch

__all__ = ["Ensemble", "StackedEnsemble", "select_ensemble", "stack"]

_TIE_RTOL = 1e-12
"""Losses this close (relative) count as ties, broken towards the lower index.

It makes the numpy and torch paths agree whatever the last bits of their
reductions, and makes ties between identical models deterministic.
"""

_TORCH_CHUNK_ELEMENTS = 1 << 26
"""Most candidate-average elements held at once on the device (float64: 512 MiB)."""

_LOG_CLIP = 1e-6
"""Probabilities are clipped here before taking logs as stacking features."""


@dataclass
class Ensemble:
    """A weighted average of trials' predictions, found by greedy selection.

    Attributes
    ----------
    members : list of int
        Trial numbers of the selected trials, best-ranked first.
    weights : list of float
        Weight of each member (selection count over the ensemble size); they
        sum to 1.
    score : float
        The metric of the weighted out-of-fold predictions, on the rows where
        every pooled trial has a prediction. It was optimised on those same
        rows, so it is optimistic compared with a trial's score.
    path : list of float
        The metric of the running average after each greedy step.

    """

    members: list[int]
    weights: list[float]
    score: float
    path: list[float]

    def combine(self, predictions: Mapping[int, np.ndarray]) -> np.ndarray:
        """Weighted average of the members' predictions on new data.

        Parameters
        ----------
        predictions : mapping of int to numpy.ndarray
            Each member's predictions, keyed by trial number: ``(n, K)``
            probabilities for classification, ``(n,)`` values for regression.
            Keys of non-members are ignored.

        Returns
        -------
        numpy.ndarray
            The combined predictions (float64), of the members' shape.

        Raises
        ------
        KeyError
            If a member's predictions are missing.
        ValueError
            If the members' predictions differ in shape.

        """
        missing = [m for m in self.members if m not in predictions]
        if missing:
            raise KeyError(f"no predictions for ensemble member(s) {missing}")
        combined: np.ndarray | None = None
        for member, weight in zip(self.members, self.weights, strict=True):
            part = weight * np.asarray(predictions[member], dtype=np.float64)
            if combined is None:
                combined = part
            elif part.shape != combined.shape:
                raise ValueError(f"member {member} predicts shape {part.shape}, "
                                 f"expected {combined.shape}")
            else:
                combined = combined + part
        assert combined is not None  # an Ensemble always has a member
        return combined


@dataclass
class StackedEnsemble:
    """A linear model over members' predictions, fitted by :func:`stack`.

    Attributes
    ----------
    members : list of int
        Trial numbers whose predictions are the model's inputs, in input order.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    n_classes : int or None
        Number of classes (None for regression).
    model : object
        The fitted scikit-learn model (a scaler and a logistic regression, or
        a scaler and a ridge regression).
    score : float
        The metric of the model's cross-validated predictions on the rows
        where every member has an out-of-fold prediction.

    """

    members: list[int]
    task: str
    n_classes: int | None
    model: Any
    score: float

    def predict_matrix(
        self, member_predictions: Mapping[int, np.ndarray] | Sequence[np.ndarray]
    ) -> np.ndarray:
        """Predict from the members' predictions on new data.

        Parameters
        ----------
        member_predictions : mapping of int to numpy.ndarray, or sequence
            Each member's predictions, keyed by trial number, or a sequence in
            the order of :attr:`members`.

        Returns
        -------
        numpy.ndarray
            ``(n, n_classes)`` probabilities for classification, ``(n,)``
            values for regression.

        """
        if isinstance(member_predictions, Mapping):
            missing = [m for m in self.members if m not in member_predictions]
            if missing:
                raise KeyError(f"no predictions for stacked member(s) {missing}")
            parts = [member_predictions[m] for m in self.members]
        else:
            parts = list(member_predictions)
            if len(parts) != len(self.members):
                raise ValueError(f"expected predictions of {len(self.members)} members, "
                                 f"got {len(parts)}")
        features = _stack_features([np.asarray(p) for p in parts], self.task)
        return _stack_predict(self.model, features, self.task, self.n_classes)


def select_ensemble(
    records: Sequence[TrialRecord],
    y: np.ndarray,
    metric: Metric,
    *,
    max_models: int = 25,
    size: int = 50,
    device: str = "cpu",
    _backend: str | None = None,
) -> Ensemble:
    """Greedy ensemble selection with replacement over trials' out-of-fold predictions.

    Parameters
    ----------
    records : sequence of TrialRecord
        Finished trials. Those with status ``"ok"`` and out-of-fold
        predictions are candidates; the others are skipped.
    y : numpy.ndarray
        The training target: encoded labels ``0 .. K-1`` for classification,
        values for regression, aligned with the records' ``oof`` rows.
    metric : Metric
        The metric to optimise (its direction is respected).
    max_models : int, default=25
        The pool is the ``max_models`` best trials by score (ties: lower
        trial number first).
    size : int, default=50
        Number of greedy steps; the best prefix of the path is kept (ties go
        to the shorter prefix).
    device : str, default="cpu"
        ``"cpu"`` runs in numpy; ``"cuda"`` (or ``"cuda:N"``) in torch on
        that device; ``"auto"`` picks CUDA when torch sees one.
    _backend : {"numpy", "torch"} or None
        Internal: force a backend (``"torch"`` with ``device="cpu"`` runs the
        torch code on the CPU, for tests).

    Returns
    -------
    Ensemble
        Members, weights, score and greedy path.

    Raises
    ------
    ValueError
        If no trial qualifies, if the out-of-fold predictions do not match
        ``y`` or one another in shape, if no row has every pooled
        prediction, or if ``max_models`` or ``size`` is not positive.

    Notes
    -----
    Only the rows where every pooled trial has a finite prediction are used
    (a holdout validates a fraction of the rows; the rest are NaN). Each
    step scores every pool member as the next addition; candidates whose
    losses agree to a relative 1e-12 count as ties and the lower pool index
    wins, so the result is deterministic and the same on both backends.

    """
    if max_models < 1 or size < 1:
        raise ValueError(f"max_models and size must be positive, got {max_models} and {size}")
    pool_records = _pool(records, y, metric, max_models)
    y_rows, preds = _finite_rows(pool_records, y)
    backend, torch_device = _choose_backend(device, _backend)
    with warnings.catch_warnings():
        # float32 probabilities sum to 1 only to float32 precision; sklearn's log_loss
        # checks to float64 precision and would warn on every candidate
        warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")
        if backend == "torch":
            chosen, path = _greedy_torch(preds, y_rows, metric, size, torch_device)
        else:
            chosen, path = _greedy_numpy(preds, y_rows, metric, size)
    losses = np.array([_loss(metric, s) for s in path])
    steps = _first_best(losses) + 1
    counts = np.bincount(np.asarray(chosen[:steps]), minlength=len(pool_records))
    members = [pool_records[i].number for i in np.flatnonzero(counts)]
    weights = [float(counts[i] / steps) for i in np.flatnonzero(counts)]
    # the running average after ``steps`` steps is the weighted average, so the
    # score is the path's entry (computed by ``metric`` on numpy in both backends)
    return Ensemble(members=members, weights=weights, score=float(path[steps - 1]),
                    path=[float(s) for s in path])


def stack(
    records: Sequence[TrialRecord],
    y: np.ndarray,
    metric: Metric,
    task: str,
    seed: int,
    *,
    max_models: int = 25,
    n_splits: int = 5,
) -> StackedEnsemble:
    """Fit a regularised linear model on the pooled trials' out-of-fold predictions.

    Classification uses a logistic regression on the standardised
    log-probabilities of every member; regression a ridge regression
    (:class:`~sklearn.linear_model.RidgeCV`, its penalty chosen by
    leave-one-out) on the standardised predictions.

    Parameters
    ----------
    records : sequence of TrialRecord
        Finished trials; the pool is chosen as in :func:`select_ensemble`.
    y : numpy.ndarray
        The training target, aligned with the records' ``oof`` rows.
    metric : Metric
        The metric reported as :attr:`StackedEnsemble.score`.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    seed : int
        Seed of the inner cross-validation's shuffling.
    max_models : int, default=25
        Size of the pool of best trials.
    n_splits : int, default=5
        Folds of the inner cross-validation (fewer when the data are too few).

    Returns
    -------
    StackedEnsemble
        The model refitted on all usable rows, with its cross-validated score
        (a fair comparison for a trial's score; the greedy ensemble's score is
        optimistic, having been optimised on the same rows).

    Raises
    ------
    ValueError
        As :func:`select_ensemble`, and for an unknown task or fewer than two
        usable rows.

    """
    from sklearn.model_selection import KFold, StratifiedKFold

    if task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"unknown task {task!r}")
    if max_models < 1:
        raise ValueError(f"max_models must be positive, got {max_models}")
    pool_records = _pool(records, y, metric, max_models)
    y_rows, preds = _finite_rows(pool_records, y)
    if len(y_rows) < 2:
        raise ValueError("stacking needs at least two rows with every member's prediction")
    features = _stack_features(list(preds), task)
    classification = task != "regression"
    n_classes = int(preds.shape[2]) if classification else None
    if classification:
        y_rows = y_rows.astype(np.int64)
        least = int(np.bincount(y_rows)[np.unique(y_rows)].min())
        folds: Any = StratifiedKFold(max(2, min(n_splits, least)), shuffle=True,
                                     random_state=seed)
        cv_pred = np.zeros((len(y_rows), n_classes))
    else:
        folds = KFold(max(2, min(n_splits, len(y_rows))), shuffle=True, random_state=seed)
        cv_pred = np.zeros(len(y_rows))
    for train, test in folds.split(features, y_rows):
        model = _stack_fit(features[train], y_rows[train], task)
        cv_pred[test] = _stack_predict(model, features[test], task, n_classes)
    model = _stack_fit(features, y_rows, task)
    return StackedEnsemble(members=[r.number for r in pool_records], task=task,
                           n_classes=n_classes, model=model,
                           score=float(metric(y_rows, cv_pred)))


# -- pool --------------------------------------------------------------------------------------


def _pool(records: Sequence[TrialRecord], y: np.ndarray, metric: Metric,
          max_models: int) -> list[TrialRecord]:
    """Pick the ``max_models`` best successful trials with out-of-fold predictions."""
    n = len(y)
    usable = [r for r in records if r.status == "ok" and r.oof is not None]
    if not usable:
        raise ValueError("no successful trial with out-of-fold predictions to ensemble")

    def rank(record: TrialRecord) -> tuple[float, int]:
        score = record.score
        loss = math.inf if score is None else _loss(metric, score)
        return loss, record.number

    pool = sorted(usable, key=rank)[:max_models]
    shape = np.shape(pool[0].oof)
    for record in pool:
        oof = np.asarray(record.oof)
        if oof.ndim == 0 or oof.shape[0] != n:
            raise ValueError(f"trial {record.number} has out-of-fold shape {oof.shape}, "
                             f"y has {n} rows")
        if oof.shape != shape:
            raise ValueError(f"trial {record.number} has out-of-fold shape {oof.shape}, "
                             f"trial {pool[0].number} has {shape}")
    return pool


def _finite_rows(pool: Sequence[TrialRecord], y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and the stacked predictions ``(m, rows, ...)`` on rows every member predicts."""
    preds = np.stack([np.asarray(r.oof) for r in pool])
    finite = np.isfinite(preds).reshape(len(pool), preds.shape[1], -1).all(axis=(0, 2))
    if not finite.any():
        raise ValueError("no row has an out-of-fold prediction from every pooled trial")
    return np.asarray(y)[finite], preds[:, finite]


# -- greedy selection --------------------------------------------------------------------------


def _loss(metric: Metric, score: float) -> float:
    """Turn a score into a loss, NaN counting as the worst."""
    return math.inf if math.isnan(score) else metric.to_loss(score)


def _first_best(losses: np.ndarray) -> int:
    """Index of the first loss within the tie tolerance of the minimum."""
    best = float(np.min(losses))
    if not math.isfinite(best):
        return 0
    return int(np.flatnonzero(losses <= best + _TIE_RTOL * max(1.0, abs(best)))[0])


def _greedy_numpy(preds: np.ndarray, y: np.ndarray, metric: Metric,
                  size: int) -> tuple[list[int], list[float]]:
    """Greedy selection in numpy: the pool indices chosen and the score after each step."""
    total = np.zeros(preds.shape[1:], dtype=np.float64)
    chosen: list[int] = []
    path: list[float] = []
    for step in range(1, size + 1):
        scores = [metric(y, (total + preds[j]) / step) for j in range(len(preds))]
        j = _first_best(np.array([_loss(metric, s) for s in scores]))
        total += preds[j]
        chosen.append(j)
        path.append(scores[j])
    return chosen, path


def _greedy_torch(preds: np.ndarray, y: np.ndarray, metric: Metric, size: int,
                  device: str) -> tuple[list[int], list[float]]:
    """Greedy selection with torch arithmetic on ``device``; same contract as numpy's."""
    import torch

    pool = torch.as_tensor(preds, device=device)
    total = torch.zeros(preds.shape[1:], dtype=torch.float64, device=device)
    vectorised = _TORCH_METRICS.get(metric.name)
    y_t = None
    if vectorised is not None:
        kind, func = vectorised
        dtype = torch.int64 if kind == "classification" else torch.float64
        y_t = torch.as_tensor(np.asarray(y), device=device).to(dtype)
    per_row = max(1, math.prod(preds.shape[1:]))
    chunk = max(1, _TORCH_CHUNK_ELEMENTS // per_row)
    sign = -1.0 if metric.greater_is_better else 1.0
    chosen: list[int] = []
    path: list[float] = []
    for step in range(1, size + 1):
        losses: list[float] = []
        for start in range(0, len(preds), chunk):
            averages = (total.unsqueeze(0) + pool[start:start + chunk]) / step
            if vectorised is not None:
                scores = func(y_t, averages).cpu().numpy()
                losses.extend(math.inf if math.isnan(s) else sign * float(s) for s in scores)
            else:
                host = averages.cpu().numpy()
                losses.extend(_loss(metric, metric(y, a)) for a in host)
        j = _first_best(np.array(losses))
        total += pool[j]
        chosen.append(j)
        # the path is scored by the metric itself, on the numpy average, as on the numpy path
        path.append(metric(y, (total / step).cpu().numpy()))
    return chosen, path


def _choose_backend(device: str, forced: str | None) -> tuple[str, str]:
    """Pick the backend (``"numpy"`` or ``"torch"``) and the torch device for ``device``."""
    if forced not in (None, "numpy", "torch"):
        raise ValueError(f"unknown backend {forced!r}")
    resolved = _resolve_device(device)
    if forced is not None:
        return forced, resolved
    return ("torch" if resolved.startswith("cuda") else "numpy"), resolved


def _resolve_device(device: str) -> str:
    """``"cpu"`` or a CUDA device string; imports torch only when CUDA may be present."""
    if device == "cpu":
        return "cpu"
    if device == "auto":
        if "torch" not in sys.modules and not _gpu_driver_visible():
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but torch sees no CUDA device")
        return device
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")


def _gpu_driver_visible() -> bool:
    """Whether a GPU driver is visible, so that importing torch to check is worthwhile."""
    if sys.platform == "win32":
        return True
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia/version", "/dev/nvidiactl",
                                           "/dev/kfd"))


# -- torch-vectorised metrics: (c, n, ...) candidate averages -> (c,) scores -------------------


def _t_accuracy(y: torch.Tensor, proba: torch.Tensor) -> torch.Tensor:
    return (proba.argmax(dim=-1) == y).to(proba.dtype).mean(dim=-1)


def _t_log_loss(y: torch.Tensor, proba: torch.Tensor) -> torch.Tensor:
    # as automl.metrics: clip to [1e-15, 1], then sklearn's float64 [eps, 1 - eps]
    eps = float(np.finfo(np.float64).eps)
    index = y.view(1, -1, 1).expand(proba.shape[0], -1, 1)
    picked = proba.gather(-1, index).squeeze(-1).clamp(1e-15, 1.0 - eps)
    return -picked.log().mean(dim=-1)


def _t_rmse(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return ((y - pred) ** 2).mean(dim=-1).sqrt()


def _t_mae(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    return (y - pred).abs().mean(dim=-1)


def _t_r2(y: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    # as sklearn's r2_score with force_finite: a perfect fit is 1, a constant target 0
    ss_res = ((y - pred) ** 2).sum(dim=-1)
    ss_tot = ((y - y.mean()) ** 2).sum()
    if float(ss_tot) == 0.0:
        return (ss_res == 0).to(pred.dtype)
    r2 = 1.0 - ss_res / ss_tot
    return r2.masked_fill(ss_res == 0, 1.0)


_TORCH_METRICS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "accuracy": ("classification", _t_accuracy),
    "log_loss": ("classification", _t_log_loss),
    "rmse": ("regression", _t_rmse),
    "mae": ("regression", _t_mae),
    "r2": ("regression", _t_r2),
}
"""Built-in metrics vectorised over candidates; others go through numpy one by one."""


# -- stacking ----------------------------------------------------------------------------------


def _stack_features(parts: Sequence[np.ndarray], task: str) -> np.ndarray:
    """Columns of the stacking model: members' log-probabilities, or their predictions."""
    if task == "regression":
        return np.column_stack([np.asarray(p, dtype=np.float64).ravel() for p in parts])
    return np.hstack([np.log(np.clip(np.asarray(p, dtype=np.float64), _LOG_CLIP, 1.0))
                      for p in parts])


def _stack_fit(features: np.ndarray, y: np.ndarray, task: str) -> Any:
    """Fit the stacking model (a class prior when only one class is present)."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "regression":
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    elif len(np.unique(y)) < 2:
        model = DummyClassifier(strategy="prior")
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    return model.fit(features, y)


def _stack_predict(model: Any, features: np.ndarray, task: str,
                   n_classes: int | None) -> np.ndarray:
    """Predictions of a stacking model, probabilities spread over all ``n_classes``."""
    if task == "regression":
        return np.asarray(model.predict(features), dtype=np.float64)
    assert n_classes is not None
    proba = np.zeros((len(features), n_classes))
    proba[:, np.asarray(model.classes_, dtype=np.int64)] = model.predict_proba(features)
    return proba
