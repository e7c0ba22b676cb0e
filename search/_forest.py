"""A tree-ensemble surrogate with tree-variance uncertainty, as in SMAC (private)."""

from __future__ import annotations

import numpy as np

__all__ = ["ForestSurrogate"]


class ForestSurrogate:
    """Extremely randomised trees on bootstrap samples; spread of trees as uncertainty.

    Parameters
    ----------
    X : numpy.ndarray
        Inputs, shape ``(n, d)`` (codes with inactive parameters at -1).
    y : numpy.ndarray
        Standardised targets, shape ``(n,)``.
    seed : int
        Seed of the trees.
    n_trees : int, default 32
        Number of trees.

    """

    def __init__(self, X: np.ndarray, y: np.ndarray, seed: int, n_trees: int = 32) -> None:
        from sklearn.ensemble import ExtraTreesRegressor  # only when the fallback is used

        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.seed = seed
        self.n_trees = n_trees
        self._model = ExtraTreesRegressor(
            n_estimators=n_trees,
            min_samples_leaf=1,
            min_samples_split=3,
            max_features=1.0,
            bootstrap=True,
            random_state=seed,
            n_jobs=1,
        ).fit(self.X, self.y)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and variance across trees.

        Parameters
        ----------
        X : numpy.ndarray
            Shape ``(m, d)``.

        Returns
        -------
        mean, var : numpy.ndarray
            Each of shape ``(m,)``; ``var`` is at least 1e-6 (the trees
            may agree on a point, yet the function is not known exactly).

        """
        # the trees' own arrays, skipping sklearn's per-call input validation (the
        # bulk of the time when scoring thousands of candidates many times)
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        per_tree = np.stack([
            tree.tree_.predict(X32).reshape(len(X32), -1)[:, 0]
            for tree in self._model.estimators_
        ])
        return per_tree.mean(0), np.maximum(per_tree.var(0), 1e-6)

    def condition_on(self, X: np.ndarray, y: np.ndarray) -> ForestSurrogate:
        """Return a surrogate refitted with extra points.

        Parameters
        ----------
        X : numpy.ndarray
            Extra inputs, shape ``(m, d)``.
        y : numpy.ndarray
            Extra targets, shape ``(m,)``.

        Returns
        -------
        ForestSurrogate
            The refitted surrogate (same seed).

        """
        return ForestSurrogate(
            np.vstack([self.X, X]), np.concatenate([self.y, y]), self.seed, self.n_trees
        )
