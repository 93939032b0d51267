"""Attention: ``scaled_dot_product_attention`` as one fused Function.

    S = scale · Q Kᵀ + M        (M: additive mask; −inf where a bool mask is False)
    P = softmax(S) along the keys;   W = P ⊙ D (D: scaled dropout keep-mask, or 1)
    O = W V

Why fused: composed from matmul, add, softmax and dropout, the graph would keep four
(…, L, S) intermediates and run four backward nodes; here forward keeps only P, and
backward is the derivative table below, two matmuls per input:

    dV = Wᵀ dO,   dW = dO Vᵀ (+ the gradient of the returned weights),   dP = dW ⊙ D
    dS = P ⊙ (dP − Σ_keys dP ⊙ P),   dQ = scale · dS K,   dK = scale · dSᵀ Q,   dM = dS

Under ``create_graph`` P is rebuilt from Q, K and M with differentiable ops
(``ctx.xp.reuse``), so the same formula gives exact second derivatives.

Rows whose keys are all masked out get all-zero weights and a zero output (PyTorch's
"safe softmax"), not NaN.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ..autograd.tensor import Tensor

__all__ = ["scaled_dot_product_attention"]


def _softmax_rows(S):
    """Stable softmax over the last axis of the float array S, in place; also returns the
    row maxima used (a constant shift) and a 1.0-where-the-row-is-all-masked array."""
    m = S.max(axis=-1, keepdims=True, initial=-np.inf)   # no keys at all (S = 0): −inf too
    empty = ~np.isfinite(m)          # every key masked: −inf everywhere in the row
    if empty.any():
        m = np.where(empty, 0, m)
    S -= m
    np.exp(S, out=S)
    den = S.sum(axis=-1, keepdims=True)
    if empty.any():
        den = den + empty            # 0/1 instead of 0/0: the row's weights stay 0
        e = empty.astype(S.dtype)
    else:
        e = None
    S /= den
    return S, m, e


class Attention(Function):
    """O = (softmax(scale·QKᵀ + M) ⊙ D) V; optionally also returns the weights."""

    def forward(ctx, q, k, v, fmask, bias=None, drop=None, scale=1.0, with_weights=False):
        ctx.scale, ctx.bias, ctx.drop = scale, bias, drop
        xp = ctx.xp
        S = xp.matmul(q * q.dtype.type(scale), xp.swapaxes(k, -1, -2))   # (…, L, S)
        if bias is not None:
            S = S + bias
        if fmask is not None:
            S = S + fmask
        P, ctx.rowmax, ctx.empty = _softmax_rows(S)
        ctx.P = P
        W = P if drop is None else P * drop
        out = xp.matmul(W, v)                                              # (…, L, Ev)
        # The returned weights are P itself when there is no dropout: saving them as well lets
        # the engine see an in-place change of that output (which would corrupt ctx.P).
        ctx.save_for_backward(q, k, v, fmask, *((W,) if with_weights else ()))
        return (out, W) if with_weights else out

    def _recompute(ctx, q, k, fmask):
        """P from the inputs with differentiable ops (the create_graph path)."""
        xp = ctx.xp
        S = xp.matmul(q * ctx.scale, xp.swapaxes(k, -1, -2))
        if ctx.bias is not None:
            S = S + ctx.bias
        if fmask is not None:
            S = S + fmask
        E = xp.exp(S - ctx.rowmax)     # NOTE: the shift is a constant; softmax ignores it
        den = E.sum(axis=-1, keepdims=True)
        if ctx.empty is not None:
            den = den + ctx.empty
        return E / den

    def backward(ctx, grad, gW=None):
        q, k, v, fmask = ctx.saved[:4]
        xp = ctx.xp
        need = ctx.needs_input_grad
        P = xp.reuse(ctx.P, lambda: ctx._recompute(q, k, fmask))
        drop = ctx.drop
        W = P if drop is None else P * drop
        gv = gq = gk = gm = None
        if need[2]:
            gv = xp.unbroadcast(xp.matmul(xp.swapaxes(W, -1, -2), grad), v.shape)
        if need[0] or need[1] or need[3]:
            dW = xp.matmul(grad, xp.swapaxes(v, -1, -2))
            if gW is not None:
                dW = dW + gW
            dP = dW if drop is None else dW * drop
            dS = xp.nerve_softmax_grad(P, dP)
            if need[0]:
                gq = xp.unbroadcast(xp.matmul(dS, k) * ctx.scale, q.shape)
            if need[1]:
                gk = xp.unbroadcast(xp.matmul(xp.swapaxes(dS, -1, -2), q) * ctx.scale, k.shape)
            if need[3]:
                gm = xp.unbroadcast(dS, fmask.shape)
        return gq, gk, gv, gm


def _softmax_grad_graph(P, dP):
    """The softmax backward dS = P ⊙ (dP − Σ_rows dP ⊙ P), with differentiable ops."""
    return P * (dP - (dP * P).sum(axis=-1, keepdims=True))


def _softmax_grad_array(xp, P, dP):
    """The same on arrays, written into dP (a fresh array of the backward's own): one
    temporary instead of three, on (…, L, S) score arrays that are the attention's largest."""
    dP -= (dP * P).sum(axis=-1, keepdims=True)
    dP *= P
    return dP


register_extra("nerve_softmax_grad", _softmax_grad_array)
GRAPH_NAMESPACE = {"nerve_softmax_grad": _softmax_grad_graph}


def _arr(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _masks(q, k, attn_mask, is_causal, op):
    """Split the masks into a constant additive array (bool masks, causal) and a float
    mask that stays an input (it may require grad)."""
    L, S = q.shape[-2], k.shape[-2]
    dtype = q.dtype
    bias = fmask = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{op}: pass either attn_mask or is_causal=True, not both "
                               "(fold the causal pattern into your mask)")
        # top-left aligned lower triangle, as torch: query i sees keys 0..i
        keep = np.tril(np.ones((L, S), dtype=bool))
        bias = np.where(keep, 0, -np.inf).astype(dtype)
    elif attn_mask is not None:
        m = _arr(attn_mask)
        if m.dtype == np.bool_:
            bias = np.where(m, 0, -np.inf).astype(dtype)
        elif m.dtype.kind == "f":
            # in the query's dtype: a float64 mask must not turn a float32 attention into float64
            if isinstance(attn_mask, Tensor):
                fmask = attn_mask if m.dtype == dtype else attn_mask.to(dtype)
            else:
                fmask = m.astype(dtype)
        else:
            raise TypeError(f"{op}: attn_mask must be bool (True = take part) or float (added to "
                            f"the scores), got dtype {m.dtype}")
        try:
            np.broadcast_shapes(m.shape, q.shape[:-2] + (L, S))
        except ValueError:
            raise RuntimeError(f"{op}: attn_mask of shape {m.shape} does not broadcast to the "
                               f"scores' shape {q.shape[:-2] + (L, S)} (…, L, S)") from None
    return bias, fmask


def _attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
               with_weights=False, extra_bias=None, op="scaled_dot_product_attention"):
    """Shared by the functional and ``nn.MultiheadAttention``: ``extra_bias`` is one more
    constant additive mask (key padding) folded into the constant part."""
    from .dropout import _check_p, _scaled_mask  # noqa: PLC0415

    q, k, v = _arr(query), _arr(key), _arr(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(f"{op}: query, key and value need at least 2 dims (…, L, E), got shapes "
                           f"{q.shape}, {k.shape}, {v.shape}")
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(f"{op}: query, key and value must share one dtype, got {q.dtype}, {k.dtype} "
                        f"and {v.dtype}; convert them with .float() or .double()")
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{op}: the leading (batch, head) dims of query {q.shape}, key {k.shape} "
                           f"and value {v.shape} do not broadcast; give key and value as many heads "
                           "as the query (repeat them for grouped-query attention)") from None
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"{op}: query (…, L, E) {q.shape}, key (…, S, E) {k.shape} and value "
                           f"(…, S, Ev) {v.shape} must agree on E and S")
    bias, fmask = _masks(q, k, attn_mask, is_causal, op)
    if extra_bias is not None:
        bias = extra_bias if bias is None else bias + extra_bias
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    p = _check_p(dropout_p, op)
    drop = None
    if p > 0:
        shape = np.broadcast_shapes(q.shape[:-1], k.shape[:-2] + (1,))[:-1] + (q.shape[-2], k.shape[-2])
        drop = _scaled_mask(shape, p, np.dtype(q.dtype), q)
    return Attention.apply(query, key, value, fmask, bias=bias, drop=drop, scale=scale,
                           with_weights=with_weights)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False,
                                 scale=None):
    """softmax(Q Kᵀ · scale + M) V, fused (one node; see the module docstring).

    Args:
        query: (…, L, E); key: (…, S, E); value: (…, S, Ev). Leading dims broadcast.
        attn_mask: bool (…, L, S), True where a query may attend to a key (as torch), or a
            float mask added to the scores (−inf blocks; it may require grad).
        dropout_p: dropout on the attention weights (applied whenever > 0, as torch).
        is_causal: query i attends to keys 0..i only (cannot be combined with attn_mask).
        scale: defaults to 1/√E.

    Returns: (…, L, Ev). A query whose keys are all masked gets zeros.

    Example:
        >>> import nerve as nv
        >>> q = nv.ones(1, 3, 4)
        >>> scaled_dot_product_attention(q, q, nv.arange(3.0).reshape(1, 3, 1), is_causal=True).tolist()
        [[[0.0], [0.5], [1.0]]]
    """
    return _attention(query, key, value, attn_mask, dropout_p, is_causal, scale)
