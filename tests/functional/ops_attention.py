"""Op-table rows for scaled_dot_product_attention (nerve.functional.attention): plain,
causal, a bool mask, a float mask that takes a gradient, a custom scale, broadcast batch."""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op

SHAPES = [((2, 3, 4), (2, 5, 4), (2, 5, 2)), ((2, 2, 3, 4), (2, 2, 3, 4), (2, 2, 3, 3))]
BOOL = np.array([[1, 0, 1, 1, 0], [1, 1, 0, 0, 0], [0, 0, 0, 1, 1]], dtype=bool)  # (3, 5)


def ref(q, k, v, mask=None, causal=False, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    e = np.exp(s - s.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)) @ v


def _sdpa(**kw):
    return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw)


def _tsdpa(**kw):
    return lambda q, k, v: T.torch().nn.functional.scaled_dot_product_attention(q, k, v, **kw)


def _float_mask(r, s, d):
    return [r.standard_normal(x).astype(d) for x in s[:3]] + [r.standard_normal((3, 5)).astype(d)]


ROWS = [
    Op("sdpa", _sdpa(), ref, SHAPES, torch=_tsdpa()),
    Op("sdpa_causal", _sdpa(is_causal=True), lambda q, k, v: ref(q, k, v, causal=True),
       [SHAPES[1], ((2, 3, 4), (2, 5, 4), (2, 5, 2))], torch=_tsdpa(is_causal=True)),
    Op("sdpa_scale", _sdpa(scale=0.7), lambda q, k, v: ref(q, k, v, scale=0.7), SHAPES[:1],
       torch=_tsdpa(scale=0.7)),
    Op("sdpa_bool_mask", _sdpa(attn_mask=BOOL),
       lambda q, k, v: ref(q, k, v, BOOL), SHAPES[:1],
       torch=lambda q, k, v: T.torch().nn.functional.scaled_dot_product_attention(
           q, k, v, attn_mask=T.torch().from_numpy(BOOL))),
    Op("sdpa_float_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
       lambda q, k, v, m: ref(q, k, v, m), [SHAPES[0] + ((3, 5),)], make=_float_mask,
       torch=lambda q, k, v, m: T.torch().nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)),
]
