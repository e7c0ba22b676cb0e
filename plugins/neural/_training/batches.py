"""Data for the loop: seeded validation splits, batching and moving batches to a device.

Part of :mod:`plugins.neural._training`; import from there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from .runtime import is_cuda

__all__ = ["iterate_batches", "to_device", "validation_split"]

DEVICE_DATA_BYTES = 1 << 30
"""Training tensors up to this size are moved to a CUDA device once, not per batch."""


def validation_split(
    n_rows: int, fraction: float, *, seed: int = 0, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split row positions into training and validation parts, seeded.

    With ``labels`` (classification) the same share of every class is drawn
    and each class keeps at least one training row.

    Parameters
    ----------
    n_rows : int
        Rows to split.
    fraction : float
        Share of rows for validation, in [0, 1).
    seed : int, default=0
        Seed of the draw.
    labels : ndarray, optional
        Class of each row, for a stratified split.

    Returns
    -------
    train, valid : ndarray of int64
        Sorted row positions; ``valid`` may be empty.

    Raises
    ------
    ValueError
        For a fraction outside [0, 1) or labels of the wrong length.

    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation fraction must lie in [0, 1), got {fraction!r}")
    rng = np.random.default_rng(seed)
    if labels is not None:
        labels = np.asarray(labels)
        if len(labels) != n_rows:
            raise ValueError(f"labels has {len(labels)} rows, expected {n_rows}")
        parts = []
        for label in np.unique(labels):
            rows = np.flatnonzero(labels == label)
            k = min(int(round(len(rows) * fraction)), len(rows) - 1)
            if k > 0:
                parts.append(rng.choice(rows, size=k, replace=False))
        valid = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    else:
        k = min(int(round(n_rows * fraction)), max(n_rows - 1, 0))
        valid = rng.choice(n_rows, size=k, replace=False)
    mask = np.zeros(n_rows, dtype=bool)
    mask[valid] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def to_device(batch: Any, device: str, non_blocking: bool = False) -> Any:
    """Move tensors (also inside tuples, lists, dicts and ``PackedSequence``) to ``device``.

    Parameters
    ----------
    batch : Any
        A tensor, a container of tensors, or an object with a ``to`` method.
    device : str
        Target device.
    non_blocking : bool, default=False
        Asynchronous copies (from pinned memory).

    Returns
    -------
    Any
        The same structure on ``device``; other objects are returned as they are.

    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, nn.utils.rnn.PackedSequence):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def count_rows(batch: Any) -> int:
    """Rows in a batch: the leading size of its first tensor."""
    if isinstance(batch, nn.utils.rnn.PackedSequence):
        return int(batch.batch_sizes[0])
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, tuple | list):
        for item in batch:
            rows = count_rows(item)
            if rows:
                return rows
    return 0


def is_dataset(data: Any) -> bool:
    """Whether ``data`` is a Dataset (indexable with a length), not arrays or tensors."""
    return isinstance(data, Dataset) or (
        hasattr(data, "__getitem__") and hasattr(data, "__len__")
        and not isinstance(data, tuple | list | np.ndarray | torch.Tensor)
    )


def as_tensors(data: Any) -> tuple[torch.Tensor, ...]:
    """In-memory data (an array, a tensor or a tuple of them) as tensors of equal length.

    Parameters
    ----------
    data : array, tensor or tuple of arrays/tensors
        The data.

    Returns
    -------
    tuple of torch.Tensor
        One tensor per array (numpy arrays are wrapped, not copied when contiguous).

    Raises
    ------
    ValueError
        For no arrays, or arrays with different numbers of rows.

    """
    if isinstance(data, torch.Tensor | np.ndarray):
        data = (data,)
    tensors = []
    for item in data:
        if isinstance(item, torch.Tensor):
            tensors.append(item)
        else:
            tensors.append(torch.as_tensor(np.ascontiguousarray(item)))
    if not tensors:
        raise ValueError("data holds no arrays")
    lengths = {int(t.shape[0]) for t in tensors}
    if len(lengths) != 1:
        raise ValueError(f"arrays in data have different numbers of rows: {sorted(lengths)}")
    return tuple(tensors)


