"""Generic checks driven by the op table (see tests/optable.py)."""
from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest

import nerve as nv
from nerve.autograd import gradcheck, gradgradcheck
from optable import cases

ROWS = []
for path in sorted(pathlib.Path(__file__).parent.glob("ops_*.py")):
    ROWS += importlib.import_module(f"functional.{path.stem}").ROWS

CASES = cases(ROWS)


def _tensors(row, arrs, requires=True):
    mask = row.grad_mask(arrs)
    return [nv.tensor(a, requires_grad=bool(m and requires)) for a, m in zip(arrs, mask)]


def _out(t):
    return t[0] if isinstance(t, tuple) else t


def test_every_row_has_a_unique_name():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names))
    assert len(ROWS) > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("row,shapes", CASES)
def test_forward_matches_numpy(row, shapes, dtype):
    if row.ref is None or dtype not in row.dtypes:
        pytest.skip("no NumPy reference for this row")
    arrs = row.inputs(shapes, dtype)
    out = _out(row.fn(*_tensors(row, arrs, requires=False)))
    ref = np.asarray(row.ref(*[a.copy() for a in arrs]))
    assert out.shape == ref.shape
    if ref.dtype.kind in "biu":      # comparisons, indices, casts to int: exact
        assert out.dtype.kind == ref.dtype.kind, f"{row.name} gives {out.dtype}, NumPy {ref.dtype}"
        np.testing.assert_array_equal(out.numpy(), ref)
        return
    if ref.dtype.kind == "f":
        assert out.dtype == ref.dtype or out.dtype == dtype, f"{row.name} changed dtype to {out.dtype}"
    if dtype == np.float32:
        np.testing.assert_allclose(out.numpy(), ref, rtol=row.fwd_rtol32, atol=row.fwd_atol32)
    else:
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("row,shapes", CASES)
def test_backward_matches_finite_differences(row, shapes):
    arrs = row.inputs(shapes, np.float64)
    ts = _tensors(row, arrs)
    if not any(t.requires_grad for t in ts):
        pytest.skip("no differentiable input")
    assert gradcheck(lambda *xs: _out(row.fn(*xs)), ts, atol=row.gc_atol, rtol=row.gc_rtol)


@pytest.mark.parametrize("row,shapes", CASES)
def test_double_backward_matches_finite_differences(row, shapes):
    if not row.double:
        pytest.skip("second-order numerics skipped for this row (it still runs under create_graph)")
    arrs = row.inputs(shapes, np.float64)
    ts = _tensors(row, arrs)
    if not any(t.requires_grad for t in ts):
        pytest.skip("no differentiable input")
    assert gradgradcheck(lambda *xs: _out(row.fn(*xs)), ts, atol=row.gc_atol, rtol=row.gc_rtol)


@pytest.mark.parametrize("row,shapes", CASES)
def test_backward_runs_under_create_graph(row, shapes):
    """The same backward formula, run on Tensors with the graph namespace (create_graph=True),
    gives the plain backward's values, stays attached to the upstream gradient (so it is a
    graph, not constants), and can itself be differentiated."""
    arrs = row.inputs(shapes, np.float64)
    ts = _tensors(row, arrs)
    wrt = [t for t in ts if t.requires_grad]
    out = _out(row.fn(*ts))
    if not wrt or not out.requires_grad:
        pytest.skip("no differentiable input")
    v_arr = np.random.default_rng(5).standard_normal(out.shape)
    plain = nv.autograd.grad(out, wrt, nv.tensor(v_arr), allow_unused=True)
    v = nv.tensor(v_arr, requires_grad=True)
    out = _out(row.fn(*ts))
    graph = nv.autograd.grad((out * v).sum(), wrt, create_graph=True, allow_unused=True)
    for p, g in zip(plain, graph):
        assert (p is None) == (g is None)
        if g is None:
            continue
        np.testing.assert_allclose(g.numpy(), p.numpy(), rtol=1e-10, atol=1e-12)
        if np.any(p.numpy() != 0):
            assert g.requires_grad, f"{row.name}: the create_graph gradient is detached from the graph"
    used = [g for g in graph if g is not None and g.requires_grad]
    if used:
        u = [nv.tensor(np.random.default_rng(6).standard_normal(g.shape)) for g in used]
        try:
            second = nv.autograd.grad(used, wrt + [v], u, allow_unused=True)
        except RuntimeError as e:  # a once-differentiable op (svd-based norms) must say so
            if row.double or "differentiable once" not in str(e):
                raise
            return
        assert second[-1] is not None, f"{row.name}: the gradient does not depend on the upstream gradient"


