"""Attention layers: ``MultiheadAttention`` (PyTorch's parameters and masks) and
``AdditiveAttention`` (Bahdanau). The attention itself is ``F.scaled_dot_product_attention``'s
fused Function."""
from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor
from ..functional.attention import _attention
from . import functional as F
from . import init
from .linear import Linear, _empty
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention", "AdditiveAttention"]


def _additive(mask, dtype, what):
    """A user mask in MultiheadAttention's convention (bool: True = *blocked*; float:
    added to the scores) as a constant additive array."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype == np.bool_:
        return np.where(m, -np.inf, 0).astype(dtype)
    if m.dtype.kind == "f":
        return m.astype(dtype)
    raise TypeError(f"MultiheadAttention: {what} must be bool (True = ignore) or float (added to the "
                    f"scores), got dtype {m.dtype}")


def _user_mask(mask, dtype, what):
    """A user mask ready to add to the scores: a float Tensor that requires grad stays a
    Tensor (in the query's dtype), so its gradient flows as in torch (a learned bias passed as
    ``attn_mask``); anything else becomes a constant array via :func:`_additive`."""
    if isinstance(mask, Tensor) and mask.requires_grad and mask.dtype.kind == "f":
        return mask if mask.dtype == dtype else mask.to(dtype)
    return _additive(mask, dtype, what)


def _pad_key(mask):
    """One more key column of zeros (the appended bias_k / zero key takes part)."""
    if isinstance(mask, Tensor):
        return F.cat([mask, np.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype)], -1)
    return np.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)])


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017) with PyTorch's contract.

    out = concat_h(softmax(Q_h K_hᵀ/√d + M) V_h) W_oᵀ + b_o, with Q = query W_qᵀ + b_q,
    K = key W_kᵀ + b_k, V = value W_vᵀ + b_v split into ``num_heads`` heads of size
    d = embed_dim / num_heads.

    Args:
        embed_dim, num_heads: model width and number of heads (embed_dim % num_heads == 0).
        dropout: dropout on the attention weights (training only).
        bias: biases on the in- and out-projections.
        add_bias_kv: learn ``bias_k``/``bias_v`` (1, 1, E) appended to the keys/values.
        add_zero_attn: append a zero key/value per head.
        kdim, vdim: feature sizes of key and value (default embed_dim). When they differ
            from embed_dim the projections are ``q_proj_weight``/``k_proj_weight``/
            ``v_proj_weight``, else one ``in_proj_weight`` (3E, E), as torch.
        batch_first: (N, L, E) instead of (L, N, E).

    Forward ``(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` → (output, weights or None).
    ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N·num_heads, L, S): bool with
    True = *ignore* (the opposite of ``F.scaled_dot_product_attention``), or float, added.
    ``is_causal`` is a hint that ``attn_mask`` is causal (torch requires the mask too).
    A float mask that requires grad gets its gradient (a learned bias passed as a mask).
    A query whose keys are all masked gets zero weights and a zero attention (torch gives
    that too with ``need_weights=False``, but NaN with ``need_weights=True``).
    Weights: (N, L, S) averaged over heads, or (N, num_heads, L, S).

    Example:
        >>> import nerve as nv
        >>> mha = nv.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> out, w = mha(nv.ones(3, 5, 8), nv.ones(3, 4, 8), nv.ones(3, 4, 8))
        >>> out.shape, w.shape
        ((3, 5, 8), (3, 5, 4))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple "
                             f"of num_heads ({num_heads}); each head gets embed_dim / num_heads features")
        E = self.embed_dim = int(embed_dim)
        self.kdim = E if kdim is None else int(kdim)
        self.vdim = E if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.num_heads = int(num_heads)
        self.head_dim = E // self.num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.add_zero_attn = add_zero_attn
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(_empty((3 * E, E), dtype, device))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(_empty((E, E), dtype, device))
            self.k_proj_weight = Parameter(_empty((E, self.kdim), dtype, device))
            self.v_proj_weight = Parameter(_empty((E, self.vdim), dtype, device))
        if bias:
            self.in_proj_bias = Parameter(_empty((3 * E,), dtype, device))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(_empty((1, 1, E), dtype, device))
            self.bias_v = Parameter(_empty((1, 1, E), dtype, device))
        else:
            self.bias_k = self.bias_v = None
        self.reset_parameters()

    def reset_parameters(self):
        """Xavier-uniform projections, zero biases, Xavier-normal bias_k/bias_v (as torch)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query, key, value):
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            W = self.in_proj_weight
            if query is key and key is value:   # self-attention: one (3E, E) product
                qkv = F.linear(query, W, b)
                return qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
            Wq, Wk, Wv = W[:E], W[E:2 * E], W[2 * E:]
        else:
            Wq, Wk, Wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, Wq, bq), F.linear(key, Wk, bk), F.linear(value, Wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):  # noqa: A002
        name = f"MultiheadAttention({self.embed_dim}, heads={self.num_heads})"
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{name}: is_causal=True is a hint about attn_mask and needs the mask "
                               "itself; pass attn_mask=nn.Transformer.generate_square_subsequent_mask(L)")
        batched = query.ndim == 3
        if query.ndim not in (2, 3):
            raise RuntimeError(f"{name}: query must be (L, E) or a batch of them, got shape "
                               f"{tuple(query.shape)}")
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(f"{name}: query, key and value must all be batched (3-D) or all "
                               f"unbatched (2-D); got shapes {tuple(query.shape)}, "
                               f"{tuple(key.shape)}, {tuple(value.shape)}")
        kpm_shape = None if key_padding_mask is None else tuple(np.shape(
            getattr(key_padding_mask, "_data", key_padding_mask)))
        if kpm_shape is not None and len(kpm_shape) != (2 if batched else 1):
            want = "(N, S)" if batched else "(S,) for an unbatched query"
            raise RuntimeError(f"{name}: key_padding_mask must be {want}, got shape {kpm_shape}")
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            # (L, N, E) -> (N, L, E), the layout used inside; keep one tensor when they are one
            same_kv, same_qk = key is value, query is key
            query = query.transpose(0, 1)
            key = query if same_qk else key.transpose(0, 1)
            value = key if same_kv else value.transpose(0, 1)
        N, L, E = query.shape
        if E != self.embed_dim or key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise RuntimeError(f"{name}: expected feature sizes query {self.embed_dim}, key {self.kdim}, "
                               f"value {self.vdim}; got {E}, {key.shape[-1]}, {value.shape[-1]}")
        if key.shape[0] != N or value.shape[0] != N or key.shape[1] != value.shape[1]:
            raise RuntimeError(f"{name}: query, key and value must share the batch size and key and "
                               f"value the sequence length; got shapes {tuple(query.shape)}, "
                               f"{tuple(key.shape)}, {tuple(value.shape)} (batch-first view)")
        H, D = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)         # (N, L, E), (N, S, E), (N, S, E)
        dtype = q.dtype
        mask = None if attn_mask is None else _user_mask(attn_mask, dtype, "attn_mask")
        kpm = None if key_padding_mask is None else _user_mask(key_padding_mask, dtype, "key_padding_mask")
        if kpm is not None and not batched:
            kpm = kpm.reshape(1, -1)
        if self.bias_k is not None:
            k = F.cat([k, self.bias_k.expand(N, 1, E)], 1)
            v = F.cat([v, self.bias_v.expand(N, 1, E)], 1)
            mask = None if mask is None else _pad_key(mask)
            kpm = None if kpm is None else _pad_key(kpm)
        S = k.shape[1]
        # (N, L, E) -> (N, H, L, D): heads become a batch dimension
        q = q.reshape(N, L, H, D).permute(0, 2, 1, 3)
        k = k.reshape(N, S, H, D).permute(0, 2, 1, 3)
        v = v.reshape(N, S, H, D).permute(0, 2, 1, 3)
        if self.add_zero_attn:
            z = np.zeros((N, H, 1, D), dtype=dtype)
            k, v = F.cat([k, z], 2), F.cat([v, z], 2)
            S += 1
            mask = None if mask is None else _pad_key(mask)
            kpm = None if kpm is None else _pad_key(kpm)
        if mask is not None:
            if mask.ndim == 2:
                if tuple(mask.shape) != (L, S):
                    raise RuntimeError(f"{name}: a 2-D attn_mask must be (L, S) = {(L, S)}, "
                                       f"got {tuple(mask.shape)}")
            elif mask.ndim == 3:
                if tuple(mask.shape) != (N * H, L, S):
                    raise RuntimeError(f"{name}: a 3-D attn_mask must be (N·num_heads, L, S) = "
                                       f"{(N * H, L, S)}, got {tuple(mask.shape)}")
                mask = mask.reshape(N, H, L, S)
            else:
                raise RuntimeError(f"{name}: attn_mask must be 2-D or 3-D, got {mask.ndim}-D")
        if kpm is not None:
            if tuple(kpm.shape) != (N, S):
                raise RuntimeError(f"{name}: key_padding_mask must be (N, S) = {(N, S)}, "
                                   f"got {tuple(kpm.shape)}")
            kpm = kpm.reshape(N, 1, 1, S)
        # constant parts (bool masks, float masks without grad) fold into one array; masks
        # that require grad stay Tensors and enter the attention as its float mask
        bias = tmask = None
        for m in (mask, kpm):
            if m is None:
                continue
            if isinstance(m, Tensor):
                tmask = m if tmask is None else tmask + m
            else:
                bias = m if bias is None else bias + m
        p = self.dropout if self.training else 0.0
        out = _attention(q, k, v, attn_mask=tmask, dropout_p=p, with_weights=need_weights,
                         extra_bias=bias, op=name)
        out, w = out if need_weights else (out, None)
        out = out.permute(0, 2, 1, 3).reshape(N, L, E)       # (N, H, L, D) -> (N, L, E)
        out = self.out_proj(out)
        if w is not None and average_attn_weights:
            w = w.mean(1)                                     # (N, L, S)
        if not batched:
            out = out.squeeze(0)
            w = None if w is None else w.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, w

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


