"""Expected improvement in log space, stable far into the tails (private).

Follows Ament et al. (2023), "Unexpected Improvements to Expected
Improvement for Bayesian Optimization": for minimisation,
``EI = sigma * h(z)`` with ``z = (best - mean) / sigma`` and
``h(z) = phi(z) + z * Phi(z)``; ``log h`` is computed with ``erfcx`` and
``log1mexp`` where the direct formula would underflow, so the acquisition
keeps a useful gradient where plain EI is numerically zero.

:func:`maximize_from_starts` is the local step of the acquisition optimiser:
L-BFGS-B from the best few of many scored candidates, as BoTorch does after
scoring raw samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

__all__ = ["log_ei", "log_ei_with_grad", "maximize_from_starts", "top_distinct"]

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
_TAIL = -1.0 / math.sqrt(np.finfo(float).eps)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for ``x < 0``, accurately."""
    return np.where(
        x > -math.log(2.0),
        np.log(-np.expm1(np.minimum(x, -1e-300))),
        np.log1p(-np.exp(np.minimum(x, 0.0))),
    )


def log_h(z: np.ndarray) -> np.ndarray:
    """Return ``log(phi(z) + z * Phi(z))`` without underflow.

    Parameters
    ----------
    z : numpy.ndarray
        Standardised improvements.

    Returns
    -------
    numpy.ndarray
        Same shape as ``z``.

    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _C1) + zu * ndtr(zu))
    mid = (~upper) & (z > _TAIL)
    zm = z[mid]
    out[mid] = (
        -0.5 * zm * zm - _C1 + _log1mexp(np.log(erfcx(-zm / math.sqrt(2.0)) * -zm) + _C2)
    )
    tail = z <= _TAIL
    zt = z[tail]
    out[tail] = -0.5 * zt * zt - _C1 - 2.0 * np.log(-zt)
    return out


def log_ei(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Return log expected improvement below ``best`` (minimisation).

    Parameters
    ----------
    mean, std : numpy.ndarray
        Posterior mean and standard deviation (``std > 0``).
    best : float
        The incumbent value to improve on.

    Returns
    -------
    numpy.ndarray
        ``log EI``, finite wherever ``std > 0``.

    """
    z = (best - mean) / std
    return log_h(z) + np.log(std)


def log_ei_with_grad(mean: float, std: float, best: float) -> tuple[float, float, float]:
    """Return log EI at one point and its derivatives in ``mean`` and ``std``.

    Parameters
    ----------
    mean, std : float
        Posterior mean and standard deviation (``std > 0``).
    best : float
        The incumbent value.

    Returns
    -------
    value, d_mean, d_std : float
        ``log EI``, ``d log EI / d mean = -Phi(z) / EI`` and
        ``d log EI / d std = phi(z) / EI``.

    """
    z = (best - mean) / std
    lh = float(log_h(np.array([z]))[0])
    log_phi = -0.5 * z * z - _C1
    d_mean = -math.exp(float(log_ndtr(z)) - lh) / std
    d_std = math.exp(log_phi - lh) / std
    return lh + math.log(std), d_mean, d_std


def top_distinct(scores: np.ndarray, points: np.ndarray, k: int) -> list[int]:
    """Return the indices of the ``k`` best-scored rows, skipping repeated rows.

    Parameters
    ----------
    scores : numpy.ndarray
        Shape ``(m,)``; higher is better.
    points : numpy.ndarray
        Shape ``(m, d)``.
    k : int
        Number of indices wanted.

    Returns
    -------
    list of int
        At most ``k`` indices, best first, of pairwise different rows.

    """
    chosen: list[int] = []
    seen: set[bytes] = set()
    for j in np.argsort(-scores, kind="stable"):
        key = points[j].tobytes()
        if key not in seen:
            seen.add(key)
            chosen.append(int(j))
            if len(chosen) == k:
                break
    return chosen


def maximize_from_starts(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: np.ndarray,
    *,
    maxiter: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise a smooth function on the unit cube by L-BFGS-B from several starts.

    Parameters
    ----------
    fun : callable
        ``fun(z) -> (value, gradient)`` for a point ``z`` of the cube.
    starts : numpy.ndarray
        Starting points, shape ``(k, d)``, inside ``[0, 1]^d``.
    maxiter : int, default 50
        Iterations of each run.

    Returns
    -------
    points : numpy.ndarray
        Shape ``(k, d)``: the end point of each run, or its start where the run
        made things worse.
    values : numpy.ndarray
        Shape ``(k,)``: ``fun`` at those points.

    """
    from scipy.optimize import minimize  # slow to import: load on first use

    def negated(z: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = fun(z)
        return -value, -grad

    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    points, values = starts.copy(), np.empty(len(starts))
    for i, start in enumerate(starts):
        first = fun(start)[0]
        result = minimize(
            negated,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * starts.shape[1],
            options={"maxiter": maxiter},
        )
        if np.isfinite(result.fun) and -result.fun >= first:
            points[i], values[i] = np.clip(result.x, 0.0, 1.0), -float(result.fun)
        else:
            values[i] = first
    return points, values
