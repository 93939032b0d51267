"""Activation functions: relu, sigmoid, tanh, gelu, softmax ...

Each activation is one ``Function`` with its own backward. Where the derivative is a
function of the output, forward saves the output and backward reuses it (sigmoid:
``grad * out * (1 - out)``; tanh: ``grad * (1 - out**2)``); otherwise it saves the input.
Every backward is written with ``ctx.xp`` and operators that arrays and Tensors share, so
the smooth activations (sigmoid, tanh, softplus, gelu, silu, elu, selu, softmax,
log_softmax) have exact second derivatives through ``create_graph=True``.

Kinks (the sub-gradient chosen where the function has no derivative) follow PyTorch:

==================  =============================================================
relu                ``relu'(0) = 0``
relu6               ``0`` at ``x = 0`` and at ``x = 6`` (it is ``hardtanh(x, 0, 6)``)
hardtanh            ``0`` at both bounds: the gradient passes only for ``min < x < max``
leaky_relu, prelu   the negative slope at ``x = 0``: ``f'(0) = negative_slope``
elu / selu          the left-hand derivative at ``x = 0``: ``alpha`` (``scale·alpha``)
softplus            ``1`` exactly where ``beta·x > threshold`` (the linear branch)
==================  =============================================================

Numerics: ``sigmoid`` and ``softplus`` never evaluate ``exp`` of a positive number, so
they stay finite and silent (no overflow warnings) for inputs of ±1e4 in float32 and
float64; ``softmax`` and ``log_softmax`` subtract the maximum along ``dim`` first. In
float32, ``sigmoid(x)`` rounds to exactly ``1.0`` once ``exp(-x) < 2**-24``, that is
from about ``x = 16.64`` on (``sigmoid(16.6) = 0.99999988``); float64 holds out until
about ``x = 36.7``. Float32 ``tanh`` reaches exactly ``1.0`` at about ``x = 10``.

Speed: branches are written as masks multiplied in (``max(x, 0) + a·min(x, 0)``,
``grad * (x > 0)``) rather than ``where``: on inputs with random signs a select costs
several times an ``exp`` in NumPy, while a multiply by a mask costs about a third of one.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ..backend import get_array_module
from ._util import Tensor, normalize_dim
from .reduction import _half

__all__ = ["relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "sigmoid",
           "tanh", "softplus", "softsign", "hardtanh", "softmax", "log_softmax", "erf", "erfc"]

# SELU's fixed point constants (Klambauer et al. 2017, "Self-Normalizing Neural Networks").
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_K = math.sqrt(2.0 / math.pi)     # tanh approximation: k·(x + 0.044715·x³)
_GELU_C = 0.044715


# ----------------------------------------------------------------- array kernels
def _sigmoid_array(x):
    """1 / (1 + exp(-x)) without ever computing exp of a positive number.

    sigmoid(x) = exp(min(x, 0)) / (1 + exp(-|x|)): for x >= 0 that is 1 / (1 + e^-x), for
    x < 0 it is e^x / (1 + e^x); each form is accurate in its own tail. Two exps and no
    select: a data-dependent ``where`` costs several times an ``exp`` on random signs.
    """
    xp = get_array_module(x)
    den = xp.exp(-xp.abs(x))
    den += 1
    num = xp.exp(xp.minimum(x, 0))
    num /= den
    return num


def _softplus_array(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), stable for any x."""
    xp = get_array_module(x)
    out = xp.exp(-xp.abs(x))
    out = xp.log1p(out)
    out += xp.maximum(x, 0)
    return out


_ONES = {}


