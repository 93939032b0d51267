"""Op-table rows for the in-place methods and the write ops behind them.

Each in-place row writes into a fresh non-leaf (``h = x * 1.0``), so the generic checks
test what matters: the value equals the out-of-place reference, and the gradient that
flows back through the rebased history equals finite differences (to second order), and
PyTorch's. Version-counter errors are tested in tests/autograd/test_inplace.py.
"""
import numpy as np
import torch_twin as T

import nerve as nv
from optable import BINARY_SHAPES, UNARY_SHAPES, Op, away_from_zero, positive

SAME = [s for s in BINARY_SHAPES if s[0] == s[1] or s[1] == () or s[1] == (4,) and s[0] == (3, 4)]
SAME = [s for s in SAME if len(s[0]) >= len(s[1])]  # the other operand broadcasts *into* x


def _h(x):
    return x * 1.0  # a non-leaf to write into


def unary(name, method, ref, domain=None, args=(), **kw):
    fn = (lambda x: getattr(_h(x), method)(*args))
    tw = (lambda x: getattr(x * 1.0, method)(*args))
    return Op(name, fn, ref, UNARY_SHAPES, domain=domain or (lambda r, s: r.standard_normal(s)),
              torch=tw, **kw)


def binary(name, method, ref, domain=None, **kwargs):
    fn = (lambda x, y: getattr(_h(x), method)(y, **kwargs))
    tw = (lambda x, y: getattr(x * 1.0, method)(y, **kwargs))
    return Op(name, fn, ref, SAME, domain=domain or (lambda r, s: r.standard_normal(s)), torch=tw)


def iadd(x, y):
    h = _h(x)
    h += y
    return h


def imod(x, y):
    h = _h(x)
    h %= y
    return h


def _bool_pair(r, shapes, dtype):
    return [r.random(s) < 0.5 for s in shapes]


def ibitwise(op):
    def fn(x, y):
        h = x.clone()  # bool: a copy to write into
        if op == "and":
            h &= y
        elif op == "or":
            h |= y
        elif op == "xor":
            h ^= y
        elif op == "floordiv":
            h //= y
        else:
            h %= y
        return h

    return fn


def isub(x, y):
    h = _h(x)
    h -= y
    return h


def imul(x, y):
    h = _h(x)
    h *= y
    return h


def itruediv(x, y):
    h = _h(x)
    h /= y
    return h


def setitem(x, v):
    h = _h(x)
    h[1:3] = v
    return h


def np_setitem(x, v):
    out = x.copy()
    out[1:3] = v
    return out


def setitem_fancy(x, v):
    h = _h(x)
    h[[0, 3], 1] = v
    return h


def np_setitem_fancy(x, v):
    out = x.copy()
    out[[0, 3], 1] = v
    return out


def scatter_make(rng, shapes, dtype, big=None):
    x = rng.standard_normal((3, 5)).astype(dtype)
    idx = np.stack([rng.permutation(5)[:2] for _ in range(3)]).astype(np.int64)  # no repeats per row
    src = rng.standard_normal((3, 2 if big is None else big)).astype(dtype)
    return [x, idx, src]


def np_scatter(x, idx, src):
    out = x.copy()
    np.put_along_axis(out, idx, src[:, :idx.shape[1]], 1)
    return out


def np_index_fill(x):
    out = x.copy()
    out[:, [0, 2]] = -1.0
    return out


