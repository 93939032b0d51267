"""Op-table rows for the activations (nerve.functional.activation).

Inputs are kept away from the kinks so finite differences are meaningful; the exact
values at the kinks are tested against PyTorch in test_activation.py.
"""
import math

import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op

SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[float])   # reference only: a Python loop is fine in tests
_erfc = np.vectorize(math.erfc, otypes=[float])


def _kinks(*points):
    """Input maker: normal samples nudged away from the given kink points."""
    return lambda r, s, d: [T.off_grid(r, s[0], points).astype(d)]


def _spread(lo, hi, *points):
    """Input maker: uniform samples on [lo, hi], at least 0.05 away from each kink."""
    def make(r, s, d):
        x = r.uniform(lo, hi, size=s[0])
        for p in points:
            x = np.where(np.abs(x - p) < 0.05, p + 0.1, x)
        return [x.astype(d)]
    return make


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _log_softmax(x, dim):
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


def _ref_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _prelu_make(r, s, d):
    x = T.off_grid(r, s[0], [0.0])
    w = r.uniform(0.05, 0.5, size=s[1])
    return [x.astype(d), w.astype(d)]


def _prelu_ref(x, w):
    wb = w.reshape((1, w.size) + (1,) * (x.ndim - 2)) if w.size > 1 else w.reshape(())
    return np.where(x > 0, x, wb * x)


SOFTMAX_SHAPES = [((5,),), ((3, 4),), ((2, 3, 4),)]
WIDE = [((5,),), ((3, 4),), ((2, 3, 4),)]
ANY = [((),)] + WIDE

ROWS = [
    Op("relu", F.relu, lambda x: np.maximum(x, 0), ANY, make=_kinks(0.0), torch=T.nnf("relu")),
    Op("relu_method", lambda x: x.relu(), lambda x: np.maximum(x, 0), WIDE, make=_kinks(0.0),
       torch=lambda x: x.relu()),
    Op("relu6", F.relu6, lambda x: np.clip(x, 0, 6), WIDE,
       make=_spread(-2.0, 8.0, 0.0, 6.0), torch=T.nnf("relu6")),
    Op("leaky_relu", F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), ANY, make=_kinks(0.0),
       torch=T.nnf("leaky_relu")),
    Op("leaky_relu_0.2", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), WIDE,
       make=_kinks(0.0), torch=T.nnf("leaky_relu", negative_slope=0.2)),
    Op("prelu_channel", F.prelu, _prelu_ref, [((4, 3), (3,)), ((2, 3, 4), (3,)), ((2, 3, 2, 2), (3,))],
       make=_prelu_make, torch=T.nnf("prelu")),
    Op("prelu_shared", F.prelu, _prelu_ref, [((5,), (1,)), ((3, 4), (1,)), ((2, 3, 4), (1,))],
       make=_prelu_make, torch=T.nnf("prelu")),
    Op("elu", F.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))), ANY, make=_kinks(0.0),
       torch=T.nnf("elu")),
    Op("elu_alpha", lambda x: F.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
       WIDE, make=_kinks(0.0), torch=T.nnf("elu", alpha=0.5)),
    Op("selu", F.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(np.minimum(x, 0))), ANY,
       make=_kinks(0.0), torch=T.nnf("selu")),
    Op("gelu", F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))), ANY, torch=T.nnf("gelu")),
    Op("gelu_wide", F.gelu, lambda x: 0.5 * x * _erfc(-x / math.sqrt(2)), [((4, 50),)],
       domain=lambda r, s: r.uniform(-9, 9, size=s), torch=T.nnf("gelu")),
    Op("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), _ref_gelu_tanh, ANY,
       torch=T.nnf("gelu", approximate="tanh")),
    Op("silu", F.silu, lambda x: x * _sig(x), ANY, torch=T.nnf("silu")),
    Op("sigmoid", F.sigmoid, _sig, ANY, torch=T.f("sigmoid")),
    Op("sigmoid_method", lambda x: x.sigmoid(), _sig, WIDE, torch=lambda x: x.sigmoid()),
    Op("sigmoid_wide", F.sigmoid, _sig, [((4, 50),)], domain=lambda r, s: r.uniform(-30, 30, size=s),
       torch=T.f("sigmoid")),
    Op("tanh", F.tanh, np.tanh, ANY, torch=T.f("tanh")),
    Op("tanh_method", lambda x: x.tanh(), np.tanh, WIDE, torch=lambda x: x.tanh()),
    Op("softplus", F.softplus, lambda x: np.log1p(np.exp(x)), ANY, torch=T.nnf("softplus")),
    Op("softplus_beta", lambda x: F.softplus(x, 2.0, 1.0),
       lambda x: np.where(2 * x > 1, x, np.log1p(np.exp(2 * x)) / 2), WIDE, make=_kinks(0.5),
       torch=T.nnf("softplus", beta=2.0, threshold=1.0)),
    Op("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), ANY, make=_kinks(0.0),
       torch=T.nnf("softsign")),
    Op("hardtanh", F.hardtanh, lambda x: np.clip(x, -1, 1), WIDE, make=_kinks(-1.0, 1.0),
       torch=T.nnf("hardtanh")),
    Op("hardtanh_bounds", lambda x: F.hardtanh(x, -0.5, 2.0), lambda x: np.clip(x, -0.5, 2.0), WIDE,
       make=_kinks(-0.5, 2.0), torch=T.nnf("hardtanh", min_val=-0.5, max_val=2.0)),
    Op("softmax_last", lambda x: F.softmax(x, -1), lambda x: _softmax(x, -1), SOFTMAX_SHAPES,
       torch=T.nnf("softmax", dim=-1)),
    Op("softmax_dim0", lambda x: F.softmax(x, 0), lambda x: _softmax(x, 0), SOFTMAX_SHAPES,
       torch=T.nnf("softmax", dim=0)),
    Op("softmax_method", lambda x: x.softmax(1), lambda x: _softmax(x, 1), [((3, 4),), ((2, 3, 4),)],
       torch=lambda x: x.softmax(1)),
    Op("softmax_scalar", lambda x: F.softmax(x, 0), lambda x: np.ones_like(x), [((),)],
       torch=T.nnf("softmax", dim=0)),
    Op("log_softmax_last", lambda x: F.log_softmax(x, -1), lambda x: _log_softmax(x, -1), SOFTMAX_SHAPES,
       torch=T.nnf("log_softmax", dim=-1)),
    Op("log_softmax_dim1", lambda x: x.log_softmax(1), lambda x: _log_softmax(x, 1),
       [((3, 4),), ((2, 3, 4),)], torch=lambda x: x.log_softmax(1)),
    Op("erf", F.erf, _erf, [((4, 50),)], domain=lambda r, s: r.uniform(-6, 6, size=s), torch=T.f("erf")),
    Op("erfc", F.erfc, _erfc, [((4, 50),)], domain=lambda r, s: r.uniform(-6, 6, size=s), torch=T.f("erfc")),
]