class AdditiveAttention(Module):
    """Additive (Bahdanau, "concat") attention (Bahdanau et al. 2015):

        score(q, k) = w_vᵀ tanh(W_q q + W_k k),   α = softmax over keys,   context = Σ α v

    Args:
        query_dim, key_dim: feature sizes of queries and keys.
        hidden_dim: width of the tanh layer.
        dropout: dropout on the attention weights (training only).
        bias: bias on the query projection (the key projection has none; one is enough).

    Attributes: ``query_proj`` (Linear query_dim→hidden_dim), ``key_proj``
    (Linear key_dim→hidden_dim, no bias), ``score_proj`` (Linear hidden_dim→1, no bias).

    Forward ``(query, key, value, mask=None)`` with query (N, L, Dq), key (N, S, Dk),
    value (N, S, Dv) and ``mask`` bool (N, S) or (N, L, S), True = take part (a key
    padding mask broadcasts over queries) → (context (N, L, Dv), weights (N, L, S)). A query
    whose keys are all masked gets zero weights and a zero context (not NaN), as in
    ``F.scaled_dot_product_attention``.

    Example:
        >>> import nerve as nv
        >>> att = nv.nn.AdditiveAttention(4, 6, 8)
        >>> ctx, w = att(nv.ones(2, 3, 4), nv.ones(2, 5, 6), nv.ones(2, 5, 7))
        >>> ctx.shape, w.shape
        ((2, 3, 7), (2, 3, 5))
    """

    def __init__(self, query_dim, key_dim, hidden_dim, dropout=0.0, bias=True, device=None, dtype=None):
        super().__init__()
        self.query_proj = Linear(query_dim, hidden_dim, bias=bias, device=device, dtype=dtype)
        self.key_proj = Linear(key_dim, hidden_dim, bias=False, device=device, dtype=dtype)
        self.score_proj = Linear(hidden_dim, 1, bias=False, device=device, dtype=dtype)
        self.dropout = float(dropout)

    def forward(self, query, key, value, mask=None):
        if query.ndim != 3 or key.ndim != 3 or value.ndim != 3 or key.shape[:2] != value.shape[:2]:
            raise RuntimeError(f"AdditiveAttention: expected query (N, L, Dq), key (N, S, Dk) and value "
                               f"(N, S, Dv), got {tuple(query.shape)}, {tuple(key.shape)}, "
                               f"{tuple(value.shape)}")
        hq = self.query_proj(query).unsqueeze(2)      # (N, L, 1, H)
        hk = self.key_proj(key).unsqueeze(1)          # (N, 1, S, H)
        scores = self.score_proj(F.tanh(hq + hk)).squeeze(-1)   # (N, L, S)
        keep = None
        if mask is not None:
            m = np.asarray(getattr(mask, "_data", mask)).astype(bool)
            if m.ndim == 2:
                m = m[:, None, :]                        # a key padding mask: every query
            # a query with no key left would get softmax(−inf, …) = NaN, and NaN gradients for
            # every weight; leave its scores unmasked and zero its weights afterwards instead
            keep = m.any(-1, keepdims=True)
            scores = F.masked_fill(scores, ~m & keep, -np.inf)
        w = F.softmax(scores, -1)
        if keep is not None and not keep.all():
            w = w * keep.astype(w.dtype)
        w = F.dropout(w, self.dropout, self.training)
        return F.matmul(w, value), w
