"""Lookup tables: ``embedding`` (rows of a weight matrix picked by integer ids) and
``embedding_bag`` (the rows of each bag reduced by sum, mean or max).

The lookup is one Function because its backward is a scatter-add that must accumulate
repeated ids (``W[ids]`` picked twice gets both gradients) and must skip the padding row;
the scatter reuses the indexing machinery's ``index_add_to`` so it stays differentiable
under ``create_graph``. ``embedding_bag`` composes the lookup with ordinary reductions.
"""
from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..autograd.tensor import Tensor, _bump
from ..backend import get_array_module

__all__ = ["embedding", "embedding_bag"]


class Embedding(Function):
    """out[..., :] = W[ids[...], :]; gW = Σ over positions with id i of grad (0 for padding)."""

    def forward(ctx, weight, ids, padding_idx, scale_grad_by_freq, counted=None):
        ctx.shape = weight.shape
        ctx.ids = ids
        keep = None
        if padding_idx is not None:
            keep = (ids != padding_idx)[..., None]
        if scale_grad_by_freq:
            # NOTE: torch divides each position's gradient by how often its id occurs in
            # this call's input (a constant, so second order stays exact).
            # ``counted`` (embedding_bag) marks the real positions, so filler slots of short
            # bags do not inflate the count of the id they borrow.
            real = ids if counted is None else ids[counted]
            counts = np.maximum(np.bincount(real.reshape(-1), minlength=weight.shape[0]), 1)
            inv = (1.0 / counts[ids]).astype(weight.dtype)[..., None]
            keep = inv if keep is None else keep * inv
        ctx.keep = keep
        return weight[ids]

    def backward(ctx, grad):
        if ctx.keep is not None:
            grad = grad * ctx.keep.astype(grad.dtype)
        D = ctx.shape[1]
        flat = grad.reshape((-1, D))  # (n, D): one row per looked-up id
        return ctx.xp.index_add_to(flat, ctx.shape, ctx.ids.reshape(-1)), None, None, None, None


def _ids(input, op):  # noqa: A002
    ids = input._data if isinstance(input, Tensor) else np.asarray(input)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer ids (int64), got dtype {ids.dtype}; "
                        "convert with .long()")
    return ids


