"""Candidate proposals for Bayesian optimisation (private).

The acquisition optimiser of :class:`search.BayesianSearch`: candidates are
Sobol points of the unit cube plus perturbations of the best observed points
at several step sizes (all snapped to canonical codes of valid
configurations); a GP's best few are refined by L-BFGS-B on log-EI over their
active numeric codes (analytic gradients), a tree ensemble's by two rounds of
local perturbation. Also here: the warping of targets before a surrogate is
fitted, and the near-repeat test used with trees.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np

from search._acquisition import log_ei, log_ei_with_grad, maximize_from_starts, top_distinct
from search._branching import BranchGP
from search._encoding import CubeEncoder
from search._gp import GaussianProcess

__all__ = [
    "candidates",
    "local_search",
    "near",
    "perturb",
    "refine_gp",
    "score",
    "transform_targets",
]

_STEPS = (0.01, 0.05, 0.2)  # perturbation sizes of observed points, fine to coarse


def score(model: Any, x: np.ndarray, target: float) -> np.ndarray:
    """Return log-EI below ``target`` of a surrogate at surrogate inputs ``x``.

    Parameters
    ----------
    model : GaussianProcess, BranchGP or ForestSurrogate
        Anything with ``predict(x) -> (mean, var)``.
    x : numpy.ndarray
        Surrogate inputs, shape ``(m, D)``.
    target : float
        The value to improve on.

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)``.

    """
    mean, var = model.predict(x)
    return log_ei(mean, np.sqrt(var), target)


def perturb(
    encoder: CubeEncoder, rng: np.random.Generator, U: np.ndarray, scale: float | None
) -> np.ndarray:
    """Move a few coordinates of each row: numeric by a Gaussian step, categorical anew.

    Parameters
    ----------
    encoder : CubeEncoder
        Tells which coordinates are categorical.
    rng : numpy.random.Generator
        Source of the moves.
    U : numpy.ndarray
        Points of the cube, shape ``(m, d)``.
    scale : float or None
        Standard deviation of the steps; ``None`` mixes 0.01, 0.05 and 0.2.

    Returns
    -------
    numpy.ndarray
        The moved points, clipped to the cube.

    """
    m, d = U.shape
    mask = rng.random((m, d)) < min(1.0, 3.0 / d)
    mask[np.arange(m), rng.integers(d, size=m)] = True
    if scale is None:
        steps = np.array(_STEPS)[rng.integers(len(_STEPS), size=(m, 1))]
    else:
        steps = np.full((m, 1), scale)
    moved = U + steps * rng.standard_normal((m, d))
    cat = encoder.categorical
    moved[:, cat] = rng.random((m, len(cat)))
    return np.clip(np.where(mask, moved, U), 0.0, 1.0)


def candidates(
    encoder: CubeEncoder,
    rng: np.random.Generator,
    codes: np.ndarray,
    y: np.ndarray,
    *,
    n_sobol: int,
    n_top: int,
    n_local: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Return Sobol points plus perturbations of the best observed points, canonical.

    Parameters
    ----------
    encoder : CubeEncoder
        The space's encoder.
    rng : numpy.random.Generator
        Scrambles the Sobol points and draws the perturbations.
    codes, y : numpy.ndarray
        Observed codes, shape ``(n, d)``, and their (transformed) targets.
    n_sobol : int
        Sobol points (a power of two).
    n_top, n_local : int
        Perturbations: ``n_local`` of each of the ``n_top`` best observed points.

    Returns
    -------
    codes, active : numpy.ndarray
        Canonical codes and activity of the candidates.

    """
    from scipy.stats import qmc  # slow to import: load on first use

    sobol = qmc.Sobol(codes.shape[1], scramble=True, seed=rng).random_base2(
        int(math.log2(n_sobol))
    )
    top = codes[np.argsort(y, kind="stable")[:n_top]]
    local = perturb(encoder, rng, np.repeat(top, n_local, axis=0), scale=None)
    return encoder.canonical(np.vstack([sobol, local]))


