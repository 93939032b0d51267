"""GPT: a decoder-only transformer language model (the GPT-2 layout), with cached generation.

Layout, for a config with vocabulary V, context B (block_size), L layers, H heads, width C:

    idx (N, T) ids, T ≤ B
    wte  Embedding(V, C)  +  wpe  Embedding(B, C) at positions 0..T−1    → (N, T, C)
    L × Block (pre-LN, residual):
        x = x + attn(ln_1(x))      causal self-attention, H heads of C/H; c_attn C→3C, c_proj C→C
        x = x + mlp(ln_2(x))       c_fc C→4C, GELU (tanh form, as GPT-2), c_proj 4C→C
    ln_f LayerNorm(C)
    logits = ln_f(x) · wteᵀ                                               → (N, T, V)

The output head has no matrix of its own: it is the token embedding read backwards (weight
tying, Press & Wolf 2017), so the shared tensor is counted once and its gradient is the sum
of both uses.

Parameter count (with biases):

    wte            V·C
    wpe            B·C
    per block      ln_1 2C + c_attn (3C² + 3C) + c_proj (C² + C) + ln_2 2C
                   + c_fc (4C² + 4C) + mlp c_proj (4C² + C)      = 12C² + 13C
    ln_f           2C
    lm_head        tied to wte: 0

GPT-2 small (V 50,257, B 1,024, L 12, H 12, C 768):

    wte  50,257×768 = 38,597,376
    wpe   1,024×768 =    786,432
    12 × (12·768² + 13·768) = 12 × 7,087,872 = 85,054,464
    ln_f      2×768 =      1,536
                     -----------
                     124,439,808   (the count of Hugging Face's GPT2Model)

The char-level default (``char_gpt``: V 65, B 64, L 4, H 4, C 128) has
65·128 + 64·128 + 4·(12·128² + 13·128) + 256 = 809,856 parameters.

``generate`` keeps a key/value cache: after the prompt, each new token costs one position's
worth of work instead of a pass over the whole context, and gives the same logits as the full
pass (up to floating-point summation order).

    >>> import nerve as nv
    >>> from nerve import models
    >>> cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    >>> cfg.num_parameters() == GPT(cfg).num_parameters()
    True
    >>> _ = nv.manual_seed(0)
    >>> GPT(cfg).generate(nv.tensor([[1, 2]]), max_new_tokens=3, generator=0).shape
    (1, 5)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .. import nn
from ..autograd import Tensor, is_grad_enabled, no_grad
from ..nn import functional as F
from ..nn.module import _version as _structure_version
from . import register_model
from .configs import ParamLine, ParamTable, register_config
from .sampling import _rng, check_sampling_args, sample_logits

__all__ = ["GPTConfig", "GPT", "KVCache", "char_gpt", "gpt"]


@dataclass
class GPTConfig:
    """The shape of a :class:`GPT`. The defaults are GPT-2 small (124,439,808 parameters).

    Args:
        vocab_size: number of token ids V.
        block_size: the longest context B (the number of learned positions).
        n_layer, n_head, n_embd: depth L, heads H and width C (C divisible by H).
        dropout: on the embeddings, the attention weights and each residual branch (0: none).
        bias: biases in the Linear and LayerNorm layers (GPT-2 has them).
    """

    vocab_size: int = 50257
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {v!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd {self.n_embd} must be divisible by n_head {self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout!r}")

    @classmethod
    def gpt2(cls, **overrides) -> "GPTConfig":
        """GPT-2 small: V 50,257, B 1,024, 12 layers, 12 heads, width 768."""
        return cls(**overrides)

    @classmethod
    def gpt2_medium(cls, **overrides) -> "GPTConfig":
        """GPT-2 medium: 24 layers, 16 heads, width 1,024 (354,823,168 parameters)."""
        return cls(**{"n_layer": 24, "n_head": 16, "n_embd": 1024, **overrides})

    def to_dict(self) -> dict:
        return asdict(self)

    def param_table(self, title: str | None = None) -> ParamTable:
        """The parameter arithmetic per component (nothing is built)."""
        V, B, L, C = self.vocab_size, self.block_size, self.n_layer, self.n_embd
        b = 1 if self.bias else 0
        ln = ("2·C" if b else "C", (1 + b) * C)

        def lin(n_in, n_out, a, o):
            return (f"{a}·{o}" + (f" + {o}" if b else ""), n_in * n_out + b * n_out)

        per = [("  ln_1", *ln), ("  attn.c_attn", *lin(C, 3 * C, "C", "3C")),
               ("  attn.c_proj", *lin(C, C, "C", "C")), ("  ln_2", *ln),
               ("  mlp.c_fc", *lin(C, 4 * C, "C", "4C")), ("  mlp.c_proj", *lin(4 * C, C, "4C", "C"))]
        lines = [ParamLine("wte (token embedding)", f"V·C = {V}·{C}", V * C),
                 ParamLine("wpe (position embedding)", f"B·C = {B}·{C}", B * C)]
        lines += [ParamLine(f"{name} (per block)", arith, n, repeat=L) for name, arith, n in per]
        lines += [ParamLine("ln_f", ln[0], ln[1]),
                  ParamLine("lm_head (tied to wte)", f"V·C = {V}·{C}", V * C, shared=True)]
        return ParamTable(title or (f"GPT: vocab {V}, block {B}, {L} layers, {self.n_head} heads, "
                                    f"width {C} (C = {C}, per block 12C² + 13C)"), lines)

    def num_parameters(self) -> int:
        """The parameter count from the arithmetic of :meth:`param_table`."""
        return self.param_table().total


@register_config("gpt2", "gpt2-small", "gpt-2")
def _gpt2_table():
    return GPTConfig.gpt2().param_table("GPT-2 small: vocab 50257, block 1024, 12 layers, 12 heads, width 768")


@register_config("gpt2-medium")
def _gpt2_medium_table():
    return GPTConfig.gpt2_medium().param_table(
        "GPT-2 medium: vocab 50257, block 1024, 24 layers, 16 heads, width 1024")


class KVCache:
    """Keys and values of the positions seen so far, per layer, for incremental decoding.

    Arrays of shape (n_layer, N, H, block_size, C/H) are allocated once; ``length`` is the
    number of positions filled. Inference only: what it stores is detached from the graph.
    """

    def __init__(self, config: GPTConfig, batch_size: int, dtype=np.float32):
        hd = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.block_size, hd)
        self.k = np.zeros(shape, dtype)
        self.v = np.zeros(shape, dtype)
        self.length = 0

    @property
    def capacity(self) -> int:
        return self.k.shape[3]

    def append(self, layer: int, k, v):
        """Store (N, H, T, hd) keys and values after the filled positions; return all of them so far."""
        p, T = self.length, k.shape[2]
        self.k[layer, :, :, p:p + T] = k
        self.v[layer, :, :, p:p + T] = v
        return self.k[layer, :, :, :p + T], self.v[layer, :, :, :p + T]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions ≤ t (SDPA with is_causal)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        C = config.n_embd
        self.n_head = config.n_head
        self.c_attn = nn.Linear(C, 3 * C, bias=config.bias)
        self.c_proj = nn.Linear(C, C, bias=config.bias)
        self.dropout = config.dropout
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, cache: KVCache | None = None, layer: int = 0):
        if cache is not None:
            return self.resid_dropout(self.c_proj(self._cached(self.c_attn(x), cache, layer)))
        N, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.reshape(N, T, H, C // H).transpose(1, 2)                # (N, H, T, hd)
        k = k.reshape(N, T, H, C // H).transpose(1, 2)
        v = v.reshape(N, T, H, C // H).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(N, T, C)))

    def _cached(self, qkv, cache: KVCache, layer: int):
        """The inference path: store the new keys and values, attend over every stored position.

        No graph is recorded here (the cache is detached anyway), so the heads are split and
        merged on the arrays: for one new token, the seven view ops of the training path cost
        more than the attention itself.
        """
        N, T, C3 = qkv.shape
        C, H = C3 // 3, self.n_head
        a = qkv.numpy().reshape(N, T, 3, H, C // H).transpose(2, 0, 3, 1, 4)   # (3, N, H, T, hd)
        past = cache.length
        ks, vs = cache.append(layer, a[1], a[2])                             # (N, H, past + T, hd)
        q, ks, vs = Tensor(a[0]), Tensor(ks), Tensor(vs)
        p = self.dropout if self.training else 0.0
        if T == 1:          # the one new query may see every stored position
            y = F.scaled_dot_product_attention(q, ks, vs, dropout_p=p)
        elif past == 0:
            y = F.scaled_dot_product_attention(q, ks, vs, dropout_p=p, is_causal=True)
        else:               # query i sits at position past + i: it sees keys 0..past + i
            mask = np.tril(np.ones((T, past + T), dtype=bool), k=past)
            y = F.scaled_dot_product_attention(q, ks, vs, attn_mask=mask, dropout_p=p)
        return Tensor(y.numpy().transpose(0, 2, 1, 3).reshape(N, T, C))


class MLP(nn.Module):
    """Linear C→4C, GELU, Linear 4C→C, dropout.

    The GELU is the tanh approximation GPT-2 was trained with (0.5x(1 + tanh(√(2/π)(x + 0.044715x³))));
    it is also about three times cheaper here than the erf form.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        C = config.n_embd
        self.c_fc = nn.Linear(C, 4 * C, bias=config.bias)
        self.gelu = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * C, C, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cache=None, layer=0):
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A GPT-2-shaped causal language model (see the module docstring for the layout and counts).

    ``forward(idx)`` maps (N, T) token ids to (N, T, V) next-token logits. Weights start as in
    GPT-2: N(0, 0.02) for Linear and Embedding weights, N(0, 0.02/√(2L)) for the projections
    that end each residual branch, zero biases, LayerNorm at (1, 0).

    Args:
        config: a :class:`GPTConfig` (or pass its fields as keyword arguments).
    """

    def __init__(self, config: GPTConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = GPTConfig(**kwargs)
        elif kwargs:
            raise TypeError("GPT takes a GPTConfig or its fields as keyword arguments, not both")
        self.config = config
        C = config.n_embd
        self.wte = nn.Embedding(config.vocab_size, C)
        self.wpe = nn.Embedding(config.block_size, C)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(C, bias=config.bias)
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer))
            elif name.startswith(("wte", "wpe")) or name.endswith(("c_attn.weight", "c_fc.weight")):
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            # LayerNorm weights keep their ones

    @property
    def lm_head_weight(self):
        """The output projection: the token embedding itself (tied)."""
        return self.wte.weight

    def new_cache(self, batch_size: int) -> KVCache:
        """An empty :class:`KVCache` for ``batch_size`` sequences, in the model's dtype."""
        return KVCache(self.config, batch_size, self.wte.weight.numpy().dtype)

    def forward(self, idx, cache: KVCache | None = None):
        """Logits (N, T, V) for ids (N, T). With ``cache`` the ids continue the cached positions:
        their keys and values are stored and they attend to every cached position."""
        if not isinstance(idx, Tensor):
            idx = Tensor(np.asarray(idx))
        if idx.ndim != 2:
            raise ValueError(f"GPT expects token ids of shape (N, T), got {tuple(idx.shape)}")
        N, T = idx.shape
        start = 0 if cache is None else cache.length
        if start + T > self.config.block_size:
            raise ValueError(f"GPT: positions {start}..{start + T - 1} exceed block_size "
                             f"{self.config.block_size}; crop the context to the last "
                             f"{self.config.block_size} tokens")
        if cache is not None and is_grad_enabled():
            raise RuntimeError("GPT: a KVCache is for inference; run under nerve.no_grad()")
        if cache is not None and self._decode_fast_ok():
            return Tensor(self._cached_forward_arrays(idx, cache))
        pos = Tensor(np.arange(start, start + T, dtype=np.int64))
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.h):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += T
        return F.linear(self.ln_f(x), self.wte.weight)      # tied head: (N, T, V)

    def _decode_fast_ok(self) -> bool:
        """Whether :meth:`_cached_forward_arrays` computes exactly what the module path would:
        no dropout to apply, no hooks to call, weights in NumPy arrays (the cache is NumPy)."""
        if self.training and self.config.dropout > 0:
            return False
        if not isinstance(self.wte.weight._data, np.ndarray):
            return False
        d = self.__dict__
        if d.get("_fast_modules_version") != _structure_version[0]:     # walk once per structure
            d["_fast_modules"] = tuple(self.modules())
            d["_fast_modules_version"] = _structure_version[0]
        for m in d["_fast_modules"]:
            if m._has_hooks:
                return False
        return True

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_fast_modules", None)          # a walk of this instance's modules: rebuilt
        state.pop("_fast_modules_version", None)
        return state

    def _cached_forward_arrays(self, idx, cache: KVCache):
        """The cached forward of :meth:`forward` on raw arrays; returns the (N, T, V) logits array.

        Why it exists (DESIGN rule 17): a cached decoding step pushes one token per sequence
        (8 × 128 here) through the model, so each op's own work is a few microseconds and the
        Tensor wrapping and Function bookkeeping around it cost as much again. Under no_grad
        (which a cache requires) there is no graph to record, so this path does the same math
        as the modules (pre-LN blocks, tanh GELU, tied head) directly on the arrays, stores the
        keys and values in the cache buffers in place, and wraps only the logits. The module
        path above stays the reference; the tests hold the two to the uncached full pass.

        The activations are kept as columns, (C, M) for M = N·T positions, so every projection
        is ``W @ xᵀ`` with the (out, in) weight as stored: OpenBLAS multiplies a few rows by a
        transposed weight (``x @ W.T``, the row layout) 3-4× slower than this for the C→3C and
        C→4C layers at M = 8 (33 vs 9 µs and 44 vs 12 µs measured), which was most of the step.
        """
        cfg = self.config
        N, T = idx.shape
        M, C, H = N * T, cfg.n_embd, cfg.n_head
        hd = C // H
        past = cache.length
        x = self.wte(idx).numpy() + self.wpe.weight._data[past:past + T]      # (N, T, C)
        x = np.ascontiguousarray(x.reshape(M, C).T)                           # (C, M), column n·T + t
        scale = 1.0 / math.sqrt(hd)
        avg = np.full(C, 1.0 / C, dtype=x.dtype)
        mask = None
        if T > 1:           # query i sits at position past + i: it sees keys 0..past + i
            mask = ~np.tril(np.ones((T, past + T), dtype=bool), k=past)
        for layer, block in enumerate(self.h):
            attn, mlp = block.attn, block.mlp
            qkv = _linear_cols(_layer_norm_cols(x, block.ln_1, avg), attn.c_attn)
            qkv = qkv.reshape(3, H, hd, N, T).transpose(0, 3, 1, 4, 2)       # (3, N, H, T, hd)
            ks, vs = cache.append(layer, qkv[1], qkv[2])                      # (N, H, past + T, hd)
            s = np.matmul(qkv[0], ks.transpose(0, 1, 3, 2))                   # (N, H, T, past + T)
            s *= scale
            if mask is not None:
                s[..., mask] = -np.inf
            s -= s.max(axis=-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(axis=-1, keepdims=True)
            y = np.matmul(s, vs).transpose(1, 3, 0, 2).reshape(C, M)          # heads merged, (C, M)
            x += _linear_cols(y, attn.c_proj)
            h = _linear_cols(_layer_norm_cols(x, block.ln_2, avg), mlp.c_fc)
            x += _linear_cols(_gelu_tanh(h), mlp.c_proj)
        cache.length += T
        logits = self.wte.weight._data @ _layer_norm_cols(x, self.ln_f, avg)       # tied head, (V, M)
        return np.ascontiguousarray(logits.T).reshape(N, T, -1)

    @no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator=None, use_cache: bool = True):
        """Continue each row of ``idx`` (N, T0) by ``max_new_tokens`` sampled tokens; returns
        (N, T0 + max_new_tokens) int64 ids as a Tensor.

        Each step divides the last position's logits by ``temperature`` (0: greedy), keeps the
        ``top_k`` most likely and/or the ``top_p`` nucleus (:func:`~nerve.models.sampling.filter_logits`)
        and samples with ``generator`` (NumPy Generator, int seed, nerve Generator or None).
        With ``use_cache`` the keys and values of earlier positions are reused; once the context
        is longer than ``block_size`` the model looks at the last ``block_size`` tokens only, and
        each step is a full pass over them (positions shift, so nothing can be reused).
        """
        check_sampling_args(temperature, top_k, top_p)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
                or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
        ids = _check_ids(idx, self.config.vocab_size, "GPT.generate")
        rng = _rng(generator)
        B = self.config.block_size
        was_training = self.training
        self.eval()
        try:
            cache = None
            for _ in range(max_new_tokens):
                if not use_cache:
                    logits = self(ids[:, -B:])
                elif cache is None or cache.length >= B:
                    cache = self.new_cache(ids.shape[0])
                    logits = self(ids[:, -B:], cache)
                else:
                    logits = self(ids[:, -1:], cache)
                nxt = sample_logits(logits.numpy()[:, -1], temperature, top_k, top_p, rng)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor(ids)


