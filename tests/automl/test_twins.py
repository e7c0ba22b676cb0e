"""Configurations that build the same model are not fitted twice."""

from sklearn.datasets import load_iris

from automl import AutoML
from automl.engine import SAME_MODEL_AS
from automl.registry import get_registry
from automl.specs import Context
from automl.twins import model_key, model_keys

SPECS = get_registry().models
CTX = Context(task="multiclass", n_rows=150, n_features=4, n_classes=3,
              numeric_columns=("a", "b", "c", "d"))


def test_exponents_rounding_to_the_same_columns_share_a_key():
    spec = SPECS["extra_trees"]
    # 4 ** 0.55 = 2.14 and 4 ** 0.7 = 2.64: two columns per split, the same forest
    same = model_key(spec, {"max_features_exp": 0.55, "min_samples_leaf": 3}, CTX)
    assert same == model_key(spec, {"max_features_exp": 0.7, "min_samples_leaf": 3}, CTX)
    assert same != model_key(spec, {"max_features_exp": 0.85, "min_samples_leaf": 3}, CTX)
    assert same != model_key(spec, {"max_features_exp": 0.55, "min_samples_leaf": 4}, CTX)


def test_unknown_or_unbuildable_models_have_no_key():
    keys = model_keys({"extra_trees": SPECS["extra_trees"]}, CTX)
    assert keys("no_such_model", {}) is None
    assert keys("extra_trees", {"max_features_exp": "not a number"}) is None


def test_a_search_reuses_the_result_of_a_trial_that_built_the_same_model():
    X, y = load_iris(return_X_y=True)
    # one free parameter over four features: at most four different forests
    model = AutoML(models={"extra_trees": {"min_samples_leaf": 2}}, strategy="random",
                   max_trials=10, time_budget=120, random_state=0, n_jobs=1).fit(X, y)
    records = {r.number: r for r in model.trials_}
    twins = [r for r in model.trials_ if SAME_MODEL_AS in r.extras]
    fitted = [r for r in model.trials_ if SAME_MODEL_AS not in r.extras]
    assert len(records) == 10 and len(fitted) <= 4 and twins
    for twin in twins:
        original = records[int(twin.extras[SAME_MODEL_AS])]
        assert SAME_MODEL_AS not in original.extras and original.number < twin.number
        assert twin.params != original.params and twin.score == original.score
        assert (twin.oof == original.oof).all()
    board = model.leaderboard()
    assert board[SAME_MODEL_AS].notna().sum() == len(twins)
