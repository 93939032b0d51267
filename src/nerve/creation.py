"""Ways to make tensors: from data, filled, ranges, identity and random."""
from __future__ import annotations

import numpy as np

from . import backend
from . import random as _random
from .autograd.tensor import Tensor, _infer_array, _wrap, get_default_dtype


def _finish(arr, requires_grad, device):
    if device is not None:
        arr = backend.to_device(arr, device)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _dt(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def tensor(data, dtype=None, requires_grad=False, device=None):
    """Build a tensor from data, always copying it.

    Python floats become float32 (the default dtype), ints int64.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1, 2, 3], [4, 5, 6]]).shape
        (2, 3)
    """
    arr = _infer_array(data, dtype)
    arr = arr.copy()
    return _finish(arr, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return _finish(_infer_array(data, dtype), False, device)


def from_numpy(array):
    """Wrap a NumPy array without copying: the tensor and the array share memory."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return _finish(array, False, None)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.zeros(_size(size), dtype=_dt(dtype)), requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.ones(_size(size), dtype=_dt(dtype)), requires_grad, device)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.empty(_size(size), dtype=_dt(dtype)), requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if dtype is None:
        dtype = (np.int64 if isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool)
                 else np.bool_ if isinstance(fill_value, bool) else get_default_dtype())
    return _finish(np.full(_size((size,) if isinstance(size, int) else (size,)), fill_value, dtype=dtype),
                   requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from start (inclusive) to end (exclusive) by step."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        allint = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if allint else get_default_dtype()
    return _finish(np.arange(start, end, step, dtype=dtype), requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    return _finish(np.linspace(start, end, int(steps), dtype=_dt(dtype)), requires_grad, device)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device)


def _like(fn):
    def like(x, dtype=None, requires_grad=False, device=None):
        return fn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad,
                  device=device or (x.device if x.device != "cpu" else None))

    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad, device=device)


def rand(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Uniform samples on [0, 1)."""
    g = generator or _random.default_generator()
    return _finish(g.random(_size(size), dtype=np.float64).astype(_dt(dtype)), requires_grad, device)


def randn(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Standard normal samples."""
    g = generator or _random.default_generator()
    return _finish(g.standard_normal(_size(size)).astype(_dt(dtype)), requires_grad, device)


def randint(low, high=None, size=(), dtype=None, device=None, generator=None):
    """Integers uniform on [low, high)."""
    if high is None:
        low, high = 0, low
    g = generator or _random.default_generator()
    return _finish(g.integers(low, high, size=_size((size,) if isinstance(size, int) else (size,)),
                              dtype=np.dtype(dtype or np.int64)), False, device)


def randperm(n, dtype=None, device=None, generator=None):
    g = generator or _random.default_generator()
    return _finish(g.permutation(int(n)).astype(np.dtype(dtype or np.int64)), False, device)


def rand_like(x, dtype=None, requires_grad=False):
    return rand(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, dtype=None, requires_grad=False):
    return randn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "arange",
           "linspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like", "rand",
           "randn", "randint", "randperm", "rand_like", "randn_like"]