def test_no_backward_branches_on_the_gradient_type():
    """One formula serves both paths: no backward asks whether it was handed a Tensor (a fused
    fast path is a namespace function, ``ctx.xp.nerve_*``, with a graph twin instead)."""
    import ast

    found = []
    for path in sorted(pathlib.Path(nv.functional.__file__).parent.glob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef) and fn.name == "backward" and len(fn.args.args) > 1:
                grad = fn.args.args[1].arg
                for node in ast.walk(fn):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" \
                            and isinstance(node.args[0], ast.Name) and node.args[0].id == grad:
                        found.append(f"{path.name}:{node.lineno}")
    assert not found, f"backward formulas that branch on the type of the gradient: {found}"


@pytest.mark.parametrize("row,shapes", CASES)
def test_backward_treats_its_upstream_gradient_as_read_only(row, shapes):
    """The gradient a backward receives is not its own: add hands one array to both of its
    inputs, sum hands a read-only broadcast, and a view or transpose of it (free for a size-1
    axis) is the same memory. Writing into it would silently change another node's gradient.
    Here it is read-only, so any write raises; the gradients must equal a writable run's."""
    arrs = row.inputs(shapes, np.float64)
    ts = _tensors(row, arrs)
    if not any(t.requires_grad for t in ts):
        pytest.skip("no differentiable input")
    out = _out(row.fn(*ts))
    if not out.requires_grad:
        pytest.skip("the output does not require grad")
    g = np.random.default_rng(3).standard_normal(out.shape).astype(out.dtype)
    out.backward(nv.tensor(g.copy()))
    want = [None if t.grad is None else t.grad.numpy().copy() for t in ts]
    for t in ts:
        t.grad = None
    out = _out(row.fn(*ts))
    g.flags.writeable = False
    upstream = nv.from_numpy(g)
    assert not upstream._data.flags.writeable
    out.backward(upstream)
    for i, (t, w) in enumerate(zip(ts, want)):
        got = None if t.grad is None else t.grad.numpy()
        assert (got is None) == (w is None), f"{row.name}: input {i}"
        if w is not None:
            np.testing.assert_array_equal(got, w, err_msg=f"{row.name}: gradient of input {i}")


@pytest.mark.parametrize("row,shapes", CASES)
def test_forward_and_backward_leave_their_inputs_alone(row, shapes):
    """No op writes into the arrays it was given (its inputs, which it may also have saved
    for backward): they are read-only here, so any write raises, and the values must equal
    a run on writable copies."""
    arrs = row.inputs(shapes, np.float64)
    want = _out(row.fn(*_tensors(row, [a.copy() for a in arrs])))
    frozen = [np.array(a, copy=True) for a in arrs]
    for a in frozen:
        a.flags.writeable = False
    ts = [nv.from_numpy(a).requires_grad_(bool(m)) for a, m in zip(frozen, row.grad_mask(frozen))]
    assert all(not t._data.flags.writeable for t in ts)
    out = _out(row.fn(*ts))
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    if out.requires_grad:
        out.backward(nv.tensor(np.random.default_rng(3).standard_normal(out.shape).astype(out.dtype)))
    for a, b in zip(frozen, arrs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("row,shapes", CASES)
def test_torch_parity(row, shapes, dtype):
    torch = pytest.importorskip("torch")
    if row.torch is None or dtype not in row.dtypes:
        pytest.skip("no torch twin for this row")
    arrs = row.inputs(shapes, dtype)
    mask = row.grad_mask(arrs)
    ts = _tensors(row, arrs)
    tt = [torch.tensor(a, requires_grad=bool(m)) for a, m in zip(arrs, mask)]
    out = _out(row.fn(*ts))
    tout = row.torch(*tt)
    tout = tout[0] if isinstance(tout, tuple) else tout
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    if out.dtype.kind in "biu":
        np.testing.assert_array_equal(out.numpy(), tout.numpy())
        assert out.dtype == tout.numpy().dtype, f"{row.name}: {out.dtype} but torch gives {tout.dtype}"
        return
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    if not out.requires_grad:
        return
    g = np.random.default_rng(7).standard_normal(out.shape).astype(dtype)
    out.backward(nv.tensor(g))
    tout.backward(torch.tensor(g))
    for t, tt_, m in zip(ts, tt, mask):
        if m:
            tg = tt_.grad.numpy() if tt_.grad is not None else np.zeros(tt_.shape, dtype)
            ng = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, dtype)
            np.testing.assert_allclose(ng, tg, rtol=rtol, atol=atol * 10)
