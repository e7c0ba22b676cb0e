"""Optimisation that knows nothing about models or data.

Build a :class:`Space` of :class:`Float`, :class:`Int` and :class:`Categorical`
parameters, then ``ask`` a :class:`Strategy` for :class:`Trial` objects and
``tell`` it each :class:`Observation` (values are minimised)::

    from search import Float, RandomSearch, Space, Observation

    strategy = RandomSearch(Space([Float("x", -1.0, 1.0)]), seed=0)
    for trial in strategy.ask(4):
        strategy.tell(trial, Observation(value=trial.config["x"] ** 2))

Multi-fidelity search wraps any strategy: :class:`SuccessiveHalving` and
:class:`Hyperband` (:mod:`search.fidelity`). To tune your own training
script, :func:`optimize` runs an objective under a strategy, in parallel and
resumable from a SQLite file (:mod:`search.optimize`).

Strategy authors check their work with :mod:`search.testing`.
"""

from search.bayesian import BayesianSearch
from search.fidelity import Hyperband, SuccessiveHalving
from search.genetic import GeneticSearch
from search.grid import GridSearch
from search.optimize import OptimizeResult, optimize
from search.random import RandomSearch
from search.space import Categorical, Float, Int, Space
from search.strategy import Observation, Strategy, Trial

__all__ = [
    "BayesianSearch",
    "Categorical",
    "Float",
    "GeneticSearch",
    "GridSearch",
    "Hyperband",
    "Int",
    "Observation",
    "OptimizeResult",
    "RandomSearch",
    "Space",
    "Strategy",
    "SuccessiveHalving",
    "Trial",
    "optimize",
]
