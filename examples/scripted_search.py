"""Tune your own scikit-learn training script with ``search.optimize``.

The objective is ordinary user code: build a model from a configuration,
cross-validate it, return the score. ``optimize`` proposes configurations
(Bayesian optimisation here), records every trial to a SQLite file, and
returns the best one. Run it again: the same ``storage`` file and ``study``
continue the search where it stopped, with 30 more trials.

    python examples/scripted_search.py              # stores in scripted_search.db
    python examples/scripted_search.py other.db 10  # another file, 10 more trials
"""

import sys
import time

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from search import Categorical, Float, Int, Space, optimize

X, y = load_breast_cancer(return_X_y=True)

# One conditional space: each model's hyperparameters are active only when it is chosen.
space = Space([
    Categorical("model", ["svm", "logistic", "knn"]),
    Float("C", 1e-3, 1e3, log=True, when={"model": ["svm", "logistic"]}),
    Float("gamma", 1e-4, 1.0, log=True, when={"model": "svm"}),
    Int("n_neighbors", 1, 50, log=True, when={"model": "knn"}),
    Categorical("weights", ["uniform", "distance"], when={"model": "knn"}),
])


def build(config):
    if config["model"] == "svm":
        model = SVC(C=config["C"], gamma=config["gamma"])
    elif config["model"] == "logistic":
        model = LogisticRegression(C=config["C"], max_iter=2000)
    else:
        model = KNeighborsClassifier(
            n_neighbors=config["n_neighbors"], weights=config["weights"]
        )
    return make_pipeline(StandardScaler(), model)


def objective(config):
    """Mean 5-fold cross-validated accuracy (to maximise)."""
    return cross_val_score(build(config), X, y, cv=5, scoring="accuracy").mean()


def main():
    storage = sys.argv[1] if len(sys.argv) > 1 else "scripted_search.db"
    n_trials = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    start = time.perf_counter()
    result = optimize(
        objective,
        space,
        strategy="bayesian",
        n_trials=n_trials,
        direction="maximize",
        storage=storage,
        study="breast-cancer",
        seed=0,
    )
    seconds = time.perf_counter() - start
    print(f"{len(result.trials)} trials in the study ({seconds:.1f} s for this run), "
          f"stored in {storage}")
    print(f"best accuracy: {result.best_value:.4f}")
    print(f"best config:   {result.best_config}")
    frame = result.history_frame().sort_values("value", ascending=False)
    print(frame.head(5).drop(columns=["error"]).to_string(index=False))


if __name__ == "__main__":
    main()
