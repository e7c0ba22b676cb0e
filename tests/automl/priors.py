"""A class-prior classifier for engine tests: a fit that takes microseconds, with hooks.

Tests subclass it to make a fit do something on purpose (sleep, allocate, log,
hang) while the predictions stay a known, cheap value.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class ClassPrior(ClassifierMixin, BaseEstimator):
    """Predicts its training rows' class frequencies, pulled toward uniform a share."""

    def toward_uniform(self) -> float:
        """How far the prediction is pulled toward uniform (0: the frequencies)."""
        return 0.0

    def before_fit(self, X, y) -> None:
        """What the fit does first (nothing here)."""

    def fit(self, X, y):
        self.before_fit(X, y)
        self.classes_, counts = np.unique(y, return_counts=True)
        share = self.toward_uniform()
        self.prior_ = (1 - share) * counts / counts.sum() + share / len(counts)
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))