# Array kernels of the cached fast path (GPT._cached_forward_arrays): the formulas of
# nn.Linear and nn.LayerNorm on activations stored as columns (C, M), and of nn.GELU("tanh");
# intermediates that belong to the caller's pipeline are updated in place.
def _linear_cols(x, lin):
    y = lin.weight._data @ x
    if lin.bias is not None:
        y += lin.bias._data[:, None]
    return y


def _layer_norm_cols(x, ln, avg):
    """LayerNorm of each column; ``avg`` is a (C,) vector of 1/C, so ``avg @ x`` is the column
    means (one BLAS call, 3× cheaper than a NumPy reduction across the rows here)."""
    d = x - avg @ x
    var = avg @ (d * d)
    var += ln.eps
    d /= np.sqrt(var, out=var)
    if ln.weight is not None:
        d *= ln.weight._data[:, None]
    if ln.bias is not None:
        d += ln.bias._data[:, None]
    return d


_GELU_C = math.sqrt(2.0 / math.pi)


def _gelu_tanh(x):
    """0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), overwriting ``x``."""
    u = x * x
    u *= 0.044715 * _GELU_C
    u += _GELU_C
    u *= x
    np.tanh(u, out=u)
    u += 1.0
    x *= 0.5
    x *= u
    return x


def _check_ids(idx, vocab_size, where):
    ids = np.asarray(idx.numpy() if isinstance(idx, Tensor) else idx)
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"{where}: the prompt must be (N, T) token ids with T ≥ 1, got shape {ids.shape}")
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{where}: token ids must be integers, got dtype {ids.dtype}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{where}: token ids must be in [0, {vocab_size}), got values from "
                         f"{ids.min()} to {ids.max()}")
    return ids.astype(np.int64)


@register_model("gpt")
def gpt(**config) -> GPT:
    """A :class:`GPT` from :class:`GPTConfig` fields (defaults: GPT-2 small, 124,439,808 parameters)."""
    return GPT(GPTConfig(**config))


@register_model("char-gpt")
def char_gpt(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=True) -> GPT:
    """A small character-level :class:`GPT` (809,856 parameters with the defaults)."""
    return GPT(GPTConfig(vocab_size, block_size, n_layer, n_head, n_embd, dropout, bias))