class BatchSource:
    """Batches of a tuple of tensors or of a Dataset, optionally shuffled.

    In-memory tensors are sliced directly (and moved to a CUDA device once when
    they fit :data:`DEVICE_DATA_BYTES`); a Dataset goes through a ``DataLoader``.
    When ``train`` is set, a last batch of a single row is dropped (batch norm
    cannot train on it; the row is drawn again next epoch).

    Parameters
    ----------
    data : tuple of arrays/tensors or Dataset
        What to batch.
    batch_size : int
        Rows per batch.
    device : str
        Where batches are put.
    shuffle : bool
        Shuffle rows every pass.
    generator : torch.Generator or None
        Source of the shuffling.
    collate_fn : callable or None
        For a Dataset: how items are joined.
    train : bool
        Batches for training (see above).

    """

    def __init__(
        self, data: Any, *, batch_size: int, device: str, shuffle: bool,
        generator: torch.Generator | None, collate_fn: Callable | None, train: bool,
    ) -> None:
        self.device = device
        self.batch_size = max(int(batch_size), 1)
        self.shuffle = shuffle
        self.generator = generator
        if is_dataset(data):
            self.tensors: tuple[torch.Tensor, ...] | None = None
            self.n_rows = len(data)
            # a lone row in the last batch breaks batch norm; it is drawn again next epoch
            drop = train and self.n_rows > 1 and self.n_rows % self.batch_size == 1
            self.loader: DataLoader | None = DataLoader(
                data, batch_size=self.batch_size, shuffle=shuffle, generator=generator,
                collate_fn=collate_fn, drop_last=drop, num_workers=0,
                pin_memory=is_cuda(device),
            )
            self.n_batches = len(self.loader)
        else:
            tensors = as_tensors(data)
            self.n_rows = int(tensors[0].shape[0])
            size = sum(t.element_size() * t.nelement() for t in tensors)
            if is_cuda(device) and size <= DEVICE_DATA_BYTES:
                tensors = tuple(t.to(device) for t in tensors)
            self.tensors = tensors
            self.loader = None
            full, rest = divmod(self.n_rows, self.batch_size)
            self.drop_single = train and full > 0 and rest == 1
            self.n_batches = full + (1 if rest and not self.drop_single else 0)

    def __iter__(self) -> Iterator[Any]:
        if self.loader is not None:
            for batch in self.loader:
                yield to_device(batch, self.device, non_blocking=True)
            return
        assert self.tensors is not None
        n = self.n_rows
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = None
        for b in range(self.n_batches):
            start = b * self.batch_size
            stop = min(start + self.batch_size, n)
            if order is None:
                batch = tuple(t[start:stop] for t in self.tensors)
            else:
                rows = order[start:stop]
                batch = tuple(t[rows.to(t.device)] for t in self.tensors)
            yield to_device(batch, self.device, non_blocking=True)


def subset(data: Any, rows: np.ndarray) -> Any:
    """The rows ``rows`` of ``data``: a ``Subset`` of a Dataset, else a tuple of tensors."""
    if is_dataset(data):
        return Subset(data, rows.tolist())
    index = torch.as_tensor(rows, dtype=torch.long)
    return tuple(t[index.to(t.device)] for t in as_tensors(data))


def iterate_batches(
    data: Any, *, batch_size: int, device: str = "cpu", shuffle: bool = False,
    seed: int | None = None, collate_fn: Callable | None = None, train: bool = False,
) -> Iterator[Any]:
    """Yield batches of ``data`` on ``device``.

    Parameters
    ----------
    data : tuple of arrays/tensors, array, tensor or torch Dataset
        In-memory arrays are sliced directly (much faster than a
        ``DataLoader`` over a ``TensorDataset``); a Dataset goes through a
        ``DataLoader`` with ``num_workers=0``.
    batch_size : int
        Rows per batch.
    device : str, default="cpu"
        Where batches are put.
    shuffle : bool, default=False
        Shuffle rows, with a generator seeded by ``seed``.
    seed : int, optional
        Seed of the shuffling.
    collate_fn : callable, optional
        For a Dataset: how items are joined (variable-length sequences).
    train : bool, default=False
        Drop a last batch holding a single row (batch norm cannot train on it).

    Yields
    ------
    tuple or Any
        A tuple of tensors per batch (or what ``collate_fn`` returns).

    """
    generator = None
    if shuffle:
        generator = torch.Generator().manual_seed(int(seed or 0))
    yield from BatchSource(data, batch_size=batch_size, device=device, shuffle=shuffle,
                       generator=generator, collate_fn=collate_fn, train=train)
