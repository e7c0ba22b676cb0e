"""scikit-learn's estimator checks, with the ones a searching AutoML cannot pass listed."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoML

SMALL = {"time_budget": 20, "max_trials": 2, "cv": 2, "random_state": 0,
         "models": ["logistic_regression"]}

EXPECTED_FAILURES: dict[str, str] = {}


@parametrize_with_checks(
    [AutoML(**SMALL, task="classification")],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)
