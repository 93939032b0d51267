import numpy as np
import torch_twin as T

import nerve as nv
import nerve.functional as F
from optable import BINARY_SHAPES, Op, away_from_zero, positive

ONE_PAIR = [((3, 4), (4,))]


def _ties(r, shapes, dtype):
    """Small integers as floats: comparisons see ties, so == and <= are really exercised."""
    return [r.integers(-2, 3, size=s).astype(dtype) for s in shapes]


def _bools(r, shapes, dtype):
    return [r.random(s) < 0.5 for s in shapes]


def _specials(r, shapes, dtype):
    x = r.standard_normal(shapes[0])
    u = r.random(shapes[0])
    return [np.where(u < 0.2, np.nan, np.where(u > 0.8, np.inf * np.sign(x), x)).astype(dtype)]


def _compare_rows():
    """Comparisons and logical ops: no gradient, so forward and torch parity only."""
    rows = []
    for name, ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                      ("gt", np.greater), ("ge", np.greater_equal)]:
        rows.append(Op(name, getattr(F, name), ref, ONE_PAIR, make=_ties, grad=(False, False),
                       torch=T.f(name)))
    for name, ref in [("logical_and", np.logical_and), ("logical_or", np.logical_or),
                      ("logical_xor", np.logical_xor)]:
        rows.append(Op(name, getattr(F, name), ref, ONE_PAIR, make=_bools, torch=T.f(name)))
    rows += [
        Op("logical_not", F.logical_not, np.logical_not, [((3, 4),)], make=_bools, torch=T.f("logical_not")),
        Op("bool_operators", lambda a, b: (a & b) | (~a ^ b), lambda a, b: (a & b) | (~a ^ b), ONE_PAIR,
           make=_bools, torch=lambda a, b: (a & b) | (~a ^ b)),
        Op("bool_reflected", lambda a: (True & a) | (False ^ a) | (False | a), lambda a: a, [((3, 4),)],
           make=_bools, torch=lambda a: (True & a) | (False ^ a) | (False | a)),
        Op("isnan", F.isnan, np.isnan, [((3, 4),)], make=_specials, grad=(False,), torch=T.f("isnan")),
        Op("isfinite", F.isfinite, np.isfinite, [((3, 4),)], make=_specials, grad=(False,),
           torch=T.f("isfinite")),
    ]
    return rows


