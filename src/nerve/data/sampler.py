"""Samplers: which dataset indices an epoch visits, and in what order.

Each sampler yields Python ints like PyTorch's, and also offers ``index_array()``, the
whole epoch's indices as one int64 NumPy array; the DataLoader slices that array into
batches, so no per-sample Python runs on the hot path. Random samplers draw from their
own ``numpy.random.Generator``; ``state_dict()`` / ``load_state_dict()`` save and restore
its exact state.
"""
from __future__ import annotations

import math
import os
from numbers import Integral

import numpy as np

from ..autograd.tensor import Tensor
from .dataset import _resolve_generator


def as_indices(values, who: str) -> np.ndarray:
    """``values`` (a list of indices, an array, an iterator) as an int64 array, refusing floats
    and bools, which a cast would turn into other samples' indices (3.7 -> 3, True -> 1)."""
    if not isinstance(values, (np.ndarray, Tensor)):
        values = list(values)
    idx = np.asarray(values._data if isinstance(values, Tensor) else values)
    if idx.size and idx.dtype.kind not in "iu":
        shown = idx.ravel()[:5].tolist()
        raise TypeError(f"{who} gave indices of dtype {idx.dtype} ({shown}...); indices must be integers")
    return idx.astype(np.int64, copy=False)


class Sampler:
    """Base class: iterate over dataset indices. Subclasses implement ``index_array()``
    (preferred) or ``__iter__``, and ``__len__``."""

    def index_array(self) -> np.ndarray:
        """One epoch's indices as an int64 array (draws fresh random numbers each call)."""
        return as_indices(iter(self), type(self).__name__)

    def __iter__(self):
        return iter(self.index_array().tolist())


def _check_positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _GeneratorState:
    """Mixin for samplers owning ``self.generator``: save and restore its state."""

    def state_dict(self) -> dict:
        """The generator's ``bit_generator.state`` (a JSON-friendly dict of ints and strings)."""
        return self.generator.bit_generator.state

    def load_state_dict(self, state: dict) -> None:
        self.generator.bit_generator.state = state


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order.

    Example:
        >>> list(SequentialSampler(range(4)))
        [0, 1, 2, 3]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def index_array(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_GeneratorState, Sampler):
    """A random order of the dataset's indices, fresh at each epoch.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices with replacement instead of a permutation.
        num_samples: indices per epoch (default ``len(data_source)``); without replacement
            and larger than the dataset, whole permutations are concatenated (as in PyTorch).
        generator: a ``numpy.random.Generator``; by default one seeded from ``seed``, or
            from a draw of nerve's global generator.
        seed: int seed for a new generator.

    Example:
        >>> sorted(RandomSampler(range(5), seed=0))
        [0, 1, 2, 3, 4]
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, seed=None):
        self.data_source = data_source
        self.replacement = bool(replacement)
        self._num_samples = None if num_samples is None else _check_positive_int(num_samples, "num_samples")
        self.generator = _resolve_generator(generator, seed)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def index_array(self):
        n, k = len(self.data_source), self.num_samples
        if n == 0 and k > 0:
            raise ValueError(f"RandomSampler cannot draw num_samples={k} indices from an empty "
                             "dataset; check that the dataset is not empty")
        if self.replacement:
            return self.generator.integers(0, n, size=k, dtype=np.int64)
        if k == n:
            return self.generator.permutation(n)
        reps = -(-k // n) if n else 0
        return np.concatenate([self.generator.permutation(n) for _ in range(reps)])[:k]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_GeneratorState, Sampler):
    """The given indices in a fresh random order each epoch.

    Example:
        >>> sorted(SubsetRandomSampler([3, 1, 7], seed=0))
        [1, 3, 7]
    """

    def __init__(self, indices, generator=None, seed=None):
        idx = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            # (casting 3.7 to the index 3 would serve a sample nobody asked for)
            raise TypeError(f"SubsetRandomSampler needs a 1-D sequence of integer indices, got dtype "
                            f"{idx.dtype} and shape {idx.shape}")
        self.indices = idx.astype(np.int64)
        self.generator = _resolve_generator(generator, seed)

    def index_array(self):
        return self.indices[self.generator.permutation(len(self.indices))]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_GeneratorState, Sampler):
    """Draw ``num_samples`` indices with probability proportional to ``weights``.

    Typical use against class imbalance: weight each sample by ``1 / count(its class)`` so
    every class is drawn equally often.

    Args:
        weights: one non-negative weight per sample (need not sum to 1).
        num_samples: indices drawn per epoch.
        replacement: with replacement (default) a sample can appear several times.
        generator / seed: as for :class:`RandomSampler`.

    Example:
        >>> s = WeightedRandomSampler([0.0, 1.0], num_samples=3, seed=0)
        >>> list(s)
        [1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None, seed=None):
        w = np.asarray(weights._data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"weights must be a non-empty 1-D sequence, got shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero; got min "
                             f"{w.min():g}, max {w.max():g}, sum {w.sum():g}")
        self.num_samples = _check_positive_int(num_samples, "num_samples")
        self.replacement = bool(replacement)
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"cannot draw {self.num_samples} samples without replacement: only "
                             f"{np.count_nonzero(w)} weights are non-zero; lower num_samples or use "
                             "replacement=True")
        self.weights = w
        self._p = w / w.sum()
        self.generator = _resolve_generator(generator, seed)

    def index_array(self):
        if self.replacement:
            # Inverse-CDF sampling: one searchsorted for the whole epoch.
            cdf = np.cumsum(self._p)
            # Rounding can leave the sum short of 1; the last sample with a non-zero weight
            # must own the top of [0, 1), or a draw just below 1 would land on a zero weight.
            cdf[np.flatnonzero(self._p)[-1]:] = 1.0
            u = self.generator.random(self.num_samples)
            return np.searchsorted(cdf, u, side="right").astype(np.int64)
        return self.generator.choice(len(self._p), size=self.num_samples, replace=False,
                                     p=self._p).astype(np.int64)

    def __len__(self):
        return self.num_samples


