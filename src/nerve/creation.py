"""Ways to make tensors: from data, filled, ranges, identity and random."""
from __future__ import annotations

import warnings

import numpy as np

from . import backend
from . import random as _random
from .autograd._coerce import check_numeric
from .autograd.tensor import Tensor, _infer_array, _wrap, default_complex_dtype, get_default_dtype


def _finish(arr, requires_grad, device):
    if device is None and backend.get_default_device() != "cpu":  # nv.set_default_device
        device = backend.get_default_device()
    if device is not None:
        arr = backend.to_device(arr, device)
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _dt(dtype):
    return np.dtype(dtype) if dtype is not None else get_default_dtype()


def _float_dt(dtype, fn):
    """``dtype`` for a continuous random draw: floating point only (an integer dtype would
    silently round every [0, 1) sample to 0; torch refuses it too)."""
    dt = _dt(dtype)
    if dt.kind not in "fc":
        raise TypeError(f"{fn}: dtype must be floating point, got {dt}; draw floats and convert, or use "
                        "randint for integers")
    return dt


def tensor(data, dtype=None, requires_grad=False, device=None):
    """Build a tensor from data, always copying it.

    Python floats become float32 (the default dtype), ints int64.

    Example:
        >>> import nerve as nv
        >>> nv.tensor([[1, 2, 3], [4, 5, 6]]).shape
        (2, 3)
    """
    arr = _infer_array(data, dtype)
    arr = arr.copy()
    return _finish(arr, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory where it can (a NumPy array of the same dtype).

    A Tensor comes back as it is, or converted with ``.to(...)`` when ``dtype`` or
    ``device`` asks for a change; like ``torch.as_tensor`` the conversion stays in the
    graph (it used to return a detached alias or copy).
    """
    if isinstance(data, Tensor):
        return data if dtype is None and device is None else data.to(device=device, dtype=dtype)
    return _finish(_infer_array(data, dtype), False, device)


def from_numpy(array):
    """Wrap a NumPy array without copying: the tensor and the array share memory.

    As ``torch.from_numpy``, the array must hold numbers in the machine's byte order (a
    big-endian array could only be used through a copy, which would break the sharing).
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    check_numeric(array, array)
    if not array.dtype.isnative:
        raise ValueError(
            f"from_numpy: the array's byte order ({array.dtype.str}) is not the machine's, so it cannot "
            "be shared; convert it first with array.astype(array.dtype.newbyteorder('='))")
    return _finish(array, False, None)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.zeros(_size(size), dtype=_dt(dtype)), requires_grad, device)


def ones(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.ones(_size(size), dtype=_dt(dtype)), requires_grad, device)