def _ones(n, dtype):
    """A read-only vector of ``n`` ones, cached (the GEMV reductions below reuse it)."""
    key = (n, dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 256:  # many batch sizes (ragged last batches, sequence lengths)
            _ONES.clear()
        ones = _ONES[key] = np.ones(n, dtype=dtype)
        ones.flags.writeable = False
    return ones


def _row_sum(x):
    """Row sums of a 2-D host array, shape (M,). Up to 1,024 columns as a GEMV against a cached
    vector of ones: NumPy's ``sum(axis=1)`` reduces each short row separately (64×10: 2.3 µs
    against 1.0, 256×10: 6.1 against 1.4). Wider rows keep NumPy's pairwise sum."""
    n = x.shape[1]
    if n > 1024 or x.dtype.kind != "f":
        return x.sum(axis=1)
    return x @ _ones(n, x.dtype)


def _col_sum(x):
    """Column sums of a 2-D array, shape (N,): a bias gradient. On the host a GEMV against ones
    beats NumPy's ``sum(axis=0)``, which adds one short row at a time, at every shape measured
    (64×16: 0.9 µs against 2.4; 4096×64: 16 against 111; 1024×1024: even)."""
    if type(x) is not np.ndarray or x.dtype.kind != "f" or x.shape[0] > 1 << 16:
        return x.sum(axis=0)
    return _ones(x.shape[0], x.dtype) @ x


def _row_max(x):
    """``x.max(axis=1, keepdims=True)`` for a 2-D host array. With at most 32 columns, a
    transposed copy reduced over its first axis (a few whole-row maximum passes) beats NumPy's
    row-by-row reduction: 64×10 2.0 µs against 4.0, 256×10 2.8 against 12.4."""
    if x.shape[1] <= 32 and x.shape[0] >= 32:               # (with a few rows: no gain)
        return x.T.copy().max(axis=0).reshape(-1, 1)
    return x.max(axis=1, keepdims=True)


def _softmax_array(x, dim):
    """exp(x - max) / sum(exp(x - max)) along ``dim``; one temporary, then in place."""
    xp = get_array_module(x)
    if x.shape[dim] == 0:
        return xp.empty_like(x)
    if x.dtype == np.float16:     # in float32, rounded once, as torch (see reduction._half)
        return _half(_softmax_array(x.astype(np.float32), dim))
    if xp is np and x.ndim == 2 and dim in (1, -1):           # the (batch, classes) case
        e = x - _row_max(x)
        xp.exp(e, out=e)
        e /= _row_sum(e)[:, None]
        return e
    e = x - x.max(axis=dim, keepdims=True)
    xp.exp(e, out=e)
    e /= e.sum(axis=dim, keepdims=True)
    return e


def _log_softmax_array(x, dim):
    """x - max - log(sum(exp(x - max))) along ``dim``."""
    xp = get_array_module(x)
    if x.shape[dim] == 0:
        return xp.empty_like(x)
    if x.dtype == np.float16:     # in float32, rounded once (see reduction._half)
        return _half(_log_softmax_array(x.astype(np.float32), dim))
    z = x - x.max(axis=dim, keepdims=True)
    lse = xp.exp(z).sum(axis=dim, keepdims=True)
    xp.log(lse, out=lse)
    z -= lse
    return z


# erf / erfc: NumPy has neither, so here is fdlibm's rational approximation (Sun
# Microsystems 1993, s_erf.c), evaluated on whole arrays, one interval at a time.
# Its error is below 1 ulp in float64; the same coefficients serve float32.
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_ERX = 8.45062911510467529297e-01
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)


def _poly(coefs, z):
    """c0 + c1·z + c2·z² + ... by Horner's rule (z an array)."""
    acc = z * coefs[-1]
    for c in coefs[-2:0:-1]:
        acc += c
        acc *= z
    acc += coefs[0]
    return acc


