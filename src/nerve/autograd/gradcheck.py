"""Check analytic gradients against float64 central finite differences."""
from __future__ import annotations

import numpy as np

from .engine import grad as _grad
from .tensor import Tensor, _wrap


class GradcheckError(AssertionError):
    pass


def _flat_outputs(out):
    return (out,) if isinstance(out, Tensor) else tuple(o for o in out if isinstance(o, Tensor))


def _float64_inputs(inputs, op):
    """The inputs as Tensors; those that require grad must be float64 (float32 is too coarse
    for central differences)."""
    inputs = [t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in inputs]
    for t in inputs:
        if t.requires_grad and t.dtype != np.float64:
            raise ValueError(f"{op} needs float64 inputs for accurate differences, got {t.dtype}; "
                             "use .double()")
    return inputs


def _numerical_jacobian_vjp(fn, inputs, i, v, eps):
    """d(sum(out·v))/d(inputs[i]) by central differences (inputs are float64 Tensors)."""
    x = inputs[i]._data
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):  # (nothing to do for an empty array)
        orig = x[idx]
        x[idx] = orig + eps
        fp = sum(float((o._data * vv).sum()) for o, vv in zip(_flat_outputs(fn(*inputs)), v))
        x[idx] = orig - eps
        fm = sum(float((o._data * vv).sum()) for o, vv in zip(_flat_outputs(fn(*inputs)), v))
        x[idx] = orig
        g[idx] = (fp - fm) / (2 * eps)
    return g


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Compare autograd's gradients of ``fn`` with central differences.

    ``inputs`` are Tensors; those with ``requires_grad=True`` are checked. They should be
    float64: float32 is too coarse for finite differences. A random projection ``v`` of
    the outputs is used, so one backward checks the whole Jacobian-vector product.

    Returns True, or raises ``GradcheckError`` naming the input and the worst element.

    Example:
        >>> import nerve as nv
        >>> x = nv.randn(3, dtype=nv.float64, requires_grad=True)
        >>> nv.autograd.gradcheck(lambda t: (t * t).exp(), [x])
        True
    """
    inputs = _float64_inputs(inputs, "gradcheck")
    rng = np.random.default_rng(seed)
    outs = _flat_outputs(fn(*inputs))
    v = [rng.standard_normal(o.shape) for o in outs]
    diff_in = [i for i, t in enumerate(inputs) if t.requires_grad]
    diff_outs = [(o, vv) for o, vv in zip(outs, v) if o.requires_grad]
    if diff_outs:
        analytic = _grad([o for o, _ in diff_outs], [inputs[i] for i in diff_in],
                         grad_outputs=[_wrap(vv.astype(o.dtype)) for o, vv in diff_outs],
                         allow_unused=True)
    else:
        analytic = [None] * len(diff_in)
    for k, i in enumerate(diff_in):
        a = np.zeros(inputs[i].shape) if analytic[k] is None else np.asarray(analytic[k]._data, dtype=np.float64)
        n = _numerical_jacobian_vjp(fn, inputs, i, v, eps)
        bad = ~np.isclose(a, n, atol=atol, rtol=rtol)
        if bad.any():
            j = np.unravel_index(np.argmax(np.abs(a - n) * bad), a.shape) if a.ndim else ()
            msg = (f"gradcheck failed for input {i} (shape {inputs[i].shape}): at index {j} "
                   f"autograd gives {a[j]!r} but finite differences give {n[j]!r} "
                   f"({int(bad.sum())} of {a.size} elements differ)")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _first_order(fn, xs, vs, create_graph):
    """The analytic vector-Jacobian product: one gradient per differentiable input of ``xs``
    (zeros where an input is unused), for upstream gradients ``vs`` (one per output)."""
    outs = _flat_outputs(fn(*xs))
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    d = [t for t in xs if t.requires_grad]
    if not pairs:
        return [None] * len(d)
    if create_graph:
        # NOTE: sum(out·v) rather than grad_outputs=v: the engine detaches grad_outputs, and
        # the product keeps the gradient attached to v (d sum(out·v)/d out = v, exactly).
        total = None
        for o, v in pairs:
            s = (o * v).sum()
            total = s if total is None else total + s
        return list(_grad(total, d, create_graph=True, allow_unused=True))
    return list(_grad([o for o, _ in pairs], d, grad_outputs=[v for _, v in pairs],
                      allow_unused=True))


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=1):
    """Check second derivatives, as PyTorch's ``gradgradcheck`` does.

    The first-order vector-Jacobian product ``g(x, v) = vᵀ·∂fn(x)/∂x`` is built with
    ``create_graph=True`` and treated as a function of the inputs *and* of the upstream
    gradient ``v`` (which requires grad). Its own vector-Jacobian product, by a second
    backward through the graph the first one built, is compared with central differences
    of ``g`` computed on the plain (array) backward path. A part of ``g`` that is not
    attached to the graph counts as having zero derivative, so a backward formula that
    detaches part of itself fails unless that part really is constant. The first-order
    values under ``create_graph`` must also equal the plain backward's.

    Example:
        >>> import nerve as nv
        >>> x = nv.randn(3, dtype=nv.float64, requires_grad=True)
        >>> nv.autograd.gradgradcheck(lambda t: (t * t).exp(), [x])
        True
    """
    inputs = _float64_inputs(inputs, "gradgradcheck")
    diff_in = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not diff_in:
        return True
    outs = _flat_outputs(fn(*inputs))
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        v_arrays = [rng.standard_normal(o.shape) for o in outs]
    else:
        v_arrays = [np.asarray(g._data if isinstance(g, Tensor) else g, dtype=np.float64)
                    for g in grad_outputs]
    vs = [Tensor(a, requires_grad=True) for a in v_arrays]

    # g(x, v) with the graph of the gradient, and the same values on the fast path.
    first = _first_order(fn, inputs, vs, create_graph=True)
    plain = _first_order(fn, inputs, [_wrap(a) for a in v_arrays], create_graph=False)
    for k, i in enumerate(diff_in):
        a = np.zeros(inputs[i].shape) if first[k] is None else np.asarray(first[k]._data)
        b = np.zeros(inputs[i].shape) if plain[k] is None else np.asarray(plain[k]._data)
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-10, atol=1e-12):
            return _fail(f"gradgradcheck: under create_graph=True the gradient of input {i} differs "
                         f"from the plain backward's (max |diff| "
                         f"{np.max(np.abs(a - b)) if a.shape == b.shape else 'shape mismatch'})",
                         raise_exception)

    # Second order: d(sum(g(x, v)·u))/d(x, v) by a backward through g's graph ...
    u = [rng.standard_normal(inputs[i].shape) for i in diff_in]
    wrt = [inputs[i] for i in diff_in] + vs
    attached = [(g, uu) for g, uu in zip(first, u) if g is not None and g.requires_grad]
    if attached:
        analytic = _grad([g for g, _ in attached], wrt, grad_outputs=[_wrap(uu) for _, uu in attached],
                         allow_unused=True)
    else:
        analytic = [None] * len(wrt)

    # ... and by central differences of g on the array path.
    def g_dot_u():
        gs = _first_order(fn, inputs, [_wrap(a) for a in v_arrays], create_graph=False)
        return sum(float((np.asarray(g._data, dtype=np.float64) * uu).sum())
                   for g, uu in zip(gs, u) if g is not None)

    arrays = [inputs[i]._data for i in diff_in] + v_arrays
    names = [f"input {i}" for i in diff_in] + [f"grad_output {j}" for j in range(len(vs))]
    for arr, an, name in zip(arrays, analytic, names):
        num = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            orig = arr[idx]
            arr[idx] = orig + eps
            fp = g_dot_u()
            arr[idx] = orig - eps
            fm = g_dot_u()
            arr[idx] = orig
            num[idx] = (fp - fm) / (2 * eps)
        a = np.zeros(arr.shape) if an is None else np.asarray(an._data, dtype=np.float64)
        bad = ~np.isclose(a, num, atol=atol, rtol=rtol)
        if bad.any():
            j = np.unravel_index(np.argmax(np.abs(a - num) * bad), a.shape) if a.ndim else ()
            detached = " (not attached to the graph: a backward formula detached it)" if an is None else ""
            return _fail(f"gradgradcheck failed for {name} (shape {arr.shape}): at index {j} the "
                         f"second backward gives {a[j]!r}{detached} but finite differences of the "
                         f"first-order gradient give {num[j]!r} ({int(bad.sum())} of {a.size} "
                         f"elements differ)", raise_exception)
    return True
