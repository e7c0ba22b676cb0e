"""The built-in metrics give the values of scikit-learn's documented examples (and by hand)."""

import numpy as np
import pytest

from automl.registry import get_registry


def proba_of_labels(labels, n_classes):
    """One-hot probabilities: the metric sees these labels as the prediction."""
    return np.eye(n_classes)[labels]


# (metric, y_true encoded, prediction, value in scikit-learn's documentation)
CASES = [
    ("accuracy", [0, 1, 2, 3], proba_of_labels([0, 2, 1, 3], 4), 0.5),
    ("balanced_accuracy", [0, 1, 0, 0, 1, 0], proba_of_labels([0, 1, 0, 0, 0, 1], 2), 0.625),
    ("f1", [0, 1, 2, 0, 1, 2], proba_of_labels([0, 2, 1, 0, 0, 1], 3), 0.26666666),  # macro
    ("f1", [0, 1, 1, 0, 1, 1], proba_of_labels([0, 1, 0, 0, 1, 1], 2), 6 / 7),  # by hand
    ("roc_auc", [0, 0, 1, 1], np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]]),
     0.75),
    # log_loss(["spam", "ham", "ham", "spam"], [[.1, .9], [.9, .1], [.8, .2], [.35, .65]])
    ("log_loss", [1, 0, 0, 1], np.array([[0.1, 0.9], [0.9, 0.1], [0.8, 0.2], [0.35, 0.65]]),
     0.21616187),
    ("rmse", [3.0, -0.5, 2.0, 7.0], np.array([2.5, 0.0, 2.0, 8.0]), np.sqrt(0.375)),
    ("mae", [3.0, -0.5, 2.0, 7.0], np.array([2.5, 0.0, 2.0, 8.0]), 0.5),
    ("r2", [3.0, -0.5, 2.0, 7.0], np.array([2.5, 0.0, 2.0, 8.0]), 0.94860813),
]


@pytest.mark.parametrize("name, y_true, prediction, expected", CASES)
def test_documented_values(name, y_true, prediction, expected):
    metric = get_registry().metric(name)
    assert metric(np.asarray(y_true), prediction) == pytest.approx(expected, abs=1e-7)


def test_multiclass_roc_auc_is_one_vs_rest_over_the_classes_present():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet(np.ones(4), 200)  # a fourth class that never occurs
    present = proba[:, :3] / proba[:, :3].sum(axis=1, keepdims=True)
    expected = roc_auc_score(y, present, multi_class="ovr")
    assert get_registry().metric("roc_auc")(y, proba) == pytest.approx(expected)


@pytest.mark.parametrize("name, greater_is_better", [
    ("accuracy", True), ("roc_auc", True), ("r2", True),
    ("log_loss", False), ("rmse", False), ("mae", False)])
def test_losses_are_minimised_whatever_the_direction(name, greater_is_better):
    metric = get_registry().metric(name)
    assert metric.greater_is_better is greater_is_better
    assert metric.to_loss(0.8) == (-0.8 if greater_is_better else 0.8)