def _env_int(*names):
    for name in names:
        v = os.environ.get(name)
        if v is not None and v.strip().lstrip("-").isdigit():
            return int(v)
    return None


class DistributedSampler(Sampler):
    """The share of the indices that process ``rank`` of ``num_replicas`` should visit.

    The (optionally shuffled) index list is padded by repeating its start until it divides
    evenly (or, with ``drop_last``, cut to a multiple of ``num_replicas``); rank ``r`` takes
    every ``num_replicas``-th index starting at ``r``. Shards are disjoint apart from the
    padding and together cover the data; every rank gets ``num_samples`` indices. The
    shuffle depends only on ``seed + epoch``, so all ranks agree: call ``set_epoch(e)``
    before each epoch for a new order.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: number of processes; default from the MPI / launcher environment
            (``OMPI_COMM_WORLD_SIZE``, ``PMI_SIZE``, ``WORLD_SIZE``), else 1.
        rank: this process's index in ``[0, num_replicas)``; default from
            ``OMPI_COMM_WORLD_RANK``, ``PMI_RANK``, ``RANK``, else 0.
        shuffle, seed, drop_last: as in PyTorch.

    ``num_real_samples`` is the number of this rank's indices that are not padding (they come
    first); ``Trainer.evaluate`` counts only those, so metrics over ranks count each sample once.

    Example:
        >>> [list(DistributedSampler(range(5), num_replicas=2, rank=r, shuffle=False)) for r in (0, 1)]
        [[0, 2, 4], [1, 3, 0]]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = _env_int("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "WORLD_SIZE") or 1
        if rank is None:
            rank = _env_int("OMPI_COMM_WORLD_RANK", "PMI_RANK", "RANK") or 0
        self.num_replicas = _check_positive_int(num_replicas, "num_replicas")
        if not isinstance(rank, Integral) or not 0 <= rank < self.num_replicas:
            raise ValueError(f"rank must be an integer in [0, {self.num_replicas - 1}] for "
                             f"num_replicas={self.num_replicas}, got {rank!r}")
        self.dataset, self.rank = dataset, int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        # How many of this rank's indices are real samples: the padding (repeats that make the
        # shards equal) always comes last, so evaluation can leave it out of its counts.
        self.num_real_samples = min(self.num_samples, max(0, -(-(n - self.rank) // self.num_replicas)))

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle of epoch ``epoch`` (the same on every rank)."""
        self.epoch = int(epoch)

    def index_array(self):
        n = len(self.dataset)
        idx = (np.random.default_rng(self.seed + self.epoch).permutation(n) if self.shuffle
               else np.arange(n, dtype=np.int64))
        if self.drop_last:
            idx = idx[:self.total_size]
        elif self.total_size > n:
            idx = np.resize(idx, self.total_size)  # repeats from the start, like PyTorch's padding
        return idx[self.rank:self.total_size:self.num_replicas]

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last=False):
        self.sampler = sampler
        self.batch_size = _check_positive_int(batch_size, "batch_size")
        self.drop_last = bool(drop_last)

    def index_batches(self):
        """One epoch as a list of int64 arrays (views of one index array)."""
        idx = (self.sampler.index_array() if hasattr(self.sampler, "index_array")
               else as_indices(self.sampler, f"the sampler {type(self.sampler).__name__}"))
        b = self.batch_size
        stop = len(idx) - len(idx) % b if self.drop_last else len(idx)
        return [idx[i:i + b] for i in range(0, stop, b)]

    def __iter__(self):
        for batch in self.index_batches():
            yield batch.tolist()

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