def _renorm_(weight, ids, max_norm, norm_type):
    """torch's embedding_renorm_: rows used by ``ids`` whose p-norm exceeds ``max_norm``
    are scaled down to it in place (no gradient, the weight's version goes up)."""
    W = weight._data
    rows = np.unique(ids)
    norms = np.linalg.norm(W[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        r = rows[big]
        W[r] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(W.dtype)
        _bump(weight)


def _check_range(ids, n, op):
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise IndexError(f"{op}: id {int(bad)} is out of range for a table of {n} rows "
                         f"(valid ids are 0..{n - 1}); check the vocabulary size")


def _padding(padding_idx, n, op):
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise ValueError(f"{op}: padding_idx {padding_idx} must be within the {n} rows")
    return padding_idx % n


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,  # noqa: A002
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ids in ``input``: out = weight[input].

    Args:
        input: integer ids of any shape (*).
        weight: (num_embeddings, embedding_dim).
        padding_idx: this row gets no gradient (its lookups still return it).
        max_norm: rows looked up here whose ``norm_type``-norm exceeds it are rescaled to
            it *in place* before the lookup (as torch).
        scale_grad_by_freq: divide each position's gradient by its id's count in ``input``.
        sparse: accepted for torch compatibility; the gradient is always dense.

    Shapes: (*) ids, (V, D) weight → (*, D).

    Example:
        >>> import nerve as nv
        >>> W = nv.arange(6.0).reshape(3, 2)
        >>> embedding(nv.tensor([2, 0, 2]), W).tolist()
        [[4.0, 5.0], [0.0, 1.0], [4.0, 5.0]]
    """
    ids = _ids(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                           f"shape {tuple(weight.shape)}")
    n = weight.shape[0]
    _check_range(ids, n, "embedding")
    padding_idx = _padding(padding_idx, n, "embedding")
    if max_norm is not None:
        with grad_mode.no_grad():
            _renorm_(weight, ids, float(max_norm), norm_type)
    return Embedding.apply(weight, ids, padding_idx, bool(scale_grad_by_freq))


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,  # noqa: A002
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sum, mean or max of the embeddings of each bag, without materialising a ragged batch.

    Bags are the rows of a 2-D ``input`` (B, L), or, for a 1-D ``input``, the runs that
    start at each entry of ``offsets`` (B,) (with ``include_last_offset`` the last offset
    is the end of the last bag, so there are B−1 bags). Ids equal to ``padding_idx`` are
    left out of their bag (they do not count towards the mean). An empty bag gives zeros.
    ``per_sample_weights`` (same shape as input) scales each looked-up row; mode 'sum' only.

    Shapes: → (B, D).

    Example:
        >>> import nerve as nv
        >>> W = nv.arange(6.0).reshape(3, 2)
        >>> embedding_bag(nv.tensor([0, 2, 1]), W, nv.tensor([0, 2]), mode="sum").tolist()
        [[4.0, 6.0], [2.0, 3.0]]
    """
    from . import where  # noqa: PLC0415 (the package's elementwise/reduction ops)

    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    ids = _ids(input, "embedding_bag")
    n = weight.shape[0]
    if ids.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets must be None for a 2-D input (each row is a bag)")
        B, L = ids.shape
        pos = np.arange(B * L).reshape(B, L)
        valid = np.ones((B, L), dtype=bool)
    elif ids.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: a 1-D input needs offsets (the start of each bag)")
        off = _ids(offsets, "embedding_bag").reshape(-1).astype(np.int64)
        ends = off[1:] if include_last_offset else np.concatenate([off[1:], [ids.size]])
        starts = off[:-1] if include_last_offset else off
        if starts.size and (starts[0] != 0 or np.any(np.diff(off) < 0) or off[-1] > ids.size):
            raise ValueError(f"embedding_bag: offsets must start at 0, be sorted and stay within "
                             f"the {ids.size} ids; got {off.tolist()}")
        lens = ends - starts
        L = max(int(lens.max()) if lens.size else 0, 1)
        j = np.arange(L)
        valid = j[None, :] < lens[:, None]                       # (B, L)
        pos = np.where(valid, starts[:, None] + j[None, :], 0)   # (B, L) positions in ids
    else:
        raise ValueError(f"embedding_bag: input must be 1-D (with offsets) or 2-D, got {ids.ndim}-D")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights is only supported for mode='sum'")
    if per_sample_weights is not None:
        w_shape = tuple(per_sample_weights.shape) if isinstance(per_sample_weights, Tensor) \
            else np.shape(per_sample_weights)
        if w_shape != tuple(ids.shape):
            raise ValueError(f"embedding_bag: per_sample_weights must have the ids' shape "
                             f"{tuple(ids.shape)} (one weight per id), got {w_shape}")
    padding_idx = _padding(padding_idx, n, "embedding_bag")
    flat = ids.reshape(-1)
    _check_range(flat, n, "embedding_bag")
    if max_norm is not None:
        with grad_mode.no_grad():
            _renorm_(weight, flat, float(max_norm), norm_type)
    bag_ids = flat[pos] if flat.size else np.zeros(pos.shape, dtype=np.int64)   # (B, L)
    if padding_idx is not None:
        valid = valid & (bag_ids != padding_idx)
    # (B, L, D); the frequencies count the bags' real ids only, never the filler slots
    rows = Embedding.apply(weight, bag_ids, padding_idx, bool(scale_grad_by_freq), valid)
    m = valid[..., None]
    if mode == "max":
        # NOTE: torch sends each max's gradient to one row, the first in the bag that holds
        # it (argmax); amax would split it between tied rows. The index is a constant.
        xp = get_array_module(rows._data)
        neg = np.array(-np.inf, dtype=weight.dtype)
        first = xp.argmax(xp.where(xp.asarray(m), rows._data, neg), axis=1)   # (B, D)
        top = rows.gather(1, first[:, None, :]).reshape(first.shape)
        return where(valid.any(axis=1)[:, None], top, np.array(0, dtype=weight.dtype))
    if per_sample_weights is not None:
        w = per_sample_weights.reshape(-1)[pos] if isinstance(per_sample_weights, Tensor) \
            else np.asarray(per_sample_weights).reshape(-1)[pos]
        rows = rows * w[..., None]
    total = where(m, rows, np.array(0, dtype=weight.dtype)).sum(1)
    if mode == "sum":
        return total
    count = np.maximum(valid.sum(axis=1), 1).astype(weight.dtype)[:, None]
    return total / count
