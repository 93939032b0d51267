"""Op-table rows for scatter_aggregate (nerve.functional.aggregation), the message-passing reduction.

Bucket 1 of 4 is always left empty (its output is 0); values are ``distinct`` so max/min have
no ties for finite differences. The torch twin is ``scatter_reduce(include_self=False)`` on
zeros, which also leaves empty buckets at 0.
"""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op, distinct

N_SEG = 4
SHAPES = [((7, 3), (7,)), ((6,), (6,)), ((5, 2, 2), (5,))]


def _make(r, s, d):
    idx = r.choice([0, 2, 3], size=s[1]).astype(np.int64)
    idx[:3] = [0, 2, 3]                      # every non-empty bucket used at least once
    return [distinct(r, s[0]).astype(d), idx]


def _ref(reduce):
    def ref(src, idx):
        out = np.zeros((N_SEG,) + src.shape[1:], dtype=src.dtype)
        for k in range(N_SEG):
            rows = src[idx == k]
            if len(rows):
                out[k] = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[reduce](rows, 0)
        return out
    return ref


def _torch(reduce):
    def call(src, idx):
        t = T.torch()
        ix = idx.reshape((-1,) + (1,) * (src.ndim - 1)).expand_as(src)
        out = t.zeros((N_SEG,) + tuple(src.shape[1:]), dtype=src.dtype)
        name = {"max": "amax", "min": "amin"}.get(reduce, reduce)
        return out.scatter_reduce(0, ix, src, name, include_self=False)
    return call


ROWS = [Op(f"scatter_aggregate_{r}", lambda s, i, r=r: F.scatter_aggregate(s, i, N_SEG, r), _ref(r),
           SHAPES, make=_make, grad=(True, False), torch=_torch(r))
        for r in ("sum", "mean", "max", "min")]
