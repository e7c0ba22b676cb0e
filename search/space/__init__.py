"""Search spaces: named parameters, conditions, sampling, unit-cube codes and grids.

A :class:`Space` holds :class:`Float`, :class:`Int` and :class:`Categorical`
parameters (from :mod:`search.parameters`, re-exported here), parents before
children. A configuration is a plain ``dict`` of the active parameters only; a
space maps it into the unit cube ``[0, 1]^d`` and any point of the cube back.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from search._values import _check_resolution, _value_key, _when_repr
from search.parameters import Categorical, Float, Int, Parameter, _param_from_dict
from search.space._build import SEPARATOR, _check_params, _conditions, _join_branches, _topological
from search.space._grid import _count, _walk

__all__ = [
    "Categorical",
    "Float",
    "Int",
    "Parameter",
    "Space",
    "config_key",
]

def config_key(config: Mapping[str, Any]) -> Hashable:
    """Return a hashable identity of a configuration.

    Two configurations have the same key exactly when they hold the same
    parameter names with equal values (``True`` and ``1`` differ, ``1`` and
    ``1.0`` do not). Strategies use it to tell configurations apart.

    Parameters
    ----------
    config : mapping
        A configuration, usually one returned by :meth:`Space.validate`.

    Returns
    -------
    hashable
        The identity of ``config``.

    """
    return tuple(sorted((name, _value_key(value)) for name, value in config.items()))


def _as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


class Space:
    """An ordered set of named parameters, possibly conditional.

    Parameters
    ----------
    params : iterable of Parameter, optional
        The parameters. They are reordered so every parent comes before its
        children (otherwise the given order is kept). ``Space()`` is empty.

    Raises
    ------
    ValueError
        On duplicate names, a ``when`` naming an unknown parent, a parent that
        is not a :class:`Categorical`, allowed values that are not among the
        parent's choices, or cyclic conditions.

    Examples
    --------
    >>> space = Space([
    ...     Categorical("model", ["svm", "tree"]),
    ...     Float("C", 1e-3, 1e3, log=True, when={"model": "svm"}),
    ...     Int("depth", 1, 10, when={"model": "tree"}),
    ... ])
    >>> space.validate({"model": "tree", "depth": 3})
    {'model': 'tree', 'depth': 3}

    """

    INACTIVE_CODE: float = 0.5
    """Unit-cube code given to parameters that are inactive in a configuration."""

    SEPARATOR: str = SEPARATOR
    """Joins a branch choice and a parameter name in :meth:`conditional`."""

    __slots__ = ("_by_name", "_conditions", "_params", "_parent_names")

    def __init__(self, params: Iterable[Parameter] = ()) -> None:
        items = list(params)
        by_name = _check_params(items)
        conditions = _conditions(items, by_name)
        ordered = _topological(items)
        object.__setattr__(self, "_params", tuple(ordered))
        object.__setattr__(self, "_by_name", {p.name: p for p in ordered})
        object.__setattr__(self, "_conditions", conditions)
        object.__setattr__(
            self, "_parent_names", frozenset(parent for p in items for parent in p.parents)
        )

    # container protocol ---------------------------------------------------------
    @property
    def params(self) -> tuple[Parameter, ...]:
        """The parameters, parents before children."""
        return self._params

    @property
    def names(self) -> tuple[str, ...]:
        """The parameter names, in :attr:`params` order."""
        return tuple(p.name for p in self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._params)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise KeyError(f"no parameter {name!r}; known: {list(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._by_name
        except TypeError:
            return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return self._params == other._params

    def __hash__(self) -> int:
        return hash(self._params)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Space is immutable; build a new Space instead")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Space, (self._params,))

    def __repr__(self) -> str:
        if not self._params:
            return "Space()"
        inner = ",\n".join(f"    {p!r}" for p in self._params)
        return f"Space([\n{inner},\n])"

    # conditions -----------------------------------------------------------------
    def _holds(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether the own conditions of ``name`` hold on ``config`` (parents not checked)."""
        for parent, keys in self._conditions[name]:
            if parent not in config or _value_key(config[parent]) not in keys:
                return False
        return True

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Tell whether parameter ``name`` is active in ``config``.

        A parameter is active when each of its conditions holds on ``config``
        and each of its parents is itself active.

        Parameters
        ----------
        name : str
            A parameter of this space.
        config : mapping
            A (possibly partial) configuration.

        Returns
        -------
        bool
            Whether the parameter is active.

        """
        if name not in self._by_name:
            raise KeyError(f"no parameter {name!r}; known: {list(self.names)}")
        if not self._holds(name, config):
            return False
        return all(self.is_active(parent, config) for parent in self._by_name[name].parents)

    # sampling and codes ---------------------------------------------------------
    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, Any]:
        """Draw a random configuration holding the active parameters only.

        Parameters
        ----------
        rng : numpy.random.Generator or int or None
            Source of randomness (an int or None seeds a new generator).

        Returns
        -------
        dict
            A valid configuration.

        """
        rng = _as_generator(rng)
        config: dict[str, Any] = {}
        for p in self._params:
            if self._holds(p.name, config):
                config[p.name] = p.sample(rng)
        return config

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Encode a configuration into the unit cube.

        Parameters
        ----------
        config : mapping
            A valid configuration (checked with :meth:`validate`).

        Returns
        -------
        numpy.ndarray
            Shape ``(len(space),)``, values in ``[0, 1]``, in :attr:`names`
            order; inactive parameters get :attr:`INACTIVE_CODE`.

        """
        config = self.validate(config)
        out = np.full(len(self._params), self.INACTIVE_CODE, dtype=float)
        for i, p in enumerate(self._params):
            if p.name in config:
                out[i] = p.encode(config[p.name])
        return out

    def decode(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        """Decode a point of the unit cube into a configuration.

        Codes are clipped to ``[0, 1]``; conditions are resolved in
        :attr:`params` order, and codes of inactive parameters are ignored.

        Parameters
        ----------
        u : array-like
            Shape ``(len(space),)``.

        Returns
        -------
        dict
            A valid configuration holding the active parameters only.

        """
        u = np.asarray(u, dtype=float)
        if u.shape != (len(self._params),):
            raise ValueError(
                f"decode expects an array of shape ({len(self._params)},), got {u.shape}"
            )
        config: dict[str, Any] = {}
        for i, p in enumerate(self._params):
            if self._holds(p.name, config):
                config[p.name] = p.decode(u[i])
        return config

    # grids ----------------------------------------------------------------------
    def grid(self, resolution: int = 5) -> Iterator[dict[str, Any]]:
        """Enumerate a full-factorial grid, lazily and deterministically.

        Only active parameters vary, the first one slowest; see each
        parameter's ``grid`` for its values.

        Parameters
        ----------
        resolution : int, default 5
            Points per Float; the most points per Int.

        Yields
        ------
        dict
            Valid configurations, each once.

        """
        resolution = _check_resolution(resolution)
        values = [p.grid(resolution) for p in self._params]
        if not self._params:
            return iter(())  # an empty space has an empty grid
        return _walk(self, 0, {}, values)

    def grid_size(self, resolution: int = 5) -> int:
        """Count the points of :meth:`grid` without enumerating them.

        The work grows with the number of combinations of *parent*
        parameters only, not with the size of the grid.

        Parameters
        ----------
        resolution : int, default 5
            As in :meth:`grid`.

        Returns
        -------
        int
            The number of configurations :meth:`grid` yields.

        """
        resolution = _check_resolution(resolution)
        if not self._params:
            return 0
        values = [p.grid(resolution) for p in self._params]
        return _count(self, 0, {}, values)

    # validation -----------------------------------------------------------------
    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Check a configuration and return it normalised.

        Parameters
        ----------
        config : mapping
            Parameter name -> value, for the active parameters only.

        Returns
        -------
        dict
            The configuration in :attr:`names` order with Python values
            (``int`` for Int, ``float`` for Float, the stored choice for
            Categorical).

        Raises
        ------
        ValueError
            On an unknown key, a missing active parameter, a value for an
            inactive parameter, or a bad value.

        """
        if not isinstance(config, Mapping):
            raise ValueError(f"a configuration must be a dict, got {type(config).__name__}")
        unknown = [k for k in config if k not in self._by_name]
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown!r} in configuration; "
                f"known parameters: {list(self.names)}"
            )
        out: dict[str, Any] = {}
        for p in self._params:
            active = self._holds(p.name, out)
            if active:
                if p.name not in config:
                    raise ValueError(
                        f"missing value for active parameter {p.name!r}"
                        + (f" (active when {_when_repr(p._when)})" if p._when else "")
                    )
                out[p.name] = p.validate(config[p.name])
            elif p.name in config:
                raise ValueError(
                    f"parameter {p.name!r} is inactive in this configuration (it is active "
                    f"only when {_when_repr(p._when)}); remove it"
                )
        return out

    # conditional spaces ---------------------------------------------------------
    @classmethod
    def conditional(
        cls, root: str, branches: Mapping[Any, Space | Iterable[Parameter]]
    ) -> Space:
        """Join several spaces under a root categorical parameter.

        The result holds ``Categorical(root, list(branches))`` and, for each
        branch choice ``c`` and each parameter ``p`` of its space, a copy of
        ``p`` named ``f"{c}:{p.name}"`` (the separator is ``":"``) that is
        active when ``root == c`` and ``p``'s own conditions hold (their parent
        names prefixed the same way).

        Parameters
        ----------
        root : str
            Name of the root categorical, e.g. ``"model"``.
        branches : mapping
            Choice -> :class:`Space` (or iterable of parameters) of that
            branch. A branch may be empty.

        Returns
        -------
        Space
            The joined space.

        Examples
        --------
        >>> joined = Space.conditional("model", {
        ...     "svm": Space([Float("C", 1e-3, 1e3, log=True)]),
        ...     "tree": Space([Int("depth", 1, 10)]),
        ... })
        >>> joined.names
        ('model', 'svm:C', 'tree:depth')

        """
        return cls(_join_branches(root, branches, Space))

    @staticmethod
    def branch(config: Mapping[str, Any], root: str) -> tuple[Any, dict[str, Any]]:
        """Split a configuration of a :meth:`conditional` space.

        Parameters
        ----------
        config : mapping
            A configuration of the joined space.
        root : str
            Name of the root categorical.

        Returns
        -------
        choice : object
            The value of ``root``.
        params : dict
            The branch's parameters with the ``f"{choice}:"`` prefix removed.

        """
        if root not in config:
            raise ValueError(
                f"configuration has no value for root {root!r}; keys: {list(config)}"
            )
        choice = config[root]
        prefix = f"{choice}{SEPARATOR}"
        params = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
        return choice, params

    # serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-compatible description of the space.

        Returns
        -------
        dict
            ``{"params": [...]}``; read back with :meth:`from_dict`.

        """
        return {"params": [p.to_dict() for p in self._params]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Space:
        """Rebuild a space from :meth:`to_dict` output.

        Parameters
        ----------
        data : mapping
            ``{"params": [...]}``, e.g. parsed from JSON.

        Returns
        -------
        Space
            An equal space.

        """
        if not isinstance(data, Mapping) or "params" not in data:
            raise ValueError(f"a space description needs a 'params' list, got {data!r}")
        return cls(_param_from_dict(d) for d in data["params"])

