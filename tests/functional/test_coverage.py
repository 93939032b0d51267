"""The op table covers the whole public surface: every name in ``nerve.functional.__all__``
and every public Tensor method is called by some row, or is in EXEMPT with its reason.

"Called by a row" is measured, not declared: each row's function runs once under a
profiler, and the nerve functions it enters *directly* (called from test code, not from
inside nerve) count as covered. So ``F.cross_entropy`` does not cover ``F.log_softmax``,
and ``a + b`` covers ``Tensor.__add__`` but not ``F.add``.
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
import types

import numpy as np

import nerve as nv
import nerve.functional as F
from nerve.autograd.function import Function

from .test_optable import ROWS

# One list, one reason per name. Keep it short: an op belongs in the table.
EXEMPT = {
    # return types and shape arithmetic, not ops
    "MaxResult": "the namedtuple max() returns; its values/indices are checked by the max_* rows",
    "MinResult": "the namedtuple min() returns; checked by the min_* rows",
    "conv_output_size": "integer shape arithmetic; tested in test_conv.py",
    "conv_transpose_output_size": "integer shape arithmetic; tested in test_conv.py",
    "pool_output_size": "integer shape arithmetic; the pool rows' references use it",
    # Tensor attributes and the autograd API (not ops)
    "Tensor.backward": "runs the engine; tested in tests/autograd/test_engine.py",
    "Tensor.register_hook": "autograd API; tested in tests/autograd/test_engine.py",
    "Tensor.retain_grad": "autograd API; tested in tests/autograd/test_engine.py",
    "Tensor.register_post_accumulate_grad_hook": "autograd API; tested in tests/autograd/test_surface_edges.py",
    "Tensor.requires_grad_": "autograd flag; tested in tests/autograd/test_tensor.py",
    "Tensor.detach": "cuts the graph (no gradient by definition); tested in test_tensor.py",
    "Tensor.detach_": "cuts the graph in place; tested in test_tensor.py",
    "Tensor.dim": "metadata (an int); tested in test_tensor.py",
    "Tensor.numel": "metadata (an int); tested in test_tensor.py",
    "Tensor.size": "metadata (a tuple); tested in test_tensor.py",
    "Tensor.item": "returns a Python number; tested in test_tensor.py",
    "Tensor.tolist": "returns Python lists; tested in test_tensor.py",
    "Tensor.numpy": "returns the array; tested in test_tensor.py",
    "Tensor.cuda": "needs a CUDA GPU; tested in tests/backend with CuPy",
    "Tensor.uniform_": "random fill, no gradient; seeding and moments in tests/autograd/test_inplace.py",
    "Tensor.normal_": "random fill, no gradient; seeding and moments in tests/autograd/test_inplace.py",
    "Tensor.half": "a float16 cast: too coarse for finite differences; Tensor.float/double rows cover cast",
    # results and predicates (no gradient by definition), tested in their own files
    "SortResult": "the namedtuple sort() returns; its values/indices are checked by the sort rows",
    "TopkResult": "the namedtuple topk() returns; checked by the topk rows",
    "KthvalueResult": "the namedtuple kthvalue() returns; checked by the kthvalue rows",
    "allclose": "a bool, no gradient; torch semantics in tests/functional/test_surface.py",
    "Tensor.allclose": "a bool, no gradient; tests/functional/test_surface.py",
    "isclose": "a bool tensor, no gradient; tests/functional/test_surface.py",
    "Tensor.isclose": "a bool tensor, no gradient; tests/functional/test_surface.py",
    "equal": "a bool, no gradient; tests/functional/test_surface.py",
    "Tensor.equal": "a bool, no gradient; tests/functional/test_surface.py",
    "nonzero": "integer indices, no gradient; tests/functional/test_surface.py",
    "Tensor.nonzero": "integer indices, no gradient; tests/functional/test_surface.py",
    "multinomial": "random integer draws; frequency tests in tests/functional/test_sampling.py",
    "Tensor.multinomial": "random integer draws; tests/functional/test_sampling.py",
    "Tensor.new_zeros": "a factory (a constant); tests/functional/test_surface.py",
    "Tensor.new_ones": "a factory (a constant); tests/functional/test_surface.py",
    "Tensor.new_full": "a factory (a constant); tests/functional/test_surface.py",
    "Tensor.new_empty": "a factory (uninitialised); tests/functional/test_surface.py",
    "Tensor.new_tensor": "a factory (copies data, no graph); tests/functional/test_surface.py",
    "Tensor.__bool__": "Python conversion protocol; tested in test_tensor.py",
    "Tensor.__float__": "Python conversion protocol; tested in test_tensor.py",
    "Tensor.__int__": "Python conversion protocol; tested in test_tensor.py",
    "Tensor.__index__": "Python conversion protocol; tested in test_tensor.py",
    "Tensor.__len__": "Python sequence protocol; tested in test_tensor.py",
}

# Dunders that are Python plumbing, not operators.
_NOT_OPERATORS = {"__init__", "__repr__", "__doc__", "__module__", "__slots__", "__weakref__",
                  "__hash__", "__array_priority__", "__array_ufunc__", "__format__", "__dict__",
                  "__array__", "__iter__", "__reduce__", "__reduce_ex__", "__getstate__",
                  "__setstate__", "__copy__", "__deepcopy__", "__str__", "__dlpack__",
                  "__dlpack_device__", "__class_getitem__", "__new__"}

_NERVE = os.path.dirname(nv.__file__) + os.sep
_FUNCTIONAL = os.path.dirname(F.__file__) + os.sep
_APPLY = Function.apply.__func__.__code__


def _key(obj):
    """What a call of ``obj`` looks like to the profiler: (code, closure) or ('apply', cls)."""
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, types.MethodType) and isinstance(obj.__self__, type) \
            and issubclass(obj.__self__, Function):
        return ("apply", obj.__self__)
    obj = inspect.unwrap(obj) if callable(obj) else obj
    code = getattr(obj, "__code__", None)
    if code is None:
        return None
    return code, tuple(id(c.cell_contents) for c in (obj.__closure__ or ()))


@functools.lru_cache(maxsize=None)
def _called_by_rows():
    seen = set()

    def profile(frame, event, arg):
        if event != "call":
            return
        code, back = frame.f_code, frame.f_back
        if not code.co_filename.startswith(_NERVE) or back is None \
                or back.f_code.co_filename.startswith(_NERVE):
            return                                   # only direct calls from test code
        loc = frame.f_locals
        if code is _APPLY:
            seen.add(("apply", loc.get("cls")))
        else:
            seen.add((code, tuple(id(loc[n]) for n in code.co_freevars if n in loc)))

    for row in ROWS:
        arrs = row.inputs(row.shapes[0], np.float64)
        ts = [nv.tensor(a, requires_grad=bool(m)) for a, m in zip(arrs, row.grad_mask(arrs))]
        old = sys.getprofile()
        sys.setprofile(profile)
        try:
            row.fn(*ts)
        finally:
            sys.setprofile(old)
    return frozenset(seen)


def functional_surface():
    return {name: getattr(F, name) for name in F.__all__}


def tensor_surface():
    """Public Tensor methods and operator dunders; properties count when an op installed
    them (``T``, ``mT``), not when they are attributes (``shape``, ``grad``)."""
    out = {}
    for name in dir(nv.Tensor):
        if name.startswith("_") and not (name.startswith("__") and name not in _NOT_OPERATORS
                                         and name in vars(nv.Tensor)):
            continue
        attr = inspect.getattr_static(nv.Tensor, name)
        if isinstance(attr, property):
            if not attr.fget.__code__.co_filename.startswith(_FUNCTIONAL):
                continue
        elif not callable(attr) or isinstance(attr, type):
            continue
        out[f"Tensor.{name}"] = attr
    return out


def test_functional_all_lists_only_public_ops():
    for name in F.__all__:
        obj = getattr(F, name)
        assert not inspect.ismodule(obj), name
        assert not (isinstance(obj, type) and issubclass(obj, Function)), \
            f"{name}: Function classes are implementation, not public names"


def test_every_public_name_has_an_op_table_row_or_an_exemption():
    seen = _called_by_rows()
    surface = {**functional_surface(), **tensor_surface()}
    missing = sorted(n for n, obj in surface.items() if n not in EXEMPT and _key(obj) not in seen)
    assert not missing, (
        f"{len(missing)} public names are called by no op-table row: {', '.join(missing)}.\n"
        "Add a row to tests/functional/ops_<family>.py (or, for a non-op, an entry with its "
        "reason to EXEMPT in tests/functional/test_coverage.py).")


def test_exemptions_are_live_and_not_covered():
    seen = _called_by_rows()
    surface = {**functional_surface(), **tensor_surface()}
    stale = sorted(n for n in EXEMPT if n not in surface)
    assert not stale, f"EXEMPT names that are not public any more: {stale}"
    covered = sorted(n for n in EXEMPT if _key(surface[n]) in seen)
    assert not covered, f"EXEMPT names that a row now covers (drop the exemption): {covered}"
