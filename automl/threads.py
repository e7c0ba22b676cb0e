"""Thread caps for OpenMP/BLAS-bound estimators.

:class:`ThreadLimited` caps the native thread pools an estimator uses in
``fit`` and ``predict`` (``HistGradientBoosting*``, kNN and linear solvers
have no ``n_jobs`` that covers them); :func:`suggested_threads` says how many
threads are worth using on a table of a given size. Both are re-exported by
:mod:`automl.preprocessing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:
    from automl.specs import Context

__all__ = ["ThreadLimited", "suggested_threads"]


def suggested_threads(ctx: Context, *, cells_per_thread: int = 250_000) -> int:
    """Threads worth giving an OpenMP/BLAS-bound model on the table of ``ctx``.

    On small tables the cost of waking and synchronising threads exceeds
    the work shared out: scikit-learn's histogram gradient boosting can be
    many times slower with several threads than with one (scikit-learn
    issue #30662), and on a busy machine spinning OpenMP threads make it
    worse still. This gives one thread per ``cells_per_thread`` cells of
    the table, at least one and at most ``ctx.n_threads``.

    Parameters
    ----------
    ctx : automl.specs.Context
        Gives ``n_rows``, ``n_features`` and the cap ``n_threads``.
    cells_per_thread : int, default=250_000
        Table cells (rows x features) that justify one more thread.

    Returns
    -------
    int
        Between 1 and ``ctx.n_threads``.

    """
    cells = max(int(ctx.n_rows), 0) * max(int(ctx.n_features), 1)
    return max(1, min(int(ctx.n_threads), cells // max(int(cells_per_thread), 1)))


def _inner_has(attr: str) -> Any:
    def check(self: ThreadLimited) -> bool:
        inner = getattr(self, "estimator_", self.estimator)
        return hasattr(inner, attr)

    return check


class ThreadLimited(MetaEstimatorMixin, BaseEstimator):
    """Run an estimator's ``fit`` and ``predict*`` under a thread cap.

    ``HistGradientBoosting*``, the kNN distance kernels and BLAS-backed
    solvers start as many OpenMP/BLAS threads as there are cores, whatever
    their ``n_jobs``. This wrapper limits them with ``threadpoolctl`` so a
    model never uses more threads than ``Context.n_threads`` allows. It is
    otherwise transparent: ``classes_``, ``predict_proba`` and the
    estimator type (classifier or regressor) are those of the wrapped
    estimator.

    Parameters
    ----------
    estimator : estimator
        The scikit-learn compatible estimator to run; cloned in ``fit``.
    n_threads : int, default=1
        Most threads the native thread pools may use.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.

    """

    def __init__(self, estimator: Any, n_threads: int = 1) -> None:
        self.estimator = estimator
        self.n_threads = n_threads

    def _limits(self) -> Any:
        from threadpoolctl import threadpool_limits

        if not isinstance(self.n_threads, int | np.integer) or self.n_threads < 1:
            raise ValueError(f"n_threads must be a positive integer, got {self.n_threads!r}")
        return threadpool_limits(limits=int(self.n_threads))

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> ThreadLimited:
        """Fit a clone of ``estimator`` under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Training data.
        y : array-like, optional
            Targets.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        ThreadLimited
            This fitted wrapper.

        """
        estimator = clone(self.estimator)
        with self._limits():
            estimator.fit(X, y, **fit_params)
        self.estimator_ = estimator
        if hasattr(estimator, "n_features_in_"):
            self.n_features_in_ = estimator.n_features_in_
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the fitted estimator under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to predict.

        Returns
        -------
        ndarray
            The wrapped estimator's predictions.

        """
        check_is_fitted(self, "estimator_")
        with self._limits():
            return self.estimator_.predict(X)

    @available_if(_inner_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities under the thread cap, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to predict.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The wrapped estimator's probabilities.

        """
        check_is_fitted(self, "estimator_")
        with self._limits():
            return self.estimator_.predict_proba(X)

    @available_if(_inner_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision scores under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to score.

        Returns
        -------
        ndarray
            The wrapped estimator's decision function.

        """
        check_is_fitted(self, "estimator_")
        with self._limits():
            return self.estimator_.decision_function(X)

    @available_if(_inner_has("score"))
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Score of the fitted estimator (accuracy, R^2, ...) under the thread cap.

        Parameters
        ----------
        X : array-like or DataFrame
            Data to score.
        y : array-like
            True targets.
        sample_weight : array-like, optional
            Row weights, passed on when given.

        Returns
        -------
        float
            The wrapped estimator's ``score``.

        """
        check_is_fitted(self, "estimator_")
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        with self._limits():
            return self.estimator_.score(X, y, **kwargs)

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of the fitted estimator, in ``predict_proba`` column order."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.classes_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        return tags
