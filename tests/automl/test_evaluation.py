"""Cross-validation of one trial."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor

from automl.engine.evaluation import TrialTimeout, cross_validate
from automl.metrics import BUILTIN_METRICS
from automl.tasks.supervised import make_splits

RMSE = next(m for m in BUILTIN_METRICS if m.name == "rmse")


class SlowRegressor(DummyRegressor):
    """Predicts the mean, after a fixed wait in ``fit``."""

    def fit(self, X, y, sample_weight=None):
        time.sleep(0.5)
        return super().fit(X, y, sample_weight)


def test_a_trial_stops_before_the_first_fold_that_cannot_finish_in_time():
    X = pd.DataFrame({"x": np.arange(50.0)})
    y = np.arange(50.0)
    splits = make_splits("regression", y, 5, seed=0)
    # folds of 0.5 s against 1.4 s: two fit, a third would end near 1.5 s
    with pytest.raises(TrialTimeout, match="after 2 of 5 folds"):
        cross_validate(SlowRegressor, X, y, splits, RMSE, None,
                       deadline=time.monotonic() + 1.4)
    result = cross_validate(DummyRegressor, X, y, splits, RMSE, None,
                            deadline=time.monotonic() + 60)
    assert len(result.fold_scores) == 5 and np.isfinite(result.oof).all()
