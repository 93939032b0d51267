"""The op table: one row per op drives the generic forward, gradient and parity checks.

A row names the nerve function, a NumPy reference, the input shapes to try, the input
domain (to stay away from poles and kinks), and optionally the PyTorch twin. Adding an op
to the suite is adding a row to a ``tests/functional/ops_<family>.py`` module's ``ROWS``.

Every row is checked forward against NumPy, backward against finite differences, under
``create_graph`` (the same backward formula on Tensors), second-order by ``gradgradcheck``
(with respect to the inputs and the upstream gradient), and against PyTorch.
``tests/functional/test_coverage.py`` checks that the rows reach every public op.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    """Values in [0.5, 2.5): safe for log, sqrt, division."""
    return rng.uniform(0.5, 2.5, size=shape)


def away_from_zero(rng, shape):
    """|x| in [0.2, 2]: keeps finite differences off the kink at 0."""
    return rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(rng, shape):
    """Well-separated values, so max/min/sort have no near-ties for finite differences."""
    n = int(np.prod(shape)) if shape else 1
    vals = rng.permutation(n).astype(np.float64) * 0.37 - n * 0.1 + rng.uniform(-0.05, 0.05)
    return vals.reshape(shape)


UNARY_SHAPES = [((),), ((5,),), ((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)]
BINARY_SHAPES = [((), ()), ((5,), (5,)), ((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)),
                 ((3, 1), ()), ((2, 3, 1, 2), (3, 4, 1))]


@dataclass
class Op:
    name: str
    fn: Callable                      # nerve: fn(*tensors) -> Tensor
    ref: Callable | None = None       # numpy: ref(*arrays) -> array
    shapes: list = field(default_factory=lambda: UNARY_SHAPES)
    domain: Callable | list = normal  # per-input generator(rng, shape), or one for all
    make: Callable | None = None      # custom: make(rng, shapes, dtype) -> list of arrays
    torch: Callable | None = None     # torch twin: fn(*torch_tensors) -> tensor
    grad: tuple | None = None         # which inputs get gradients (default: all float inputs)
    double: bool = True               # False: skip second-order numerics (kinks, or once-differentiable)
    fwd_rtol32: float = 1e-5
    fwd_atol32: float = 1e-6
    gc_atol: float = 1e-5
    gc_rtol: float = 1e-3
    dtypes: tuple = (np.float32, np.float64)

    def inputs(self, shapes, dtype, seed=0):
        rng = np.random.default_rng(seed)
        if self.make is not None:
            arrs = self.make(rng, shapes, dtype)
        else:
            doms = self.domain if isinstance(self.domain, (list, tuple)) else [self.domain] * len(shapes)
            arrs = [np.asarray(d(rng, s)).astype(dtype) for d, s in zip(doms, shapes)]
        return arrs

    def grad_mask(self, arrs):
        if self.grad is not None:
            return list(self.grad)
        return [a.dtype.kind == "f" for a in arrs]


def cases(rows):
    """(row, shapes) pairs with readable ids for pytest.parametrize."""
    out = []
    for r in rows:
        for shp in r.shapes:
            out.append(pytest_param(r, shp))
    return out


def pytest_param(r, shp):
    import pytest  # noqa: PLC0415

    sid = "x".join("(" + ",".join(map(str, s)) + ")" for s in shp)
    return pytest.param(r, shp, id=f"{r.name}-{sid}")
