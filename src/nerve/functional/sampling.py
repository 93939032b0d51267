"""Sampling from a tensor of weights: ``multinomial``.

Draws come from nerve's global generator (``nv.manual_seed``) or from the ``generator``
passed (a ``nerve.Generator`` or a ``numpy.random.Generator``). Results are int64 indices
and carry no gradient.
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..backend import get_array_module
from ._util import Tensor, _wrap

__all__ = ["multinomial"]


def _check_weights(w, op):
    if w.ndim not in (1, 2):
        raise RuntimeError(f"{op}: weights must be 1-D (categories) or 2-D (rows, categories), "
                           f"got shape {tuple(w.shape)}")
    if w.dtype.kind != "f":
        raise RuntimeError(f"{op}: weights must be floating point, got dtype {w.dtype}; call .float()")
    if w.shape[-1] == 0:
        raise RuntimeError(f"{op}: there are no categories to draw from (shape {tuple(w.shape)})")
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError(f"{op}: weights must be finite and non-negative (they need not sum to 1)")
    if (w.sum(-1) <= 0).any():
        raise RuntimeError(f"{op}: every row of weights needs a positive sum; a row of zeros has "
                           "nothing to draw")


def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """Draw ``num_samples`` category indices per row with probabilities proportional to
    the non-negative weights ``input`` (1-D: (K,) → (num_samples,); 2-D: (N, K) →
    (N, num_samples)), as ``torch.multinomial``.

    * ``replacement=True``: independent draws, by inverting each row's cumulative sum
      (one ``searchsorted`` over all rows).
    * ``replacement=False``: each category at most once, in the order drawn. Sampling
      one at a time and renormalising equals keeping the ``num_samples`` smallest keys
      ``E_i / w_i`` with ``E_i ~ Exp(1)`` (the exponential race, Efraimidis & Spirakis
      2006), done for all rows at once. Zero-weight categories are never drawn, so
      ``num_samples`` may not exceed the number of positive weights.

    Example:
        >>> import nerve as nv
        >>> g = nv.Generator().manual_seed(0)
        >>> nv.multinomial(nv.tensor([0.0, 1.0, 0.0, 3.0]), 2, generator=g).tolist() in ([1, 3], [3, 1])
        True
        >>> nv.tensor([[1.0, 1.0], [0.0, 1.0]]).multinomial(4, replacement=True).shape
        (2, 4)
    """
    op = "multinomial"
    w = input._data if isinstance(input, Tensor) else np.asarray(input)
    xp = get_array_module(w)
    w_host = np.asarray(w.get() if hasattr(w, "get") else w)
    _check_weights(w_host, op)
    k = int(num_samples)
    if k <= 0:
        raise RuntimeError(f"{op}: num_samples must be positive, got {num_samples}")
    rows = w_host.reshape(-1, w_host.shape[-1]).astype(np.float64)  # (N, K)
    N, K = rows.shape
    g = _random.resolve(generator)
    if replacement:
        csum = np.cumsum(rows, axis=1)
        cdf = np.minimum(csum / csum[:, -1:], 1.0)
        # From the last positive weight on, the cdf is exactly 1, so a draw u < 1 never
        # lands on a trailing zero-weight category through rounding.
        last = K - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)
        cdf[np.arange(K)[None, :] >= last[:, None]] = 1.0
        off = np.arange(N, dtype=np.float64)[:, None]
        u = g.random((N, k)) + off                                     # row r draws in [r, r+1)
        flat = np.searchsorted((cdf + off).reshape(-1), u.reshape(-1), side="right")
        # A draw u within rounding of 1 in row r ≥ 1 can round u + r up to r + 1, past the row's
        # end (index K, or a category of the next row); such a u belongs to the row's last
        # positive category. Below that, the search never goes past it.
        idx = np.minimum(flat.reshape(N, k) - np.arange(N)[:, None] * K, last[:, None])
    else:
        if k > K:
            raise RuntimeError(f"{op}: cannot draw {k} samples without replacement from {K} categories; "
                               "pass replacement=True or ask for fewer")
        positive = (rows > 0).sum(axis=1)
        if (positive < k).any():
            raise RuntimeError(f"{op}: a row has only {int(positive.min())} categories with positive "
                               f"weight, fewer than the {k} samples asked for without replacement")
        with np.errstate(divide="ignore"):
            keys = g.standard_exponential((N, K)) / rows                # zero weight → inf
        if k < K:
            part = np.argpartition(keys, k - 1, axis=1)[:, :k]
            order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1)
            idx = np.take_along_axis(part, order, axis=1)
        else:
            idx = np.argsort(keys, axis=1)
    idx = idx.astype(np.int64).reshape(tuple(w_host.shape[:-1]) + (k,))
    return _wrap(xp.asarray(idx))


TENSOR_METHODS = {"multinomial": multinomial}
GRAPH_NAMESPACE = {}
