"""Conformance kit for model specs: what every ``ModelSpec`` must pass.

Plugin authors run it in their own test suite, as our built-in plugins do::

    from automl.testing import check_model_spec

    def test_my_spec():
        check_model_spec(my_plugin.MY_SPEC)

:func:`check_model_spec` fits the spec's estimators on small generated tables
(numeric columns with NaN, an all-NaN and a constant column, string
categorical columns with NaN, an all-missing one and an ID-like one) and
predicts on a copy holding categories unseen at fit time, for every task the
spec declares. Specs of images, sequences or texts are checked the same way on
data from :func:`make_modality_data` (predictions on fresh rows; for texts,
rows holding words never seen in fit). :func:`make_tabular_data` builds such a
table with its matching :class:`~automl.specs.Context` for authors' own tests,
and :func:`with_unseen_categories` adds the unseen categories;
:func:`make_interaction_data` generates interactions for recommenders.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

from automl.specs import ModelSpec
from automl.testing._family_checks import check_generator, check_recommender
from automl.testing._interaction_data import make_interaction_context, make_interaction_data
from automl.testing._modality_data import make_modality_data
from automl.testing._steps import _configs
from automl.testing._supervised import _check_declaration, _check_tasks
from automl.testing._tabular_data import (
    TASKS,
    UNSEEN_CATEGORY,
    make_tabular_data,
    with_unseen_categories,
)

__all__ = [
    "TASKS",
    "UNSEEN_CATEGORY",
    "check_model_spec",
    "make_interaction_context",
    "make_interaction_data",
    "make_modality_data",
    "make_tabular_data",
    "with_unseen_categories",
]


def check_model_spec(spec: ModelSpec, *, n_configs: int = 3, seed: int = 0) -> None:
    """Check that a model spec honours the plugin contract.

    For each modality the spec declares among tabular, image, sequence and
    text, and each concrete task it serves (binary and multiclass for
    ``"classification"``, regression for ``"regression"``), on a table from
    :func:`make_tabular_data` with predictions made on
    :func:`with_unseen_categories` of it (other modalities: data from
    :func:`make_modality_data`, predictions on fresh rows), checks that:

    * the description is a non-empty string and one of those modalities is
      declared;
    * every default validates against the space;
    * ``build`` works for every default and ``n_configs`` sampled configs
      (sampled ones with the fidelity, if any, at its low value), does not
      modify the config, and returns an estimator that
      ``sklearn.base.clone`` can copy and whose thread parameters
      (``n_jobs`` and the like) stay within ``ctx.n_threads``;
    * ``fit`` returns ``self``; ``predict`` returns one finite value per
      row; a classifier exposes ``classes_ == [0 .. k-1]`` and a
      ``predict_proba`` of shape ``(n, k)``, finite, in ``[0, 1]``, rows
      summing to 1;
    * two estimators built from the same config and context (the second
      cloned before fitting) give the same predictions;
    * a declared fidelity names a parameter of the space, or one that the
      built estimator exposes and takes the value given in the config;
    * every fitted estimator saves with skops and loads back under the
      engine's allow-list (the spec's ``persisted_types``), predicting the
      same (recommenders and generators too).

    Recommender specs are fitted on generated ratings and implicit
    interactions and must score pairs with unseen users and items; generator
    specs are fitted on the same awkward table and must sample rows with its
    columns, reproducibly (``automl.testing._family_checks``).

    The checks run with BLAS and OpenMP thread pools capped at one thread
    (the generated context's ``n_threads``), so that they are quick and do
    not depend on the machine.

    Parameters
    ----------
    spec : ModelSpec
        The spec to check.
    n_configs : int, default=3
        Sampled configurations to check besides the defaults.
    seed : int, default=0
        Seed of the data, the context and the sampling.

    Raises
    ------
    AssertionError
        At the first violation, naming the spec, the task and the config.

    """
    family_checks = {"recommendation": check_recommender, "generation": check_generator}
    if set(spec.tasks) & set(family_checks):
        configs = _configs(spec, n_configs, seed)
        with threadpool_limits(limits=1):
            for family in sorted(set(spec.tasks) & set(family_checks)):
                family_checks[family](spec, configs, seed)
        return
    modalities, tasks = _check_declaration(spec)
    configs = _configs(spec, n_configs, seed)
    # The generated context allows one thread; capping BLAS/OpenMP pools keeps
    # the kit fast and its results independent of the machine's core count.
    with threadpool_limits(limits=1):
        for modality in modalities:
            _check_tasks(spec, modality, tasks, configs, seed)
