"""Training and prediction shared by the ``neumf`` and ``hybrid_mf`` estimators.

Both train through :func:`plugins.neural._training.train_network`:

* explicit feedback: mean squared error on standardised ratings plus
  ``embedding_reg`` times the mean squared norm of the embedding rows each
  pair uses; a seeded 10% of the rows is held out by the trainer for early
  stopping and the best weights; predictions are clipped to the training
  rating range;
* implicit feedback: binary cross-entropy on logits (plus the same
  penalty), each positive pair joined in every batch by ``negatives`` items
  drawn uniformly at random from those the user never interacted with
  (re-drawn every batch, so every epoch, from a generator seeded by
  ``random_state``; a draw that hits a positive is redrawn up to
  :data:`NEGATIVE_RESAMPLE_ROUNDS` times). 10% of the distinct positive
  pairs, each with ``negatives`` fixed negatives, form the validation set
  for early stopping. Scores are sigmoid probabilities in (0, 1).

Networks take user and item indices ``code + 1`` (0: unknown) and expose
``penalty(*inputs)``. Fitted state is numpy (``weights_``); the torch module
is rebuilt on demand and left out of pickles. Importing this module does not
import torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from plugins._recsys_base import BaseRecommender, sigmoid

from .._torch_estimator import TorchEstimator

__all__ = [
    "MIN_BATCH_ROWS",
    "NCF_MAX_EPOCHS",
    "NCF_PATIENCE",
    "NEGATIVE_RESAMPLE_ROUNDS",
    "TorchRecommender",
    "inverse_counts",
]

NCF_MAX_EPOCHS = 100
"""Most epochs when the ``max_epochs`` fidelity is not set (early stopping ends sooner)."""

NCF_PATIENCE = 10
"""Epochs without a validation improvement before training stops."""

NEGATIVE_RESAMPLE_ROUNDS = 3
"""Redraws of a negative that turned out to be a positive of its user."""

MIN_BATCH_ROWS = 32
"""``batch_size`` is lowered to ``n_rows // 8`` (at least this) on small data."""

_MIN_VALIDATION_ROWS = 5


def _draw_negatives_numpy(users: np.ndarray, keys: np.ndarray, n_items: int,
                          rng: np.random.Generator) -> np.ndarray:
    """Item indices ``1..n_items`` that are (mostly) not positives of ``users``."""
    items = rng.integers(1, n_items + 1, size=len(users))
    for _ in range(NEGATIVE_RESAMPLE_ROUNDS):
        pairs = users * (n_items + 1) + items
        pos = np.minimum(np.searchsorted(keys, pairs), len(keys) - 1)
        hit = keys[pos] == pairs
        if not hit.any():
            break
        items[hit] = rng.integers(1, n_items + 1, size=int(hit.sum()))
    return items


def inverse_counts(index: np.ndarray, size: int, scale: float) -> np.ndarray:
    """``1 / (scale * max(count, 1))`` per row ``0..size-1`` of how often ``index`` uses it.

    Parameters
    ----------
    index : ndarray of int
        Rows used, any shape.
    size : int
        Rows in the table.
    scale : float
        Multiplier of the counts.

    Returns
    -------
    ndarray of float32
        The weights.

    """
    counts = np.bincount(np.asarray(index).reshape(-1), minlength=int(size))[: int(size)]
    return (1.0 / (scale * np.maximum(counts, 1))).astype(np.float32)