def _erf_kernel(x, complement):
    """erf(x), or erfc(x) when ``complement``; float32 stays float32."""
    xp = get_array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if x.dtype not in (np.float32, np.float64):
        # float16 (or longdouble): the bit trick below reinterprets float32/float64 words, so
        # a float16 array would be read two elements at a time. Work in float32.
        return _erf_kernel(x.astype(np.float32), complement).astype(x.dtype)
    if x.ndim == 0:
        return _erf_kernel(x.reshape(1), complement).reshape(())
    ax = xp.abs(x)
    # Beyond |x| = 28 (and for NaN) the answer is the limit: erf = sign(x), erfc = 1 - sign(x).
    out = 1 - xp.sign(x) if complement else xp.sign(x)
    m = ax < 0.84375                                   # erf(x) = x + x·P(x²)/Q(x²)
    if m.any():
        xa = x[m]
        z = xa * xa
        y = _poly(_PP, z) / _poly(_QQ, z)
        out[m] = 0.5 - (xa * y + (xa - 0.5)) if complement else xa + xa * y
    m = (ax >= 0.84375) & (ax < 1.25)                  # erf = erx + P(|x|-1)/Q(|x|-1)
    if m.any():
        xa = x[m]
        s = xp.abs(xa) - 1
        pq = _poly(_PA, s) / _poly(_QA, s)
        pos = xa > 0
        if complement:
            out[m] = xp.where(pos, (1 - _ERX) - pq, 1 + (_ERX + pq))
        else:
            out[m] = xp.where(pos, _ERX + pq, -_ERX - pq)
    m = (ax >= 1.25) & (ax < 28)                       # erfc(|x|) = exp(-x² - 0.5625 + R/S)/|x|
    if m.any():
        xa = x[m]
        a = xp.abs(xa)
        s = 1 / (a * a)
        near = a < 1 / 0.35
        rs = xp.where(near, _poly(_RA, s) / _poly(_SA, s), _poly(_RB, s) / _poly(_SB, s))
        # NOTE: z is |x| with its low mantissa bits cleared, so z·z is exact and the
        # rounding error of -x² (which exp would amplify) goes into the small (z-a)(z+a).
        if a.dtype == np.float64:
            z = (a.view(np.uint64) & np.uint64(0xFFFFFFFF00000000)).view(np.float64)
        else:
            z = (a.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
        r = xp.exp(-z * z - 0.5625) * xp.exp((z - a) * (z + a) + rs) / a   # erfc(|x|)
        pos = xa > 0
        if complement:
            out[m] = xp.where(pos, r, 2 - r)
        else:
            out[m] = xp.where(pos, 1 - r, r - 1)
    return out


# Float32 erfc for gelu's hot path: one rational fit in t = 1/(1 + |x|/2) with relative
# error below 1.2e-7 everywhere (Press et al., Numerical Recipes, 2nd ed., §6.2), whole
# array at once. fdlibm's piecewise form needs a gather and a scatter per interval, which
# costs ~30x more on random inputs; in float32 the two agree to a couple of ulps.
_ERFC_NR = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
            -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def _erfc_float32(x):
    xp = get_array_module(x)
    a = xp.abs(x)
    t = a * 0.5
    t += 1
    xp.reciprocal(t, out=t)
    acc = _poly(_ERFC_NR, t)
    # NOTE: split -a² as -h² + (h - a)(h + a) with h = a rounded to 12 bits, so h² is exact
    # and the float32 rounding of a² (amplified by exp) never happens.
    h = (a.view(np.uint32) & np.uint32(0xFFFFF000)).view(np.float32)
    acc += (h - a) * (h + a)
    out = xp.exp(acc)
    out *= xp.exp(-(h * h))
    out *= t                                      # erfc(|x|)
    neg2 = (x < 0).astype(np.float32)             # erfc(-a) = 2 - erfc(a), without a select
    neg2 *= 2
    out *= 1 - neg2
    out += neg2
    return out


def _erfc_array(x):
    """erfc on an array: the fast fit for float32, fdlibm (< 1 ulp) for float64."""
    if getattr(x, "dtype", None) == np.float32 and x.ndim:
        return _erfc_float32(x)
    return _erf_kernel(x, True)


register_extra("sigmoid", lambda xp, x: _sigmoid_array(x))
register_extra("softplus", lambda xp, x: _softplus_array(x))
register_extra("erf", lambda xp, x: _erf_kernel(x, False))
register_extra("erfc", lambda xp, x: _erfc_array(x))
register_extra("nerve_gelu_tanh_grad", lambda xp, ctx, grad: _gelu_tanh_grad_array(xp, ctx, grad))


# ---------------------------------------------------------------------- Functions
class ReLU(Function):
    """max(x, 0); relu'(0) = 0. Saves only the output: the mask is ``out > 0``."""

    def forward(ctx, x):
        out = ctx.xp.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (out > 0)


class Hardtanh(Function):
    """clip(x, lo, hi); the gradient passes only strictly inside (lo, hi)."""

    def forward(ctx, x, lo, hi):
        ctx.lo, ctx.hi = lo, hi
        ctx.save_for_backward(x)
        out = ctx.xp.maximum(x, lo)
        return ctx.xp.minimum(out, hi, out=out)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * ((x > ctx.lo) & (x < ctx.hi)), None, None


class LeakyReLU(Function):
    """x for x > 0, slope·x otherwise (so f'(0) = slope).

    Written as max(x, 0) + slope·min(x, 0) and masks multiplied in, not ``where``: a
    select on random signs costs several times an arithmetic pass. Both forms are exact.
    """

    def forward(ctx, x, slope):
        ctx.slope = slope
        ctx.save_for_backward(x)
        out = ctx.xp.minimum(x, 0)
        out *= slope
        out += ctx.xp.maximum(x, 0)
        return out

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * (x > 0) + (grad * ctx.slope) * (x <= 0), None


class PReLU(Function):
    """x for x > 0, a·x otherwise, with a learnable ``a`` per channel (dim 1) or shared."""

    def forward(ctx, x, weight):
        ctx.wshape = weight.shape
        w = weight.reshape(_prelu_shape(x.ndim, weight.size))
        ctx.save_for_backward(x, weight)
        out = ctx.xp.minimum(x, 0)
        out *= w
        out += ctx.xp.maximum(x, 0)
        return out

    def backward(ctx, grad):
        x, weight = ctx.saved
        xp = ctx.xp
        wb = _prelu_shape(x.ndim, int(np.prod(ctx.wshape)))
        neg = x <= 0
        n = ctx.needs_input_grad
        gx = grad * (x > 0) + (grad * weight.reshape(wb)) * neg if n[0] else None
        gw = None
        if n[1]:
            # where, not x·neg: at x = +inf that is inf·0 = NaN; the weight's gradient is 0 there
            gw = xp.unbroadcast(grad * xp.where(neg, x, 0.0), wb).reshape(ctx.wshape)
        return gx, gw


def _prelu_shape(ndim, size):
    """Broadcast shape of the PReLU weight: (1, C, 1, ...) for per-channel, () if shared."""
    if size == 1:
        return ()
    return (1, size) + (1,) * (ndim - 2)


class ELU(Function):
    """scale·x for x > 0, scale·alpha·(exp(x) - 1) otherwise (ELU, and SELU via scale)."""

    def forward(ctx, x, alpha, scale):
        ctx.alpha, ctx.scale = alpha, scale
        ctx.save_for_backward(x)
        xp = ctx.xp
        # NOTE: expm1 only sees min(x, 0), so large positive x cannot overflow; for x > 0
        # the second term is exactly 0, so no select is needed.
        out = xp.expm1(xp.minimum(x, 0))
        out *= alpha
        out += xp.maximum(x, 0)
        if scale != 1.0:
            out *= scale
        return out

    def backward(ctx, grad):
        (x,) = ctx.saved
        xp = ctx.xp
        s = ctx.scale
        neg = x <= 0          # 0 included, as in PyTorch: f'(0) = scale·alpha
        # where(neg, x, 0), not min(x, 0), so the second derivative at exactly 0 takes the left
        # branch too; and not x·neg, which is inf·0 = NaN at x = +inf (the slope there is 1)
        d = (x > 0) + xp.exp(xp.where(neg, x, 0.0)) * neg * ctx.alpha
        return (grad * s if s != 1.0 else grad) * d, None, None


class GELU(Function):
    """x·Φ(x) with Φ the standard normal CDF, exact (erf) or with the tanh approximation."""

    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        xp = ctx.xp
        if approximate == "tanh":
            inner = x * x
            inner *= _GELU_C
            inner += 1
            inner *= x
            inner *= _GELU_K
            t = xp.tanh(inner)
            # t rides along so the plain backward needs no second tanh (create_graph
            # recomputes it from x); out reuses the buffer of the argument.
            ctx.save_for_backward(x, t)
            out = xp.add(t, 1, out=inner)
            out *= x
            out *= 0.5
            return out
        # Φ(x) = erfc(-x/√2)/2: accurate in the left tail, where 1 + erf(x/√2) cancels.
        cdf = _erfc_array(x * -_SQRT1_2)
        cdf *= 0.5
        # cdf rides along for the plain backward (it costs an erfc); create_graph
        # recomputes it from x, so the second derivative stays exact.
        ctx.save_for_backward(x, cdf)
        return x * cdf

    def backward(ctx, grad):
        x = ctx.saved[0]
        xp = ctx.xp
        if ctx.approximate == "tanh":
            return xp.nerve_gelu_tanh_grad(ctx, grad), None
        cdf = xp.reuse(ctx.saved[1], lambda: 0.5 * xp.erfc(x * -_SQRT1_2))
        pdf = xp.exp(x * x * -0.5) * _INV_SQRT_2PI
        return grad * (cdf + x * pdf), None


def _gelu_tanh_grad_graph(ctx, grad):
    """d/dx of the tanh GELU with t = tanh(k(x + c·x³)):
    0.5(1 + t) + 0.5·x·(1 − t²)·k(1 + 3c·x²); under create_graph rebuilt from x, differentiably."""
    x = ctx.saved[0]
    x2 = x * x
    t = ctx.xp.tanh((x + x2 * x * _GELU_C) * _GELU_K)
    return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_K * (1 + 3 * _GELU_C * x2))


