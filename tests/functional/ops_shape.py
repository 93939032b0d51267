"""Op-table rows for the shape ops: squeeze, unsqueeze, cat, stack, split, chunk, unbind,
flip, pad, repeat, tile, narrow, movedim, gather, scatter_add, index_select, index_add,
masked_fill. Multi-output ops are checked through a weighted re-join of their pieces, so
every piece's gradient is checked with its own weight."""
import numpy as np
import torch_twin as T

from nerve.functional import shape as S
from optable import UNARY_SHAPES, Op

ND = [s for s in UNARY_SHAPES if s[0] != ()]        # 1-D to 4-D


def weighted(pieces, cat, dim):
    """Join pieces back with piece i scaled by (i + 1)."""
    return cat([p * (i + 1.0) for i, p in enumerate(pieces)], dim)


def np_pieces(a, bounds, axis):
    return [np.take(a, np.arange(lo, hi), axis=axis) for lo, hi in bounds]


def np_split(a, size, axis):
    n = a.shape[axis]
    return np_pieces(a, [(i, min(i + size, n)) for i in range(0, n, size)], axis)


def np_pad(a, pad, value=0.0):
    """F.pad semantics (last dim first, negative crops) in plain NumPy."""
    w = [(0, 0)] * a.ndim
    for i in range(len(pad) // 2):
        w[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    out = np.pad(a, [(max(l, 0), max(r, 0)) for l, r in w], constant_values=value)
    return out[tuple(slice(max(-l, 0), out.shape[d] - max(-r, 0)) for d, (l, r) in enumerate(w))]


def tcat(ps, d):
    return T.torch().cat(ps, d)


def ncat(ps, d):
    return np.concatenate(ps, d)


def index_inputs(dim, xshape, ishape, extra=None):
    """make(): a float input, an int64 index along ``dim`` (with repeats), and optionally a
    float source of shape ``extra``."""
    def make(rng, shapes, dtype):
        x = rng.standard_normal(xshape).astype(dtype)
        idx = rng.integers(0, xshape[dim], size=ishape).astype(np.int64)
        out = [x, idx]
        if extra is not None:
            out.append(rng.standard_normal(extra).astype(dtype))
        return out
    return make


def np_gather(x, idx, dim):
    sl = tuple(slice(0, s) if d != dim else slice(None) for d, s in enumerate(idx.shape))
    return np.take_along_axis(x[sl], idx, dim)


def np_scatter_add(x, idx, src, dim):
    out = x.copy()
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    np.add.at(out, tuple(grids), src[tuple(slice(0, s) for s in idx.shape)])
    return out


def np_index_add(x, idx, src, dim, alpha=1.0):
    out = x.copy()
    np.add.at(out, (slice(None),) * dim + (idx,), alpha * src)
    return out


ONE = [((1,),)]
ROWS = [
    # ----------------------------------------------------------- squeeze / unsqueeze
    Op("squeeze_all", lambda a: a.squeeze(), np.squeeze, [((),), ((1,),), ((3, 1),), ((2, 1, 3, 1),)],
       torch=lambda a: a.squeeze()),
    Op("squeeze_dim", lambda a: S.squeeze(a, 1), lambda a: np.squeeze(a, 1) if a.shape[1] == 1 else a,
       [((3, 1),), ((3, 4),), ((2, 1, 3, 2),)], torch=lambda a: a.squeeze(1)),
    Op("squeeze_tuple", lambda a: a.squeeze((0, -1)), lambda a: np.squeeze(a, (0, -1)),
       [((1, 3, 1),), ((1, 2, 1, 1),)], torch=lambda a: a.squeeze((0, -1))),
    Op("unsqueeze_first", lambda a: a.unsqueeze(0), lambda a: a[None], torch=lambda a: a.unsqueeze(0)),
    Op("unsqueeze_last", lambda a: S.unsqueeze(a, -1), lambda a: a[..., None],
       torch=lambda a: a.unsqueeze(-1)),
    # --------------------------------------------------------------------- cat / stack
    Op("cat_dim0", lambda a, b: S.cat([a, b]), lambda a, b: np.concatenate([a, b]),
       [((5,), (2,)), ((2, 3), (4, 3)), ((1, 3, 2), (2, 3, 2)), ((2, 1, 3, 2), (1, 1, 3, 2))],
       torch=lambda a, b: T.torch().cat([a, b])),
    Op("cat_dim_last3", lambda a, b, c: S.cat((a, b, c), dim=-1), lambda a, b, c: np.concatenate([a, b, c], -1),
       [((3,), (1,), (2,)), ((2, 3), (2, 1), (2, 2)), ((2, 3, 1), (2, 3, 4), (2, 3, 2))],
       torch=lambda a, b, c: T.torch().cat((a, b, c), dim=-1)),
    Op("cat_f32_f64", lambda a, b: S.cat([a, b.double()], 1), lambda a, b: np.concatenate([a, b.astype(np.float64)], 1),
       [((2, 3), (2, 2))], torch=lambda a, b: T.torch().cat([a, b.double()], 1)),
    Op("stack_first", lambda a, b: S.stack([a, b]), lambda a, b: np.stack([a, b]),
       [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3, 4), (2, 3, 4))],
       torch=lambda a, b: T.torch().stack([a, b])),
    Op("stack_last3", lambda a, b, c: S.stack([a, b, c], -1), lambda a, b, c: np.stack([a, b, c], -1),
       [((), (), ()), ((4,), (4,), (4,)), ((2, 3), (2, 3), (2, 3)), ((2, 1, 3, 2),) * 3],
       torch=lambda a, b, c: T.torch().stack([a, b, c], -1)),
    # ------------------------------------------------------------ split / chunk / unbind
    Op("split_int", lambda a: weighted(a.split(2), S.cat, 0), lambda a: weighted(np_split(a, 2, 0), ncat, 0),
       ND, torch=lambda a: weighted(a.split(2), tcat, 0)),
    Op("split_list", lambda a: weighted(S.split(a, [1, 3, 1], -1), S.cat, -1),
       lambda a: weighted(np_pieces(a, [(0, 1), (1, 4), (4, 5)], -1), ncat, -1),
       [((5,),), ((3, 5),), ((2, 3, 5),)], torch=lambda a: weighted(a.split([1, 3, 1], -1), tcat, -1)),
    Op("chunk", lambda a: weighted(a.chunk(3, dim=1), S.cat, 1), lambda a: weighted(np_split(a, 2, 1), ncat, 1),
       [((3, 4),), ((2, 5, 3),), ((2, 6, 1, 2),)], torch=lambda a: weighted(a.chunk(3, dim=1), tcat, 1)),
    Op("unbind", lambda a: weighted(a.unbind(1), S.stack, 0),
       lambda a: weighted([np.take(a, i, 1) for i in range(a.shape[1])], np.stack, 0),
       [((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)],
       torch=lambda a: weighted(a.unbind(1), T.torch().stack, 0)),
    Op("narrow", lambda a: a.narrow(-1, 1, 2), lambda a: a[..., 1:3], [((4,),), ((3, 4),), ((2, 3, 4),)],
       torch=lambda a: a.narrow(-1, 1, 2)),
    Op("movedim", lambda a: a.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1), ND,
       torch=lambda a: a.movedim(0, -1)),
    # ------------------------------------------------------------------ flip / pad / tile
    Op("flip_first", lambda a: a.flip(0), lambda a: np.flip(a, 0), ND, torch=lambda a: a.flip(0)),
    Op("flip_two", lambda a: S.flip(a, (0, -1)), lambda a: np.flip(a, (0, -1)), ND[1:],
       torch=lambda a: a.flip((0, -1))),
    Op("pad_last", lambda a: S.pad(a, (1, 2)), lambda a: np_pad(a, (1, 2)), ND,
       torch=lambda a: T.nnf("pad")(a, (1, 2))),
    Op("pad_two_value", lambda a: S.pad(a, (0, 1, 2, 1), value=0.5), lambda a: np_pad(a, (0, 1, 2, 1), 0.5),
       ND[1:], torch=lambda a: T.nnf("pad", value=0.5)(a, (0, 1, 2, 1))),
    Op("pad_four_dims", lambda a: S.pad(a, (1, 0, 0, 2, 1, 1, 0, 1)), lambda a: np_pad(a, (1, 0, 0, 2, 1, 1, 0, 1)),
       [((2, 1, 3, 2),)], torch=lambda a: T.nnf("pad")(a, (1, 0, 0, 2, 1, 1, 0, 1))),
    Op("pad_negative_crop", lambda a: S.pad(a, (-1, 2)), lambda a: np_pad(a, (-1, 2)), [((4,),), ((3, 4),)],
       torch=lambda a: T.nnf("pad")(a, (-1, 2))),
    Op("repeat", lambda a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)),
       [((),), ((3,),), ((2, 3),), ((2, 1, 3),)], torch=lambda a: a.repeat(2, 1, 3)),
    Op("tile", lambda a: a.tile((2,)), lambda a: np.tile(a, 2), ND, torch=lambda a: a.tile((2,))),
    # ------------------------------------------------------------ gather / scatter / index
    Op("gather_dim1", lambda x, i: x.gather(1, i), lambda x, i: np_gather(x, i, 1), [((3, 4), (3, 5))],
       make=index_inputs(1, (3, 4), (3, 5)), torch=lambda x, i: x.gather(1, i)),
    Op("gather_smaller_index", lambda x, i: S.gather(x, 0, i), lambda x, i: np_gather(x, i, 0),
       [((4, 3, 2), (5, 2, 1))], make=index_inputs(0, (4, 3, 2), (5, 2, 1)),
       torch=lambda x, i: T.torch().gather(x, 0, i)),
    Op("gather_1d", lambda x, i: x.gather(0, i), lambda x, i: x[i], [((5,), (7,))],
       make=index_inputs(0, (5,), (7,)), torch=lambda x, i: x.gather(0, i)),
    Op("scatter_add", lambda x, i, s: x.scatter_add(0, i, s), lambda x, i, s: np_scatter_add(x, i, s, 0),
       [((3, 4), (5, 4), (5, 4))], make=index_inputs(0, (3, 4), (5, 4), (5, 4)),
       torch=lambda x, i, s: x.scatter_add(0, i, s)),
    Op("scatter_add_big_src", lambda x, i, s: S.scatter_add(x, -1, i, s),
       lambda x, i, s: np_scatter_add(x, i, s, 2), [((2, 3, 4), (2, 2, 3), (2, 3, 5))],
       # No torch twin: torch 2.13's backward rejects a src larger than the index (its
       # gradient has the index's shape); ours is zero on the unused corner of src.
       make=index_inputs(2, (2, 3, 4), (2, 2, 3), (2, 3, 5))),
    Op("index_select_dim0", lambda x, i: x.index_select(0, i), lambda x, i: x[i], [((5, 3), (4,))],
       make=index_inputs(0, (5, 3), (4,)), torch=lambda x, i: x.index_select(0, i)),
    Op("index_select_dim1", lambda x, i: S.index_select(x, 1, i), lambda x, i: x[:, i],
       [((2, 5, 3), (6,))], make=index_inputs(1, (2, 5, 3), (6,)),
       torch=lambda x, i: T.torch().index_select(x, 1, i)),
    Op("index_add", lambda x, i, s: x.index_add(0, i, s), lambda x, i, s: np_index_add(x, i, s, 0),
       [((5, 3), (4,), (4, 3))], make=index_inputs(0, (5, 3), (4,), (4, 3)),
       torch=lambda x, i, s: x.index_add(0, i, s)),
    Op("index_add_alpha", lambda x, i, s: x.index_add(1, i, s, alpha=2.0),
       lambda x, i, s: np_index_add(x, i, s, 1, 2.0), [((2, 4, 3), (6,), (2, 6, 3))],
       make=index_inputs(1, (2, 4, 3), (6,), (2, 6, 3)), torch=lambda x, i, s: x.index_add(1, i, s, alpha=2.0)),
    Op("masked_fill", lambda a: a.masked_fill(a > 0.3, -1.5), lambda a: np.where(a > 0.3, -1.5, a),
       torch=lambda a: a.masked_fill(a > 0.3, -1.5)),
    Op("masked_fill_bcast_mask", lambda a, b: a.masked_fill(b > 0, 2.0), lambda a, b: np.where(b > 0, 2.0, a),
       [((3, 4), (4,)), ((2, 3, 4), (3, 1))], grad=(True, False),
       torch=lambda a, b: a.masked_fill(b > 0, 2.0)),
    Op("masked_fill_tensor_value", lambda a, v: a.masked_fill(a < 0, v), lambda a, v: np.where(a < 0, v, a),
       [((3, 4), ()), ((2, 3, 4), ())], torch=lambda a, v: a.masked_fill(a < 0, v)),
]
