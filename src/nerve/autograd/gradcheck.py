"""Check analytic gradients against float64 central finite differences."""
from __future__ import annotations

import numpy as np

from .engine import grad as _grad
from .tensor import Tensor, _wrap


class GradcheckError(AssertionError):
    pass


def _flat_outputs(out):
    return (out,) if isinstance(out, Tensor) else tuple(o for o in out if isinstance(o, Tensor))


def _numerical_jacobian_vjp(fn, inputs, i, v, eps):
    """d(sum(out·v))/d(inputs[i]) by central differences (inputs are float64 Tensors)."""
    x = inputs[i]._data
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
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
    inputs = [t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in inputs]
    for t in inputs:
        if t.requires_grad and t.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs for accurate differences, got {t.dtype}; "
                             "use .double()")
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


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=1):
    """Check second derivatives: gradcheck of the (create_graph) vector-Jacobian product."""
    inputs = [t if isinstance(t, Tensor) else _wrap(np.asarray(t)) for t in inputs]
    rng = np.random.default_rng(seed)
    outs = _flat_outputs(fn(*inputs))
    v = [_wrap(rng.standard_normal(o.shape)) for o in outs]
    diff_in = [t for t in inputs if t.requires_grad]

    def vjp(*xs):
        o = _flat_outputs(fn(*xs))
        d = [t for t in xs if t.requires_grad]
        gs = _grad(list(o), d, grad_outputs=v, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None and g.requires_grad)

    if not diff_in:
        return True
    return gradcheck(vjp, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
