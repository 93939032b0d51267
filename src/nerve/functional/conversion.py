"""Tensor methods that change dtype or device, or copy: ``to``, ``float``, ``cpu``, ``clone``.

They live here, not on ``Tensor`` itself, because they are ops (differentiable casts and
moves) and ``autograd`` must not import ``functional``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from .elementwise import cast, clone, to_device

__all__ = []  # methods only (x.to(...), x.float() ...): the ops are cast, to_device and clone


def to(x, *args, device=None, dtype=None, non_blocking=False, copy=False):
    """A tensor on ``device`` and/or of ``dtype`` (differentiable); ``x`` itself if nothing
    changes. Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)`` and
    ``to(other_tensor)`` as PyTorch does."""
    for a in args:
        if hasattr(a, "_data") and hasattr(a, "device"):  # to(other): its dtype and device
            dtype, device = a.dtype, a.device
        elif isinstance(a, (np.dtype, type)):
            dtype = a
        elif a is not None:
            device = a
    out = x
    if dtype is not None and np.dtype(dtype) != x._data.dtype:
        out = cast(out, dtype)
    if device is not None and backend.parse_device(device) != x.device:
        out = to_device(out, backend.parse_device(device))
    if copy and out is x:
        out = clone(x)
    return out


def _cuda(device):
    """``x.cuda(1)`` / ``x.cuda('cuda:1')``: the CUDA device named by an index or a spec."""
    return backend.device("cuda", device) if isinstance(device, int) else backend.device(device)


def _as(dtype):
    def method(x):
        return to(x, dtype=dtype)

    return method


TENSOR_METHODS = {
    "to": to, "cpu": lambda x, memory_format=None: to(x, "cpu"),
    "cuda": lambda x, device=None, non_blocking=False: to(x, "cuda" if device is None else _cuda(device)),
    "float": _as(np.float32), "double": _as(np.float64), "half": _as(np.float16),
    "long": _as(np.int64), "int": _as(np.int32), "bool": _as(np.bool_),
    "type": lambda x, dtype: to(x, dtype=dtype), "clone": lambda x, memory_format=None: clone(x),
}
