"""Search-space parameters: :class:`Float`, :class:`Int` and :class:`Categorical`.

Each parameter is immutable and knows how to sample a value, validate one,
map it into the unit interval and back, and list its grid values:

* ``Float``: linear (or logarithmic with ``log=True``) between ``low`` and ``high``.
* ``Int``: the range ``[low - 0.5, high + 0.5]`` is mapped linearly (or
  logarithmically) onto ``[0, 1]`` and decoding rounds, so every integer owns
  a bin of equal width (equal log-width with ``log=True``); ``encode`` returns
  the centre of that bin.
* ``Categorical``: choice ``i`` of ``k`` is encoded as ``(i + 0.5) / k`` and
  ``u`` decodes to choice ``floor(u * k)``.

A parameter may be *conditional*: ``when={"model": "svm"}`` makes it active only
while its parent (a categorical of the same :class:`search.Space`) takes one
of the allowed values. The classes are re-exported by :mod:`search.space` and
:mod:`search`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search._base import Parameter, _rebuild
from search._categorical import Categorical
from search._numeric import Float, Int, _Numeric

# Private helpers, re-exported so their old import paths keep working.
from search._values import (  # noqa: F401
    _SCALAR_TYPES,
    _check_name,
    _check_resolution,
    _dedupe,
    _is_scalar,
    _normalize_when,
    _plain,
    _unit,
    _value_key,
    _when_identity,
    _when_repr,
)

__all__ = ["Categorical", "Float", "Int", "Parameter"]

# Keep the public module path (pickles, reprs of classes, docs and doctests).
for _obj in (Parameter, _rebuild, _Numeric, Float, Int, Categorical):
    _obj.__module__ = __name__
del _obj

_PARAM_TYPES: dict[str, type[Parameter]] = {
    "float": Float,
    "int": Int,
    "categorical": Categorical,
}


def _param_from_dict(data: Mapping[str, Any]) -> Parameter:
    """Rebuild a parameter from :meth:`Parameter.to_dict` output."""
    if not isinstance(data, Mapping) or "type" not in data:
        raise ValueError(f"a parameter description needs a 'type' key, got {data!r}")
    kind = data["type"]
    cls = _PARAM_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown parameter type {kind!r}; known: {sorted(_PARAM_TYPES)}")
    kwargs = {k: v for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad {kind} parameter description {dict(data)!r}: {exc}") from None
