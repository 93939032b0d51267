"""Weight initialization: fill a tensor in place with a chosen distribution.

Every function takes a Tensor (usually a Parameter), overwrites its values in place
outside the graph, and returns it. Random draws come from ``nerve``'s global generator
(or the ``generator`` argument: a ``nerve.Generator`` or a ``numpy.random.Generator``),
so ``nv.manual_seed(s)`` makes them reproducible. The formulas follow ``torch.nn.init``.

fan_in and fan_out: for a weight of shape (out, in, *kernel), the receptive field is
the product of the kernel dims (1 for a Linear weight), fan_in = in × receptive field
and fan_out = out × receptive field.

    >>> import nerve as nv
    >>> w = nv.nn.init.kaiming_uniform_(nv.empty(16, 784), nonlinearity="relu")
    >>> bound = (2 ** 0.5) * (3 / 784) ** 0.5
    >>> bool(abs(w).max() <= bound)
    True
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend
from .. import random as _random
from ..autograd.tensor import Tensor, _bump

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "orthogonal_", "sparse_", "trunc_normal_", "lecun_uniform_", "lecun_normal_",
           "get_initializer"]

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "identity")


def _check(tensor, fn):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{fn} expects a nerve Tensor (or Parameter), got "
                        f"{type(tensor).__name__}")
    return tensor


def _fill(tensor, values):
    """Write ``values`` (a float64 NumPy array) into ``tensor`` in place, casting to its dtype."""
    arr = tensor._data
    if backend.get_array_module(arr) is not np:
        values = backend.to_device(values, "cuda")
    arr[...] = values.astype(arr.dtype, copy=False) if hasattr(values, "astype") else values
    # an in-place write, as torch counts it: a graph that saved the old values must refuse
    # to backpropagate instead of silently using the new ones
    _bump(tensor)
    return tensor


def _empty_noop(tensor):
    """True (after torch's warning) when ``tensor`` has no elements, so there is nothing to fill.

    torch checks this before computing any fan, so a zero-element bias of shape (0,) is a
    warning there, not a "needs 2 dimensions" error.
    """
    if tensor.numel() == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def _gen(generator):
    # None → the global stream; a nerve.Generator (torch's ``generator=`` habit) → its own
    # stream; a numpy Generator as it is. Anything else is refused with a TypeError.
    return _random.resolve(generator)


def calculate_gain(nonlinearity, param=None):
    """The recommended scale factor for a nonlinearity (torch's table).

    ====================  =========================
    nonlinearity          gain
    ====================  =========================
    linear / conv / sigmoid   1
    tanh                  5/3
    relu                  √2
    leaky_relu            √(2 / (1 + slope²)), slope = param or 0.01
    selu                  3/4
    ====================  =========================

    Example:
        >>> from nerve.nn import init
        >>> round(init.calculate_gain("relu"), 6)
        1.414214
    """
    name = str(nonlinearity).lower()
    if name in _LINEAR_LIKE or name == "sigmoid":
        return 1.0
    if name == "tanh":
        return 5.0 / 3
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if name == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}; calculate_gain knows "
                     f"{', '.join(_LINEAR_LIKE + ('sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'))}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, got shape "
                         f"{shape}; a bias has no fan (use uniform_/zeros_/constant_ for it)")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    _check(tensor, "uniform_")
    if b < a:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    return _fill(tensor, _gen(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std²)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_ needs std >= 0, got {std}")
    return _fill(tensor, _gen(generator).normal(mean, std, size=tensor.shape))


def constant_(tensor, val):
    """Fill with the constant ``val`` (e.g. 0.01 for a bias)."""
    _check(tensor, "constant_")
    tensor._data[...] = val
    _bump(tensor)
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal)."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def dirac_(tensor, groups=1):
    """Fill a (out, in, *kernel) conv weight so the convolution is the identity on the
    first min(out/groups, in) channels of each group."""
    _check(tensor, "dirac_")
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_ needs a 3-, 4- or 5-D conv weight, got shape {tuple(tensor.shape)}")
    out_ch = tensor.shape[0]
    if out_ch % groups:
        raise ValueError(f"dirac_: {out_ch} output channels are not divisible by groups={groups}")
    per = out_ch // groups
    m = min(per, tensor.shape[1])
    w = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    g_idx = np.arange(groups)[:, None] * per + np.arange(m)[None, :]
    w[(g_idx.ravel(), np.tile(np.arange(m), groups)) + centre] = 1
    return _fill(tensor, w)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): U(−a, a) with a = gain·√(6 / (fan_in + fan_out)).

    Example:
        >>> import nerve as nv
        >>> w = nv.nn.init.xavier_uniform_(nv.empty(10, 20))
        >>> bool(abs(w).max() <= (6 / 30) ** 0.5)
        True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std²) with std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): U(−bound, bound) with bound = gain·√(3 / fan).

    Args:
        a: the negative slope of the rectifier after this layer (leaky_relu only).
        mode: 'fan_in' keeps the forward variance, 'fan_out' the backward one.
        nonlinearity: the name given to ``calculate_gain`` (use 'relu' for ReLU nets).

    ``nn.Linear`` resets its weight with ``kaiming_uniform_(w, a=√5)``, whose gain
    √(2/6) makes the bound exactly 1/√fan_in.
    """
    _check(tensor, "kaiming_uniform_")
    if _empty_noop(tensor):
        return tensor  # an empty weight has nothing to fill
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): N(0, std²) with std = gain / √fan (√(2/fan_in) for ReLU)."""
    _check(tensor, "kaiming_normal_")
    if _empty_noop(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def lecun_uniform_(tensor, gain=1.0, generator=None):
    """LeCun (1998): U(−a, a) with a = gain·√(3 / fan_in), i.e. variance gain²/fan_in."""
    fan_in, _ = _calculate_fan_in_and_fan_out(_check(tensor, "lecun_uniform_"))
    a = gain * math.sqrt(3.0 / fan_in)
    return uniform_(tensor, -a, a, generator)


def lecun_normal_(tensor, gain=1.0, generator=None):
    """LeCun (1998): N(0, std²) with std = gain / √fan_in (the init SELU networks expect).

    Keras draws the same variance from a normal truncated at two standard deviations;
    this is the plain normal, as its name says.
    """
    fan_in, _ = _calculate_fan_in_and_fan_out(_check(tensor, "lecun_normal_"))
    return normal_(tensor, 0.0, gain / math.sqrt(fan_in), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013).

    The tensor is viewed as (rows, everything else). Rows are orthonormal when
    rows ≤ cols, columns otherwise, so W Wᵀ = gain²·I or Wᵀ W = gain²·I.
    """
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _gen(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    # Make the decomposition unique (and the distribution uniform): sign of R's diagonal.
    d = np.sign(np.diag(r))
    d[d == 0] = 1
    q = q * d
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Martens (2010) sparse init of a 2-D weight: N(0, std²) entries, then in every column
    ``ceil(sparsity · rows)`` entries, at rows picked at random, are set to zero (torch's rule).

    Example:
        >>> import nerve as nv
        >>> w = nv.nn.init.sparse_(nv.empty(10, 4), sparsity=0.25)
        >>> [int((w.numpy()[:, j] == 0).sum()) for j in range(4)]
        [3, 3, 3, 3]
    """
    _check(tensor, "sparse_")
    if tensor.ndim != 2:
        raise ValueError(f"sparse_ needs a 2-D tensor, got shape {tuple(tensor.shape)}")
    if not 0 <= sparsity <= 1:
        raise ValueError(f"sparse_ needs 0 <= sparsity <= 1 (the fraction of zeros per column), "
                         f"got {sparsity}")
    g = _gen(generator)
    rows, cols = tensor.shape
    values = g.normal(0.0, std, size=(rows, cols))
    num_zeros = min(int(math.ceil(sparsity * rows)), rows)
    # an independent random permutation of the rows for each column: argsort of uniform keys
    picked = np.argsort(g.random((rows, cols)), axis=0)[:num_zeros]
    np.put_along_axis(values, picked, 0.0, axis=0)
    return _fill(tensor, values)


def _phi(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std²) restricted to [a, b] (a and b are absolute values, as in torch).

    Sampling is exact rejection sampling, whole-array per round: from the normal itself when
    [a, b] holds a fair share of its mass, otherwise from a uniform proposal (narrow
    intervals) or an exponential one (far tails, Robert 1995).
    """
    _check(tensor, "trunc_normal_")
    if not a < b:
        raise ValueError(f"trunc_normal_ needs a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_ needs std > 0, got {std}")
    g = _gen(generator)
    lo, hi = (a - mean) / std, (b - mean) / std       # standardized bounds
    flip = False
    if hi <= 0:                                        # mirror a left tail to the right
        lo, hi, flip = -hi, -lo, True
    mass = _phi(hi) - _phi(lo)
    n = tensor.numel()
    out = np.empty(n)
    filled = 0
    m = 0.0 if lo <= 0 <= hi else lo                  # the point of [lo, hi] nearest 0
    if mass >= 0.1:
        def propose(k):
            z = g.standard_normal(k)
            return z[(z >= lo) & (z <= hi)]
    elif math.isfinite(hi) and (hi * hi - m * m) / 2 < 3:
        def propose(k):
            z = g.uniform(lo, hi, k)
            return z[g.random(k) <= np.exp(-(z * z - m * m) / 2)]
    else:
        lam = (lo + math.sqrt(lo * lo + 4)) / 2

        def propose(k):
            z = lo + g.exponential(1 / lam, k)
            keep = (g.random(k) <= np.exp(-((z - lam) ** 2) / 2)) & (z <= hi)
            return z[keep]
    for _ in range(10_000):
        if filled >= n:
            break
        z = propose(max(2 * (n - filled), 64))[: n - filled]
        out[filled:filled + z.size] = z
        filled += z.size
    else:
        raise RuntimeError(f"trunc_normal_: could not draw enough samples in [{a}, {b}]")
    if flip:
        out = -out
    # clip guards against rounding just past a bound in the final scale-and-shift
    return _fill(tensor, np.clip(mean + std * out, a, b).reshape(tensor.shape))


_BY_NAME = {
    "zeros": zeros_, "ones": ones_, "uniform": uniform_, "normal": normal_,
    "xavier_uniform": xavier_uniform_, "glorot_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_, "glorot_normal": xavier_normal_,
    "kaiming_uniform": kaiming_uniform_, "he_uniform": kaiming_uniform_,
    "kaiming_normal": kaiming_normal_, "he_normal": kaiming_normal_,
    "lecun_uniform": lecun_uniform_, "lecun_normal": lecun_normal_,
    "orthogonal": orthogonal_, "trunc_normal": trunc_normal_, "eye": eye_,
}


def get_initializer(spec):
    """Turn an init spec into a function ``f(tensor) -> tensor``.

    ``spec`` may be a number (constant fill: ``0.01`` for a bias), a name such as
    ``'zeros'``, ``'xavier_uniform'``, ``'he_normal'`` (``'kaiming_*'`` names use the
    ReLU gain), or a callable taking the tensor.
    """
    if callable(spec):
        return spec
    if isinstance(spec, numbers.Number) and not isinstance(spec, bool):
        return lambda t: constant_(t, spec)
    if isinstance(spec, str):
        key = spec.lower().rstrip("_")
        fn = _BY_NAME.get(key)
        if fn is None:
            raise ValueError(f"unknown initializer {spec!r}; choose one of {sorted(_BY_NAME)}, a "
                             "number (constant fill) or a function of the tensor")
        if fn in (kaiming_uniform_, kaiming_normal_):
            return lambda t: fn(t, nonlinearity="relu")
        return fn
    raise TypeError(f"an initializer must be a name, a number or a function, got {type(spec).__name__}")