def _log_ei_at(
    z: np.ndarray,
    gp: GaussianProcess | BranchGP,
    target: float,
    base: np.ndarray,
    cols: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Log-EI and its gradient in the columns ``cols`` of the GP input ``base``."""
    x = base.copy()
    x[cols] = z
    mean, var, dmean, dvar = gp.predict_with_grad(x)
    std = math.sqrt(var)
    value, d_mean, d_std = log_ei_with_grad(mean, std, target)
    grad = d_mean * dmean + d_std * dvar / (2.0 * std)
    return value, grad[cols]


def refine_gp(
    encoder: CubeEncoder,
    gp: GaussianProcess | BranchGP,
    target: float,
    codes: np.ndarray,
    active: np.ndarray,
    scores: np.ndarray,
    n_starts: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refine the best distinct candidates by L-BFGS-B on their active numeric codes.

    Parameters
    ----------
    encoder : CubeEncoder
        The space's encoder.
    gp : GaussianProcess or BranchGP
        The surrogate (on :meth:`CubeEncoder.gp_features`).
    target : float
        The value to improve on.
    codes, active, scores : numpy.ndarray
        Candidates and their log-EI.
    n_starts : int
        Candidates refined.

    Returns
    -------
    codes, active, scores : numpy.ndarray
        The refined points, snapped to canonical codes, and their log-EI.

    """
    refined = []
    for j in top_distinct(scores, codes, n_starts):
        row = codes[j].copy()
        on = active[j, encoder.numeric]
        dims = encoder.numeric[on]
        if len(dims):
            base = encoder.gp_features(codes[j : j + 1], active[j : j + 1])[0]
            fun = partial(
                _log_ei_at, gp=gp, target=target, base=base, cols=encoder.numeric_columns[on]
            )
            [row[dims]], _ = maximize_from_starts(fun, row[None, dims])
        refined.append(row)
    new_codes, new_active = encoder.canonical(np.array(refined))
    return new_codes, new_active, score(gp, encoder.gp_features(new_codes, new_active), target)


def local_search(
    encoder: CubeEncoder,
    model: Any,
    target: float,
    rng: np.random.Generator,
    codes: np.ndarray,
    scores: np.ndarray,
    *,
    n_top: int,
    n_local: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two rounds of perturbing the best candidates (trees have no gradient).

    Parameters
    ----------
    encoder : CubeEncoder
        The space's encoder.
    model : ForestSurrogate
        The surrogate (on :meth:`CubeEncoder.tree_features`).
    target : float
        The value to improve on.
    rng : numpy.random.Generator
        Draws the perturbations.
    codes, scores : numpy.ndarray
        Candidates and their log-EI.
    n_top, n_local : int
        Each round perturbs the ``n_top`` best points ``n_local`` times each.

    Returns
    -------
    codes, active, scores : numpy.ndarray
        Every point tried, and its log-EI.

    """
    pool_codes, pool_scores = codes, scores
    found_codes, found_active, found_scores = [], [], []
    for scale in (0.1, 0.02):
        order = np.argsort(-pool_scores, kind="stable")[:n_top]
        top, top_scores = pool_codes[order], pool_scores[order]
        new_codes, new_active = encoder.canonical(
            perturb(encoder, rng, np.repeat(top, n_local, axis=0), scale)
        )
        new_scores = score(model, encoder.tree_features(new_codes, new_active), target)
        found_codes.append(new_codes)
        found_active.append(new_active)
        found_scores.append(new_scores)
        pool_codes = np.vstack([top, new_codes])
        pool_scores = np.concatenate([top_scores, new_scores])
    return np.vstack(found_codes), np.vstack(found_active), np.concatenate(found_scores)


def near(
    code: np.ndarray,
    active: np.ndarray,
    codes: np.ndarray,
    actives: np.ndarray,
    categorical: np.ndarray,
    gap: float,
) -> bool:
    """Whether a point repeats one of ``codes`` up to ``gap`` in every numeric code.

    Parameters
    ----------
    code, active : numpy.ndarray
        The point's canonical codes and activity, shape ``(d,)``.
    codes, actives : numpy.ndarray
        Earlier points, shape ``(n, d)``.
    categorical : numpy.ndarray
        Indices of the categorical coordinates (these must match exactly).
    gap : float
        Largest difference of a numeric code that still counts as the same.

    Returns
    -------
    bool
        True when some earlier point has the same active parameters, the same
        categories and every numeric code within ``gap``.

    """
    if not len(codes):
        return False
    diff = np.abs(codes - code)
    same = (actives == active).all(1) & (diff <= gap).all(1)
    if len(categorical):
        same &= (diff[:, categorical] < 1e-9).all(1)
    return bool(same.any())

def transform_targets(y: np.ndarray) -> np.ndarray:
    """Warp and standardise targets: robust scaling, Yeo-Johnson, then z-scores.

    Scaling by the median and the interquartile range keeps one huge loss
    from squashing the others; the Yeo-Johnson power (its exponent fitted by
    maximum likelihood, clipped to [-2, 2]) makes skewed, heavy-tailed values
    closer to normal, as a GP assumes.

    Parameters
    ----------
    y : numpy.ndarray
        Finite objective values, shape ``(n,)``.

    Returns
    -------
    numpy.ndarray
        Warped values with mean 0 and standard deviation 1 (or all 0).
    """
    from scipy.stats import yeojohnson, yeojohnson_normmax

    q25, q50, q75 = np.percentile(y, [25, 50, 75])
    scale = (q75 - q25) / 1.349  # the IQR of a standard normal
    if not scale > 0:
        scale = y.std()
    z = (y - q50) / (scale if scale > 0 else 1.0)
    if z.std() > 0:
        z = yeojohnson(z, float(np.clip(yeojohnson_normmax(z), -2.0, 2.0)))
    std = z.std()
    return (z - z.mean()) / (std if std > 0 else 1.0)
