"""``DataLoader``: turn a dataset into an iterable of batches, mirroring PyTorch's.

Two paths produce the same batches:

* **batch path** (datasets with ``get_batch``, see :mod:`nerve.data.dataset`): each batch
  is one fancy-index into every stored array. No Python runs per sample.
* **generic path**: ``collate_fn([dataset[i] for i in batch_indices])``, by default
  :func:`default_collate`, which stacks arrays, numbers and Tensors, recursing into
  tuples, lists and dicts.

Batches are nerve Tensors wrapping the batch arrays (no extra copy). The order of each
epoch comes from the loader's own ``numpy.random.Generator``; ``state_dict()`` captures it
so a resumed run sees exactly the same next epoch.
"""
from __future__ import annotations

import collections.abc
import warnings
from numbers import Integral

import numpy as np

from ..autograd.tensor import Tensor, get_default_dtype
from .dataset import IterableDataset, _resolve_generator, _wrap, has_batch_path
from .sampler import BatchSampler, RandomSampler, SequentialSampler, as_indices


def _collate_arrays(batch):
    """Like :func:`default_collate` but leaves NumPy arrays (used inside the batch path too)."""
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray)):
        # Tensors and arrays may be mixed (a transform that returns one or the other)
        batch = [b._data if isinstance(b, Tensor) else b for b in batch]
        elem = batch[0]
        if elem.dtype.kind in "USO":
            raise TypeError(f"default_collate cannot stack arrays of dtype {elem.dtype}; give a "
                            "collate_fn that handles them")
        shapes = {tuple(a.shape) for a in batch}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}; "
                             "pad them to one shape or pass a collate_fn")
        return np.stack(batch)
    if isinstance(elem, np.generic):
        return np.asarray(batch)
    if isinstance(elem, (bool, Integral, float)):
        # The dtype comes from every sample, not the first one: [1, 2.5] is a float batch
        # (casting it to int64 would silently give [1, 2]) and [True, 2] an int batch, as
        # torch.tensor(batch) decides.
        arr = np.asarray(batch)
        if arr.dtype.kind in "ufO":
            # an int beyond int64 made NumPy pick uint64, float (rounded) or object: refuse it,
            # as torch does (an int64 batch holds none, so the common case skips this scan)
            big = [b for b in batch if type(b) is int and not -2**63 <= b < 2**63]
            if big:
                raise ValueError(f"default_collate: the integer {big[0]} does not fit in int64; store "
                                 "such labels as strings or pass a collate_fn")
        if arr.dtype.kind == "b":
            return arr
        if arr.dtype.kind in "iu":
            return arr.astype(np.int64, copy=False)
        if arr.dtype.kind == "f":
            return arr.astype(get_default_dtype(), copy=False)
        raise TypeError(f"default_collate: cannot batch the numbers {batch[:5]!r} (dtype "
                        f"{arr.dtype}); give samples of one numeric type or pass a collate_fn")
    raise TypeError(f"default_collate: cannot batch samples of type {type(elem).__name__}")


