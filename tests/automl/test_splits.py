"""How ``AutoML(cv=...)`` scores trials, seen through the out-of-fold predictions of a fit.

A model that predicts the class frequencies of the rows it was fitted on shows,
in each validation row's out-of-fold prediction, what its training fold held.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from automl import AutoML, ModelSpec
from automl.registry import get_registry
from search import Categorical, Space
from tests.automl.priors import ClassPrior


class TrainingPrior(ClassPrior):
    """Predicts, for every row, the class frequencies of its training rows."""

    def __init__(self, unused=0):
        self.unused = unused


class TrainingMean(RegressorMixin, BaseEstimator):
    """Predicts, for every row, the mean target of its training rows."""

    def __init__(self, unused=0):
        self.unused = unused

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture()
def prior_models(monkeypatch):
    """Register the two models above for this test."""
    for name, task, cls in (("training_prior", "classification", TrainingPrior),
                            ("training_mean", "regression", TrainingMean)):
        spec = ModelSpec(name=name, tasks={task}, modalities={"tabular"},
                         space=Space([Categorical("unused", [0])]),
                         build=lambda config, ctx, cls=cls: cls(), description="a prior")
        monkeypatch.setitem(get_registry().models, name, spec)


def sorted_binary(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A table sorted by its target: 30% ones, all at the end."""
    rng = np.random.default_rng(0)
    y = (np.arange(n_rows) >= 0.7 * n_rows).astype(int)
    return rng.normal(size=(n_rows, 3)), y


def one_trial(X, y, model: str, cv) -> tuple[list[float], np.ndarray]:
    """The fold scores and out-of-fold predictions of one trial of ``model``."""
    fitted = AutoML(models=[model], max_trials=1, cv=cv, random_state=0,
                    ensemble_size=0).fit(X, y)
    record = fitted.trials_[0]
    return record.fold_scores, record.oof


def test_classification_folds_are_stratified_and_shuffled(prior_models):
    X, y = sorted_binary(500)
    folds, oof = one_trial(X, y, "training_prior", cv=4)
    assert len(folds) == 4 and not np.isnan(oof).any()  # every row validated once
    # each training fold holds 30% ones, to within a row, although the table is sorted
    np.testing.assert_allclose(oof[:, 1], 0.3, atol=1 / 375)


def test_auto_is_five_folds_up_to_ten_thousand_rows_and_a_holdout_above(prior_models):
    X, y = sorted_binary(10_000)
    folds, oof = one_trial(X, y, "training_prior", cv="auto")
    assert len(folds) == 5 and not np.isnan(oof).any()
    X, y = sorted_binary(10_001)
    folds, oof = one_trial(X, y, "training_prior", cv="auto")
    validated = ~np.isnan(oof[:, 0])
    assert len(folds) == 1 and validated.sum() == 2001  # 20% held out, rounded up
    assert y[validated].mean() == pytest.approx(0.3, abs=0.001)  # stratified


def test_a_fraction_is_a_holdout_of_that_share(prior_models):
    X, y = sorted_binary(400)
    folds, oof = one_trial(X, y, "training_prior", cv=0.25)
    validated = ~np.isnan(oof[:, 0])
    assert len(folds) == 1 and validated.sum() == 100
    np.testing.assert_allclose(oof[validated, 1], 0.3, atol=1 / 300)


def test_regression_folds_are_shuffled(prior_models):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 2)), np.arange(300.0)  # sorted target
    folds, oof = one_trial(X, y, "training_mean", cv=3)
    assert len(folds) == 3 and not np.isnan(oof).any()
    # unshuffled folds would give training means of 225, 150 and 75
    assert np.all(np.abs(oof - 149.5) < 20)


def test_auto_is_a_holdout_for_non_tabular_data_even_when_small(prior_models):
    """Networks need the time more than the folds (``benchmarks/small_data_cv.py``)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    folds, oof = one_trial(digits.images[:300], digits.target[:300], "pixels_logistic",
                           cv="auto")
    assert len(folds) == 1 and int((~np.isnan(oof[:, 0])).sum()) == 60


@pytest.mark.parametrize("X, y, cv, message", [
    (np.zeros((3, 1)), [1, 0, 0], 2, "fewer than 2 classes with 2 rows"),
    (np.zeros((6, 1)), [0, 0, 1, 1, 1, 2], "holdout", "1 of the 3 classes of y have a single"),
    (np.zeros((4, 1)), [0, 0, 1, 1], "holdout", "leaves 3 rows to fit and 1 to score"),
])
def test_too_few_rows_to_split_are_named_before_any_trial(X, y, cv, message):
    with pytest.raises(ValueError, match=message):
        AutoML(cv=cv, max_trials=1, models=["logistic_regression"]).fit(X, np.asarray(y))


def test_blank_column_names_and_overflowing_values_are_named():
    import pandas as pd

    with pytest.raises(ValueError, match=r"columns without a name \(blank\) at positions \[1\]"):
        AutoML(max_trials=1).fit(pd.DataFrame({"a": [1.0, 2.0] * 5, " ": [0.0] * 10}),
                                 [0, 1] * 5)
    with pytest.raises(ValueError, match=r"column 'big' holds 1 values beyond \+-1e\+150"):
        AutoML(max_trials=1).fit(pd.DataFrame({"big": [1e308] + [0.0] * 9}), [0, 1] * 5)
