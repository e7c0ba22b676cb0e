"""Vectorised unit-cube codes and surrogate features of a space (private).

:class:`CubeEncoder` maps many points of the unit cube at once to their
*canonical* codes, the codes :meth:`Space.encode` gives the configuration
:meth:`Space.decode` makes of them (Int codes snapped to the centre of their
bin, Categorical codes to ``(i + 0.5) / k``, inactive parameters to
:attr:`Space.INACTIVE_CODE`), together with which parameters are active. From
those it builds surrogate inputs:

- :meth:`CubeEncoder.gp_features`: numeric codes as they are and each
  Categorical one-hot (all zeros when inactive), so a GP kernel sees no false
  order among choices; inactive numeric parameters keep the fixed code.
- :meth:`CubeEncoder.tree_features`: one column per parameter with inactive
  parameters at -1, outside the cube, so trees can split them off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from search.parameters import Categorical, Float, Int
from search.space import Space

__all__ = ["CubeEncoder"]


class CubeEncoder:
    """Canonical codes and surrogate features for the points of a space's cube.

    Parameters
    ----------
    space : Space
        The search space.

    Attributes
    ----------
    numeric : numpy.ndarray
        Indices of the Float and Int parameters.
    numeric_columns : numpy.ndarray
        Column of each of them in :meth:`gp_features`.
    categorical : numpy.ndarray
        Indices of the Categorical parameters.
    gp_width : int
        Number of columns of :meth:`gp_features`.

    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.names = space.names
        index = {name: i for i, name in enumerate(self.names)}
        self._conditions: list[list[tuple[int, np.ndarray]]] = []
        self._columns: list[int] = []
        width = 0
        for p in space.params:
            conds = []
            for parent, allowed in p.when.items():
                parent_param = space[parent]
                assert isinstance(parent_param, Categorical)
                conds.append((index[parent], np.array([parent_param.index(v) for v in allowed])))
            self._conditions.append(conds)
            self._columns.append(width)
            width += len(p.choices) if isinstance(p, Categorical) else 1
        self.gp_width = width
        kinds = [isinstance(p, Categorical) for p in space.params]
        self.categorical = np.array([i for i, c in enumerate(kinds) if c], dtype=int)
        self.numeric = np.array([i for i, c in enumerate(kinds) if not c], dtype=int)
        self.numeric_columns = np.array([self._columns[i] for i in self.numeric], dtype=int)

    def columns_of(self, i: int) -> np.ndarray:
        """Return the columns of parameter ``i`` in :meth:`gp_features`.

        Parameters
        ----------
        i : int
            Index of the parameter in the space.

        Returns
        -------
        numpy.ndarray
            One column for a Float or Int, one per choice for a Categorical.

        """
        p = self.space.params[i]
        width = len(p.choices) if isinstance(p, Categorical) else 1
        return np.arange(self._columns[i], self._columns[i] + width)

    def encode(self, configs: list[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Encode valid configurations.

        Parameters
        ----------
        configs : list of mapping
            Configurations of the space.

        Returns
        -------
        codes : numpy.ndarray
            Shape ``(len(configs), d)``, from :meth:`Space.encode`.
        active : numpy.ndarray
            Boolean, same shape: which parameters each configuration holds.

        """
        d = len(self.names)
        codes = np.empty((len(configs), d))
        active = np.zeros((len(configs), d), dtype=bool)
        for row, config in enumerate(configs):
            codes[row] = self.space.encode(config)
            active[row] = [name in config for name in self.names]
        return codes, active

    def canonical(self, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the canonical codes and activity of points of the cube.

        Parameters
        ----------
        U : numpy.ndarray
            Shape ``(m, d)``; values are clipped to ``[0, 1]``.

        Returns
        -------
        codes : numpy.ndarray
            Shape ``(m, d)``: ``Space.encode(Space.decode(u))`` for each row
            (up to rounding).
        active : numpy.ndarray
            Boolean, shape ``(m, d)``.

        """
        U = np.clip(np.asarray(U, dtype=float), 0.0, 1.0)
        m = len(U)
        codes = np.empty_like(U)
        active = np.ones(U.shape, dtype=bool)
        choice: dict[int, np.ndarray] = {}
        for i, p in enumerate(self.space.params):
            act = np.ones(m, dtype=bool)
            for parent, allowed in self._conditions[i]:
                act &= active[:, parent] & np.isin(choice[parent], allowed)
            active[:, i] = act
            u = U[:, i]
            if isinstance(p, Categorical):
                k = len(p.choices)
                idx = np.minimum(np.floor(u * k), k - 1).astype(int)
                choice[i] = idx
                code = (idx + 0.5) / k
            elif isinstance(p, Int):
                code = _int_code(p, u)
            else:
                assert isinstance(p, Float)
                code = u
            codes[:, i] = np.where(act, code, Space.INACTIVE_CODE)
        return codes, active

    def gp_features(self, codes: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Return GP inputs: numeric codes, one-hot categoricals.

        Parameters
        ----------
        codes, active : numpy.ndarray
            From :meth:`canonical` or :meth:`encode`.

        Returns
        -------
        numpy.ndarray
            Shape ``(m, gp_width)``.

        """
        out = np.zeros((len(codes), self.gp_width))
        out[:, self.numeric_columns] = codes[:, self.numeric]
        for i in self.categorical:
            k = len(self.space.params[i].choices)
            idx = np.minimum(np.floor(codes[:, i] * k), k - 1).astype(int)
            rows = np.flatnonzero(active[:, i])
            out[rows, self._columns[i] + idx[rows]] = 1.0
        return out

    def tree_features(self, codes: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Return tree-ensemble inputs: the codes, with -1 for inactive parameters.

        Parameters
        ----------
        codes, active : numpy.ndarray
            From :meth:`canonical` or :meth:`encode`.

        Returns
        -------
        numpy.ndarray
            Shape ``(m, d)``.

        """
        return np.where(active, codes, -1.0)


def _int_code(p: Int, u: np.ndarray) -> np.ndarray:
    """Vectorised ``p.encode(p.decode(u))``."""
    lo, hi = p.low - 0.5, p.high + 0.5
    if p.log:
        lo, hi = math.log(lo), math.log(hi)
    x = lo + u * (hi - lo)
    if p.log:
        x = np.exp(x)
    value = np.clip(np.floor(x + 0.5), p.low, p.high)
    if p.log:
        value = np.log(value)
    return np.clip((value - lo) / (hi - lo), 0.0, 1.0)
