"""The engine's search: ask the strategy, run trials in workers, store and report them.

=================== =============================================================
module              job
=================== =============================================================
``model_search``    :class:`ModelSearch` (the portfolio first, then the strategy,
                    through the one lagged ask/tell loop of ``search._loop``),
                    :class:`Budget`, the joined space and the leaderboard
``workers``         where trials run: worker processes, this process, Dask
``evaluation``      the resampling of one configuration and its out-of-fold output
``storage``         the SQLite store of finished trials (resumable studies)
``records``         :class:`TrialRecord`, what every part above passes around
``progress``        what a person sees while the search runs
=================== =============================================================
"""

from automl.engine.model_search import (
    DEFAULT_TIME_BUDGET,
    FAILURES_BEFORE_GIVING_UP,
    MODEL_KEY,
    Budget,
    ModelSearch,
    join_spaces,
    joint_config,
    leaderboard,
    portfolio,
    with_final_model,
)
from automl.engine.records import TrialRecord
from search._loop import TELL_LAG

__all__ = ["DEFAULT_TIME_BUDGET", "FAILURES_BEFORE_GIVING_UP", "MODEL_KEY", "TELL_LAG",
           "Budget", "ModelSearch", "TrialRecord", "with_final_model", "join_spaces",
           "joint_config", "leaderboard", "portfolio"]
