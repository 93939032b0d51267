"""Datasets: indexable collections of samples, mirroring ``torch.utils.data``.

A :class:`Dataset` needs ``__getitem__`` and ``__len__``. A dataset that keeps whole
arrays in memory can also offer the *batch path*: ``get_batch(indices)`` takes a NumPy
integer array and returns the batch directly (an array, or a tuple of arrays, first
axis = batch) with one fancy-index per stored array. The :class:`~nerve.data.DataLoader`
uses it when present, so an epoch over MNIST costs one ``take`` per batch instead of a
Python call and a collate per sample. ``TensorDataset``, ``ArrayDataset`` (the base of
the MNIST and Digits readers) and ``Subset``/``ConcatDataset`` of those implement it; it
must return exactly what ``default_collate([ds[i] for i in indices])`` would (as arrays).
"""
from __future__ import annotations

import bisect
import math
from numbers import Integral

import numpy as np

from .. import random as _random
from ..autograd.tensor import Tensor
from ..creation import from_numpy


class Dataset:
    """Base class of map-style datasets: ``ds[i]`` is sample ``i`` of ``len(ds)``.

    Subclasses implement ``__getitem__`` and ``__len__``; ``ds1 + ds2`` concatenates.

    Example:
        >>> import nerve as nv
        >>> class Squares(nv.data.Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> [Squares()[i] for i in range(4)]
        [0, 1, 4, 9]
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of stream-style datasets: iterating yields the samples, there is no indexing.

    Subclasses implement ``__iter__`` (and may implement ``__len__``). The DataLoader groups
    the stream into batches of ``batch_size`` in order; samplers and ``shuffle`` do not apply
    to a stream (shuffle inside ``__iter__`` if needed), as in PyTorch.

    Example:
        >>> import nerve as nv
        >>> class Count(nv.data.IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(5))
        >>> [b.tolist() for b in nv.data.DataLoader(Count(), batch_size=2)]
        [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead of "
                        "indexing it")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other, as one stream.

    Example:
        >>> import nerve as nv
        >>> class Gen(nv.data.IterableDataset):
        ...     def __init__(self, items):
        ...         self.items = items
        ...     def __iter__(self):
        ...         return iter(self.items)
        >>> list(nv.data.ChainDataset([Gen([1, 2]), Gen([3])]))
        [1, 2, 3]
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only chains IterableDatasets, but item {i} is a "
                                f"{type(d).__name__}; use ConcatDataset for map-style datasets")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def has_batch_path(dataset) -> bool:
    """True when ``dataset.get_batch(indices)`` can serve whole batches (see module docs)."""
    return callable(getattr(dataset, "get_batch", None)) and getattr(dataset, "supports_get_batch", True)


def as_index_array(indices, n: int, what: str = "indices") -> np.ndarray:
    """``indices`` as an int64 array, checked to lie in ``[-n, n)`` and made non-negative."""
    idx = np.asarray(indices)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64, copy=False)
    lo, hi = int(idx.min()), int(idx.max())
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"{what}: index {bad} is out of range for a dataset of {n} samples")
    return np.where(idx < 0, idx + n, idx) if lo < 0 else idx


def _as_array(x) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _wrap(arr) -> Tensor:
    """A Tensor sharing memory with ``arr`` (no copy)."""
    return from_numpy(np.asarray(arr))


class TensorDataset(Dataset):
    """Samples are the rows of equally long tensors or arrays: ``ds[i] = (t0[i], t1[i], ...)``.

    Args:
        *tensors: nerve Tensors or NumPy arrays sharing the first dimension ``N``. They are
            stored without copying (``.arrays`` holds the NumPy arrays).

    Items are tuples of Tensors; with the DataLoader each batch is one fancy-index per array.

    Example:
        >>> import numpy as np, nerve as nv
        >>> ds = nv.data.TensorDataset(np.zeros((5, 3), np.float32), np.arange(5))
        >>> x, y = ds[2]
        >>> len(ds), x.shape, int(y.item())
        (5, (3,), 2)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor or array")
        arrays = tuple(_as_array(t) for t in tensors)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {k} is a scalar; every argument needs a "
                                 "first dimension of samples")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: all tensors need the same first dimension (number of "
                             f"samples), got sizes {sizes}")
        self.arrays = arrays

    @property
    def tensors(self):
        """The stored data as nerve Tensors (sharing memory with ``.arrays``)."""
        return tuple(_wrap(a) for a in self.arrays)

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(_wrap(a[index]) for a in self.arrays)

    def get_batch(self, indices: np.ndarray):
        return [np.take(a, indices, axis=0) for a in self.arrays]


