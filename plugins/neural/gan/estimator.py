"""The ``ctgan`` estimator: :class:`TabularGAN` (fit, sample, conditional sampling).

Data encoding lives in :mod:`plugins.neural.gan.transform`, the networks and
losses in :mod:`plugins.neural.gan.net`, the training loop in
:mod:`plugins.neural.gan.loop` and its settings in
:mod:`plugins.neural.gan.settings`. The estimator keeps its fitted state as
numpy arrays and plain values, so it pickles, travels between worker
processes and saves with skops. Importing this module does not import torch.
:mod:`plugins.neural.gan` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from automl.tasks.generation import canonical_frame, check_generation_table, generation_columns
from plugins.generators import check_sample_size, sample_seed

from .._torch_estimator import TorchEstimator, store_params
from .._training import document_training

__all__ = ["GAN_MAX_EPOCHS", "MAX_CONDITION_ROUNDS", "TabularGAN"]

GAN_MAX_EPOCHS = 300
"""Epochs when the config does not set the ``max_epochs`` fidelity (CTGAN's default)."""

MAX_CONDITION_ROUNDS = 20
"""Rounds of rejection sampling for :meth:`TabularGAN.sample` with ``conditions``."""

_SAMPLE_BATCH = 4096


@document_training
class TabularGAN(TorchEstimator):
    """Conditional Wasserstein GAN for tables (CTGAN-style).

    See :mod:`plugins.neural.gan` for the design.

    Parameters
    ----------
    numeric_columns, categorical_columns : sequence of str, optional
        Column kinds. Both None: numeric (non-boolean) dtypes are numeric,
        every other column is categorical.
    embedding_dim : int, default=128
        Width of the noise vector.
    generator_width, generator_depth : int, default=256, 2
        Units per residual block, and blocks.
    critic_width, critic_depth : int, default=256, 2
        Units per hidden layer of the critic, and layers.
    critic_dropout : float, default=0.5
        Dropout in the critic.
    generator_lr, critic_lr : float, default=2e-4
        Learning rates (Adam(W), betas 0.5 and 0.9).
    {training parameters}
    batch_size : int, default=500
        Rows per batch (lowered on small tables; a multiple of ``pac``).
    pac : int, default=10
        Rows the critic judges together (PacGAN).
    gp_weight : float, default=10.0
        Weight of the gradient penalty.
    critic_steps : int, default=1
        Critic updates per generator update.
    max_epochs : int, default=GAN_MAX_EPOCHS
        Epochs (the fidelity); an epoch is ``n_rows // batch`` generator steps.
    schedule : {"constant", "cosine", "onecycle"}, default="constant"
        Learning-rate schedule of both optimizers.
    max_modes : int, default=10
        Most mixture modes per numeric column.
    discrete_threshold : int, default=10
        Numeric columns with at most this many distinct values are treated
        as categories (exact values come back).
    max_categories : int, default=100
        Most categories with their own one-hot slot per column; the others
        share a "rare" slot decoded from a pool of training values.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Where to train; sampling falls back to the CPU without CUDA.
    precision : {"fp32", "bf16", "auto"}, default="fp32"
        Mixed precision of the forward passes on CUDA.
    n_threads : int, default=1
        Torch threads during fit and sample.
    time_limit : float, optional
        Seconds for training; checked between batches, the last complete
        epoch is kept.
    random_state : int, optional
        Seed; None draws one at fit time.

    Attributes
    ----------
    columns_ : list of str
        Training columns, in order.
    numeric_columns_, categorical_columns_ : list of str
        Column kinds.
    transformer_ : GANTransformer
        The fitted encoding (plain values and arrays).
    slot_counts_ : list of ndarray
        Training rows per category of each conditioning column.
    weights_ : dict of str to ndarray
        The generator's ``state_dict`` as numpy arrays.
    net_config_ : dict
        Arguments that rebuild the generator.
    history_ : list of dict
        Per epoch: mean critic and generator losses and seconds.
    n_epochs_ : int
        Epochs run.
    stop_reason_ : str
        ``"max_epochs"``, ``"time_limit"`` or ``"diverged"``.
    batch_size_ : int
        The batch used.
    seed_ : int
        The seed used in fit.

    Examples
    --------
    >>> from automl.testing import make_tabular_data
    >>> X, _, ctx = make_tabular_data("binary")
    >>> gan = TabularGAN(max_epochs=2, random_state=0).fit(X)
    >>> gan.sample(5).shape
    (5, 9)

    """

    def __init__(
        self,
        *,
        numeric_columns: Sequence[str] | None = None,
        categorical_columns: Sequence[str] | None = None,
        embedding_dim: int = 128,
        generator_width: int = 256,
        generator_depth: int = 2,
        critic_width: int = 256,
        critic_depth: int = 2,
        critic_dropout: float = 0.5,
        generator_lr: float = 2e-4,
        critic_lr: float = 2e-4,
        weight_decay: float = 1e-6,
        batch_size: int = 500,
        pac: int = 10,
        gp_weight: float = 10.0,
        critic_steps: int = 1,
        max_epochs: int = GAN_MAX_EPOCHS,
        schedule: str = "constant",
        max_modes: int = 10,
        discrete_threshold: int = 10,
        max_categories: int = 100,
        device: str = "auto",
        precision: str = "fp32",
        n_threads: int = 1,
        time_limit: float | None = None,
        random_state: int | None = 0,
    ) -> None:
        store_params(self, locals())

    def _settings(self, seed: int) -> Any:
        from .settings import GANSettings

        return GANSettings(
            embedding_dim=int(self.embedding_dim), generator_width=int(self.generator_width),
            generator_depth=int(self.generator_depth), critic_width=int(self.critic_width),
            critic_depth=int(self.critic_depth), critic_dropout=float(self.critic_dropout),
            generator_lr=float(self.generator_lr), critic_lr=float(self.critic_lr),
            weight_decay=float(self.weight_decay), batch_size=int(self.batch_size),
            pac=max(int(self.pac), 1), gp_weight=float(self.gp_weight),
            critic_steps=max(int(self.critic_steps), 1), max_epochs=int(self.max_epochs),
            schedule=str(self.schedule), time_limit=self.time_limit, device=str(self.device),
            precision=str(self.precision), seed=seed, n_threads=int(self.n_threads),
        )

    def fit(self, X: Any, y: Any = None) -> TabularGAN:
        """Encode the table and train the generator.

        Parameters
        ----------
        X : pandas.DataFrame or 2-D array-like
            The table (canonical form, see :mod:`automl.tasks.generation`).
        y : ignored
            Present for the scikit-learn API.

        Returns
        -------
        TabularGAN
            This fitted generator.

        Raises
        ------
        ValueError
            When the table has no rows or no column whose values vary.
        RuntimeError
            When training diverges in the first epoch.

        """
        from .loop import train_gan
        from .transform import GANTransformer

        frame, numeric, categorical = generation_columns(
            X, self.numeric_columns, self.categorical_columns)
        check_generation_table(frame)
        self.seed_ = (int(self.random_state) if self.random_state is not None
                      else int(np.random.default_rng().integers(2**31 - 1)))
        rng = np.random.default_rng(self.seed_)
        self.columns_ = list(frame.columns)
        self.numeric_columns_, self.categorical_columns_ = numeric, categorical
        self.n_features_in_ = len(self.columns_)
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        transformer = GANTransformer(
            max_modes=int(self.max_modes), discrete_threshold=int(self.discrete_threshold),
            max_categories=int(self.max_categories)).fit(frame, numeric, rng)
        data, slots = transformer.transform(frame, rng)
        counts = transformer.slot_counts(slots)
        result = train_gan(data, slots, transformer, counts, self._settings(self.seed_))
        self.transformer_ = transformer
        self.slot_counts_ = counts
        self.net_config_ = {"input_dim": int(self.embedding_dim) + transformer.cond_dim,
                            "width": int(self.generator_width),
                            "depth": int(self.generator_depth),
                            "data_dim": transformer.data_dim}
        self._keep_weights(result.generator)
        self.history_ = result.history
        self.n_epochs_ = result.epochs
        self.stop_reason_ = result.stop_reason
        self.fit_seconds_ = result.seconds
        self.device_ = result.device
        self.batch_size_ = result.batch_size
        return self

    def _build_module(self) -> Any:
        import torch

        from .net import ResidualGenerator

        with torch.random.fork_rng(devices=[]):  # leave the caller's generator alone
            return ResidualGenerator(**self.net_config_)

    def _raw(self, n: int, rng: np.random.Generator, fixed: tuple[int, int] | None
             ) -> np.ndarray:
        """Raw generator outputs for ``n`` rows (conditions by frequency, or fixed)."""
        import torch

        transformer = self.transformer_
        net = self._module()
        parts = []
        for start in range(0, n, _SAMPLE_BATCH):
            size = min(_SAMPLE_BATCH, n - start)
            noise = torch.randn(size, int(self.embedding_dim))
            if transformer.cond_dim:
                if fixed is None:
                    cond, _, _ = transformer.sample_condition(self.slot_counts_, size, rng,
                                                              log_frequency=False)
                else:
                    cond = np.zeros((size, transformer.cond_dim), dtype=np.float32)
                    cond[:, transformer.cond_offsets[fixed[0]] + fixed[1]] = 1.0
                noise = torch.cat([noise, torch.as_tensor(cond)], dim=1)
            with torch.no_grad():
                parts.append(net(noise).numpy())
        if not parts:
            return np.zeros((0, transformer.data_dim))
        return np.concatenate(parts)

    def sample(self, n: int, random_state: Any = None,
               conditions: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Draw ``n`` synthetic rows.

        Parameters
        ----------
        n : int
            Rows to draw (0 gives an empty table with the training columns).
        random_state : int or numpy.random.Generator, optional
            Seed of this draw; None reuses the fitted seed (the same rows each
            call).
        conditions : mapping of str to value, optional
            One categorical column and a frequent value of it, e.g.
            ``{"label": "yes"}``: rows are generated conditioned on it and
            rejection-sampled (up to :data:`MAX_CONDITION_ROUNDS` rounds) so
            the column holds that value; rows still missing after that get the
            value written in.

        Returns
        -------
        pandas.DataFrame
            The training columns, in order, in canonical form.

        Raises
        ------
        ValueError
            For a negative ``n``, or a condition the generator cannot honour.

        """
        from .._training import training_runtime

        check_is_fitted(self, "weights_")
        n = check_sample_size(n)
        seed = sample_seed(random_state, self.seed_)
        rng = np.random.default_rng(seed)
        fixed = None
        if conditions:
            if len(conditions) != 1:
                raise ValueError("conditions must name exactly one column, got "
                                 f"{list(conditions)}")
            ((name, value),) = conditions.items()
            fixed = self.transformer_.condition_for(str(name), value)
        self._module()  # built before seeding: its initialisation draws random numbers
        with training_runtime("cpu", seed=seed, n_threads=int(self.n_threads)):
            if fixed is None:
                values = self.transformer_.inverse(self._raw(n, rng, None), rng)
                return canonical_frame(values, self.columns_, self.numeric_columns_)
            return self._sample_conditioned(n, rng, fixed, str(name), value)

    def _sample_conditioned(self, n: int, rng: np.random.Generator, fixed: tuple[int, int],
                            name: str, value: Any) -> pd.DataFrame:
        kept: list[pd.DataFrame] = []
        have = 0
        frame = None
        target = self.transformer_.columns[self.transformer_.cond_columns[fixed[0]]]
        for _ in range(MAX_CONDITION_ROUNDS):
            if have >= n:
                break
            values = self.transformer_.inverse(self._raw(max(n - have, 16), rng, fixed), rng)
            frame = canonical_frame(values, self.columns_, self.numeric_columns_)
            match = frame[name] == (float(value) if target["numeric"] else str(value))
            kept.append(frame[match.to_numpy()])
            have += int(match.sum())
        out = pd.concat(kept, ignore_index=True) if kept else frame.iloc[:0]
        if len(out) < n and frame is not None:
            fill = frame.iloc[: n - len(out)].copy()
            fill[name] = pd.Series([float(value) if target["numeric"] else str(value)]
                                   * len(fill), index=fill.index,
                                   dtype=np.float64 if target["numeric"] else object)
            out = pd.concat([out, fill], ignore_index=True)
        return out.iloc[:n].reset_index(drop=True)
