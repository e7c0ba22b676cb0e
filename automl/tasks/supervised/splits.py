"""The resampling splits of classification and regression: (stratified) k-fold or a holdout."""

from __future__ import annotations

import math
import warnings

import numpy as np

from automl.engine.evaluation import Splits

HOLDOUT_FRACTION = 0.2
AUTO_CV_FOLDS = 5
AUTO_CV_MAX_ROWS = 10_000
"""``cv="auto"``: k-fold up to this many rows, a holdout above (more trials per budget)."""


def make_splits(task: str, y: np.ndarray, cv: int | float | str, seed: int) -> Splits:
    """Build the resampling splits every trial shares.

    Parameters
    ----------
    task : str
        Stratified splits are used for classification.
    y : numpy.ndarray
        Encoded target.
    cv : int, float, "holdout" or "auto"
        Number of folds (>= 2), a holdout fraction in (0, 1), ``"holdout"``
        for a 20% holdout, or ``"auto"``: 5 folds up to 10,000 rows, a 20%
        holdout above.
    seed : int
        Shuffling seed.
    """
    from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

    classification = task != "regression"
    index = np.zeros(len(y))
    if cv == "auto":
        cv = AUTO_CV_FOLDS if len(y) <= AUTO_CV_MAX_ROWS else "holdout"
    if cv == "holdout" or (isinstance(cv, float) and 0 < cv < 1):
        fraction = HOLDOUT_FRACTION if cv == "holdout" else float(cv)
        if classification:
            _check_two_rows_per_class(y)
        _check_holdout_size(y, fraction, classification)
        splitter_cls = StratifiedShuffleSplit if classification else ShuffleSplit
        splitter = splitter_cls(n_splits=1, test_size=fraction, random_state=seed)
        return [(tr, va) for tr, va in splitter.split(index, y)]
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise ValueError(
            f"cv must be an integer >= 2, a fraction in (0, 1), 'holdout' or 'auto', got {cv!r}"
        )
    n_splits = int(cv)
    if classification:
        smallest = int(np.bincount(y).min())
        if smallest < n_splits:
            warnings.warn(
                f"the smallest class has {smallest} rows, fewer than cv={n_splits}; "
                f"using {smallest}-fold cross-validation",
                stacklevel=5,
            )
            n_splits = max(2, smallest)
        if np.sum(np.bincount(y) >= 2) < 2:  # some fold would fit on a single class
            raise ValueError("y has fewer than 2 classes with 2 rows or more, so some "
                             "training fold would hold a single class; add rows of the "
                             "rare classes")
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        if len(y) < n_splits:
            raise ValueError(f"{len(y)} rows are too few for cv={n_splits}; lower cv")
        splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in splitter.split(index, y)]


def _check_two_rows_per_class(y: np.ndarray) -> None:
    """A stratified holdout needs two rows of every class: one to fit on, one to score."""
    counts = np.bincount(y)
    single = int(np.sum(counts == 1))
    if single:
        raise ValueError(f"{single} of the {len(counts)} classes of y have a single row; "
                         "a stratified holdout needs at least 2 rows of every class: add rows, "
                         "drop those classes or pass cv=2 (or more folds)")


def _check_holdout_size(y: np.ndarray, fraction: float, classification: bool) -> None:
    """Both parts of a holdout must hold a row (of every class, for classification)."""
    n_test = math.ceil(fraction * len(y))
    n_train = len(y) - n_test
    needed = len(np.unique(y)) if classification else 1
    if min(n_test, n_train) < needed:
        what = f"{needed} classes" if classification else "a row"
        raise ValueError(f"a holdout of {fraction:g} of {len(y)} rows leaves {n_train} rows "
                         f"to fit and {n_test} to score, and each part needs {what}; add "
                         "rows or pass cv=2 (or more folds)")