class ArrayDataset(Dataset):
    """Base of the readers that keep images and labels as two in-memory arrays.

    Subclasses fill ``self.data`` ``(N, ...)`` and ``self.targets`` ``(N,)`` and then call
    :meth:`_set_transforms`. Deterministic transforms (or the deterministic prefix of a
    ``Compose``) are applied there, once, to the whole arrays; what remains runs on every
    fetched batch, or on a one-sample batch in ``__getitem__``, so transforms always see an
    array with a leading sample axis; except torchvision-style random transforms (one draw
    per call, see :func:`nerve.data.transforms.draws_per_call`), which run on each sample
    ``(C, H, W)`` of the batch, so every image gets its own draw.

    Items are ``(sample array, label)``, the label a Python int when it is a scalar.
    """

    data: np.ndarray
    targets: np.ndarray
    transform = None
    target_transform = None

    def _set_transforms(self, transform, target_transform):
        from .transforms import for_channel_first_store, split_deterministic  # noqa: PLC0415

        # The stored images are channel-first already: ToTensor only scales them (torchvision's
        # MNIST + ToTensor gives (1, 28, 28) per image, and so does this).
        pre, self.transform = split_deterministic(for_channel_first_store(transform))
        tpre, self.target_transform = split_deterministic(target_transform)
        if pre is not None:
            self.data = np.asarray(pre(self.data))
        if tpre is not None:
            self.targets = np.asarray(tpre(self.targets))

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        n, index = len(self), int(index)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} with {n} samples")
        x, y = self.get_batch(np.array([index % n]))
        x, y = x[0], y[0]
        return x, (y.item() if np.ndim(y) == 0 else y)

    def get_batch(self, indices: np.ndarray):
        x, y = np.take(self.data, indices, axis=0), np.take(self.targets, indices, axis=0)
        if self.transform is not None:
            from .transforms import draws_per_call  # noqa: PLC0415

            if draws_per_call(self.transform) and len(x):
                # one draw per call (torchvision's contract): call it per sample, or every
                # image of the batch would get the same flip, crop or colour change
                x = np.stack([np.asarray(self.transform(s)) for s in x])
            else:
                x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return [x, y]

    @property
    def tensors(self):
        """``(data, targets)`` as nerve Tensors sharing memory with the arrays."""
        return _wrap(self.data), _wrap(self.targets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Args:
        dataset: any dataset.
        indices: a sequence or array of integer positions into ``dataset``.

    Example:
        >>> import numpy as np, nerve as nv
        >>> ds = nv.data.TensorDataset(np.arange(10))
        >>> sub = nv.data.Subset(ds, [7, 3])
        >>> [int(sub[i][0].item()) for i in range(len(sub))]
        [7, 3]
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = as_index_array(indices, len(dataset), "Subset indices")

    @property
    def supports_get_batch(self):
        return has_batch_path(self.dataset)

    def get_batch(self, indices: np.ndarray):
        return self.dataset.get_batch(self.indices[indices])

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return [self.dataset[int(i)] for i in self.indices[np.asarray(index, dtype=np.int64)]]
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other: indices ``0..len(a)-1`` are ``a``'s, then ``b``'s.

    Example:
        >>> import numpy as np, nerve as nv
        >>> ds = nv.data.ConcatDataset([nv.data.TensorDataset(np.arange(3)),
        ...                             nv.data.TensorDataset(np.arange(10, 12))])
        >>> len(ds), int(ds[3][0].item())
        (5, 10)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    @property
    def supports_get_batch(self):
        return all(has_batch_path(d) for d in self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def _locate(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a ConcatDataset of {n} samples")
        index = index + n if index < 0 else index
        d = bisect.bisect_right(self.cumulative_sizes, index)
        return d, index - (self.cumulative_sizes[d - 1] if d else 0)

    def __getitem__(self, index):
        d, i = self._locate(int(index))
        return self.datasets[d][i]

    def get_batch(self, indices: np.ndarray):
        # Fetch each part from its dataset with one fancy-index, then scatter the parts
        # back into the requested order.
        # Negative indices count from the end of the whole concatenation (as ds[-1] does),
        # not from the end of the first part: make them non-negative before locating them.
        indices = as_index_array(indices, len(self), "ConcatDataset batch indices")
        if indices.size == 0:  # an empty batch: the fields of the first part, with no rows
            return self.datasets[0].get_batch(indices)
        bounds = np.asarray(self.cumulative_sizes)
        which = np.searchsorted(bounds, indices, side="right")  # (B,) dataset id per index
        starts = np.concatenate([[0], bounds[:-1]])
        parts, single = [], False
        for d in np.unique(which):
            pos = np.flatnonzero(which == d)
            batch = self.datasets[d].get_batch(indices[pos] - starts[d])
            single = not isinstance(batch, (list, tuple))
            parts.append((pos, [batch] if single else list(batch)))
        out = []
        for k in range(len(parts[0][1])):
            fields = [f[k] for _, f in parts]
            # Like default_collate's np.stack: parts must agree in shape, and the batch takes
            # the dtype all parts promote to (never the first part's, which would truncate
            # the others' values, e.g. float labels cast to int).
            shapes = {np.shape(f)[1:] for f in fields}
            if len(shapes) > 1:
                raise ValueError(f"ConcatDataset: field {k} has per-sample shapes {sorted(shapes)} "
                                 "in different datasets; make them agree or pass a collate_fn")
            o = np.empty((len(indices),) + shapes.pop(), dtype=np.result_type(*fields))
            for (pos, _), f in zip(parts, fields):
                o[pos] = f
            out.append(o)
        return out[0] if single else out


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s.

    Args:
        dataset: the dataset to split.
        lengths: sizes summing to ``len(dataset)``, or fractions summing to 1 (each part gets
            ``floor(f * N)`` and the leftover samples go one each to the parts in order, as
            in PyTorch).
        generator: a ``nerve.Generator`` (as ``torch.Generator``) or a
            ``numpy.random.Generator`` to draw the permutation from.
        seed: an int seed, used when no generator is given. With neither, the seed is drawn
            from nerve's global generator (so ``nv.manual_seed`` makes the split reproducible).

    Returns:
        a list of Subsets, disjoint and together covering the dataset.

    Example:
        >>> import numpy as np, nerve as nv
        >>> train, val = nv.data.random_split(nv.data.TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val), sorted(set(train.indices) | set(val.indices)) == list(range(10))
        (8, 2, True)
    """
    n = len(dataset)
    if hasattr(lengths, "tolist"):  # an array or Tensor of lengths: its elements as Python numbers
        lengths = lengths.tolist()
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split needs at least one length")
    if all(isinstance(x, Integral) for x in lengths):
        sizes = [int(x) for x in lengths]
    else:
        fr = [float(x) for x in lengths]
        if any(f < 0 or f > 1 for f in fr) or not math.isclose(sum(fr), 1.0, abs_tol=1e-6):
            raise ValueError(f"random_split: fractions must lie in [0, 1] and sum to 1, got {lengths} "
                             f"(sum {sum(fr):g}); or pass integer lengths summing to {n}")
        sizes = [int(math.floor(n * f)) for f in fr]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    if any(s < 0 for s in sizes) or sum(sizes) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(sizes)}, but the dataset has "
                         f"{n} samples; make them sum to {n} or pass fractions summing to 1")
    rng = _resolve_generator(generator, seed)
    perm = rng.permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _resolve_generator(generator=None, seed=None) -> np.random.Generator:
    """The generator to use: ``generator``, else one seeded with ``seed``, else one seeded
    from a draw of nerve's global generator."""
    if generator is not None:
        if isinstance(generator, np.random.Generator):
            return generator
        if isinstance(generator, _random.Generator):  # nerve.Generator: draw from its own stream
            return generator._np
        if isinstance(generator, Integral):
            return np.random.default_rng(int(generator))
        raise TypeError(f"generator must be a nerve.Generator, a numpy.random.Generator or an int "
                        f"seed, got {type(generator).__name__}")
    if seed is not None:
        if not isinstance(seed, Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        return np.random.default_rng(int(seed))
    return np.random.default_rng(int(_random.default_generator().integers(0, 2**63 - 1)))
