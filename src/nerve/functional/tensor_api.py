"""Tensor methods that are not ops: the ``new_*`` factories and ``__format__``.

``x.new_zeros(size)`` and friends build a fresh tensor with ``x``'s dtype and device
unless told otherwise (PyTorch's rule), so code can make buffers that match its input
without naming a dtype. ``f"{loss:.4f}"`` formats a 0-d tensor like the number it holds.
"""
from __future__ import annotations

import numpy as np

from ..autograd.tensor import _infer_array
from ..backend import get_array_module, to_device
from ._util import Tensor, _wrap

__all__ = []  # methods only: torch has no torch.new_zeros


def _size(op, size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0:
            raise TypeError(f"{op}: size must be non-negative integers, got {tuple(size)}")
        out.append(int(s))
    return tuple(out)


def _finish(x, arr, device, requires_grad):
    if device is not None:
        arr = to_device(arr, device)
    elif get_array_module(x._data) is not np:
        arr = to_device(arr, x.device)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _new(fill, name):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        dt = np.dtype(dtype) if dtype is not None else self.dtype
        shape = _size(name, size)
        arr = np.empty(shape, dtype=dt) if fill is None else np.full(shape, fill, dtype=dt)
        return _finish(self, arr, device, requires_grad)

    method.__name__ = name
    method.__doc__ = (f"A tensor of the given size filled with {'uninitialised values' if fill is None else fill}, "
                      "with this tensor's dtype and device unless ``dtype``/``device`` say otherwise.")
    return method


new_zeros = _new(0, "new_zeros")
new_ones = _new(1, "new_ones")
new_empty = _new(None, "new_empty")


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``, with this tensor's dtype and device
    unless ``dtype``/``device`` say otherwise.

    Example:
        >>> import nerve as nv
        >>> nv.zeros(2, dtype=nv.float64).new_full((2, 2), 7).tolist()
        [[7.0, 7.0], [7.0, 7.0]]
    """
    dt = np.dtype(dtype) if dtype is not None else self.dtype
    return _finish(self, np.full(_size("new_full", (size,)), fill_value, dtype=dt), device, requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` as a new leaf tensor with this tensor's dtype and device unless
    ``dtype``/``device`` say otherwise (never sharing memory, never in the graph).

    Example:
        >>> import nerve as nv
        >>> nv.zeros(1, dtype=nv.float64).new_tensor([1, 2]).dtype
        dtype('float64')
    """
    src = data._data if isinstance(data, Tensor) else data
    arr = np.array(_infer_array(src, dtype if dtype is not None else self.dtype), copy=True)
    return _finish(self, arr, device, requires_grad)


def _format(self, format_spec):
    """``format(t, spec)``: a 0-d tensor formats like its Python number (``f"{loss:.4f}"``);
    any other tensor accepts only the empty spec, as in PyTorch."""
    if self._data.ndim == 0:
        return self.item().__format__(format_spec)
    if format_spec:
        raise TypeError(f"unsupported format string {format_spec!r} passed to Tensor.__format__: only a 0-d "
                        f"tensor formats like a number, this one has shape {tuple(self.shape)}; "
                        "use .item() on a one-element tensor or format its .tolist()")
    return str(self)


TENSOR_METHODS = {"new_zeros": new_zeros, "new_ones": new_ones, "new_empty": new_empty,
                  "new_full": new_full, "new_tensor": new_tensor, "__format__": _format}
GRAPH_NAMESPACE = {}
