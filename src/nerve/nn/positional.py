"""Positional information for attention, which by itself ignores order: fixed sinusoidal
encodings (Vaswani et al. 2017), learned position embeddings (BERT, GPT-2) and rotary
embeddings (RoPE, Su et al. 2021)."""
from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .dropout import Dropout
from .linear import _empty
from .module import Module
from .parameter import Parameter

__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEmbedding", "RotaryEmbedding"]


def _dtype(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def _check_len(layer, L, offset, max_len):
    if offset + L > max_len:
        raise ValueError(f"{layer}: positions {offset}..{offset + L - 1} are beyond max_len={max_len}; "
                         f"build the layer with max_len >= {offset + L}")


def _sinusoid_table(max_len, d_model, base=10000.0, dtype=np.float64):
    """(max_len, d_model): PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(p / base^(2i/d))."""
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    freq = base ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)   # (⌈d/2⌉,)
    angle = pos * freq
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe.astype(dtype)


class SinusoidalPositionalEncoding(Module):
    """Adds the fixed sinusoidal table to a sequence, then dropout: y = dropout(x + PE[:L]).

    Args: ``d_model``, ``max_len`` (5000), ``dropout`` (0.0), ``batch_first`` (False:
    x is (L, N, d_model)), ``base`` (10000). The table is a non-persistent buffer ``pe``
    (max_len, d_model), so it is not in the state_dict. ``forward(x, offset=0)``: start at
    position ``offset`` (generation with a cache).

    Example:
        >>> import nerve as nv
        >>> pe = nv.nn.SinusoidalPositionalEncoding(4, max_len=10, batch_first=True)
        >>> pe(nv.zeros(1, 2, 4)).tolist()[0][0]
        [0.0, 1.0, 0.0, 1.0]
    """

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, base=10000.0, dtype=None):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = int(d_model), int(max_len), batch_first
        self.register_buffer("pe", Tensor(_sinusoid_table(max_len, d_model, base, _dtype(dtype))),
                             persistent=False)
        self.dropout = Dropout(dropout)

    def forward(self, x, offset=0):
        L = x.shape[1] if self.batch_first else x.shape[0]
        _check_len("SinusoidalPositionalEncoding", L, offset, self.max_len)
        pe = self.pe._data[offset:offset + L].astype(x.dtype, copy=False)
        return self.dropout(x + (pe if self.batch_first else pe[:, None, :]))


class LearnedPositionalEmbedding(Module):
    """A learned vector per position, added to the input: y = x + W[offset:offset+L].

    Args: ``max_len``, ``d_model``, ``batch_first`` (False), ``std`` (0.02, GPT-2's init).
    Attribute ``weight`` (max_len, d_model).

    Example:
        >>> import nerve as nv
        >>> pos = nv.nn.LearnedPositionalEmbedding(16, 4, batch_first=True)
        >>> pos(nv.zeros(2, 5, 4)).shape
        (2, 5, 4)
    """

    def __init__(self, max_len, d_model, batch_first=False, std=0.02, device=None, dtype=None):
        super().__init__()
        self.max_len, self.d_model, self.batch_first, self.std = int(max_len), int(d_model), batch_first, std
        self.weight = Parameter(_empty((self.max_len, self.d_model), dtype, device))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, self.std)

    def forward(self, x, offset=0):
        L = x.shape[1] if self.batch_first else x.shape[0]
        _check_len("LearnedPositionalEmbedding", L, offset, self.max_len)
        w = self.weight[offset:offset + L]                   # (L, d_model)
        return x + (w if self.batch_first else w.unsqueeze(1))


class RotaryEmbedding(Module):
    """Rotary position embedding: rotates each pair of features of a query or key by an
    angle proportional to its position, so q·k depends only on the positions' difference.

    With half = dim/2 and θ_i = base^(−2i/dim), the pair (x_i, x_{i+half}) at position p
    becomes (x_i cos pθ_i − x_{i+half} sin pθ_i, x_{i+half} cos pθ_i + x_i sin pθ_i)
    (the "rotate half" layout of GPT-NeoX and LLaMA).

    Args: ``dim`` (even: the head size it rotates), ``max_len`` (2048), ``base`` (10000).
    ``forward(x, offset=0)``: x (…, L, dim), positions offset..offset+L−1 → same shape.
    No parameters; the cos/sin tables are non-persistent buffers.

    Example:
        >>> import nerve as nv
        >>> rope = nv.nn.RotaryEmbedding(4, max_len=8)
        >>> rope(nv.ones(1, 3, 4)).shape
        (1, 3, 4)
    """

    def __init__(self, dim, max_len=2048, base=10000.0, dtype=None):
        super().__init__()
        if dim % 2:
            raise ValueError(f"RotaryEmbedding: dim must be even (features are rotated in pairs), got {dim}")
        self.dim, self.max_len, self.base = int(dim), int(max_len), base
        theta = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)        # (dim/2,)
        angle = np.arange(max_len, dtype=np.float64)[:, None] * theta           # (max_len, dim/2)
        angle = np.concatenate([angle, angle], axis=1)                          # (max_len, dim)
        dt = _dtype(dtype)
        self.register_buffer("cos", Tensor(np.cos(angle).astype(dt)), persistent=False)
        self.register_buffer("sin", Tensor(np.sin(angle).astype(dt)), persistent=False)

    def forward(self, x, offset=0):
        L = x.shape[-2]
        if x.shape[-1] != self.dim:
            raise RuntimeError(f"RotaryEmbedding({self.dim}) got features of size {x.shape[-1]}")
        _check_len("RotaryEmbedding", L, offset, self.max_len)
        cos = self.cos._data[offset:offset + L].astype(x.dtype, copy=False)
        sin = self.sin._data[offset:offset + L].astype(x.dtype, copy=False)
        h = self.dim // 2
        rotated = F.cat([-x[..., h:], x[..., :h]], -1)      # (−x2, x1)
        return x * cos + rotated * sin
