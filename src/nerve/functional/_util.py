"""Small helpers shared by the op families."""
from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor, _wrap, get_default_dtype


def data_of(v):
    return v._data if isinstance(v, Tensor) else v


def _category(dt):
    return {"b": 0, "i": 1, "u": 1, "f": 2}.get(dt.kind, 3)


def _promote(a, b):
    """torch.promote_types for bool/int/float: an integer with a float gives that float
    (NumPy would widen int64 + float32 to float64)."""
    ca, cb = _category(a), _category(b)
    if ca == 2 and cb < 2:
        return a
    if cb == 2 and ca < 2:
        return b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """PyTorch's rule for merging a lower-priority operand kind into a higher one."""
    if higher is None:
        return lower
    if lower is None or _category(higher) >= 2:
        return higher
    if higher.kind == "b" or _category(lower) >= 2:
        return _promote(higher, lower)
    return higher


def _promote_all(dts):
    out = None
    for d in dts:
        out = d if out is None else _promote(out, d)
    return out


def coerce_pair(x, y):
    """Apply PyTorch's type promotion to two raw operands (arrays or numbers).

    Operands with dimensions decide the dtype; a 0-d tensor or a number (Python or NumPy
    scalar) changes it only when it is of a higher kind (bool < int < float), so float32 +
    ``np.float64(2)`` or a 0-d float64 tensor stays float32 and int32 + 5 stays int32, while
    int + 0.5 becomes the default float dtype. NumPy alone would widen the first two.
    """
    # The common cases first, at the cost of two attribute reads: one dtype on both sides, or
    # a float array with a Python number (neither can change the dtype).
    dx = getattr(x, "dtype", None)
    dy = getattr(y, "dtype", None)
    if dx is not None:
        if dx == dy:
            return x, y
        if dy is None and dx.kind == "f" and type(y) in (float, int):
            return x, y
    elif dy is not None and dy.kind == "f" and type(x) in (float, int):
        return x, y
    dims, zeros, scalars = [], [], []
    for v in (x, y):
        if isinstance(v, np.ndarray) or (hasattr(v, "dtype") and hasattr(v, "ndim") and not isinstance(v, np.generic)):
            (dims if v.ndim > 0 else zeros).append(np.dtype(v.dtype))
        else:
            kind = np.asarray(v).dtype.kind
            scalars.append(np.dtype(bool) if kind == "b" else np.dtype(np.int64) if kind in "iu"
                           else np.dtype(get_default_dtype()) if kind == "f" else np.asarray(v).dtype)
    if not dims and not zeros:
        return x, y
    res = _combine(_promote_all(dims), _combine(_promote_all(zeros), _promote_all(scalars)))

    def conv(v):
        if isinstance(v, np.generic):
            return v.item()  # a NumPy scalar acts as a Python number (weak), as in torch
        if hasattr(v, "dtype") and v.dtype != res:
            return v.astype(res)
        return v

    return conv(x), conv(y)


def normalize_dim(dim, ndim, op="op"):
    """Turn a possibly negative axis into a non-negative one, with a clear error."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        return tuple(normalize_dim(d, ndim, op) for d in dim)
    d = int(dim)
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not lo <= d <= hi:
        raise IndexError(f"{op}: dimension {dim} is out of range for a tensor with {ndim} "
                         f"dimensions (expected a value in [{lo}, {hi}])")
    return d % ndim if ndim > 0 else 0


__all__ = ["Tensor", "np", "data_of", "coerce_pair", "normalize_dim", "_wrap"]
