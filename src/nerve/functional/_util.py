"""Small helpers shared by the op families."""
from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor, _wrap, get_default_dtype


def data_of(v):
    return v._data if isinstance(v, Tensor) else v


def coerce_pair(x, y):
    """Apply PyTorch's promotion for mixed int/float operands to raw arrays.

    NumPy turns int64 + float32 into float64; PyTorch keeps float32. Floats of two widths
    promote to the wider one in both.
    """
    dx = getattr(x, "dtype", None)
    dy = getattr(y, "dtype", None)
    if dx is None:
        if dy is not None and isinstance(x, float) and dy.kind in "biu":
            return x, y.astype(get_default_dtype())
        return x, y
    if dy is None:
        if isinstance(y, float) and dx.kind in "biu":
            return x.astype(get_default_dtype()), y
        return x, y
    if dx == dy:
        return x, y
    if dx.kind in "biu" and dy.kind == "f":
        return x.astype(dy), y
    if dy.kind in "biu" and dx.kind == "f":
        return x, y.astype(dx)
    return x, y


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