def default_collate(batch):
    """Merge a list of samples into one batch, keeping the samples' structure.

    Tensors, NumPy arrays and numbers are stacked into a Tensor with a new first axis;
    Python ints become int64, Python floats the default dtype (float32; PyTorch uses
    float64 here), bools bool. Tuples give lists, lists and dicts are collated field by
    field, namedtuples stay namedtuples, strings are returned as a list.

    Args:
        batch: a non-empty list of samples of one structure.

    Example:
        >>> import numpy as np
        >>> xb, yb = default_collate([(np.zeros(3, np.float32), 1), (np.ones(3, np.float32), 0)])
        >>> xb.shape, yb.tolist(), yb.dtype
        ((2, 3), [1, 0], dtype('int64'))
    """
    if not batch:
        raise ValueError("default_collate got an empty batch")
    elem = batch[0]
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        missing = [i for i, d in enumerate(batch) if set(d) != set(elem)]
        if missing:
            raise ValueError(f"default_collate: sample {missing[0]} has keys {sorted(batch[missing[0]])}, "
                             f"sample 0 has {sorted(elem)}")
        out = {k: default_collate([d[k] for d in batch]) for k in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = {len(s) for s in batch}
        if len(sizes) > 1:
            raise ValueError(f"default_collate: samples are sequences of different lengths {sorted(sizes)}; "
                             "each sample needs the same number of fields")
        return [default_collate(list(s)) for s in zip(*batch)]
    return _wrap(_collate_arrays(batch))


def default_convert(sample):
    """Turn one sample's arrays and numbers into Tensors (used when ``batch_size=None``)."""
    if isinstance(sample, Tensor) or isinstance(sample, (str, bytes)):
        return sample
    if isinstance(sample, (np.ndarray, np.generic)):
        return _wrap(sample)
    if isinstance(sample, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, (list, tuple)):
        return [default_convert(v) for v in sample]
    return sample


def _wrap_batch(batch):
    """Arrays from ``get_batch`` as Tensors, in default_collate's structure (tuples -> lists)."""
    if isinstance(batch, collections.abc.Mapping):
        return {k: _wrap_batch(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [_wrap_batch(a) for a in batch]
    return _wrap(batch)


class DataLoader:
    """Iterate over a dataset in mini-batches, optionally shuffled.

    One pass over the loader is one epoch: with ``shuffle=True`` every index appears exactly
    once, in a fresh order each epoch. ``len(loader)`` is ``ceil(N / batch_size)``, or
    ``floor`` with ``drop_last=True``.

    Args:
        dataset: a map-style dataset. If it has ``get_batch`` (TensorDataset, MNIST,
            Subset of those ...) and no ``collate_fn`` is given, each batch is one
            fancy-index per array.
        batch_size: samples per batch (default 1); ``None`` yields single samples.
        shuffle: draw a new permutation every epoch from the loader's generator.
        sampler: a custom order (mutually exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices (excludes ``batch_size``, ``shuffle``,
            ``sampler`` and ``drop_last``).
        num_workers: accepted for PyTorch compatibility; loading always runs in this
            process (the batch path is a memory copy, faster than worker processes).
        collate_fn: merges a list of samples into a batch (default :func:`default_collate`).
        drop_last: drop the last, smaller batch.
        generator: a ``nerve.Generator`` (as ``torch.Generator``) or a
            ``numpy.random.Generator`` the shuffling draws from.
        seed: seed a new generator with this int (when no ``generator`` is given). With
            neither, the generator is seeded from one draw of nerve's global generator at
            construction, so ``nv.manual_seed`` makes the run reproducible.

    Shapes:
        With ``TensorDataset(x, y)``, ``x`` of shape ``(N, *F)``: batches ``[xb, yb]`` of
        shapes ``(B, *F)`` and ``(B,)``, ``B = batch_size`` (the last one may be smaller).

    Example:
        >>> import numpy as np, nerve as nv
        >>> ds = nv.data.TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
        >>> loader = nv.data.DataLoader(ds, batch_size=2, shuffle=True, seed=0)
        >>> len(loader), [yb.shape for xb, yb in loader]
        (3, [(2,), (2,), (1,)])
        >>> sorted(int(i) for _, yb in loader for i in yb.tolist())
        [0, 1, 2, 3, 4]
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, generator=None, seed=None, **kwargs):
        unknown = sorted(set(kwargs) - {"prefetch_factor", "persistent_workers", "pin_memory_device",
                                        "multiprocessing_context", "in_order"})
        if unknown:
            raise TypeError(f"DataLoader got unexpected keyword argument(s) {unknown}")
        if not isinstance(num_workers, Integral) or num_workers < 0:
            raise ValueError(f"num_workers must be a non-negative integer, got {num_workers!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive; the sampler "
                             "decides the order (use RandomSampler for a shuffled one)")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, "
                             "sampler and drop_last; it yields whole batches itself")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: drop_last needs a batch_size (batch_size=None yields samples)")
        if batch_size is not None and (not isinstance(batch_size, Integral) or batch_size <= 0):
            raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
        self.dataset = dataset
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            bad = [name for name, v in (("shuffle", shuffle), ("sampler", sampler),
                                        ("batch_sampler", batch_sampler)) if v]
            if bad:
                raise ValueError(f"DataLoader: {', '.join(bad)} cannot be used with an IterableDataset "
                                 f"({type(dataset).__name__}), which decides its own order; shuffle "
                                 "inside its __iter__ instead")
        # A given random sampler keeps its own generator: the loader adopts it so that
        # state_dict() still captures the order of the next epoch.
        inner = sampler if sampler is not None else getattr(batch_sampler, "sampler", None)
        if generator is None and seed is None and isinstance(getattr(inner, "generator", None),
                                                             np.random.Generator):
            self.generator = inner.generator
        else:
            self.generator = _resolve_generator(generator, seed)
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=self.generator) if shuffle
                       else SequentialSampler(dataset))
        # As in PyTorch, batch_size is None when a batch_sampler was given.
        self.batch_size = int(batch_size) if batch_sampler is None and batch_size is not None else None
        if batch_sampler is None and batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.drop_last = bool(drop_last)
        self.num_workers = int(num_workers)
        self._user_collate = collate_fn is not None
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_size is not None or batch_sampler is not None else default_convert)

    @property
    def uses_batch_path(self) -> bool:
        """Whether batches come from ``dataset.get_batch`` (one fancy-index per array)."""
        return (self.batch_sampler is not None and not self._user_collate and not self._iterable
                and has_batch_path(self.dataset))

    def __len__(self):
        if self._iterable:  # a stream's length is its own __len__, if it has one
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def _index_batches(self):
        bs = self.batch_sampler
        if isinstance(bs, BatchSampler):
            return bs.index_batches()
        return (as_indices(b, f"the batch_sampler {type(bs).__name__}") for b in bs)

    def _iter_stream(self):
        """Batches of an IterableDataset: consecutive samples of its stream, collated."""
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        buf = []
        for sample in self.dataset:
            buf.append(sample)
            if len(buf) == self.batch_size:
                yield self.collate_fn(buf)
                buf = []
        if buf and not self.drop_last:
            yield self.collate_fn(buf)

    def __iter__(self):
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:  # batch_size=None: one converted sample at a time
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
            return
        if self.uses_batch_path:
            get_batch = self.dataset.get_batch
            for idx in self._index_batches():
                yield _wrap_batch(get_batch(idx))
            return
        ds, collate = self.dataset, self.collate_fn
        for idx in self._index_batches():
            yield collate([ds[i] for i in idx.tolist()])

    def _sampler_generator(self):
        """The generator of a given sampler when it is not the loader's own (a sampler built with
        its own seed next to a loader ``seed=``): that one decides the order, so it is saved too."""
        inner = self.sampler if self.sampler is not None else getattr(self.batch_sampler, "sampler", None)
        gen = getattr(inner, "generator", None)
        return gen if isinstance(gen, np.random.Generator) and gen is not self.generator else None

    def state_dict(self) -> dict:
        """The shuffling generator's state (``bit_generator.state``), for exact resume.

        Restoring it with :meth:`load_state_dict` on a loader over the same data makes the
        next epoch's order identical to the one the saved loader would have produced. A
        sampler with a generator of its own has that state saved under ``"sampler"``.
        """
        state = dict(self.generator.bit_generator.state)
        own = self._sampler_generator()
        if own is not None:
            state["sampler"] = own.bit_generator.state
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a state returned by :meth:`state_dict`."""
        if not isinstance(state, dict) or "bit_generator" not in state:
            raise ValueError("DataLoader.load_state_dict expects the dict returned by "
                             f"DataLoader.state_dict(), got {type(state).__name__}")
        name = type(self.generator.bit_generator).__name__
        if state["bit_generator"] != name:
            raise ValueError(f"DataLoader.load_state_dict: the state is for a {state['bit_generator']} "
                             f"generator, this loader uses {name}")
        state = dict(state)
        sampler_state = state.pop("sampler", None)
        own = self._sampler_generator()
        if (sampler_state is None) != (own is None):
            warnings.warn("DataLoader.load_state_dict: the state was saved by a loader "
                          + ("whose sampler had its own generator, but this one's sampler has none"
                             if own is None else "without the state of its sampler's own generator")
                          + ", so the next epoch's order will differ from the saved run's; build the "
                          "loader as the saved one was", stacklevel=2)
        self.generator.bit_generator.state = state
        if own is not None:
            own.bit_generator.state = sampler_state

    def __repr__(self):
        if self._iterable:
            return (f"DataLoader({type(self.dataset).__name__} (a stream), batch_size={self.batch_size}, "
                    f"drop_last={self.drop_last})")
        path = "batch path" if self.uses_batch_path else "per-sample collate"
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"sampler={type(self.sampler).__name__}, drop_last={self.drop_last}, {len(self)} batches, {path})")
