"""Multi-fidelity search: successive halving (ASHA) and Hyperband over any strategy.

A *fidelity* is a fraction of the full evaluation budget, in ``(0, 1]``:
``1`` is the evaluation you actually care about, ``1/9`` costs about a ninth
of it. These strategies propose :class:`~search.strategy.Trial` objects with
:attr:`~search.strategy.Trial.fidelity` set; cheap, low-fidelity trials weed
out poor configurations and only the best ones are evaluated again at higher
fidelities (*promoted*).

Mapping fidelity to cost
------------------------
The caller turns the fraction into a budget of the model. Choose a resource
whose cost grows about linearly with it and whose low-budget results rank
configurations roughly as the full-budget results would:

- iterative learners (neural networks, boosting): epochs or trees,
  ``epochs = max(1, round(fidelity * max_epochs))``,
  ``n_estimators = max(1, round(fidelity * max_trees))``;
- any learner: a random subsample of the training rows,
  ``n_rows = max(min_rows, round(fidelity * n_rows))``, scored on the same
  validation data at every fidelity;
- simulations or iterative solvers: iterations or tolerance.

Pick ``min_fidelity`` so the cheapest rung is still informative (a network
after one epoch, a forest of ten trees), and make sure the rungs map to
*different* budgets once rounded. A promotion is a new trial: the caller
evaluates the configuration again at the higher fidelity (reusing a
checkpoint if it keeps one is the caller's business). Report the seconds
spent in :attr:`Observation.cost` so budgets can be accounted for: with a
:attr:`~search.Strategy.cost_budget` (set by a caller whose budget is time),
the base strategy is handed a budget scaled by its part of the cost spent,
since it is told its own trials but not the promotions, so it sees the same
share of the budget left as the whole search.

Rungs and promotions
--------------------
Rungs sit at fidelities ``min_fidelity * eta**k`` for ``k = 0, 1, ...`` below
1, then at 1 (the last step is shorter when ``1 / min_fidelity`` is not a
power of ``eta``). Asynchronous successive halving (ASHA, Li et al., 2020)
never waits for a rung to fill up: on every ask it promotes a configuration
from the highest rung where one is among the best ``floor(n / eta)`` of the
``n`` finished trials of that rung and was not promoted yet; otherwise it
asks the *base* strategy for a new configuration at the lowest rung. A failed
trial (any status but ``"ok"``, or a non-finite value) ranks after every
success and is never promoted. Several objectives (``values``) are ranked by
the first one.

What the base strategy sees
---------------------------
One base strategy proposes every new configuration, and each one is told
back to it exactly once, with the result at the rung the configuration
started at (the observation carries that fidelity). Results of promotions
drive promotions only. Under :class:`SuccessiveHalving` every configuration
starts at the lowest rung, so the base compares like with like: a
model-based base (Bayesian, genetic) is never misled by comparing a 1/9
result with a full one. Under :class:`Hyperband` the brackets start at
different rungs, so the base sees results of several fidelities (random
search, the classic base, does not care; a model-based base treats the
difference as noise). One shared base keeps new configurations distinct
across brackets and lets an exhaustible base (grid) visit each point once.

A base that runs out (a grid) makes ``ask`` return fewer trials while
nothing is promotable; later asks may still promote, so a driver stops
when ``ask`` returns ``[]`` with no trial pending (as :func:`search.optimize`
does).
"""

from __future__ import annotations

from search._hyperband import Hyperband
from search._multifidelity import BASES, BaseFactory, _MultiFidelity
from search.space import Space

__all__ = ["BASES", "Hyperband", "SuccessiveHalving"]


class SuccessiveHalving(_MultiFidelity):
    """Asynchronous successive halving (ASHA) over any base strategy.

    New configurations come from the base strategy at ``min_fidelity``;
    the best ``1 / eta`` of each rung's finished trials are promoted, one at
    a time and as soon as they qualify, to the next rung, up to fidelity 1.
    See :mod:`search.fidelity` for the rungs, what the base sees, and how to
    map a fidelity to a model's budget.

    Parameters
    ----------
    space : Space
        The search space.
    seed : int or None, default None
        Seed of all randomness (the base strategy gets a seed derived from it).
    base : str or callable, default "random"
        The strategy proposing new configurations: a name of :data:`BASES`
        (``"random"``, ``"grid"``, ``"bayesian"``, ``"genetic"``) or a
        factory ``base(space, seed=...) -> Strategy`` (a strategy class
        works). Only the built strategy is kept, so a lambda is fine for
        pickling.
    min_fidelity : float, default 1/9
        Fidelity of the lowest rung, in (0, 1].
    eta : float, default 3
        Reduction factor (> 1): one in ``eta`` trials of a rung is promoted,
        and each rung's fidelity is ``eta`` times the one below.

    Attributes
    ----------
    rungs : tuple of float
        The fidelities of the rungs, lowest first, ending at 1.
    base_strategy : Strategy
        The base strategy, built with a seed derived from ``seed``.
    incumbent : (Trial, Observation) or None
        The best result at the highest fidelity reached (:attr:`best`
        compares across fidelities).

    Raises
    ------
    ValueError
        On a bad ``min_fidelity``, ``eta`` or base name, or an empty space.

    Examples
    --------
    >>> from search import Float, Observation, Space
    >>> sh = SuccessiveHalving(Space([Float("x", -1.0, 1.0)]), seed=0)
    >>> [round(f, 4) for f in sh.rungs]
    [0.1111, 0.3333, 1.0]
    >>> for _ in range(30):
    ...     [trial] = sh.ask()
    ...     sh.tell(trial, Observation(value=trial.config["x"] ** 2))
    >>> sorted({t.fidelity for t, _ in sh.history}) == list(sh.rungs)
    True

    """

    def __init__(
        self,
        space: Space,
        *,
        seed: int | None = None,
        base: str | BaseFactory = "random",
        min_fidelity: float = 1 / 9,
        eta: float = 3,
    ) -> None:
        super().__init__(
            space, seed=seed, base=base, min_fidelity=min_fidelity, eta=eta,
            starts=(0,), schedule=None,
        )

