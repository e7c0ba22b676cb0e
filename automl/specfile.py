"""Scripted searches kept in version control: a TOML spec file run by ``automl run``.

Example::

    [data]
    train = "train.csv"        # paths are relative to the spec file
    target = "label"
    test = "test.csv"          # optional: scored after the search

    [search]                   # any AutoML parameter
    time_budget = 120
    strategy = "bayesian"
    metric = "roc_auc"
    random_state = 0
    storage = "runs.db"        # optional: resumable
    study = "churn"

    [models.xgboost]           # searched models, with optional space overrides
    max_depth = { low = 2, high = 8 }
    learning_rate = { low = 0.01, high = 0.2, log = true }

    [models.logistic_regression]

    [output]
    model = "model/"           # optional: where to save the fitted model
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECTIONS = {"data", "search", "models", "output"}


@dataclass
class SearchSpec:
    """A parsed spec file: data paths, AutoML parameters and outputs."""

    train: Path
    target: str
    test: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None


def load_spec(path: str | Path) -> SearchSpec:
    """Read and check a spec file.

    Raises
    ------
    ValueError
        Naming the section or key at fault and what is allowed.
    """
    from automl.estimator import AutoML

    file = Path(path)
    if not file.exists():
        raise ValueError(f"spec file {file} does not exist")
    try:
        spec = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{file} is not valid TOML: {exc}") from None
    unknown = sorted(set(spec) - SECTIONS)
    if unknown:
        raise ValueError(f"{file}: unknown sections {unknown}; allowed: {sorted(SECTIONS)}")
    data = spec.get("data", {})
    for key in ("train", "target"):
        if key not in data:
            raise ValueError(f"{file}: [data] needs {key!r}")
    base = file.parent
    params = dict(spec.get("search", {}))
    allowed = set(inspect.signature(AutoML).parameters) - {"models"}
    bad = sorted(set(params) - allowed)
    if bad:
        raise ValueError(f"{file}: unknown [search] keys {bad}; allowed: {sorted(allowed)}")
    if "storage" in params:
        params["storage"] = str(base / params["storage"])
    if "models" in spec:
        params["models"] = {name: dict(space) for name, space in spec["models"].items()}
    output = spec.get("output", {}).get("model")
    return SearchSpec(
        train=base / data["train"], target=data["target"],
        test=base / data["test"] if "test" in data else None,
        params=params, output=base / output if output else None,
    )
