"""Data files the ``automl`` command reads: CSV tables and texts, NumPy images and sequences.

========= ==================================================================
format    content
========= ==================================================================
``.csv``  a table with a header row; with ``--modality text`` the table has
          one column besides the target, holding one text per row
``.npz``  NumPy arrays (read with ``allow_pickle=False``, so a file cannot
          run code): ``X`` holds images ``(N, H, W)``, ``(N, H, W, C)`` or
          ``(N, C, H, W)``, or sequences ``(N, T, F)``; variable-length
          sequences are stored concatenated, ``X`` of shape ``(sum T_i, F)``,
          with their lengths in ``lengths``; the target is the array named
          by ``--target`` (``y`` by default)
``.npy``  an array ``X`` alone, for ``automl predict``
========= ==================================================================
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMATS = (".csv", ".npz", ".npy")


def _existing(path: str | Path) -> Path:
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"{file} does not exist")
    if file.suffix.lower() not in FORMATS:
        raise ValueError(f"{file}: unknown data format {file.suffix!r}; use one of {FORMATS}")
    return file


def _read_csv(file: Path) -> pd.DataFrame:
    """The table in ``file``; an empty or unparsable file is named in the error."""
    try:
        table = pd.read_csv(file)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{file} is empty; a CSV file needs a header row and data "
                         "rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{file} is not a readable CSV table: {exc}") from None
    if table.empty:
        raise ValueError(f"{file} has a header row but no data rows")
    return table


def _texts(table: pd.DataFrame, file: Path) -> pd.Series:
    if table.shape[1] != 1:
        raise ValueError(f"{file}: texts need one column besides the target, found "
                         f"{list(map(str, table.columns))}; drop the others")
    return table.iloc[:, 0]


def _arrays(file: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as exc:
        raise ValueError(f"{file}: {exc}; store plain numeric arrays "
                         "(variable-length sequences as X plus lengths)") from None


def _features(arrays: dict[str, np.ndarray], file: Path) -> Any:
    if "X" not in arrays:
        raise ValueError(f"{file} has no array named 'X'; its arrays are {sorted(arrays)}")
    X = arrays["X"]
    if "lengths" not in arrays:
        return X
    lengths = np.asarray(arrays["lengths"])
    if X.ndim != 2 or lengths.ndim != 1 or lengths.dtype.kind not in "iu" \
            or (lengths <= 0).any() or lengths.sum() != len(X):
        raise ValueError(f"{file}: 'lengths' must be positive integers summing to the "
                         f"{len(X)} rows of a 2-D 'X', got {lengths.sum()} in total")
    return np.split(X, np.cumsum(lengths)[:-1])


def read_training_data(path: str | Path, target: str | None,
                       modality: str | None = None) -> tuple[Any, Any]:
    """Read features and target from a training file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.npz`` file.
    target : str or None
        The target column (CSV) or array (npz); None reads a CSV without a
        target (implicit-feedback interactions), and ``y`` is None.
    modality : str, optional
        ``"text"`` reads the one feature column of a CSV as texts.

    Returns
    -------
    X, y
        Features in a form ``AutoML.fit`` accepts, and the target.

    Raises
    ------
    ValueError
        For an unknown format, a missing target, or a malformed file.
    """
    file = _existing(path)
    if file.suffix.lower() == ".csv":
        table = _read_csv(file)
        if target is None:
            return table, None
        if target not in table.columns:
            raise ValueError(f"target column {target!r} is not in {file}; its columns are: "
                             f"{', '.join(map(str, table.columns))}")
        y = table.pop(target)
        return (_texts(table, file) if modality == "text" else table), y
    if file.suffix.lower() == ".npy":
        raise ValueError(f"{file}: a .npy file holds features only; train from a .npz "
                         f"with arrays X and {target}")
    arrays = _arrays(file)
    if target not in arrays:
        raise ValueError(f"{file} has no target array {target!r}; its arrays are "
                         f"{sorted(arrays)}; name it with --target")
    return _features(arrays, file), arrays[target]


def read_features(path: str | Path, modality: str = "tabular") -> Any:
    """Read the features to predict from a file (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.npz`` or ``.npy`` file.
    modality : str, default="tabular"
        The fitted model's modality; ``"text"`` reads a CSV's one column as texts.

    Returns
    -------
    object
        Features in a form ``AutoML.predict`` accepts.
    """
    file = _existing(path)
    suffix = file.suffix.lower()
    if suffix == ".csv":
        table = _read_csv(file)
        return _texts(table, file) if modality == "text" else table
    if suffix == ".npy":
        return np.load(file, allow_pickle=False)
    return _features(_arrays(file), file)