ROWS = [
    Op("add", lambda a, b: a + b, np.add, BINARY_SHAPES, torch=T.f("add")),
    Op("sub", lambda a, b: a - b, np.subtract, BINARY_SHAPES, torch=T.f("sub")),
    Op("mul", lambda a, b: a * b, np.multiply, BINARY_SHAPES, torch=T.f("mul")),
    Op("div", lambda a, b: a / b, np.divide, BINARY_SHAPES, domain=[away_from_zero, away_from_zero],
       torch=T.f("div")),
    Op("add_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, torch=lambda a: 2.5 + a),
    Op("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, torch=lambda a: 1.0 - a),
    Op("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, domain=away_from_zero, torch=lambda a: 2.0 / a),
    Op("neg", lambda a: -a, np.negative, torch=T.f("neg")),
    Op("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, torch=lambda a: a ** 3),
    Op("pow_frac", lambda a: a ** 1.5, lambda a: a ** 1.5, domain=positive, torch=lambda a: a ** 1.5),
    Op("pow_tensor", F.pow, np.power, BINARY_SHAPES, domain=[positive, lambda r, s: r.uniform(-1.5, 1.5, s)],
       torch=T.f("pow")),
    Op("rpow", lambda a: 2.0 ** a, lambda a: 2.0 ** a, torch=lambda a: 2.0 ** a),
    Op("exp", F.exp, np.exp, torch=T.f("exp")),
    Op("log", F.log, np.log, domain=positive, torch=T.f("log")),
    Op("log1p", F.log1p, np.log1p, domain=positive, torch=T.f("log1p")),
    Op("sqrt", F.sqrt, np.sqrt, domain=positive, torch=T.f("sqrt")),
    Op("rsqrt", F.rsqrt, lambda a: 1 / np.sqrt(a), domain=positive, torch=T.f("rsqrt")),
    Op("abs", F.abs, np.abs, domain=away_from_zero, torch=T.f("abs")),
    Op("sign", F.sign, np.sign, domain=away_from_zero, torch=T.f("sign")),
    Op("sin", F.sin, np.sin, torch=T.f("sin")),
    Op("cos", F.cos, np.cos, torch=T.f("cos")),
    Op("square", F.square, np.square, torch=T.f("square")),
    Op("reciprocal", F.reciprocal, np.reciprocal, domain=away_from_zero, torch=T.f("reciprocal")),
    # the function and method forms of the operators
    Op("add_fn", F.add, np.add, ONE_PAIR, torch=T.f("add")),
    Op("sub_method", lambda a, b: a.sub(b), np.subtract, ONE_PAIR, torch=lambda a, b: a.sub(b)),
    Op("mul_fn", F.mul, np.multiply, ONE_PAIR, torch=T.f("mul")),
    Op("rmul_scalar", lambda a: 2.5 * a, lambda a: 2.5 * a, [((3, 4),)], torch=lambda a: 2.5 * a),
    Op("div_method", lambda a, b: a.div(b), np.divide, ONE_PAIR, domain=away_from_zero,
       torch=lambda a, b: a.div(b)),
    Op("neg_method", lambda a: a.neg(), np.negative, [((3, 4),)], torch=lambda a: a.neg()),
    # floor division and remainder (the sign of the divisor); // is piecewise constant
    Op("remainder", lambda a, b: a % b, np.remainder, ONE_PAIR,
       domain=[lambda r, s: 3 * r.standard_normal(s), away_from_zero], torch=T.f("remainder")),
    Op("remainder_fn", F.remainder, np.remainder, ONE_PAIR, domain=away_from_zero,
       torch=T.f("remainder")),
    Op("remainder_method", lambda a, b: a.remainder(b), np.remainder, ONE_PAIR, domain=away_from_zero,
       torch=lambda a, b: a.remainder(b)),
    Op("rmod_scalar", lambda a: 2.5 % a, lambda a: 2.5 % a, [((3, 4),)], domain=away_from_zero,
       grad=(False,), torch=lambda a: 2.5 % a),   # torch has no derivative for number % tensor
    Op("floor_divide", lambda a, b: a // b, np.floor_divide, ONE_PAIR, domain=away_from_zero,
       grad=(False, False), torch=T.f("floor_divide")),
    Op("floor_divide_fn", F.floor_divide, np.floor_divide, ONE_PAIR, domain=away_from_zero,
       grad=(False, False), torch=T.f("floor_divide")),
    Op("floor_divide_method", lambda a, b: a.floor_divide(b), np.floor_divide, ONE_PAIR,
       domain=away_from_zero, grad=(False, False), torch=lambda a, b: a.floor_divide(b)),
    Op("rfloordiv_scalar", lambda a: 5.0 // a, lambda a: 5.0 // a, [((3, 4),)], domain=away_from_zero,
       grad=(False,), torch=lambda a: 5.0 // a),
    Op("abs_builtin", lambda a: abs(a), np.abs, [((3, 4),)], domain=away_from_zero, torch=lambda a: abs(a)),
    # casts and copies
    Op("cast", lambda a: F.cast(a, np.float64), lambda a: a.astype(np.float64), [((3, 4),)],
       torch=lambda a: a.double()),
    Op("to_dtype", lambda a: a.to(dtype=nv.float64), lambda a: a.astype(np.float64), [((3, 4),)],
       torch=lambda a: a.to(dtype=T.torch().float64)),
    Op("type_dtype", lambda a: a.type(nv.float64), lambda a: a.astype(np.float64), [((3, 4),)],
       torch=lambda a: a.type(T.torch().float64)),
    Op("float_method", lambda a: a.float(), lambda a: a.astype(np.float32), [((3, 4),)], grad=(False,),
       torch=lambda a: a.float()),   # float32 output: too coarse for finite differences
    Op("long_method", lambda a: a.long(), lambda a: a.astype(np.int64), [((3, 4),)], grad=(False,),
       torch=lambda a: a.long()),
    Op("int_method", lambda a: a.int(), lambda a: a.astype(np.int32), [((3, 4),)], grad=(False,),
       torch=lambda a: a.int()),
    Op("bool_method", lambda a: a.bool(), lambda a: a.astype(bool), [((3, 4),)], make=_ties, grad=(False,),
       torch=lambda a: a.bool()),
    Op("clone_fn", F.clone, np.copy, [((3, 4),)], torch=lambda a: a.clone()),
    Op("clone_method", lambda a: a.clone(), np.copy, [((3, 4),)], torch=lambda a: a.clone()),
    Op("cpu", lambda a: a.cpu(), np.copy, [((3, 4),)], torch=lambda a: a.cpu()),
    Op("to_device", lambda a: F.to_device(a, "cpu"), np.copy, [((3, 4),)], torch=lambda a: a.to("cpu")),
    *_compare_rows(),
    Op("clamp", lambda a: F.clamp(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
       make=lambda r, s, d: [T.off_grid(r, s[0], [-0.5, 0.7]).astype(d)],
       torch=lambda a: a.clamp(-0.5, 0.7)),
    Op("clamp_min", lambda a: F.clamp(a, min=0.1), lambda a: np.maximum(a, 0.1),
       make=lambda r, s, d: [T.off_grid(r, s[0], [0.1]).astype(d)], torch=lambda a: a.clamp(min=0.1)),
    Op("maximum", F.maximum, np.maximum, BINARY_SHAPES, torch=T.f("maximum")),
    Op("minimum", F.minimum, np.minimum, BINARY_SHAPES, torch=T.f("minimum")),
    Op("where", lambda a, b: F.where(a > 0.1, a, b), lambda a, b: np.where(a > 0.1, a, b),
       BINARY_SHAPES, torch=lambda a, b: T.torch().where(a > 0.1, a, b)),
]