def _gelu_tanh_grad_array(xp, ctx, grad):
    """The same formula on arrays with the forward's saved t, in place: 11 passes over the
    elements instead of 18 and no tanh (the GELU backward of a GPT step is memory-bound)."""
    x, t = ctx.saved
    a = x * x
    a *= 3 * _GELU_C * _GELU_K
    a += _GELU_K                       # k(1 + 3c·x²)
    d = t * t
    xp.subtract(1, d, out=d)
    d *= a
    d *= x
    d += 1
    d += t
    d *= 0.5
    d *= grad
    return d


class SiLU(Function):
    """x·sigmoid(x) (also called swish)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        out = _sigmoid_array(x)
        out *= x
        return out

    def backward(ctx, grad):
        (x,) = ctx.saved
        s = ctx.xp.sigmoid(x)
        return grad * s * (1 + x * (1 - s))


class Sigmoid(Function):
    """1 / (1 + exp(-x)); backward reuses the output: grad·out·(1 - out)."""

    def forward(ctx, x):
        out = _sigmoid_array(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * out * (1 - out)


class Tanh(Function):
    """tanh(x); backward reuses the output: grad·(1 - out²)."""

    def forward(ctx, x):
        out = ctx.xp.tanh(x)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        return grad * (1 - out * out)


class Softplus(Function):
    """log(1 + exp(beta·x))/beta, and x itself where beta·x > threshold."""

    def forward(ctx, x, beta, threshold):
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        bx = x * beta if beta != 1 else x
        out = _softplus_array(bx)
        if beta != 1:
            out /= beta
        lin = bx > threshold
        if lin.any():                 # the linear branch returns x itself, bit for bit
            out[lin] = x[lin]
        return out

    def backward(ctx, grad):
        (x,) = ctx.saved
        bx = x * ctx.beta if ctx.beta != 1 else x
        s = ctx.xp.sigmoid(bx)
        # s + (1 - s)·[beta·x > threshold] is sigmoid(beta·x) or exactly 1, without a select
        return grad * (s + (1 - s) * (bx > ctx.threshold)), None, None


class Softsign(Function):
    """x / (1 + |x|); derivative 1 / (1 + |x|)²."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        d = ctx.xp.abs(x)
        d += 1
        return x / d

    def backward(ctx, grad):
        (x,) = ctx.saved
        d = 1 + ctx.xp.abs(x)
        return grad / (d * d)


