"""Op-table rows for the ordering ops: sort, argsort, topk, kthvalue (values and indices).
Inputs are well separated (``distinct``) so finite differences never swap two entries."""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op, distinct

ND = [((5,),), ((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)]
SEL = dict(domain=distinct, double=True)


def np_topk(a, k, axis=-1, largest=True):
    s = np.sort(a, axis=axis)
    if largest:
        s = np.flip(s, axis)
    return np.take(s, np.arange(k), axis=axis)


def np_topk_idx(a, k, axis=-1, largest=True):
    i = np.argsort(a, axis=axis, kind="stable")
    if largest:
        i = np.flip(i, axis)
    return np.take(i, np.arange(k), axis=axis)


ROWS = [
    Op("sort", lambda a: a.sort().values, lambda a: np.sort(a, -1) if a.ndim else a, [((),)] + ND, torch=lambda a: a.sort().values,
       **SEL),
    Op("sort_descending_dim0", lambda a: F.sort(a, 0, descending=True).values, lambda a: np.flip(np.sort(a, 0), 0),
       ND, torch=lambda a: a.sort(0, descending=True).values, **SEL),
    Op("sort_indices", lambda a: a.sort(dim=1, stable=True).indices, lambda a: np.argsort(a, 1, kind="stable"),
       ND[1:], torch=lambda a: a.sort(dim=1, stable=True).indices, grad=(False,), **SEL),
    Op("argsort", lambda a: a.argsort(), lambda a: np.argsort(a, -1), ND, torch=lambda a: a.argsort(),
       grad=(False,), **SEL),
    Op("argsort_descending", lambda a: F.argsort(a, dim=0, descending=True),
       lambda a: np.flip(np.argsort(a, 0), 0), ND, torch=lambda a: a.argsort(dim=0, descending=True),
       grad=(False,), **SEL),
    Op("topk", lambda a: a.topk(2).values, lambda a: np_topk(a, 2), ND, torch=lambda a: a.topk(2).values, **SEL),
    Op("topk_small_k_long_dim", lambda a: a.topk(3, dim=0).values, lambda a: np_topk(a, 3, 0),
       [((20,),), ((100,),), ((90, 2),)], torch=lambda a: a.topk(3, dim=0).values, **SEL),
    Op("topk_smallest", lambda a: F.topk(a, 3, dim=-1, largest=False).values,
       lambda a: np_topk(a, 3, -1, False), [((4,),), ((3, 12),), ((2, 3, 5),), ((2, 70),)],
       torch=lambda a: a.topk(3, dim=-1, largest=False).values, **SEL),
    Op("topk_indices", lambda a: a.topk(3, dim=1).indices, lambda a: np_topk_idx(a, 3, 1),
       [((3, 4),), ((2, 16, 3),), ((2, 80),)], torch=lambda a: a.topk(3, dim=1).indices,
       grad=(False,), **SEL),
    Op("topk_unsorted", lambda a: a.topk(2, sorted=False).values.sort().values,
       lambda a: np.sort(np_topk(a, 2), -1), [((12,),), ((3, 12),), ((2, 100),)],
       torch=lambda a: a.topk(2, sorted=False).values.sort().values, **SEL),
    Op("topk_k_all", lambda a: a.topk(a.shape[-1]).values, lambda a: np_topk(a, a.shape[-1]), ND,
       torch=lambda a: a.topk(a.shape[-1]).values, **SEL),
    Op("kthvalue", lambda a: a.kthvalue(2).values, lambda a: np.sort(a, -1)[..., 1], ND,
       torch=lambda a: a.kthvalue(2).values, **SEL),
    Op("kthvalue_keepdim", lambda a: F.kthvalue(a, 1, dim=0, keepdim=True).values,
       lambda a: np.sort(a, 0)[:1], ND, torch=lambda a: a.kthvalue(1, dim=0, keepdim=True).values, **SEL),
    Op("kthvalue_indices", lambda a: a.kthvalue(3, 1).indices, lambda a: np.argsort(a, 1)[:, 2],
       [((3, 4),), ((2, 5, 3),)], torch=lambda a: a.kthvalue(3, 1).indices, grad=(False,), **SEL),
]
