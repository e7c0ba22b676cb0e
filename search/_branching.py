"""One Gaussian process per choice of a root categorical (private).

A joined space such as the AutoML engine's (a root ``model`` with one branch of
parameters per model) has too many branches for one stationary kernel, yet
each branch alone is small. :class:`BranchGP` fits an independent GP to the
trials of every branch, over the GP inputs that branch can activate, and
dispatches each query point to the GP of its branch. Unlike a tree ensemble,
it knows where a branch is unexplored: a model tried only at its two
defaults is uncertain elsewhere along its parameters, and a model whose one
parameter has been tried all along its range is not (trees predict a branch
with two trials as a constant). All branches share the standardised targets,
so their expected improvements over the one incumbent compare directly.

A branch without trials predicts the prior: mean 0 (the mean of the
standardised targets) and variance 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from search._encoding import CubeEncoder
from search._gp import _NOISE_PRIOR, GaussianProcess, _length_prior, fit_gp
from search.parameters import Categorical

__all__ = ["BranchGP", "BranchLayout", "branch_layout", "fit_branch_gp"]

_PRIOR_MEAN, _PRIOR_VAR = 0.0, 1.0


@dataclass(frozen=True)
class BranchLayout:
    """Which GP inputs belong to which branch of the root categorical.

    Attributes
    ----------
    root : int
        Index of the root parameter in the space.
    root_columns : numpy.ndarray
        Its one-hot columns in :meth:`CubeEncoder.gp_features`.
    columns : tuple of numpy.ndarray
        Per choice of the root, the other columns it can activate.
    sizes : tuple of int
        Per choice of the root, the number of other parameters it can activate.
    """

    root: int
    root_columns: np.ndarray
    columns: tuple[np.ndarray, ...]
    sizes: tuple[int, ...]

    def branch_of(self, X: np.ndarray) -> np.ndarray:
        """Return the branch (root choice index) of each row of GP inputs."""
        return np.argmax(np.atleast_2d(X)[:, self.root_columns], axis=1)

    def inputs(self, X: np.ndarray, b: int) -> np.ndarray:
        """Return the inputs of branch ``b``'s GP: its columns of ``X`` (2-D).

        A branch without parameters gets one constant column.
        """
        X = np.atleast_2d(X)
        cols = self.columns[b]
        return X[:, cols] if len(cols) else np.zeros((len(X), 1))


def branch_layout(encoder: CubeEncoder) -> BranchLayout | None:
    """Find the root categorical that every conditional parameter hangs from.

    Parameters
    ----------
    encoder : CubeEncoder
        The encoder of the space.

    Returns
    -------
    BranchLayout or None
        ``None`` unless exactly one unconditional Categorical is a parent of
        conditions (directly or through other parameters) and every other
        parent of conditions descends from it.
    """
    space = encoder.space
    parents = {parent for p in space for parent in p.parents}
    roots = [name for name in parents if not space[name].parents]
    if len(roots) != 1 or not isinstance(space[roots[0]], Categorical):
        return None
    root = space[roots[0]]
    index = {name: i for i, name in enumerate(space.names)}

    def possible(name: str, choice: object) -> bool:
        """Whether ``name`` can be active when the root takes ``choice``."""
        for parent, allowed in space[name].when.items():
            if parent == root.name:
                if choice not in allowed:
                    return False
            elif not possible(parent, choice):
                return False
        return True

    columns, sizes = [], []
    for choice in root.choices:
        cols = [encoder.columns_of(index[p.name]) for p in space
                if p.name != root.name and possible(p.name, choice)]
        columns.append(np.concatenate(cols) if cols else np.zeros(0, dtype=int))
        sizes.append(len(cols))
    return BranchLayout(index[root.name], encoder.columns_of(index[root.name]),
                        tuple(columns), tuple(sizes))


def _prior_gp(X: np.ndarray, y: np.ndarray) -> GaussianProcess:
    """A GP at the prior median of the hyperparameters (for fantasies in empty branches)."""
    return GaussianProcess(
        X, y, np.full(X.shape[1], math.exp(_length_prior(X.shape[1])[0])), _PRIOR_VAR,
        math.exp(_NOISE_PRIOR[0]), _PRIOR_MEAN,
    )


@dataclass
class BranchGP:
    """Independent GPs per branch behind the interface of :class:`GaussianProcess`.

    Build it with :func:`fit_branch_gp`.

    Parameters
    ----------
    layout : BranchLayout
        The branches' columns.
    gps : list of GaussianProcess or None
        One per branch; ``None`` for a branch without trials.
    X : numpy.ndarray
        All inputs (full GP features), shape ``(n, D)``.
    y : numpy.ndarray
        All targets, shape ``(n,)``.
    """

    layout: BranchLayout
    gps: list[GaussianProcess | None]
    X: np.ndarray
    y: np.ndarray
    _branch: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._branch = self.layout.branch_of(self.X) if len(self.X) else np.zeros(0, int)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the posterior mean and latent variance of each row's branch.

        Parameters
        ----------
        X : numpy.ndarray
            Full GP features, shape ``(m, D)``.

        Returns
        -------
        mean, var : numpy.ndarray
            Each of shape ``(m,)``.
        """
        mean = np.full(len(X), _PRIOR_MEAN)
        var = np.full(len(X), _PRIOR_VAR)
        branch = self.layout.branch_of(X)
        for b, gp in enumerate(self.gps):
            rows = np.flatnonzero(branch == b)
            if gp is not None and len(rows):
                mean[rows], var[rows] = gp.predict(self.layout.inputs(X[rows], b))
        return mean, var

    def predict_with_grad(
        self, x: np.ndarray
    ) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Return mean, variance and their gradients at one point (full GP features).

        Parameters
        ----------
        x : numpy.ndarray
            Shape ``(D,)``.

        Returns
        -------
        mean, var : float
            Posterior mean and latent variance of the point's branch.
        dmean, dvar : numpy.ndarray
            Gradients with respect to ``x``, shape ``(D,)`` (zero outside the branch).
        """
        b = int(self.layout.branch_of(x)[0])
        dmean, dvar = np.zeros(len(x)), np.zeros(len(x))
        gp = self.gps[b]
        if gp is None:
            return _PRIOR_MEAN, _PRIOR_VAR, dmean, dvar
        mean, var, dm, dv = gp.predict_with_grad(self.layout.inputs(x, b)[0])
        cols = self.layout.columns[b]
        if len(cols):
            dmean[cols], dvar[cols] = dm, dv
        return mean, var, dmean, dvar

    def condition_on(self, X: np.ndarray, y: np.ndarray) -> BranchGP:
        """Return the GPs with extra points, each branch keeping its hyperparameters.

        Parameters
        ----------
        X : numpy.ndarray
            Extra full GP features, shape ``(m, D)``.
        y : numpy.ndarray
            Extra targets, shape ``(m,)``.

        Returns
        -------
        BranchGP
            The conditioned GPs; an empty branch that gets points gets a GP
            at the prior median of the hyperparameters.
        """
        branch = self.layout.branch_of(X)
        gps = list(self.gps)
        for b in np.unique(branch):
            rows = branch == b
            Xb, yb = self.layout.inputs(X[rows], b), y[rows]
            gp = gps[b]
            gps[b] = _prior_gp(Xb, yb) if gp is None else gp.condition_on(Xb, yb)
        return BranchGP(self.layout, gps, np.vstack([self.X, X]), np.concatenate([self.y, y]))


def fit_branch_gp(
    layout: BranchLayout, X: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> BranchGP:
    """Fit one GP (hyperparameters by MAP, :func:`fit_gp`) to the trials of each branch.

    Parameters
    ----------
    layout : BranchLayout
        The branches' columns.
    X : numpy.ndarray
        Full GP features, shape ``(n, D)``.
    y : numpy.ndarray
        Standardised targets, shape ``(n,)``.
    rng : numpy.random.Generator
        Draws the GPs' starting points (branches in order).

    Returns
    -------
    BranchGP
        The fitted GPs.
    """
    branch = layout.branch_of(X)
    gps: list[GaussianProcess | None] = []
    for b in range(len(layout.columns)):
        rows = np.flatnonzero(branch == b)
        gps.append(fit_gp(layout.inputs(X[rows], b), y[rows], rng) if len(rows) else None)
    return BranchGP(layout, gps, X, y)
