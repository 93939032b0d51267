"""Ordering ops: sort, argsort, topk, kthvalue.

The order is found on the raw array (NumPy's sort / argpartition), and the values are a
``gather`` at the chosen indices, so the gradient is a scatter of ``grad`` back to those
positions (twice differentiable, since gather's backward is an op too). Indices are
int64 and carry no gradient. NaN sorts as the largest value, as in PyTorch.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..backend import get_array_module
from ._util import Tensor, _wrap, normalize_dim

__all__ = ["sort", "argsort", "topk", "kthvalue", "SortResult", "TopkResult", "KthvalueResult"]

# torch.return_types.sort / topk / kthvalue: tuples that also have .values and .indices.
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])


def _check(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def _argsort_array(d, axis, descending, stable):
    """Indices that sort ``d`` along ``axis``. Descending order is the ascending stable
    sort of the reversed slice, reversed back: equal values keep their original order
    (torch's stable descending sort), and it needs no negation (so bool/unsigned work)."""
    xp = get_array_module(d)
    kind = "stable" if stable else None
    if not descending:
        return xp.argsort(d, axis=axis, kind=kind)
    n = d.shape[axis]
    rev = xp.argsort(xp.flip(d, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(rev, axis)


def _values(x, axis, idx):
    """x gathered at ``idx`` along ``axis`` (distinct, in-range indices made here, so
    gather's argument checks are skipped)."""
    from .shape import Gather  # noqa: PLC0415

    return Gather.apply(x, axis, idx, True)


def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """Sort along ``dim``; returns ``(values, indices)`` like ``torch.sort``.

    ``stable=True`` keeps equal elements in their original order (the descending sort
    is always stable here). The gradient of ``values`` goes back to the index each value
    came from.

    Example:
        >>> import nerve as nv
        >>> v, i = nv.tensor([3.0, 1.0, 2.0]).sort(descending=True)
        >>> v.tolist(), i.tolist()
        ([3.0, 2.0, 1.0], [0, 2, 1])
    """
    _check(input, "sort")
    if input.ndim == 0:
        normalize_dim(dim, 0, "sort")
        return SortResult(input * 1 if input.requires_grad else _wrap(input._data.copy()),
                          _wrap(get_array_module(input._data).zeros((), dtype=np.int64)))
    axis = normalize_dim(dim, input.ndim, "sort")
    idx = _argsort_array(input._data, axis, descending, stable).astype(np.int64, copy=False)
    return SortResult(_values(input, axis, idx), _wrap(idx))


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """Indices that sort ``input`` along ``dim`` (int64, no gradient).

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[3.0, 1.0, 2.0]]).argsort(dim=1).tolist()
        [[1, 2, 0]]
    """
    _check(input, "argsort")
    if input.ndim == 0:
        normalize_dim(dim, 0, "argsort")
        return _wrap(get_array_module(input._data).zeros((), dtype=np.int64))
    axis = normalize_dim(dim, input.ndim, "argsort")
    return _wrap(_argsort_array(input._data, axis, descending, stable).astype(np.int64, copy=False))


def _topk_partition(xp, d, k, axis, largest):
    """Indices of the k largest (smallest) along ``axis``, unordered: one argpartition."""
    n = d.shape[axis]
    if largest:
        part = xp.argpartition(d, n - k, axis=axis)
        return xp.take(part, xp.arange(n - k, n), axis=axis)
    part = xp.argpartition(d, k - 1, axis=axis)
    return xp.take(part, xp.arange(k), axis=axis)


def _topk_blocks(xp, d, k, axis, largest):
    """The same for k ≪ n, about ten times faster than a full-length argpartition.

    Split each slice into B groups of s elements and take each group's max. Every top-k
    element lies in one of the k groups with the largest maxima (otherwise k other
    groups would each hold an element at least as large), so only those k·s candidates
    are partitioned. Returns None when padding could tie with real values (inputs at the
    dtype's extreme); the caller then partitions the whole slice.
    """
    x = xp.moveaxis(d, axis, -1)
    n = x.shape[-1]
    lead = x.shape[:-1]
    s = max(8, int((n / k) ** 0.5))
    B = -(-n // s)
    if x.dtype.kind == "f":
        fill = -np.inf if largest else np.inf
    elif x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        fill = info.min if largest else info.max
    else:
        return None
    # Group b holds the elements b, b + B, b + 2B, ...: the groups' extremes are then a
    # reduction over an outer axis (s whole-row maximum passes), much faster in NumPy than
    # reducing many short inner axes.
    blocks = xp.full(lead + (s * B,), fill, dtype=x.dtype)
    blocks[..., :n] = x
    blocks = blocks.reshape(lead + (s, B))
    bext = blocks.max(-2) if largest else blocks.min(-2)                     # (..., B)
    top = _topk_partition(xp, bext, k, -1, largest)                          # (..., k) group ids
    cand = xp.take_along_axis(blocks, top[..., None, :], axis=-1)            # (..., s, k)
    cand_pos = (xp.arange(s)[:, None] * B + top[..., None, :]).reshape(lead + (s * k,))
    pick = _topk_partition(xp, cand.reshape(lead + (s * k,)), k, -1, largest)
    idx = xp.take_along_axis(cand_pos, pick, axis=-1)
    if (idx >= n).any():  # a padding slot tied with the real values
        return None
    return xp.moveaxis(idx, -1, axis)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim``, as
    ``(values, indices)`` like ``torch.topk``.

    Found with ``argpartition`` (linear time) and only the k winners sorted, so it costs
    far less than a full sort when k is small. ``sorted=False`` leaves the k in
    partition order. The gradient of ``values`` is scattered back to ``indices``.

    Example:
        >>> import nerve as nv
        >>> v, i = nv.tensor([1.0, 5.0, 3.0, 4.0]).topk(2)
        >>> v.tolist(), i.tolist()
        ([5.0, 4.0], [1, 3])
    """
    _check(input, "topk")
    d = input._data
    xp = get_array_module(d)
    if input.ndim == 0:
        normalize_dim(dim, 0, "topk")
        if k not in (0, 1):
            raise RuntimeError(f"topk: k ({k}) is out of range for a 0-d tensor (k must be 0 or 1)")
        if k == 0:
            return TopkResult(_wrap(d.reshape(1)[:0].copy()), _wrap(xp.zeros((0,), dtype=np.int64)))
        return TopkResult(input * 1 if input.requires_grad else _wrap(d.copy()),
                          _wrap(xp.zeros((), dtype=np.int64)))
    axis = normalize_dim(dim, input.ndim, "topk")
    n = d.shape[axis]
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {n} "
                           f"(input shape {tuple(d.shape)}); k must be in [0, {n}]")
    if 4 * k >= n or n <= 64:  # a full sort is as cheap and already ordered
        idx = _argsort_array(d, axis, largest, True)
        idx = xp.take(idx, xp.arange(k), axis=axis)
    else:
        idx = _topk_blocks(xp, d, k, axis, largest) if k and n >= 2048 and 64 * k <= n else None
        if idx is None:
            idx = _topk_partition(xp, d, k, axis, largest)
        if sorted:
            vals = xp.take_along_axis(d, idx, axis=axis)
            order = _argsort_array(vals, axis, largest, True)
            idx = xp.take_along_axis(idx, order, axis=axis)
    idx = idx.astype(np.int64, copy=False)
    return TopkResult(_values(input, axis, idx), _wrap(idx))


def kthvalue(input, k, dim=-1, keepdim=False):  # noqa: A002
    """The ``k``-th smallest element (1-based) along ``dim`` and its index, as
    ``(values, indices)`` like ``torch.kthvalue``; found by ``argpartition``.

    Example:
        >>> import nerve as nv
        >>> v, i = nv.tensor([[4.0, 1.0, 3.0]]).kthvalue(2, dim=1)
        >>> v.tolist(), i.tolist()
        ([3.0], [2])
    """
    _check(input, "kthvalue")
    d = input._data
    xp = get_array_module(d)
    if input.ndim == 0:
        normalize_dim(dim, 0, "kthvalue")
        if k != 1:
            raise RuntimeError(f"kthvalue: k ({k}) is out of range for a 0-d tensor (k must be 1)")
        return KthvalueResult(input * 1 if input.requires_grad else _wrap(d.copy()),
                              _wrap(xp.zeros((), dtype=np.int64)))
    axis = normalize_dim(dim, input.ndim, "kthvalue")
    n = d.shape[axis]
    k = int(k)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) is out of range for dimension {dim} of size {n} "
                           f"(input shape {tuple(d.shape)}); k must be in [1, {n}]")
    part = xp.argpartition(d, k - 1, axis=axis)
    idx = xp.take(part, xp.arange(k - 1, k), axis=axis).astype(np.int64, copy=False)  # keeps the dim
    values = _values(input, axis, idx)
    if not keepdim:
        shape = tuple(s for i, s in enumerate(d.shape) if i != axis)
        values, idx = values.reshape(shape), idx.reshape(shape)
    return KthvalueResult(values, _wrap(idx))


TENSOR_METHODS = {"sort": sort, "argsort": argsort, "topk": topk, "kthvalue": kthvalue}
GRAPH_NAMESPACE = {}
