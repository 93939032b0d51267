"""Op-table rows for cumprod (with and without zeros in the input) and diff."""
import numpy as np
import torch_twin as T

import nerve as nv
import nerve.functional as F
from optable import Op, UNARY_SHAPES, away_from_zero

NONSCALAR = [s for s in UNARY_SHAPES if s[0] != ()]


def zeros_inside(rng, shapes, dtype):
    """Values with zeros at various places along the last axis (one, two, at the ends)."""
    x = rng.uniform(0.5, 1.5, size=shapes[0]) * rng.choice([-1.0, 1.0], size=shapes[0])
    flat = x.reshape(-1, x.shape[-1])
    flat[::2, min(1, flat.shape[-1] - 1)] = 0.0
    flat[1::3, -1] = 0.0
    if flat.shape[-1] > 3:
        flat[::3, 0] = 0.0
        flat[::3, 2] = 0.0
    return [flat.reshape(shapes[0]).astype(dtype)]


def np_diff(a, n=1, axis=-1, prepend=None, append=None):
    kw = {}
    if prepend is not None:
        kw["prepend"] = prepend
    if append is not None:
        kw["append"] = append
    return np.diff(a, n, axis, **kw)


ROWS = [
    Op("cumprod_first", lambda a: a.cumprod(0), lambda a: np.cumprod(a, 0) if a.ndim else a,
       domain=away_from_zero, torch=lambda a: a.cumprod(0)),
    Op("cumprod_last", lambda a: F.cumprod(a, -1), lambda a: np.cumprod(a, -1), NONSCALAR,
       domain=away_from_zero, torch=lambda a: T.torch().cumprod(a, -1)),
    Op("cumprod_zeros", lambda a: a.cumprod(-1), lambda a: np.cumprod(a, -1),
       [((5,),), ((6, 4),), ((2, 3, 5),)], make=zeros_inside, torch=lambda a: a.cumprod(-1)),
    Op("cumprod_zeros_dim0", lambda a: a.transpose(0, -1).cumprod(0),
       lambda a: np.cumprod(np.swapaxes(a, 0, -1), 0), [((3, 5),), ((2, 2, 4),)], make=zeros_inside,
       torch=lambda a: a.transpose(0, -1).cumprod(0)),
    Op("diff", lambda a: a.diff(), lambda a: np.diff(a), NONSCALAR, torch=lambda a: a.diff()),
    Op("diff_n2_dim0", lambda a: F.diff(a, n=2, dim=0), lambda a: np.diff(a, 2, 0),
       [((5,),), ((4, 3),), ((3, 2, 2),)], torch=lambda a: T.torch().diff(a, n=2, dim=0)),
    Op("diff_prepend_append", lambda a, p, q: a.diff(dim=1, prepend=p, append=q),
       lambda a, p, q: np_diff(a, 1, 1, p, q), [((3, 4), (3, 2), (3, 1)), ((2, 3, 2), (2, 1, 2), (2, 2, 2))],
       torch=lambda a, p, q: a.diff(dim=1, prepend=p, append=q)),
    Op("diff_n3_append", lambda a, q: F.diff(a, 3, -1, append=q), lambda a, q: np_diff(a, 3, -1, None, q),
       [((4,), (2,)), ((2, 3), (2, 3))], torch=lambda a, q: T.torch().diff(a, 3, -1, append=q)),
    Op("diff_n_past_length", lambda a: a.diff(n=5), lambda a: np.diff(a, 5), [((3,),), ((2, 4),)],
       torch=lambda a: a.diff(n=5)),
]
del nv
