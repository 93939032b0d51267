"""Scatter aggregation: reduce rows of ``src`` into ``num_segments`` buckets named by ``index``.

The one primitive a message-passing graph network needs: row e of ``src`` (a message on
edge e) is combined into bucket ``index[e]`` (the edge's target node). Every reduction is
whole-array, with no Python loop over nodes or edges:

* ``'sum'``: ``index_add`` (a stable sort and one segmented ``add.reduceat``, or
  ``np.add.at``; see ``functional.shape``);
* ``'mean'``: the sum divided by each bucket's ``bincount`` (at least 1);
* ``'max'`` / ``'min'``: the extreme of each (bucket, feature) is found with
  ``np.maximum.at``; the first row that reaches it is marked, and the result is the sum of
  the marked rows. So the gradient reaches exactly one row per (bucket, feature), the
  first of any ties, and double backward comes for free.

Empty buckets give 0 for every reduction (the convention of PyTorch Geometric's
``scatter``).
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from ._util import Tensor, _wrap

__all__ = ["scatter_aggregate"]

_REDUCE = ("sum", "mean", "max", "min")


def _segment_index(index, n_rows, num_segments):
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise TypeError(f"scatter_aggregate: index must be a 1-D integer array, got dtype "
                        f"{idx.dtype} and shape {tuple(idx.shape)}; pass edge_index[1] as int64")
    if idx.shape[0] != n_rows:
        raise ValueError(f"scatter_aggregate: index has {idx.shape[0]} entries but src has "
                         f"{n_rows} rows; they must match (one bucket per row)")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_segments):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"scatter_aggregate: index {bad} is out of range for num_segments="
                         f"{num_segments} (valid: 0..{num_segments - 1})")
    return idx.astype(np.int64, copy=False)


def _first_extreme_mask(xp, s, idx, num_segments, largest):
    """(E, ...) 0/1 mask marking, per (bucket, feature), the first row holding its max (min)."""
    ext = xp.full((num_segments,) + s.shape[1:], -xp.inf if largest else xp.inf, dtype=s.dtype)
    (xp.maximum if largest else xp.minimum).at(ext, idx, s)
    hit = s == ext[idx]                                        # (E, ...)
    E = s.shape[0]
    rows = xp.arange(E).reshape((E,) + (1,) * (s.ndim - 1))
    first = xp.full(ext.shape, E, dtype=np.int64)
    xp.minimum.at(first, idx, xp.where(hit, rows, E))
    return (rows == first[idx]).astype(s.dtype)


def scatter_aggregate(src, index, num_segments, reduce="sum"):  # noqa: A002
    """Combine the rows of ``src`` that share an ``index`` value: ``out[k] = reduce{src[e] : index[e] = k}``.

    Args:
        src: (E, ...) tensor, one row per item (an edge's message).
        index: (E,) integer bucket of each row (an edge's target node), in [0, num_segments).
        num_segments: the number of buckets (nodes); buckets no row names give 0.
        reduce: ``'sum'`` (default), ``'mean'``, ``'max'`` or ``'min'``.

    Returns:
        (num_segments, ...) tensor of src's dtype.

    Example:
        >>> import nerve as nv
        >>> F = nv.functional
        >>> msg = nv.tensor([[1.0], [2.0], [5.0]])
        >>> F.scatter_aggregate(msg, nv.tensor([0, 0, 2]), 3).tolist()
        [[3.0], [0.0], [5.0]]
        >>> F.scatter_aggregate(msg, nv.tensor([0, 0, 2]), 3, reduce="max").tolist()
        [[2.0], [0.0], [5.0]]
    """
    if reduce not in _REDUCE:
        raise ValueError(f"scatter_aggregate: reduce must be one of {', '.join(map(repr, _REDUCE))}, "
                         f"got {reduce!r}")
    if not isinstance(src, Tensor):
        src = _wrap(np.asarray(src))
    if src.ndim < 1 or src.dtype.kind != "f":
        raise TypeError(f"scatter_aggregate: src must be a floating-point tensor with at least one "
                        f"dimension, got dtype {src.dtype} and shape {tuple(src.shape)}")
    num_segments = int(num_segments)
    idx = _segment_index(index, src.shape[0], num_segments)
    xp = get_array_module(src._data)
    zeros = _wrap(xp.zeros((num_segments,) + tuple(src.shape[1:]), dtype=src.dtype))
    if reduce in ("max", "min"):
        mask = _first_extreme_mask(xp, src._data, idx, num_segments, reduce == "max")
        src = src * mask                                       # non-chosen rows contribute 0
    out = zeros.index_add(0, idx, src)
    if reduce == "mean":
        count = xp.maximum(xp.bincount(idx, minlength=num_segments), 1).astype(src.dtype)
        out = out / count.reshape((num_segments,) + (1,) * (src.ndim - 1))
    return out
