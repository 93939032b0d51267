"""Picking the next token from logits: temperature, top-k and nucleus (top-p) filtering.

Shared by the language models (``GPT.generate``, ``CharLSTM.generate``). Everything works on
NumPy arrays of shape (N, V), one row per sequence.

    >>> import numpy as np
    >>> logits = np.log(np.array([[0.5, 0.3, 0.2]]))
    >>> np.isfinite(filter_logits(logits, top_k=2)).tolist()
    [[True, True, False]]
    >>> np.isfinite(filter_logits(logits, top_p=0.6)).tolist()
    [[True, True, False]]
    >>> sample_logits(logits, temperature=0).tolist()   # temperature 0: the most likely token
    [0]
"""
from __future__ import annotations

import numpy as np

__all__ = ["filter_logits", "sample_logits", "check_sampling_args"]


def check_sampling_args(temperature=1.0, top_k=None, top_p=None) -> None:
    """Raise ValueError for a negative/non-finite temperature, top_k < 1 or top_p outside (0, 1]."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)) \
            or not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 picks the most likely token), "
                         f"got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.integer, np.floating))
                              or not 0 < top_p <= 1):
        raise ValueError(f"top_p must be a number in (0, 1] or None, got {top_p!r}")


def filter_logits(logits, top_k=None, top_p=None) -> np.ndarray:
    """A copy of ``logits`` (N, V) with the tokens outside the kept set at −inf.

    top_k: keep the ``top_k`` largest logits of each row (tokens tied with the k-th are kept too).
    top_p: keep the smallest set of most probable tokens whose probabilities sum to at least
        ``top_p``: a token is dropped when the tokens ranked above it already reach ``top_p``.
        The most probable token is always kept. Applied after top_k when both are given.
    """
    check_sampling_args(1.0, top_k, top_p)
    out = np.array(logits, dtype=np.float64 if np.asarray(logits).dtype == np.float64 else np.float32)
    if out.ndim != 2:
        raise ValueError(f"logits must be (N, V), got shape {out.shape}")
    V = out.shape[1]
    if top_k is not None and top_k < V:
        kth = np.partition(out, V - top_k, axis=1)[:, V - top_k:V - top_k + 1]   # (N, 1) k-th largest
        out[out < kth] = -np.inf
    if top_p is not None and top_p < 1:
        order = np.argsort(-out, axis=1, kind="stable")                          # most probable first
        z = np.take_along_axis(out, order, axis=1)
        p = np.exp(z - z[:, :1])
        p /= p.sum(axis=1, keepdims=True)
        before = np.cumsum(p, axis=1) - p                                         # mass ranked above
        drop_sorted = before >= top_p
        drop_sorted[:, 0] = False
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=1)
        out[drop] = -np.inf
    return out


def sample_logits(logits, temperature=1.0, top_k=None, top_p=None, generator=None) -> np.ndarray:
    """One token id per row of ``logits`` (N, V), as an (N,) int64 array.

    The logits are divided by ``temperature`` (lower: sharper, 0: always the arg-max), filtered
    by :func:`filter_logits`, turned into probabilities and sampled by inverse CDF with
    ``generator`` (a NumPy Generator, an int seed, or None for nerve's global generator).
    """
    check_sampling_args(temperature, top_k, top_p)
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits must be (N, V), got shape {z.shape}")
    bad = np.isnan(z) | (z == np.inf)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(f"logits hold NaN or +inf in row(s) {rows[:5].tolist()}: no token can be "
                         "chosen (has the model diverged?)")
    if z.shape[1] == 0 or (z == -np.inf).all(axis=1).any():
        rows = np.flatnonzero((z == -np.inf).all(axis=1)) if z.shape[1] else np.arange(len(z))
        raise ValueError(f"every logit is -inf in row(s) {rows[:5].tolist()}: no token is allowed")
    if temperature == 0:
        return z.argmax(axis=1).astype(np.int64)
    # Shift each row's maximum to 0 before dividing: a tiny temperature then sends the other
    # logits to -inf, never the maximum to +inf (inf - inf would be NaN and pick token 0).
    with np.errstate(over="ignore"):
        z = (z - z.max(axis=1, keepdims=True)) / temperature
    z = filter_logits(z, top_k, top_p)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rng = _rng(generator)
    u = rng.random((z.shape[0], 1))
    cdf = np.cumsum(p, axis=1)
    idx = (cdf <= u).sum(axis=1)
    # Rounding can leave the total a hair below 1, so a u just under 1 may run past the last
    # token that has any probability; clamp to it (never a filtered token, never V).
    last = p.shape[1] - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
    return np.minimum(idx, last).astype(np.int64)


def _rng(generator):
    if generator is None:
        from ..random import default_generator  # noqa: PLC0415

        return default_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    inner = getattr(generator, "_np", None)          # a nerve.Generator
    if isinstance(inner, np.random.Generator):
        return inner
    raise TypeError(f"generator must be a nerve.Generator, a numpy Generator, an int seed or None, got {type(generator).__name__}")
