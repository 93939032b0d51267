import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import BINARY_SHAPES, Op, away_from_zero, positive

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
