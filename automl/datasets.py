"""Data sets shipped with the project, for examples, tests and benchmarks.

Only pandas is needed; the files live in the project's ``data/`` folder (see
``data/README.md`` for sources and licences).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
"""The project's ``data/`` folder."""


def load_bank_marketing(
    blank_fraction: float = 0.0, seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """Load the UCI Bank Marketing data set ("bank-full"), without ``duration``.

    S. Moro, P. Cortez and P. Rita, "A Data-Driven Approach to Predict the
    Success of Bank Telemarketing", Decision Support Systems 62, 2014; UCI
    Machine Learning Repository, CC BY 4.0. The ``duration`` column is dropped
    because it is only known after the call and so leaks the outcome. Rows are
    sorted by age: shuffle before splitting.

    Parameters
    ----------
    blank_fraction : float, default=0.0
        Fraction of the cells of every feature column set to missing (NaN),
        to exercise missing-value handling. Must be in ``[0, 1)``.
    seed : int, default=0
        Seed of the cells blanked.

    Returns
    -------
    X : pandas.DataFrame
        45,211 rows and 15 feature columns (6 numeric, 9 categorical as strings).
    y : pandas.Series
        The target ``y``: ``"yes"`` (subscribed, about 11.7%) or ``"no"``.

    Raises
    ------
    FileNotFoundError
        When ``data/bank-marketing.csv.gz`` is missing from the project.
    ValueError
        When ``blank_fraction`` is outside ``[0, 1)``.

    """
    if not 0.0 <= blank_fraction < 1.0:
        raise ValueError(f"blank_fraction must be in [0, 1), got {blank_fraction!r}")
    path = DATA_DIR / "bank-marketing.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"bank marketing data not found at {path}; it ships in the project's data/ "
            "folder of a source checkout"
        )
    frame = pd.read_csv(path)
    y = frame.pop("y").rename("y")
    X = frame.drop(columns="duration")
    if blank_fraction > 0:
        rng = np.random.default_rng(seed)
        n_blank = round(blank_fraction * len(X))
        for column in X.columns:
            rows = rng.choice(len(X), size=n_blank, replace=False)
            if pd.api.types.is_integer_dtype(X[column]):
                X[column] = X[column].astype(float)
            X.loc[rows, column] = np.nan
    return X, y