class TorchRecommender(TorchEstimator, BaseRecommender):
    """Shared training and prediction of the torch recommenders.

    Subclasses set their parameters in ``__init__`` (``negatives``,
    ``batch_size``, ``learning_rate``, ``weight_decay``, ``embedding_reg``,
    ``max_epochs``, ``patience``, ``validation_fraction``, ``grad_clip``,
    ``device``, ``precision``, ``n_threads``, ``time_limit``,
    ``random_state``) and implement ``_network``; those with side features also
    ``_side_inputs`` and ``_swap_items``.
    """

    _history_fields = ("epoch", "train_loss", "val_loss", "seconds")
    _min_batch_rows = MIN_BATCH_ROWS

    def _side_inputs(self, X: pd.DataFrame, users: np.ndarray, items: np.ndarray,
                     fitting: bool) -> tuple[np.ndarray, ...]:
        return ()

    def _swap_items(self, side: Sequence[Any], items: Any, xp: Any) -> list[Any]:
        """Side inputs of negative pairs: item attributes replaced by those of ``items``."""
        return list(side)

    def _network(self) -> tuple[type, dict[str, Any]]:
        """The network class and its arguments."""
        raise NotImplementedError

    def _row_weights(self, u_idx: np.ndarray, i_idx: np.ndarray, side: tuple[np.ndarray, ...],
                     scale: float) -> tuple[np.ndarray, ...]:
        """Penalty weight per embedding row: ``1 / (scale * training pairs using it)``.

        ``scale`` is ``1 + negatives`` for implicit feedback, where every
        positive pair comes with that many sampled pairs.
        """
        raise NotImplementedError

    def _settings(self, n_rows: int, seed: int, validation_fraction: float) -> Any:
        """``TrainSettings`` with this validation share (0: a validation set is given)."""
        return self._train_settings(n_rows, seed, validation_fraction=float(validation_fraction))

    def fit(self, X: Any, y: Any = None) -> TorchRecommender:
        """Train the network on interactions.

        Parameters
        ----------
        X : pandas.DataFrame
            ``user`` and ``item`` codes, then optional side-feature columns.
        y : array-like of float, optional
            Ratings; None for implicit feedback.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            For malformed codes, ratings or parameters.

        """
        if int(self.negatives) < 1:
            raise ValueError(f"negatives must be a positive integer, got {self.negatives!r}")
        users, items, ratings = self._start_fit(X, y)
        seed = self._seed()
        side = self._side_inputs(X, users, items, fitting=True)
        net_class, self.net_config_ = self._network()
        config = dict(self.net_config_)
        u_idx, i_idx = users + 1, items + 1
        scale = 1.0 if ratings is not None else 1.0 + int(self.negatives)
        row_weights = self._row_weights(u_idx, i_idx, side, scale)

        def factory() -> Any:
            net = net_class(**config)
            net.set_row_weights(*row_weights)
            return net

        if ratings is None:
            result = self._train_implicit(factory, u_idx, i_idx, side, seed)
        else:
            scale = float(ratings.std())
            self.target_scale_ = scale if scale > 0 else 1.0
            target = ((ratings - self.global_mean_) / self.target_scale_).astype(np.float32)
            from .._training import train_network

            result = train_network(factory, (u_idx, i_idx, *side, target),
                                   self._settings(len(u_idx), seed,
                                                  float(self.validation_fraction)),
                                   compute_loss=self._explicit_loss())
        self._keep(result.model, [(None, result)])
        return self

    def _train_implicit(self, factory: Callable[[], Any], u_idx: np.ndarray, i_idx: np.ndarray,
                        side: tuple[np.ndarray, ...], seed: int) -> Any:
        from .._training import train_network, validation_split

        n_items = self.n_items_
        pair_keys = u_idx * (n_items + 1) + i_idx
        keys, first = np.unique(pair_keys, return_index=True)
        first = np.sort(first)  # one row per distinct pair, in row order
        u_pos, i_pos = u_idx[first], i_idx[first]
        side_pos = [s[first] for s in side]
        n_neg = int(self.negatives)
        fit_rows, valid_rows = validation_split(len(first), float(self.validation_fraction),
                                                seed=seed)
        validation = None
        if len(valid_rows) >= _MIN_VALIDATION_ROWS and len(fit_rows) >= 1:
            rng = np.random.default_rng(seed)
            vu = u_pos[valid_rows]
            neg_users = np.tile(vu, n_neg)
            neg_items = _draw_negatives_numpy(neg_users, keys, n_items, rng)
            v_side = [s[valid_rows] for s in side_pos]
            neg_side = self._swap_items([np.tile(s, (n_neg, 1)) for s in v_side], neg_items, np)
            validation = (
                np.concatenate([vu, neg_users]), np.concatenate([i_pos[valid_rows], neg_items]),
                *[np.concatenate([a, b]) for a, b in zip(v_side, neg_side, strict=True)],
                np.r_[np.ones(len(vu)), np.zeros(len(neg_users))].astype(np.float32),
            )
        else:
            fit_rows = np.arange(len(first))
        train = (u_pos[fit_rows], i_pos[fit_rows], *[s[fit_rows] for s in side_pos],
                 np.ones(len(fit_rows), dtype=np.float32))
        compute = self._implicit_loss(keys, n_items, n_neg, seed)
        return train_network(factory, train, self._settings(len(fit_rows), seed, 0.0),
                             validation=validation, compute_loss=compute)

    def _explicit_loss(self) -> Callable[[Any, Any], Any]:
        import torch.nn.functional as F  # noqa: N812 - the usual torch alias

        reg = float(self.embedding_reg)

        def compute(model: Any, batch: Any) -> Any:
            *inputs, target = batch
            loss = F.mse_loss(model(*inputs).float(), target.float())
            if model.training and reg > 0:
                loss = loss + reg * model.penalty(*inputs).mean()
            return loss

        return compute

    def _implicit_loss(self, keys: np.ndarray, n_items: int, n_neg: int,
                       seed: int) -> Callable[[Any, Any], Any]:
        import torch
        import torch.nn.functional as F  # noqa: N812 - the usual torch alias

        generator = torch.Generator().manual_seed(int(seed) + 1)
        reg = float(self.embedding_reg)
        cache: dict[str, Any] = {}

        def draw(users: Any) -> Any:
            device = users.device
            if "keys" not in cache or cache["keys"].device != device:
                cache["keys"] = torch.as_tensor(keys, device=device)
            sorted_keys = cache["keys"]
            items = torch.randint(1, n_items + 1, (len(users),), generator=generator).to(device)
            for _ in range(NEGATIVE_RESAMPLE_ROUNDS):
                pairs = users * (n_items + 1) + items
                pos = torch.searchsorted(sorted_keys, pairs).clamp_(max=len(sorted_keys) - 1)
                hit = sorted_keys[pos] == pairs
                n_hit = int(hit.sum())
                if not n_hit:
                    break
                items[hit] = torch.randint(1, n_items + 1, (n_hit,),
                                           generator=generator).to(device)
            return items

        def compute(model: Any, batch: Any) -> Any:
            *inputs, label = batch
            if model.training:
                users, items, *side = inputs
                neg_users = users.repeat(n_neg)
                neg_items = draw(neg_users)
                neg_side = self._swap_items([s.repeat(n_neg, 1) for s in side], neg_items, torch)
                inputs = [torch.cat([users, neg_users]), torch.cat([items, neg_items]),
                          *[torch.cat([a, b]) for a, b in zip(side, neg_side, strict=True)]]
                label = torch.cat([torch.ones_like(label), label.new_zeros(len(neg_users))])
            logits = model(*inputs)
            loss = F.binary_cross_entropy_with_logits(logits.float(), label.float())
            if model.training and reg > 0:
                loss = loss + reg * model.penalty(*inputs).mean()
            return loss

        return compute

    def _build_module(self) -> Any:
        net_class, _ = self._network()
        return net_class(**self.net_config_)

    def _network_scores(self, users: np.ndarray, items: np.ndarray,
                        side: tuple[np.ndarray, ...]) -> np.ndarray:
        """Scores of pairs from the network (users and items as codes, -1 unknown)."""
        out = self._network_outputs((users + 1, items + 1, *side), batch_size=4096)
        out = out.reshape(-1)
        if self.implicit_:
            return sigmoid(out)
        return out * self.target_scale_ + self.global_mean_
