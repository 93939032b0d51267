"""Every differentiable op, one file per family; also ``nerve.nn.functional``.

Importing this package attaches the op methods and operators to ``Tensor`` and gives the
autograd engine its graph namespace (the differentiable twin of ``ctx.xp``).
"""
from __future__ import annotations

import types

from ..autograd import engine as _engine
from ..autograd.namespace import unbroadcast as _unbroadcast
from ..autograd.tensor import Tensor as _Tensor
from . import elementwise, linalg, reduction, shape
from .elementwise import *  # noqa: F401,F403
from .linalg import (addmm, baddbmm, bmm, einsum, linalg_norm, linear, matmul,  # noqa: F401
                     matrix_norm, mm, tril, triu, vector_norm)
from .reduction import *  # noqa: F401,F403,A004
from .shape import *  # noqa: F401,F403

_FAMILIES = [elementwise, reduction, shape, linalg]

# Optional families: present once their files exist.
for _name in ("sorting", "sampling", "tensor_api", "activation", "loss", "conv", "pooling",
              "normalization", "dropout", "inplace", "conversion", "recurrent", "attention", "sparse",
              "aggregation"):
    try:
        _mod = __import__(f"{__name__}.{_name}", fromlist=["*"])
    except ModuleNotFoundError as _e:  # only swallow the family itself being absent
        if _e.name != f"{__name__}.{_name}":
            raise
        continue
    _FAMILIES.append(_mod)
    globals().update({k: getattr(_mod, k) for k in getattr(_mod, "__all__", [])})


def _public(module):
    """A family's public ops: its ``__all__``, else every function the file defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [k for k, v in vars(module).items() if not k.startswith("_")
                 and isinstance(v, types.FunctionType) and v.__module__ == module.__name__]
    return list(names)


__all__ = sorted({n for fam in _FAMILIES for n in _public(fam)})


def _as_function(apply):
    def method(*args):
        return apply(*args)

    method.__name__ = apply.__self__.__name__.lower()
    return method


def _install():
    ns = {}
    for fam in _FAMILIES:
        for name, fn in getattr(fam, "TENSOR_METHODS", {}).items():
            if isinstance(fn, types.MethodType):  # Function.apply: bind as a plain function
                fn = _as_function(fn)
            setattr(_Tensor, name, fn)
        ns.update(getattr(fam, "GRAPH_NAMESPACE", {}))
    ns["unbroadcast"] = lambda grad, shape: _unbroadcast(None, grad, shape)
    ns["reuse"] = lambda value, recompute: recompute()
    _engine.graph_namespace = types.SimpleNamespace(**ns)


_install()
