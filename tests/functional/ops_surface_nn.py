"""Op-table rows for F.normalize and F.adaptive_max_pool1d."""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op, distinct


def np_normalize(p=2.0, dim=1, eps=1e-12):
    def ref(a):
        n = (np.abs(a.astype(np.float64)) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
        return (a / np.maximum(n, eps)).astype(a.dtype)
    return ref


def np_adaptive_max1d(a, Lo):
    L = a.shape[-1]
    cols = []
    for i in range(Lo):
        s, e = (i * L) // Lo, -((-(i + 1) * L) // Lo)
        cols.append(a[..., s:e].max(-1))
    return np.stack(cols, -1)


def np_adaptive_argmax1d(a, Lo):
    L = a.shape[-1]
    cols = []
    for i in range(Lo):
        s, e = (i * L) // Lo, -((-(i + 1) * L) // Lo)
        cols.append(a[..., s:e].argmax(-1) + s)
    return np.stack(cols, -1)


ROWS = [
    Op("normalize", F.normalize, np_normalize(), [((3, 4),), ((2, 3, 4),)], torch=T.nnf("normalize")),
    Op("normalize_p1_last", lambda a: F.normalize(a, p=1.0, dim=-1), np_normalize(1.0, -1),
       [((5,),), ((3, 4),)], domain=lambda r, s: r.uniform(0.2, 2.0, s) * r.choice([-1.0, 1.0], s),
       torch=T.nnf("normalize", p=1.0, dim=-1)),
    Op("normalize_p3_dim0", lambda a: F.normalize(a, 3, 0), np_normalize(3.0, 0), [((4, 3),), ((2, 2, 3),)],
       domain=lambda r, s: r.uniform(0.2, 2.0, s) * r.choice([-1.0, 1.0], s),
       torch=T.nnf("normalize", p=3, dim=0)),
    Op("normalize_eps_clamps", lambda a: F.normalize(a, eps=50.0), np_normalize(eps=50.0), [((3, 4),)],
       torch=T.nnf("normalize", eps=50.0)),
    Op("adaptive_max_pool1d", lambda a: F.adaptive_max_pool1d(a, 3), lambda a: np_adaptive_max1d(a, 3),
       [((2, 3, 7),), ((3, 9),), ((1, 2, 3),), ((2, 1, 2),)], domain=distinct,
       torch=T.nnf("adaptive_max_pool1d", output_size=3)),
    Op("adaptive_max_pool1d_indices", lambda a: F.adaptive_max_pool1d(a, 2, return_indices=True)[1],
       lambda a: np_adaptive_argmax1d(a, 2), [((2, 3, 5),), ((3, 8),)], domain=distinct, grad=(False,),
       torch=lambda a: T.nnf("adaptive_max_pool1d", output_size=2, return_indices=True)(a)[1]),
]
