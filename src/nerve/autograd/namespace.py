"""The namespace a backward formula calls as ``ctx.xp``.

On the fast path it is an array namespace: everything in NumPy (or CuPy) plus a few
helpers (``unbroadcast`` ...). During ``create_graph`` it is the graph namespace built by
``nerve.functional``: the same names, but each one a differentiable op on Tensors. Both
are plain attribute objects so a lookup costs what a module lookup costs.
"""
from __future__ import annotations

import types

import numpy as np

_extras = {}      # name -> fn(xp_module, *args): array implementations of helpers
_cache = {}


def unbroadcast(xp, grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting.

    Works on arrays and on Tensors (it only uses ``.sum`` and ``.reshape``).
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if axes:
        grad = grad.sum(axis=axes)
    return grad.reshape(shape)


def register_extra(name, fn):
    """Add a helper available as ``ctx.xp.<name>`` on the array path."""
    _extras[name] = fn
    for module, ns in _cache.items():
        setattr(ns, name, _bind(fn, module))


def _bind(fn, module):
    def bound(*args, **kwargs):
        return fn(module, *args, **kwargs)

    bound.__name__ = fn.__name__
    return bound


def array_namespace(module=np):
    """The attribute namespace for an array module (cached)."""
    ns = _cache.get(module)
    if ns is None:
        attrs = {k: getattr(module, k) for k in dir(module) if not k.startswith("_")}
        ns = types.SimpleNamespace(**attrs)
        ns.module = module
        for name, fn in _extras.items():
            setattr(ns, name, _bind(fn, module))
        _cache[module] = ns
    return ns


def reuse(xp, value, recompute):
    """A value forward derived from the inputs (a softmax, a CDF), for the formula to use.

    The array path reuses the saved ``value``; under create_graph the graph namespace calls
    ``recompute()`` instead, so the value is rebuilt from the inputs with differentiable
    ops and the second derivative through it is exact. The formula itself has no branch.
    """
    return value


register_extra("unbroadcast", unbroadcast)
register_extra("reuse", reuse)
