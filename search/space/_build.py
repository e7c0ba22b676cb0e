"""Checks and ordering of the parameters given to :class:`search.Space`.

Private to :mod:`search.space`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from search._base import Parameter
from search._categorical import Categorical
from search._values import _value_key

if TYPE_CHECKING:
    from search.space import Space

SEPARATOR = ":"
"""Joins a branch choice and a parameter name in :meth:`search.Space.conditional`."""


def _check_params(items: list[Parameter]) -> dict[str, Parameter]:
    """Check that ``items`` are parameters with unique names; return name -> parameter."""
    for p in items:
        if not isinstance(p, Parameter):
            raise TypeError(f"Space takes Float, Int or Categorical parameters, got {p!r}")
    by_name: dict[str, Parameter] = {}
    for p in items:
        if p.name in by_name:
            raise ValueError(f"duplicate parameter name {p.name!r} in Space; names must be unique")
        by_name[p.name] = p
    return by_name


def _conditions(
    items: list[Parameter], by_name: Mapping[str, Parameter]
) -> dict[str, tuple[tuple[str, frozenset[Hashable]], ...]]:
    """Check every ``when`` against its parents; return name -> (parent, allowed keys)."""
    conditions: dict[str, tuple[tuple[str, frozenset[Hashable]], ...]] = {}
    for p in items:
        conds = []
        for parent, allowed in p._when:
            if parent not in by_name:
                raise ValueError(
                    f"{p._kind} {p.name!r}: when refers to unknown parent {parent!r}; "
                    f"known parameters: {sorted(by_name)}"
                )
            parent_param = by_name[parent]
            if not isinstance(parent_param, Categorical):
                raise ValueError(
                    f"{p._kind} {p.name!r}: parent {parent!r} is a "
                    f"{parent_param._kind}; conditions need a Categorical parent"
                )
            for value in allowed:
                if _value_key(value) not in parent_param._index:
                    raise ValueError(
                        f"{p._kind} {p.name!r}: when[{parent!r}] allows {value!r}, which is "
                        f"not a choice of {parent!r} (choices: {list(parent_param.choices)!r})"
                    )
            conds.append((parent, frozenset(_value_key(v) for v in allowed)))
        conditions[p.name] = tuple(conds)
    return conditions


def _topological(params: list[Parameter]) -> list[Parameter]:
    """Order parameters so parents come first, otherwise keeping the given order."""
    placed: set[str] = set()
    remaining = list(params)
    ordered: list[Parameter] = []
    while remaining:
        for i, p in enumerate(remaining):
            if all(parent in placed for parent in p.parents):
                ordered.append(p)
                placed.add(p.name)
                del remaining[i]
                break
        else:
            names = [p.name for p in remaining]
            raise ValueError(
                f"cyclic conditions among parameters {names}; a parameter cannot "
                "(directly or indirectly) be its own parent"
            )
    return ordered


def _join_branches(
    root: str, branches: Mapping[Any, Space | Iterable[Parameter]], space_cls: type[Space]
) -> list[Parameter]:
    """Return the root categorical and the prefixed branch parameters of ``Space.conditional``."""
    if not isinstance(branches, Mapping) or not branches:
        raise ValueError(
            "Space.conditional needs a non-empty dict mapping each choice of "
            f"{root!r} to its Space, got {branches!r}"
        )
    params: list[Parameter] = [Categorical(root, list(branches))]
    for choice, branch in branches.items():
        space = branch if isinstance(branch, space_cls) else space_cls(branch)
        prefix = f"{choice}{SEPARATOR}"
        for p in space.params:
            when: dict[str, Any] = {root: choice}
            for parent, allowed in p._when:
                when[prefix + parent] = list(allowed)
            params.append(p.replace(name=prefix + p.name, when=when))
    return params