class Softmax(Function):
    """exp(x_i) / Σ_j exp(x_j) along ``dim``; backward: out·(grad - Σ grad·out)."""

    def forward(ctx, x, dim):
        ctx.dim = dim
        out = _softmax_array(x, dim)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        if out.dtype == np.float16 and not isinstance(out, Tensor):  # the sum in float32, as forward
            s = (grad * out).sum(axis=ctx.dim, keepdims=True, dtype=np.float32).astype(np.float16)
            return out * (grad - s), None
        return out * (grad - (grad * out).sum(axis=ctx.dim, keepdims=True)), None


class LogSoftmax(Function):
    """x_i - log Σ_j exp(x_j) along ``dim``; backward: grad - exp(out)·Σ grad."""

    def forward(ctx, x, dim):
        ctx.dim = dim
        out = _log_softmax_array(x, dim)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, grad):
        (out,) = ctx.saved
        if out.dtype == np.float16 and not isinstance(out, Tensor):  # the sum in float32, as forward
            s = grad.sum(axis=ctx.dim, keepdims=True, dtype=np.float32).astype(np.float16)
            return grad - ctx.xp.exp(out) * s, None
        return grad - ctx.xp.exp(out) * grad.sum(axis=ctx.dim, keepdims=True), None


class Erf(Function):
    """erf(x) = 2/√π ∫₀ˣ exp(-t²) dt; derivative 2/√π·exp(-x²)."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_kernel(x, False)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * ctx.xp.exp(-(x * x)) * (2 / math.sqrt(math.pi))


class Erfc(Function):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is close to 1."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_kernel(x, True)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * ctx.xp.exp(-(x * x)) * (-2 / math.sqrt(math.pi))


# ------------------------------------------------------------------ functional API
def _check_float(x, op):
    dt = getattr(x, "dtype", None)
    if dt is not None and dt.kind not in "fc":
        raise TypeError(f"{op} needs a floating-point tensor, got dtype {dt}; convert it with "
                        ".float() (or .double()) first")


def _unary(cls, x, op, *params):
    _check_float(x, op)
    if x.ndim == 0:  # the kernels work in place, which needs a real array, not a NumPy scalar
        return cls.apply(x.reshape(1), *params).reshape(())
    return cls.apply(x, *params)


def relu(input, inplace=False):  # noqa: A002
    """Rectified linear unit: ``max(x, 0)``.

    The derivative is 1 for x > 0 and 0 for x <= 0 (``relu'(0) = 0``, as in PyTorch).
    Forward saves only the output; backward is ``grad * (out > 0)``. ``inplace`` is
    accepted for PyTorch compatibility and ignored (a new tensor is always returned).

    Args:
        input: a floating-point tensor of any shape.

    Returns:
        A tensor of the same shape and dtype.

    Example:
        >>> import nerve as nv
        >>> nv.functional.relu(nv.tensor([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 2.0]
    """
    return ReLU.apply(input)  # no float check: like torch, relu also works on integer tensors


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """Clip to ``[min_val, max_val]``: ``min(max(x, min_val), max_val)``.

    The gradient is 1 strictly inside ``(min_val, max_val)`` and 0 elsewhere, including
    at the two bounds themselves (PyTorch's convention).

    Example:
        >>> import nerve as nv
        >>> nv.functional.hardtanh(nv.tensor([-3.0, 0.5, 3.0])).tolist()
        [-1.0, 0.5, 1.0]
    """
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return _unary(Hardtanh, input, "hardtanh", float(min_val), float(max_val))


def relu6(input, inplace=False):  # noqa: A002
    """``min(max(x, 0), 6)``, that is ``hardtanh(x, 0, 6)``; gradient 0 at both 0 and 6.

    Example:
        >>> import nerve as nv
        >>> nv.functional.relu6(nv.tensor([-1.0, 3.0, 8.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    return _unary(Hardtanh, input, "relu6", 0.0, 6.0)


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    """``x`` for x > 0 and ``negative_slope * x`` otherwise.

    The derivative is 1 for x > 0 and ``negative_slope`` for x <= 0, including at 0
    (as in PyTorch), so a unit never stops receiving gradient.

    Example:
        >>> import nerve as nv
        >>> nv.functional.leaky_relu(nv.tensor([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    return _unary(LeakyReLU, input, "leaky_relu", float(negative_slope))


def prelu(input, weight):  # noqa: A002
    """Parametric ReLU: ``x`` for x > 0 and ``a * x`` otherwise, with ``a`` learned.

    ``weight`` holds one slope per channel (dimension 1 of ``input``, shape ``(C,)``) or a
    single shared slope (one element). ``f'(0) = a``, as in PyTorch. The gradient of ``a``
    is the sum of ``x * grad`` over the inputs where x <= 0.

    Args:
        input: tensor of shape (N, C, ...) or any shape when the slope is shared.
        weight: tensor with 1 or C elements.

    Example:
        >>> import nerve as nv
        >>> nv.functional.prelu(nv.tensor([[-1.0, 2.0]]), nv.tensor([0.25])).tolist()
        [[-0.25, 2.0]]
    """
    _check_float(input, "prelu")
    n = int(np.prod(weight.shape))
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise ValueError(
                f"prelu: weight has {n} slopes but the input of shape {tuple(input.shape)} has "
                f"{channels} channels on dim 1; give one slope per channel or a single shared "
                "slope (nn.PReLU(num_parameters=C) or nn.PReLU())")
    return PReLU.apply(input, weight)


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """Exponential linear unit: ``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    The derivative is 1 for x > 0 and ``alpha * exp(x)`` for x <= 0; at 0 it is ``alpha``
    (PyTorch takes the left branch). Smooth for ``alpha = 1``; twice differentiable
    away from 0 for any alpha.

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.elu(nv.tensor([-1.0])).item(), 6)
        -0.632121
    """
    return _unary(ELU, input, "elu", float(alpha), 1.0)


def selu(input, inplace=False):  # noqa: A002
    """Scaled ELU: ``scale * elu(x, alpha)`` with alpha ≈ 1.6733 and scale ≈ 1.0507.

    These constants make activations keep zero mean and unit variance through deep
    networks (Klambauer et al. 2017). The derivative at 0 is ``scale * alpha`` ≈ 1.7581.

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.selu(nv.tensor([1.0])).item(), 6)
        1.050701
    """
    return _unary(ELU, input, "selu", SELU_ALPHA, SELU_SCALE)


def gelu(input, approximate="none"):  # noqa: A002
    """Gaussian error linear unit: ``x * Φ(x)``, Φ the standard normal CDF.

    ``approximate='none'`` uses ``Φ(x) = erfc(-x/√2)/2`` (exact); ``approximate='tanh'``
    uses ``0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`` (Hendrycks & Gimpel 2016).
    The derivative of the exact form is ``Φ(x) + x·φ(x)``.

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.gelu(nv.tensor([1.0])).item(), 6)
        0.841345
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _unary(GELU, input, "gelu", approximate)


def silu(input, inplace=False):  # noqa: A002
    """Sigmoid-weighted linear unit (swish): ``x * sigmoid(x)``.

    Derivative: ``s·(1 + x·(1 - s))`` with ``s = sigmoid(x)``.

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.silu(nv.tensor([1.0])).item(), 6)
        0.731059
    """
    return _unary(SiLU, input, "silu")


def sigmoid(input):  # noqa: A002
    """Logistic function ``1 / (1 + exp(-x))``, with range (0, 1).

    Computed from ``exp(-|x|)`` so it is finite and warning-free for any input. The
    derivative ``σ·(1 - σ)`` reuses the output; its maximum is 0.25 at 0. In float32
    the result is exactly 1.0 from about x = 16.64 (and exactly 0.0 below about -103).

    Example:
        >>> import nerve as nv
        >>> nv.functional.sigmoid(nv.tensor([0.0])).tolist()
        [0.5]
    """
    return _unary(Sigmoid, input, "sigmoid")


def tanh(input):  # noqa: A002
    """Hyperbolic tangent, range (-1, 1); derivative ``1 - tanh²`` from the output.

    In float32 the result rounds to exactly 1.0 from about x = 10 with NumPy's tanh
    (PyTorch's CPU kernel already from about x = 9.1: the glossary's "9 to 10").

    Example:
        >>> import nerve as nv
        >>> nv.functional.tanh(nv.tensor([0.0])).tolist()
        [0.0]
    """
    return _unary(Tanh, input, "tanh")


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """Smooth ReLU: ``log(1 + exp(beta·x)) / beta``, and ``x`` where ``beta·x > threshold``.

    Evaluated as a stable log-add-exp, so it is finite for any input. The derivative is
    ``sigmoid(beta·x)`` (exactly 1 on the linear branch, as in PyTorch).

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.softplus(nv.tensor([0.0])).item(), 6)
        0.693147
    """
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero (it divides the result)")
    return _unary(Softplus, input, "softplus", float(beta), float(threshold))


def softsign(input):  # noqa: A002
    """``x / (1 + |x|)``, range (-1, 1); derivative ``1 / (1 + |x|)²``.

    Example:
        >>> import nerve as nv
        >>> nv.functional.softsign(nv.tensor([1.0, -3.0])).tolist()
        [0.5, -0.75]
    """
    return _unary(Softsign, input, "softsign")


def _softmax_dim(x, dim, op):
    if dim is None:
        # PyTorch's legacy rule for an implicit dim, with the same warning.
        dim = 0 if x.ndim in (0, 1, 3) else 1
        warnings.warn(f"Implicit dimension choice for {op} has been deprecated; pass dim= "
                      f"explicitly (dim={dim} was used)", UserWarning, stacklevel=3)
    return normalize_dim(dim, x.ndim, op)


def _softmax_like(cls, x, dim, dtype, op):
    if dtype is not None:
        x = x.to(dtype=dtype)
    _check_float(x, op)
    d = _softmax_dim(x, dim, op)
    if x.ndim == 0:  # a single logit: treat it as a vector of one
        return cls.apply(x.reshape(1), 0).reshape(())
    return cls.apply(x, d)


def softmax(input, dim=None, dtype=None):  # noqa: A002
    """Normalized exponentials along ``dim``: ``exp(x_i) / Σ_j exp(x_j)``.

    The maximum along ``dim`` is subtracted first, so logits of any magnitude are safe
    and adding a constant changes nothing. The Jacobian is ``diag(p) - p pᵀ``.

    Args:
        input: tensor of any shape.
        dim: the dimension that sums to 1 (required in practice; None applies PyTorch's
            deprecated implicit rule with a warning).
        dtype: cast the input to this dtype first.

    Example:
        >>> import nerve as nv
        >>> p = nv.functional.softmax(nv.tensor([[1.0, 1.0]]), dim=1)
        >>> p.tolist()
        [[0.5, 0.5]]
    """
    return _softmax_like(Softmax, input, dim, dtype, "softmax")


def log_softmax(input, dim=None, dtype=None):  # noqa: A002
    """``log(softmax(x))`` computed directly: ``x_i - max - log Σ_j exp(x_j - max)``.

    More accurate than ``softmax(x).log()``: very negative log-probabilities do not
    underflow to -inf.

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.log_softmax(nv.tensor([0.0, 0.0]), dim=0)[0].item(), 6)
        -0.693147
    """
    return _softmax_like(LogSoftmax, input, dim, dtype, "log_softmax")


def erf(input):  # noqa: A002
    """Error function ``2/√π ∫₀ˣ exp(-t²) dt`` (fdlibm's approximation, < 1 ulp in float64).

    Example:
        >>> import nerve as nv
        >>> round(nv.functional.erf(nv.tensor([1.0], dtype=nv.float64)).item(), 12)
        0.84270079295
    """
    return _unary(Erf, input, "erf")


def erfc(input):  # noqa: A002
    """Complementary error function ``1 - erf(x)``, accurate for large x.

    Example:
        >>> import nerve as nv
        >>> nv.functional.erfc(nv.tensor([0.0])).tolist()
        [1.0]
    """
    return _unary(Erfc, input, "erfc")


def _method_softmax(x, dim=None, dtype=None):
    return softmax(x, dim, dtype)


def _method_log_softmax(x, dim=None, dtype=None):
    return log_softmax(x, dim, dtype)


TENSOR_METHODS = {
    "relu": relu, "sigmoid": sigmoid, "tanh": tanh, "softmax": _method_softmax,
    "log_softmax": _method_log_softmax, "erf": erf, "erfc": erfc,
}

# Differentiable twins of the helpers backward formulas call on ctx.xp.
GRAPH_NAMESPACE = {
    "tanh": tanh, "sigmoid": sigmoid, "erf": erf, "erfc": erfc,
    "softplus": lambda x: softplus(x, 1.0, math.inf),
    "nerve_gelu_tanh_grad": _gelu_tanh_grad_graph,
}