ROWS = [
    binary("add_", "add_", np.add),
    binary("add_alpha", "add_", lambda a, b: a + 2.5 * b, alpha=2.5),
    binary("sub_", "sub_", np.subtract),
    binary("mul_", "mul_", np.multiply),
    binary("div_", "div_", np.divide, domain=[away_from_zero, away_from_zero]),
    Op("iadd", iadd, np.add, SAME, torch=iadd),
    Op("isub", isub, np.subtract, SAME, torch=isub),
    Op("imul", imul, np.multiply, SAME, torch=imul),
    Op("itruediv", itruediv, np.divide, SAME, domain=[away_from_zero, away_from_zero], torch=itruediv),
    Op("iand", ibitwise("and"), np.bitwise_and, SAME, make=_bool_pair, grad=(False, False),
       torch=ibitwise("and")),
    Op("ior", ibitwise("or"), np.bitwise_or, SAME, make=_bool_pair, grad=(False, False),
       torch=ibitwise("or")),
    Op("ixor", ibitwise("xor"), np.bitwise_xor, SAME, make=_bool_pair, grad=(False, False),
       torch=ibitwise("xor")),
    Op("ifloordiv", ibitwise("floordiv"), np.floor_divide, SAME, domain=[away_from_zero, away_from_zero],
       grad=(False, False), torch=ibitwise("floordiv")),
    Op("imod", imod, np.remainder, SAME, domain=[away_from_zero, away_from_zero], torch=imod),
    unary("pow_", "pow_", lambda a: a ** 3, args=(3,)),
    unary("clamp_", "clamp_", lambda a: np.clip(a, -0.5, 0.5), args=(-0.5, 0.5),
          domain=lambda r, s: T.off_grid(r, s, (-0.5, 0.5))),
    unary("clip_", "clip_", lambda a: np.clip(a, -0.5, 0.5), args=(-0.5, 0.5),
          domain=lambda r, s: T.off_grid(r, s, (-0.5, 0.5))),
    unary("clamp_min_", "clamp_min_", lambda a: np.maximum(a, 0.2), args=(0.2,),
          domain=lambda r, s: T.off_grid(r, s, (0.2,))),
    unary("clamp_max_", "clamp_max_", lambda a: np.minimum(a, 0.2), args=(0.2,),
          domain=lambda r, s: T.off_grid(r, s, (0.2,))),
    unary("exp_", "exp_", np.exp),
    unary("log_", "log_", np.log, domain=positive),
    unary("log1p_", "log1p_", np.log1p, domain=positive),
    unary("neg_", "neg_", np.negative),
    unary("abs_", "abs_", np.abs, domain=away_from_zero),
    unary("sqrt_", "sqrt_", np.sqrt, domain=positive),
    unary("square_", "square_", np.square),
    unary("reciprocal_", "reciprocal_", np.reciprocal, domain=away_from_zero),
    unary("sin_", "sin_", np.sin),
    unary("cos_", "cos_", np.cos),
    unary("sigmoid_", "sigmoid_", lambda a: 1 / (1 + np.exp(-a))),
    unary("tanh_", "tanh_", np.tanh),
    unary("relu_", "relu_", lambda a: np.maximum(a, 0), domain=away_from_zero),
    unary("fill_", "fill_", lambda a: np.full_like(a, 2.0), args=(2.0,)),
    unary("zero_", "zero_", np.zeros_like),
    Op("copy_", lambda x, y: _h(x).copy_(y), lambda a, b: np.broadcast_to(b, a.shape).copy(), SAME,
       torch=lambda x, y: (x * 1.0).copy_(y)),
    Op("addcmul_", lambda x, a, b: _h(x).addcmul_(a, b, value=0.5), lambda x, a, b: x + 0.5 * a * b,
       [((3, 4), (3, 4), (3, 4)), ((2, 3), (3,), (2, 1))],
       torch=lambda x, a, b: (x * 1.0).addcmul_(a, b, value=0.5)),
    Op("addcdiv_", lambda x, a, b: _h(x).addcdiv_(a, b, value=0.5), lambda x, a, b: x + 0.5 * a / b,
       [((3, 4), (3, 4), (3, 4))], domain=[lambda r, s: r.standard_normal(s)] * 2 + [away_from_zero],
       torch=lambda x, a, b: (x * 1.0).addcdiv_(a, b, value=0.5)),
    Op("lerp_", lambda x, e: _h(x).lerp_(e, 0.3), lambda x, e: x + 0.3 * (e - x), [((3, 4), (3, 4))],
       torch=lambda x, e: (x * 1.0).lerp_(e, 0.3)),
    Op("masked_fill_", lambda x: _h(x).masked_fill_(x > 0, 0.5), lambda a: np.where(a > 0, 0.5, a),
       UNARY_SHAPES, domain=away_from_zero, torch=lambda x: (x * 1.0).masked_fill_(x > 0, 0.5)),
    Op("index_fill_", lambda x: _h(x).index_fill_(1, nv.tensor([0, 2]), -1.0), np_index_fill,
       [((3, 4),)], torch=lambda x: (x * 1.0).index_fill_(1, T.torch().tensor([0, 2]), -1.0)),
    Op("index_fill", lambda x: x.index_fill(1, nv.tensor([0, 2]), -1.0), np_index_fill,
       [((3, 4),)], torch=lambda x: x.index_fill(1, T.torch().tensor([0, 2]), -1.0)),
    Op("setitem_slice", setitem, np_setitem, [((4, 3), (2, 3)), ((5,), ()), ((4, 3), (3,))],
       torch=setitem),
    Op("setitem_fancy", setitem_fancy, np_setitem_fancy, [((4, 3), (2,))], torch=setitem_fancy),
    Op("index_put", lambda x, v: x.index_put((slice(1, 3),), v), np_setitem, [((4, 3), (2, 3))]),
    Op("scatter_src", lambda x, i, s: x.scatter(1, i, s), np_scatter, [((3, 5), (3, 2), (3, 2))],
       make=scatter_make, grad=(True, False, True), torch=lambda x, i, s: x.scatter(1, i, s)),
    # src wider than index: only its leading block is read (torch refuses this in backward)
    Op("scatter_src_wide", lambda x, i, s: x.scatter(1, i, s), np_scatter, [((3, 5), (3, 2), (3, 4))],
       make=lambda r, s, d: scatter_make(r, s, d, big=4), grad=(True, False, True)),
    Op("scatter_", lambda x, i, s: _h(x).scatter_(1, i, s), np_scatter, [((3, 5), (3, 2), (3, 2))],
       make=scatter_make, grad=(True, False, True), torch=lambda x, i, s: (x * 1.0).scatter_(1, i, s)),
    Op("scatter_value", lambda x, i, s: x.scatter(1, i, 2.0),
       lambda x, i, s: np_scatter(x, i, np.full_like(s, 2.0)), [((3, 5), (3, 2), (3, 2))],
       make=scatter_make, grad=(True, False, False), torch=lambda x, i, s: x.scatter(1, i, 2.0)),
    Op("fill", lambda x: x.fill(3.0), lambda a: np.full_like(a, 3.0), UNARY_SHAPES),
    Op("where_method", lambda x, y: x.where(x > 0, y), lambda a, b: np.where(a > 0, a, b),
       [((3, 4), (3, 4)), ((2, 3), (3,))], domain=[away_from_zero, lambda r, s: r.standard_normal(s)],
       torch=lambda x, y: x.where(x > 0, y)),
]
