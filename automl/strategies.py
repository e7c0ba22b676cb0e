"""Registers the search package's strategies through the strategy hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automl import hookimpl


@hookimpl
def automl_register_strategies(register: Callable[[str, Any], None]) -> None:
    """Register the built-in strategies: random, grid, bayesian and genetic."""
    from search import BayesianSearch, GeneticSearch, GridSearch, RandomSearch

    register("random", RandomSearch)
    register("grid", GridSearch)
    register("bayesian", BayesianSearch)
    register("genetic", GeneticSearch)