def empty(*size, dtype=None, requires_grad=False, device=None):
    return _finish(np.empty(_size(size), dtype=_dt(dtype)), requires_grad, device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    if isinstance(fill_value, Tensor):
        if fill_value.numel() != 1:
            raise RuntimeError(f"full: fill_value must be a number or a one-element tensor, got shape "
                               f"{tuple(fill_value.shape)}")
        fill_value = fill_value.item()  # a Python number of the tensor's kind: int stays int64
    if dtype is None:
        dtype = (np.int64 if isinstance(fill_value, (int, np.integer)) and not isinstance(fill_value, bool)
                 else np.bool_ if isinstance(fill_value, bool)
                 else default_complex_dtype() if isinstance(fill_value, (complex, np.complexfloating))
                 else get_default_dtype())
    return _finish(np.full(_size((size,) if isinstance(size, int) else (size,)), fill_value, dtype=dtype),
                   requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from start (inclusive) to end (exclusive) by step."""
    if end is None:
        start, end = 0, start
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    if dtype is None:
        allint = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if allint else get_default_dtype()
    dtype = np.dtype(dtype)
    if step == 0:
        raise ValueError("arange: step must be nonzero, got 0")
    if (end - start) * step < 0:  # torch refuses rather than returning an empty tensor
        raise ValueError(f"arange: end={end} cannot be reached from start={start} with step={step}; "
                         "swap start and end or flip the sign of step")
    if dtype.kind in "iub":
        # an integer range: start, end and step are cut to integers (toward zero) first, as
        # torch does for int64: arange(-2.5, 2.5, dtype=int64) is [-2, -1, 0, 1], and
        # arange(0, 5, 1.5, dtype=int64) steps by 1. (torch's int32/int16/uint8 kernels size
        # the result from the float arguments instead, so arange(0, 5, 0.5, dtype=int32) is ten
        # zeros there; nerve uses the int64 rule for every integer dtype.)
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("arange: an integer dtype cuts the step to a whole number, and this "
                             "one becomes 0; use a step of at least 1 or a float dtype")
    if dtype.kind == "f":
        # start + i*step worked out in float64 and rounded once (torch is within an ulp of
        # this): NumPy's float32 arange steps by float32(start + step) - start, so
        # arange(1e4, 1e4 + 10, 0.001) ended 0.23 short of where it should
        arr = np.arange(start, end, step, dtype=np.float64).astype(dtype)
    else:
        arr = np.arange(start, end, step, dtype=dtype)
    return _finish(arr, requires_grad, device)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (``torch.linspace``).

    For an integer ``dtype`` the values are cut toward zero as torch does (NumPy 2 rounds
    them down, which differs for negative values): ``linspace(-5, 5, 4, dtype=int64)`` is
    ``[-5, -1, 1, 5]``.
    """
    dt = _dt(dtype)
    n = int(steps)
    if dt.kind in "iu":
        # torch's integer kernel: the ends cut to integers, a float64 step, the first half
        # counted up from start and the second half down from end, each value cut toward zero.
        # Where the exact value is a whole number torch's rounding error can land just short of
        # it (linspace(4, -18, 11, dtype=int64)[5] is -6 there, exactly -7): nerve keeps -7.
        lo, hi = int(start), int(end)
        idx = np.arange(n, dtype=np.float64)
        step = (hi - lo) / (n - 1) if n > 1 else 0.0
        vals = np.where(idx < max(n // 2, 1), lo + step * idx, hi - step * (n - 1 - idx))
        return _finish(vals.astype(dt), requires_grad, device)
    return _finish(np.linspace(start, end, n, dtype=dt), requires_grad, device)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, device=None):
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the exponent
    (``torch.logspace``). Worked out in float64 and rounded once to ``dtype``.

    Example:
        >>> import nerve as nv
        >>> nv.logspace(0, 2, 3).tolist()
        [1.0, 10.0, 100.0]
    """
    start, end, base = (v.item() if isinstance(v, Tensor) else v for v in (start, end, base))
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"logspace: steps must be a non-negative integer, got {steps!r}")
    exps = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    with np.errstate(over="ignore"):
        vals = np.power(float(base), exps)
    return _finish(vals.astype(_dt(dtype)), requires_grad, device)


def _tri_indices(fn, np_fn, row, col, offset, dtype):
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{fn}: {name} must be an integer, got {v!r}")
    if row < 0 or col < 0:
        raise ValueError(f"{fn}: row and col must be non-negative, got row={row} and col={col}")
    dt = np.dtype(dtype or np.int64)
    if dt.kind not in "iu":
        raise TypeError(f"{fn}: dtype must be an integer type, got {dt}")
    r, c = np_fn(int(row), int(offset), int(col))
    return _finish(np.stack([r, c]).astype(dt).reshape(2, -1), False, None)


def tril_indices(row, col, offset=0, *, dtype=None):
    """The (row, column) indices of the lower triangle of a ``row`` x ``col`` matrix, as a
    2 x N int64 tensor in row-major order (``torch.tril_indices``). ``offset`` shifts the
    diagonal: positive includes that many diagonals above the main one, negative excludes.

    Example:
        >>> import nerve as nv
        >>> nv.tril_indices(2, 2).tolist()
        [[0, 1, 1], [0, 0, 1]]
    """
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype)


def triu_indices(row, col, offset=0, *, dtype=None):
    """The (row, column) indices of the upper triangle of a ``row`` x ``col`` matrix, as a
    2 x N int64 tensor in row-major order (``torch.triu_indices``).

    Example:
        >>> import nerve as nv
        >>> nv.triu_indices(2, 3, 1).tolist()
        [[0, 0, 1], [1, 2, 2]]
    """
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors (``torch.meshgrid``): output ``i`` holds tensor ``i``'s
    values repeated along every other axis. ``indexing='ij'`` gives shape (len(t0), len(t1),
    ...); ``'xy'`` swaps the first two axes (NumPy's default, for plotting). Leaving it out
    means ``'ij'`` and warns, as torch does. The grids are differentiable (expanded views).

    Example:
        >>> import nerve as nv
        >>> [g.tolist() for g in nv.meshgrid(nv.tensor([1, 2]), nv.tensor([3, 4, 5]), indexing="ij")]
        [[[1, 1, 1], [2, 2, 2]], [[3, 4, 5], [3, 4, 5]]]
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: pass indexing='ij' (the default used now) or indexing='xy' "
                      "(NumPy's); torch warns about leaving it out too", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: give at least one tensor")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid: argument {i} is a {type(t).__name__}, not a Tensor")
        if t.ndim > 1:
            raise ValueError(f"meshgrid: argument {i} has shape {tuple(t.shape)}; only 0-d or 1-d "
                             "tensors make grids (flatten it first)")
        if t.dtype != tensors[0].dtype:
            raise TypeError(f"meshgrid: all tensors must have one dtype, got {tensors[0].dtype} and "
                            f"{t.dtype} (argument {i}); convert with .to(...) first")
    n = len(tensors)
    axes = list(range(n))
    if indexing == "xy" and n >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * n
    for t, ax in zip(tensors, axes):
        shape[ax] = t.numel()
    out = []
    for t, ax in zip(tensors, axes):
        view = [1] * n
        view[ax] = -1
        out.append(t.reshape(*view).expand(*shape))
    return tuple(out)


def cartesian_prod(*tensors):
    """Every combination of the elements of the 1-D ``tensors``, as rows of an
    (N, len(tensors)) tensor in row-major order (``torch.cartesian_prod``); one tensor comes
    back as it is. Differentiable.

    Example:
        >>> import nerve as nv
        >>> nv.cartesian_prod(nv.tensor([1, 2]), nv.tensor([3, 4])).tolist()
        [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or t.ndim != 1:
            raise ValueError(f"cartesian_prod: argument {i} must be a 1-d tensor, got "
                             f"{tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    n = grids[0].numel()
    out = _finish(backend.get_array_module(tensors[0]._data).empty((n, len(grids)), dtype=tensors[0].dtype),
                  False, None)
    for i, g in enumerate(grids):  # column writes: recorded, so gradients reach each input
        out[:, i] = g.reshape(-1)
    return out


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    return _finish(np.eye(n, m, dtype=_dt(dtype)), requires_grad, device)


def _like(fn):
    def like(x, dtype=None, requires_grad=False, device=None):
        return fn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad,
                  device=device or (x.device if x.device != "cpu" else None))

    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None):
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad, device=device)


def rand(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Uniform samples on [0, 1)."""
    g = _random.resolve(generator)
    return _finish(g.random(_size(size), dtype=np.float64).astype(_float_dt(dtype, "rand")),
                   requires_grad, device)


def randn(*size, dtype=None, requires_grad=False, device=None, generator=None):
    """Standard normal samples."""
    g = _random.resolve(generator)
    return _finish(g.standard_normal(_size(size)).astype(_float_dt(dtype, "randn")), requires_grad, device)


def _int_arg(v, name):
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"randint: {name} must be an integer, got {v!r}")
    return int(v)


def randint(*args, size=None, low=None, high=None, dtype=None, requires_grad=False, device=None,
            generator=None):
    """Integers drawn uniformly from [low, high), as ``torch.randint``.

    Forms: ``randint(high, size)``, ``randint(low, high, size)``, or keywords
    (``randint(low=2, high=9, size=(3,))``); ``size`` is a tuple (or an int). The result
    is int64 unless ``dtype`` says otherwise.

    Example:
        >>> import nerve as nv
        >>> x = nv.randint(3, 10, (2, 4))
        >>> x.shape, x.dtype, bool(((x >= 3) & (x < 10)).all())
        ((2, 4), dtype('int64'), True)
    """
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if len(args) == 2:
        if low is not None or high is not None:
            raise TypeError("randint: low/high given both by position and by keyword")
        low, high = args
    elif len(args) == 1:
        if high is not None:
            low, high = args[0], high
        else:
            high = args[0]
    elif args:
        raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size), got "
                        f"{len(args) + (size is not None)} positional arguments")
    if high is None:
        raise TypeError("randint: missing 'high' (use randint(high, size) or randint(low, high, size))")
    if size is None:
        raise TypeError("randint: missing 'size', a tuple such as (3,) (torch requires it too)")
    low = 0 if low is None else _int_arg(low, "low")
    high = _int_arg(high, "high")
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, got low={low} and high={high}")
    if requires_grad:
        raise RuntimeError("randint: integer tensors cannot require gradients")
    g = _random.resolve(generator)
    dt = np.dtype(dtype or np.int64)
    if dt.kind in "biu":
        # a draw outside the dtype's range would wrap around silently (randint(0, 300,
        # dtype=uint8) gave 0..43 for 256..299), so the bounds must fit, as torch demands
        lo_ok, hi_ok = (0, 1) if dt.kind == "b" else (int(np.iinfo(dt).min), int(np.iinfo(dt).max))
        if low < lo_ok or high - 1 > hi_ok:
            raise RuntimeError(f"randint: the range [{low}, {high}) does not fit dtype {dt} "
                               f"(values {lo_ok} to {hi_ok}); choose a wider dtype or narrower bounds")
    shape = _size((size,) if isinstance(size, (int, np.integer)) else (tuple(size),))
    arr = g.integers(low, high, size=shape, dtype=np.int64)
    return _finish(arr.astype(dt, copy=False), False, device)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False,
           device=None):
    """Normal samples with the given ``mean`` and ``std`` (``torch.normal``).

    Forms: ``normal(mean_tensor, std_tensor)`` (their shapes broadcast),
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)``, and with two numbers
    ``normal(mean, std, size)`` (then ``dtype`` and ``requires_grad`` apply). A tensor
    argument sets the dtype and device. The draw is not part of the graph: torch gives it a
    gradient of zero, so nothing reaches ``mean`` or ``std`` either way.

    Example:
        >>> import nerve as nv
        >>> nv.normal(nv.zeros(2, 1), nv.ones(3)).shape
        (2, 3)
    """
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number for both mean and std, give size too, e.g. "
                            "normal(0.0, 1.0, (3,))")
        shape, dt = _size((size,) if isinstance(size, (int, np.integer)) else (tuple(size),)), \
            _float_dt(dtype, "normal")
    else:
        if size is not None:
            raise TypeError("normal: size is only for normal(mean, std, size) with two numbers; "
                            "with a tensor the shape comes from mean and std")
        for t in tensors:
            if t.dtype.kind != "f":
                raise TypeError(f"normal: mean and std must be floating point, got dtype {t.dtype}")
        dt = np.result_type(*(t.dtype for t in tensors))
        device = backend.device_of(tensors[0]._data) if device is None else device
        try:
            shape = np.broadcast_shapes(*(tuple(v.shape) if isinstance(v, Tensor) else () for v in (mean, std)))
        except ValueError:
            raise ValueError(f"normal: mean of shape {tuple(getattr(mean, 'shape', ()))} and std of shape "
                             f"{tuple(getattr(std, 'shape', ()))} do not broadcast") from None
    m, sd = (np.asarray(backend.to_device(v._data, "cpu") if isinstance(v, Tensor) else v, dtype=np.float64)
             for v in (mean, std))
    if np.any(sd < 0) or np.any(np.isnan(sd)):
        raise ValueError("normal: std must be >= 0 everywhere, got a negative (or NaN) value")
    g = _random.resolve(generator)
    out = (m + sd * g.standard_normal(shape)).astype(dt)
    return _finish(out, requires_grad and not tensors, device)


def randperm(n, *, generator=None, dtype=None, requires_grad=False, device=None):
    """A random permutation of 0 … n − 1 (int64 by default), as ``torch.randperm``.

    Example:
        >>> import nerve as nv
        >>> sorted(nv.randperm(5).tolist())
        [0, 1, 2, 3, 4]
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative integer, got {n!r}")
    g = _random.resolve(generator)
    dt = np.dtype(dtype or np.int64)
    return _finish(g.permutation(int(n)).astype(dt), requires_grad, device)


def rand_like(x, dtype=None, requires_grad=False):
    return rand(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, dtype=None, requires_grad=False):
    return randn(*x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def bernoulli(input, p=None, *, generator=None):  # noqa: A002  (PyTorch's parameter name)
    """Independent 0/1 draws, 1 with probability ``input`` elementwise (``torch.bernoulli``).

    With a float ``p`` every element uses that probability and ``input`` only gives the shape,
    dtype and device. The result has ``input``'s dtype and device and no gradient. Draws come
    from the global generator (or ``generator``), on the host.

    Example:
        >>> import nerve as nv
        >>> bernoulli(nv.tensor([0.0, 1.0, 1.0, 0.0])).tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli expects a Tensor of probabilities, got {type(input).__name__}")
    probs = np.asarray(backend.to_device(input.data, "cpu"), dtype=np.float64) if p is None else float(p)
    if np.any(np.isnan(probs)) or np.any(probs < 0) or np.any(probs > 1):
        bad = probs if np.ndim(probs) == 0 else probs[np.isnan(probs) | (probs < 0) | (probs > 1)][0]
        raise ValueError(f"bernoulli: probabilities must lie in [0, 1], got {float(bad)!r}")
    g = _random.resolve(generator)
    draws = (g.random(tuple(input.shape)) < probs).astype(input.dtype)
    return _finish(draws, False, backend.device_of(input.data))


__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "arange",
           "linspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like", "rand",
           "randn", "randint", "randperm", "rand_like", "randn_like", "bernoulli",
           "logspace", "tril_indices", "triu_indices", "normal",
           "meshgrid", "cartesian_prod"]
