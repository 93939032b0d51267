"""Rows for the core reductions, shape ops and products (sum, mean, reshape, matmul ...)."""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op

MATMUL_SHAPES = [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
                 ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (3, 4, 2))]

ROWS = [
    Op("sum_all", lambda a: a.sum(), lambda a: np.sum(a), torch=lambda a: a.sum()),
    Op("sum_dim", lambda a: a.sum(-1), lambda a: a.sum(-1), shapes=[((5,),), ((3, 4),), ((2, 3, 4),)],
       torch=lambda a: a.sum(-1)),
    Op("sum_keepdim", lambda a: a.sum(dim=(0, -1), keepdim=True), lambda a: a.sum(axis=(0, -1), keepdims=True),
       shapes=[((3, 4),), ((2, 3, 4),)], torch=lambda a: a.sum(dim=(0, -1), keepdim=True)),
    Op("mean_all", lambda a: a.mean(), lambda a: np.mean(a), torch=lambda a: a.mean()),
    Op("mean_dim", lambda a: a.mean(0), lambda a: a.mean(0), shapes=[((5,),), ((3, 4),), ((2, 3, 4),)],
       torch=lambda a: a.mean(0)),
    Op("reshape", lambda a: a.reshape(-1, 2), lambda a: a.reshape(-1, 2),
       shapes=[((4,),), ((3, 4),), ((2, 3, 4),)], torch=lambda a: a.reshape(-1, 2)),
    Op("flatten", lambda a: F.flatten(a, 1), lambda a: a.reshape(a.shape[0], -1),
       shapes=[((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)], torch=lambda a: a.flatten(1)),
    Op("transpose", lambda a: a.transpose(0, -1), lambda a: np.swapaxes(a, 0, -1),
       shapes=[((3, 4),), ((2, 3, 4),)], torch=lambda a: a.transpose(0, -1)),
    Op("T", lambda a: a.T, lambda a: a.T, shapes=[((3, 4),)], torch=lambda a: a.T),
    Op("permute", lambda a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1),
       shapes=[((2, 3, 4),)], torch=lambda a: a.permute(2, 0, 1)),
    Op("expand", lambda a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
       shapes=[((3, 1),), ((4,),), ((1, 3, 4),)], torch=lambda a: a.expand(2, 3, 4)),
    Op("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], shapes=[((3, 4),), ((4, 5, 2),)],
       torch=lambda a: a[1:, ::2]),
    Op("getitem_int_array", lambda a: a[[0, 2, 0]], lambda a: a[[0, 2, 0]], shapes=[((3, 4),), ((4,),)],
       torch=lambda a: a[[0, 2, 0]]),
    Op("getitem_mask", lambda a: a[a > 0], lambda a: a[a > 0], shapes=[((3, 4),), ((2, 3, 4),)],
       torch=lambda a: a[a > 0]),
    Op("getitem_mixed", lambda a: a[..., None, 1], lambda a: a[..., None, 1],
       shapes=[((3, 4),), ((2, 3, 4),)], torch=lambda a: a[..., None, 1]),
    Op("matmul", F.matmul, np.matmul, MATMUL_SHAPES, torch=T.f("matmul")),
    Op("linear", F.linear, lambda x, w, b: x @ w.T + b,
       [((5, 4), (3, 4), (3,)), ((2, 5, 4), (3, 4), (3,)), ((4,), (3, 4), (3,))],
       torch=T.nnf("linear")),
    Op("linear_nobias", F.linear, lambda x, w: x @ w.T, [((5, 4), (3, 4))], torch=T.nnf("linear")),
]
