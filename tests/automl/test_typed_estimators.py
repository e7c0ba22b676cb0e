"""AutoMLClassifier and AutoMLRegressor: AutoML typed as scikit-learn expects."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_score

from automl import AutoML, AutoMLClassifier, AutoMLRegressor

FAST = dict(models=["logistic_regression", "ridge"], max_trials=1, random_state=0, verbose=0)


def test_typed_estimators_are_what_scikit_learn_tools_expect():
    assert is_classifier(AutoMLClassifier()) and not is_regressor(AutoMLClassifier())
    assert is_regressor(AutoMLRegressor()) and not is_classifier(AutoMLRegressor())
    assert is_classifier(AutoML(task="binary")) and is_regressor(AutoML(task="regression"))
    assert clone(AutoMLClassifier(time_budget=5)).get_params()["time_budget"] == 5
    y = np.repeat([0, 1], 50)
    assert isinstance(check_cv(3, y, classifier=is_classifier(AutoMLClassifier())),
                      StratifiedKFold)


def test_cross_val_score_on_a_table_sorted_by_its_target_uses_stratified_folds():
    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    order = np.argsort(y, kind="stable")
    scores = cross_val_score(AutoMLClassifier(**FAST), X[order], y[order], cv=3)
    assert scores.min() > 0.75, scores


def test_a_classifier_refuses_a_regression_task_and_a_regressor_predicts_numbers():
    X, y = make_classification(n_samples=120, n_features=5, n_classes=3, n_informative=3,
                               random_state=0)
    with pytest.raises(ValueError, match="AutoMLClassifier serves classification, not "
                                         "task='regression'; use AutoMLRegressor"):
        AutoMLClassifier(task="regression", **FAST).fit(X, y)
    regressor = AutoMLRegressor(**FAST).fit(X, y)
    assert regressor.task_ == "regression" and not hasattr(regressor, "predict_proba")
    classifier = AutoMLClassifier(**FAST).fit(X, y)
    assert classifier.task_ == "multiclass"
    assert classifier.predict_proba(X).shape == (120, 3)
