"""Tensor ops at their edges, against PyTorch: value and every input gradient (of
``sum(out * w)`` with a random ``w``), in float64 and float32, for indexing with repeated and
negative indices, shape ops on non-contiguous inputs, reductions with ties, zeros and empty
dims, elementwise ops at special values, dtype promotion, and the matmul family. Each case
also runs once with read-only input arrays and a read-only upstream gradient (a fast path that
writes into an array it was given shows up only there).

A case is ``(id, fn, inputs)``: ``fn(L, *tensors)`` runs once with ``L = nerve.functional`` on
nerve tensors and once with ``L = torch`` on torch tensors (a case gives ``tfn`` where the
spelling differs). Float inputs take a gradient; ``NC(array, layout)`` hands nerve a
non-contiguous view (``"T"``: a transposed copy, ``"S"``: every other element of a wider array,
``"B"``: a broadcast view with zero strides); integer and bool inputs are constants.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


class NC:
    """A float input that nerve receives as a non-contiguous view of the same values."""

    def __init__(self, a, layout):
        self.a = np.asarray(a, dtype=np.float64)
        self.layout = layout


def _view(a, layout):
    if layout == "T":
        v = np.ascontiguousarray(a.T).T
    elif layout == "S":
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        wide[..., ::2] = a
        v = wide[..., ::2]
    elif layout == "B":  # a has a size-1 leading dim that is repeated three times
        v = np.broadcast_to(a, (3,) + a.shape[1:])
    else:
        raise AssertionError(layout)
    assert v.ndim < 2 or not v.flags.c_contiguous or layout == "B"
    return v


def _float(a):
    return a.dtype.kind == "f"


def _inputs(specs, dtype, readonly):
    """Parallel nerve and torch inputs; the float ones take a gradient."""
    n_in, t_in, n_leaves, t_leaves = [], [], [], []
    for s in specs:
        layout = None
        if isinstance(s, NC):
            a, layout = s.a, s.layout
        else:
            a = np.asarray(s)
        if _float(a):
            a = a.astype(dtype)
        if layout is not None:
            na = _view(a.copy(), layout)
            ta = np.array(na)  # torch gets the same values (broadcast view materialised)
        else:
            na = a.copy()
            ta = a.copy()
        if readonly and na.flags.writeable:
            na.flags.writeable = False
        if readonly or layout is not None:
            nt = nv.from_numpy(na)
        else:
            nt = nv.tensor(na)
        tt = torch.from_numpy(ta.copy())
        if _float(a):
            nt.requires_grad_(True)
            tt.requires_grad_(True)
            n_leaves.append(nt)
            t_leaves.append(tt)
        n_in.append(nt)
        t_in.append(tt)
    return n_in, t_in, n_leaves, t_leaves


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def _np(t):
    return np.asarray(t.detach().numpy()) if hasattr(t, "detach") else np.asarray(t)


def _tdt(t):
    return str(t.dtype).replace("torch.", "")


def _run(fn, tfn, specs, dtype, readonly):
    n_in, t_in, nl, tl = _inputs(specs, dtype, readonly)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_outs = _flat((tfn or fn)(torch, *t_in))
    n_outs = _flat(fn(F, *n_in))
    assert len(n_outs) == len(t_outs)
    rng = np.random.default_rng(0)
    ups = [rng.uniform(0.5, 1.5, size=tuple(o.shape)).astype(_tdt(o)) if o.dtype.is_floating_point
           else None for o in t_outs]
    n_grads = t_grads = None
    pairs = [(n, t, u) for n, t, u in zip(n_outs, t_outs, ups) if u is not None and t.requires_grad]
    if tl and pairs:
        t_grads = torch.autograd.grad([p[1] for p in pairs], tl, [torch.from_numpy(p[2].copy()) for p in pairs],
                                      allow_unused=True)
        n_up = []
        for _, _, u in pairs:
            u = u.copy()
            if readonly:
                u.flags.writeable = False
            n_up.append(nv.from_numpy(u))
        n_grads = nv.autograd.grad([p[0] for p in pairs], nl, n_up, allow_unused=True)
    return n_outs, t_outs, n_grads, t_grads, n_in


def _tol(dtype, loose):
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    if loose:
        tol = dict(rtol=max(tol["rtol"], loose), atol=max(tol["atol"], loose))
    return tol


def _compare(fn, tfn, specs, dtype, readonly=False, loose=None):
    before = [np.array(s.a if isinstance(s, NC) else s) for s in specs]
    n_outs, t_outs, n_grads, t_grads, n_in = _run(fn, tfn, specs, dtype, readonly)
    tol = _tol(dtype, loose)
    for i, (n, t) in enumerate(zip(n_outs, t_outs)):
        nv_val, t_val = _np(n), _np(t)
        assert nv_val.shape == t_val.shape, (i, nv_val.shape, t_val.shape)
        assert str(nv_val.dtype) == _tdt(t), (i, nv_val.dtype, t.dtype)
        if nv_val.dtype.kind == "f":  # a float32 result (from int inputs) gets float32 tolerance
            np.testing.assert_allclose(nv_val, t_val, equal_nan=True, err_msg=f"value {i}",
                                       **_tol(np.float64 if nv_val.dtype == np.float64 else np.float32, loose))
        else:
            np.testing.assert_array_equal(nv_val, t_val, err_msg=f"value {i}")
    if t_grads is not None:
        for i, (a, b) in enumerate(zip(n_grads, t_grads)):
            shape = tuple(n_in[0].shape)
            b = None if b is None else b.numpy()
            a = None if a is None else _np(a)
            if a is None and (b is None or not np.any(b)):
                continue  # no gradient where torch's is all zeros (or empty)
            if b is None:
                b = np.zeros_like(a)
            assert a is not None, f"input {i}: nerve gives no gradient, torch gives {b}"
            assert a.shape == b.shape, (i, a.shape, b.shape, shape)
            np.testing.assert_allclose(a, b, equal_nan=True, err_msg=f"grad of input {i}", **tol)
    for s, b in zip(specs, before):  # the op never writes into its inputs
        np.testing.assert_array_equal(np.asarray(s.a if isinstance(s, NC) else s), b)


# ------------------------------------------------------------------------- cases
R = np.random.default_rng(11)
CASES = []


def _n(*shape):
    return R.standard_normal(shape)


def case(cid, fn, *inputs, tfn=None, loose=None, dtypes=(np.float64, np.float32)):
    CASES.append(pytest.param(fn, tfn, inputs, loose, dtypes, id=cid))


def I(*v):  # noqa: E743 - an int64 index array
    return np.array(v, dtype=np.int64)


def B(*v):
    return np.array(v, dtype=bool)


def _set(idx):
    """``y = x * 1; y[idx] = v; return y``; ``v`` from the second input when given."""
    def fn(L, x, *v):
        y = x * 1
        y[idx] = v[0] if v else 7.0
        return y
    return fn


# indexing ---------------------------------------------------------------------------------
X34 = _n(3, 4)
# torch has no negative steps: its twin flips
case("getitem-neg-step", lambda L, x: x[::-1, ::-2], X34, tfn=lambda L, x: x.flip(0, 1)[:, ::2])
case("getitem-neg-step-T", lambda L, x: x[::-1, 1::-1], NC(X34, "T"), tfn=lambda L, x: x.flip(0)[:, :2].flip(1))
case("getitem-none-ellipsis", lambda L, x: x[None, ..., 1:, None], X34)
case("getitem-ellipsis-int", lambda L, x: x[..., -1], _n(2, 3, 4))
case("getitem-repeat-int", lambda L, x: x[I(0, 0, 2, 0, -1)], X34)
case("getitem-repeat-2d", lambda L, x: x[I(1, 1, -1), I(3, 3, 0)], X34)
case("getitem-repeat-nd-idx", lambda L, x: x[I(0, 2, 0, 0).reshape(2, 2)], X34)
case("getitem-repeat-dim1", lambda L, x: x[:, I(2, 2, -4)], NC(X34, "T"))
case("getitem-repeat-mid", lambda L, x: x[1:, I(0, 0), None], _n(3, 4, 2))
case("getitem-adv-split", lambda L, x: x[I(0, 1, 0), :, I(1, 1, 1)], _n(2, 3, 2))
case("getitem-bcast-idx", lambda L, x: x[I(0, 2, 2).reshape(3, 1), I(1, 1)], X34)
case("getitem-mask-allfalse", lambda L, x: x[np.zeros((3, 4), bool)], X34)
case("getitem-mask-alltrue", lambda L, x: x[np.ones((3, 4), bool)], X34)
case("getitem-mask-rows", lambda L, x: x[B(True, False, True)], X34)
case("getitem-mask-rows-none", lambda L, x: x[B(False, False, False)], X34)
case("getitem-mask-cols-T", lambda L, x: x[:, B(True, False, True, True)], NC(X34, "T"))
case("getitem-bool-scalar", lambda L, x: x[True], X34, tfn=lambda L, x: x[None])
case("getitem-0d-int-tensor", lambda L, x, i: x[i], X34, np.int64(-1))
case("getitem-tensor-idx", lambda L, x, i: x[i, 1:], X34, I(2, 0, 2))
case("getitem-empty-idx", lambda L, x: x[I()], X34)
case("getitem-empty-slice", lambda L, x: x[2:1], X34)
case("getitem-broadcast-view", lambda L, x: x[I(0, 2, 2)], NC(_n(1, 4), "B"))
case("setitem-bcast-row", _set((slice(None), 1)), X34, _n(1))
case("setitem-bcast-value", _set(1), X34, _n(4))
case("setitem-repeat-same-value", _set(I(0, 0, 2)), X34, _n(4))
case("setitem-mask", _set(np.array([[True, False, True, False]] * 3)), X34, _n(6))
case("setitem-mask-bcast", _set(B(False, True, True)), X34, _n(4))
case("setitem-scalar", _set((I(0, 2), I(-1, 1))), X34)
case("setitem-neg-step", _set((slice(None, None, -2),)), X34, _n(2, 4), tfn=_set((I(2, 0),)))
case("setitem-T", _set((slice(None), slice(1, 3))), NC(X34, "T"), _n(3, 1))
case("setitem-mask-allfalse", _set(np.zeros((3, 4), bool)), X34, _n(0))
case("setitem-empty-idx", _set(I()), X34, _n(4))
case("setitem-into-zeros",
     lambda L, v: _set((slice(None), I(1, 3)))(L, (torch if L is torch else nv).zeros(2, 4, dtype=v.dtype), v),
     _n(2, 2))
case("setitem-int-float-value", lambda L, x: _set(0)(L, x), np.array([[1, 2], [3, 4]]))
case("setitem-f32-f64-value", lambda L, x: _set(0)(L, x, torch_or_nv(L, np.array([0.1, 0.2]))), _n(2, 2),
     dtypes=(np.float32,))
case("setitem-0d-value-grad", _set((slice(None), -1)), X34, np.float64(0.25))
case("index_select-dup", lambda L, x: L.index_select(x, 1, torch_or_nv(L, I(3, 3, 0, -1 + 4))), X34)
case("index_select-dim-neg", lambda L, x: L.index_select(x, -2, torch_or_nv(L, I(2, 2))), NC(X34, "T"))
case("index_select-empty", lambda L, x: L.index_select(x, 0, torch_or_nv(L, I())), X34)
case("index_select-0d-idx", lambda L, x: L.index_select(x, 0, torch_or_nv(L, np.int64(1))), X34)
case("gather-dup", lambda L, x: L.gather(x, 1, torch_or_nv(L, I(0, 0, 0, 3, 3, 1).reshape(3, 2))), X34)
case("gather-dim0-T", lambda L, x: L.gather(x, 0, torch_or_nv(L, I(2, 2, 2, 0).reshape(1, 4))),
     NC(X34, "T"))
case("gather-neg-dim", lambda L, x: L.gather(x, -1, torch_or_nv(L, I(1, 1).reshape(1, 2))), X34)
case("gather-empty", lambda L, x: L.gather(x, 1, torch_or_nv(L, np.zeros((3, 0), np.int64))), X34)
case("scatter_add-dup", lambda L, x, s: L.scatter_add(x, 1, torch_or_nv(L, I(0, 0, 1, 1, 3, 3).reshape(3, 2)), s),
     X34, _n(3, 2))
case("scatter_add-dim0-dup",
     lambda L, x, s: L.scatter_add(x, 0, torch_or_nv(L, I(2, 2, 2, 2, 0, 0, 0, 0).reshape(2, 4)), s),
     NC(X34, "T"), _n(2, 4))
case("scatter-src-unique", lambda L, x, s: L.scatter(x, 1, torch_or_nv(L, I(3, 0, 1, 2, 0, 3).reshape(3, 2)), s),
     X34, _n(3, 2))
case("scatter-value", lambda L, x: L.scatter(x, 0, torch_or_nv(L, I(1, 0, 2, 1).reshape(1, 4)), 2.5), X34)
case("scatter-value-dup", lambda L, x: L.scatter(x, 1, torch_or_nv(L, I(1, 1, 1).reshape(3, 1)), -1.0), X34)
case("index_add-dup", lambda L, x, s: L.index_add(x, 0, torch_or_nv(L, I(2, 2, 0)), s), X34, _n(3, 4))
case("index_add-alpha-dim1", lambda L, x, s: L.index_add(x, 1, torch_or_nv(L, I(3, 3)), s, alpha=-2.5),
     NC(X34, "T"), _n(3, 2))
case("index_fill-dup", lambda L, x: L.index_fill(x, 1, torch_or_nv(L, I(1, 1, 3)), -3.0), X34)
case("index_fill-neg-dim", lambda L, x: L.index_fill(x, -2, torch_or_nv(L, I(0)), 0.5), X34)
case("masked_fill-bcast", lambda L, x: L.masked_fill(x, torch_or_nv(L, B(True, False, False, True)), 9.0), X34)
case("masked_fill-allfalse", lambda L, x: L.masked_fill(x, torch_or_nv(L, np.zeros((3, 4), bool)), 9.0), X34)
case("masked_fill-tensor-value", lambda L, x, v: L.masked_fill(x, torch_or_nv(L, B(True, False, True, True)), v),
     X34, np.float64(1.5), tfn=lambda L, x, v: x.masked_fill(torch.tensor([True, False, True, True]), v))
case("index_put-accumulate-dup", lambda L, x, v: L.index_put(x, (torch_or_nv(L, I(0, 0, 2)),), v, accumulate=True),
     X34, _n(3, 4), tfn=lambda L, x, v: x.index_put((torch.tensor([0, 0, 2]),), v, accumulate=True))
case("index_put-accumulate-2d-dup-bcast",
     lambda L, x, v: L.index_put(x, (torch_or_nv(L, I(1, 1, -1)), torch_or_nv(L, I(0, 0, 3))), v, accumulate=True),
     X34, np.float64(0.7), tfn=lambda L, x, v: x.index_put((torch.tensor([1, 1, -1]), torch.tensor([0, 0, 3])), v,
                                                            accumulate=True))
case("index_put-accumulate-mask",
     lambda L, x, v: L.index_put(x, (torch_or_nv(L, B(True, False, True)),), v, accumulate=True),
     X34, _n(4), tfn=lambda L, x, v: x.index_put((torch.tensor([True, False, True]),), v, accumulate=True))
case("index_put-unique", lambda L, x, v: L.index_put(x, (torch_or_nv(L, I(2, -3)),), v),
     X34, _n(2, 4), tfn=lambda L, x, v: x.index_put((torch.tensor([2, -3]),), v))


# shape ops on non-contiguous inputs ------------------------------------------------------
X234 = _n(2, 3, 4)
for lay in ("T", "S"):
    case(f"reshape-{lay}", lambda L, x: x.reshape(4, 3), NC(X34, lay))
    case(f"reshape-neg1-{lay}", lambda L, x: x.reshape(-1), NC(X34, lay))
    case(f"view-{lay}", lambda L, x: x.contiguous().view(2, 6), NC(X34, lay))
    case(f"flatten-{lay}", lambda L, x: L.flatten(x, 1), NC(X234, lay))
    case(f"permute-{lay}", lambda L, x: L.permute(x, (2, 0, 1)), NC(X234, lay))
    case(f"movedim-{lay}", lambda L, x: L.movedim(x, (0, -1), (-1, 1)), NC(X234, lay))
    case(f"squeeze-{lay}", lambda L, x: L.squeeze(x[:, :1], 1), NC(X34, lay))
    case(f"unsqueeze-neg-{lay}", lambda L, x: L.unsqueeze(x, -1), NC(X34, lay))
    case(f"expand-{lay}", lambda L, x: x[:1].expand(2, 3, 4), NC(X34, lay))
    case(f"repeat-{lay}", lambda L, x: x.repeat(2, 1, 2), NC(X34, lay))
    case(f"tile-{lay}", lambda L, x: L.tile(x, (2,)), NC(X34, lay))
    case(f"flip-{lay}", lambda L, x: L.flip(x, (0, -1)), NC(X34, lay))
    case(f"narrow-{lay}", lambda L, x: L.narrow(x, -1, 1, 2), NC(X34, lay))
    case(f"split-{lay}", lambda L, x: L.split(x, 3, dim=1), NC(X34, lay))
    case(f"split-sections-{lay}", lambda L, x: L.split(x, [0, 3, 1], dim=-1), NC(X34, lay))
    case(f"chunk-{lay}", lambda L, x: L.chunk(x, 3, dim=1), NC(X34, lay))
    case(f"unbind-{lay}", lambda L, x: L.unbind(x, -1), NC(X34, lay))
    case(f"stack-{lay}", lambda L, x, y: L.stack([x, y, x], -1), NC(X34, lay), _n(3, 4))
    case(f"cat-{lay}", lambda L, x, y: L.cat([x, y, x[:0]], 0), NC(X34, lay), _n(1, 4))
    case(f"transpose-{lay}", lambda L, x: L.transpose(x, 0, -1), NC(X234, lay))
    case(f"tril-{lay}", lambda L, x: L.tril(x, -1), NC(X34, lay))
    case(f"triu-{lay}", lambda L, x: L.triu(x, 2), NC(X34, lay))
for lay in ("B",):
    case(f"reshape-{lay}", lambda L, x: x.reshape(4, 3), NC(_n(1, 4), lay))
    case(f"permute-{lay}", lambda L, x: L.permute(x, (1, 0)), NC(_n(1, 4), lay))
    case(f"flip-{lay}", lambda L, x: L.flip(x, (0, 1)), NC(_n(1, 4), lay))
    case(f"sum-{lay}", lambda L, x: L.sum(x, 0), NC(_n(1, 4), lay))
    case(f"cumsum-{lay}", lambda L, x: L.cumsum(x, 0), NC(_n(1, 4), lay))
    case(f"matmul-{lay}", lambda L, x, y: L.matmul(x, y), NC(_n(1, 4), lay), _n(4, 2))
    case(f"mul-inplace-target-{lay}", lambda L, x: x * x, NC(_n(1, 4), lay))
case("squeeze-all", lambda L, x: L.squeeze(x), _n(1, 3, 1))
case("squeeze-nonunit", lambda L, x: L.squeeze(x, 1), _n(1, 3, 1))
case("squeeze-0d", lambda L, x: L.squeeze(x, 0), np.float64(2.0))
case("movedim-0d", lambda L, x: L.movedim(x, 0, -1), np.float64(2.0))
case("unsqueeze-0d", lambda L, x: L.unsqueeze(x, -1), np.float64(2.0))
case("cat-empty-1d", lambda L, x, y: L.cat([x, y], 0), _n(0), _n(3))
case("stack-size1", lambda L, x: L.stack([x], 0), _n(1, 1))
case("split-empty-dim", lambda L, x: L.split(x, 2, dim=1), _n(3, 0))
case("chunk-uneven", lambda L, x: L.chunk(x, 4, dim=0), _n(5, 2))
case("chunk-more-than-size", lambda L, x: L.chunk(x, 6, dim=0), _n(3, 2))
case("repeat-newdims", lambda L, x: x.repeat(2, 1, 1, 3), _n(3, 1))
case("repeat-zero", lambda L, x: x.repeat(0, 2), _n(3, 1))
case("tile-fewer", lambda L, x: L.tile(x, (2, 1, 2)), _n(3, 1))
case("expand-neg1", lambda L, x: x.expand(2, -1, 4), _n(3, 1))
case("tril-beyond", lambda L, x: L.tril(x, 5), X34)
case("tril-beyond-neg", lambda L, x: L.tril(x, -5), X34)
case("triu-beyond", lambda L, x: L.triu(x, 7), X34)
case("triu-neg-batch", lambda L, x: L.triu(x, -1), X234)
case("flip-empty-dims", lambda L, x: L.flip(x, ()), X34)
case("narrow-zero-len", lambda L, x: L.narrow(x, 0, 3, 0), X34)
case("narrow-neg-start", lambda L, x: L.narrow(x, 1, -2, 2), X34)
case("t-1d", lambda L, x: L.t(x), _n(3))
case("swapaxes-same", lambda L, x: L.swapaxes(x, 1, 1), X34)

# reductions --------------------------------------------------------------------------------
Z1 = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 3.0, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
TIE = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 0.0, -1.0, -1.0]])
case("sum-multi-neg", lambda L, x: L.sum(x, (-1, 0)), X234)
case("sum-keepdim-T", lambda L, x: L.sum(x, -1, keepdim=True), NC(X34, "T"))
case("sum-empty-dim", lambda L, x: L.sum(x, 1), _n(3, 0))
case("sum-empty-all", lambda L, x: L.sum(x), _n(0, 2))
case("mean-multi-keep", lambda L, x: L.mean(x, (0, 2), keepdim=True), NC(X234, "S"))
case("mean-0d", lambda L, x: L.mean(x), np.float64(3.0))
case("prod-zeros", lambda L, x: L.prod(x, 1), Z1)
case("prod-zeros-dim0", lambda L, x: L.prod(x, 0, keepdim=True), Z1)
case("prod-all-one-zero", lambda L, x: L.prod(x), np.array([[2.0, 0.0], [3.0, -1.5]]))
case("prod-all-two-zeros", lambda L, x: L.prod(x), np.array([[2.0, 0.0], [0.0, -1.5]]))
case("prod-all-T", lambda L, x: L.prod(x), NC(np.array([[2.0, 0.5], [3.0, -1.5]]), "T"))
case("prod-1elem", lambda L, x: L.prod(x, 0), np.array([[0.0, 2.0]]))
case("max-all-ties", lambda L, x: L.max(x), TIE)
case("min-all-ties", lambda L, x: L.min(x), TIE)
case("amax-ties", lambda L, x: L.amax(x, 1), TIE)
case("amin-ties-multi", lambda L, x: L.amin(x, (0, 1)), TIE)
case("amax-ties-keep-neg", lambda L, x: L.amax(x, -2, keepdim=True), TIE)
case("max-dim-ties", lambda L, x: L.max(x, 1), TIE)
case("min-dim-ties-keep", lambda L, x: L.min(x, 0, keepdim=True), TIE)
case("max-dim-T", lambda L, x: L.max(x, -1), NC(TIE, "T"))
case("maximum-ties", lambda L, x, y: L.maximum(x, y), TIE, TIE[::-1].copy() * 0 + 2.0)
case("minimum-ties-bcast", lambda L, x, y: L.minimum(x, y), TIE, np.array([3.0, 2.0, 0.0, -2.0]))
case("argmax-ties", lambda L, x: L.argmax(x, 1), TIE)
case("argmin-ties-all", lambda L, x: L.argmin(x), TIE)
case("argmax-keep", lambda L, x: L.argmax(x, 0, keepdim=True), TIE)
case("logsumexp-neginf", lambda L, x: L.logsumexp(x, 1),
     np.array([[-np.inf, -np.inf], [0.0, -np.inf], [1.0, 2.0]]))
case("logsumexp-multi", lambda L, x: L.logsumexp(x, (0, -1), keepdim=True), X234)
case("logsumexp-big", lambda L, x: L.logsumexp(x, 0), np.array([1000.0, -1000.0]))
NEGINF = np.array([[-np.inf, 0.0, 1.0], [-np.inf, -np.inf, -np.inf], [1e4, -1e4, 1e4]])
case("softmax-neginf", lambda L, x: L.softmax(x, -1), NEGINF)
case("log_softmax-neginf", lambda L, x: L.log_softmax(x, 1), NEGINF)
case("softmax-dim0-T", lambda L, x: L.softmax(x, 0), NC(NEGINF, "T"))
case("softmax-size1", lambda L, x: L.softmax(x, 1), _n(3, 1))
case("softmax-0d", lambda L, x: L.softmax(x, 0), np.float64(2.0))
case("log_softmax-empty", lambda L, x: L.log_softmax(x, 0), _n(0, 3))
case("norm-zero", lambda L, x: L.norm(x), np.zeros((2, 3)))
case("norm-zero-dim", lambda L, x: L.norm(x, dim=1), np.array([[0.0, 0.0], [3.0, 4.0]]))
case("norm-p1-zero", lambda L, x: L.norm(x, p=1, dim=1), np.array([[0.0, 0.0], [3.0, -4.0]]))
case("norm-inf-ties", lambda L, x: L.norm(x, p=float("inf"), dim=1), np.array([[2.0, -2.0], [3.0, -4.0]]))
ZROW = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, -2.0]])
for _p in (3, 0.5, 1.5, -1):
    case(f"norm-p{_p}-zero-row", lambda L, x, p=_p: L.norm(x, p=p, dim=1), ZROW)
case("norm-p3", lambda L, x: L.norm(x, p=3, dim=0), X34)
for corr in (0, 1):
    case(f"var-c{corr}", lambda L, x, c=corr: L.var(x, 1, correction=c), X34)
    case(f"std-c{corr}-multi", lambda L, x, c=corr: L.std(x, (0, 2), correction=c, keepdim=True), X234)
    case(f"std-c{corr}-const", lambda L, x, c=corr: L.std(x, 1, correction=c), np.ones((2, 3)))
    case(f"var-c{corr}-1elem", lambda L, x, c=corr: L.var(x, 1, correction=c), _n(2, 1))
    case(f"std-c{corr}-1elem", lambda L, x, c=corr: L.std(x, 0, correction=c), _n(1, 2))
case("var-c2", lambda L, x: L.var(x, 1, correction=2), X34)
case("var_mean", lambda L, x: L.var_mean(x, -1), X34)
case("std_mean-c0", lambda L, x: L.std_mean(x, 0, correction=0), X34)
case("var-empty", lambda L, x: L.var(x, 1), _n(2, 0))
case("cumsum-neg-T", lambda L, x: L.cumsum(x, -2), NC(X34, "T"))
case("cumsum-empty", lambda L, x: L.cumsum(x, 0), _n(0, 3))
case("cumsum-0d", lambda L, x: L.cumsum(x, 0), np.float64(2.0))
case("cumprod-zeros", lambda L, x: L.cumprod(x, 1), Z1)
case("cumprod-two-zeros", lambda L, x: L.cumprod(x, 0), np.array([0.0, 2.0, 0.0, 3.0]))
case("cumprod-zero-first", lambda L, x: L.cumprod(x, -1), np.array([[0.0, 2.0, 3.0], [2.0, 3.0, 0.0]]))
case("cumprod-T", lambda L, x: L.cumprod(x, 0), NC(X34, "T"))
case("diff-prepend", lambda L, x, p: L.diff(x, n=2, dim=0, prepend=p), X34, _n(1, 4))


# elementwise at special values -----------------------------------------------------------
SPEC = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.5, 0.5])
case("pow-0-0", lambda L, x, y: L.pow(x, y), np.array([0.0, 0.0, 2.0]), np.array([0.0, 1.0, 0.0]))
case("pow-neg-base-int-exp", lambda L, x: L.pow(x, 3), np.array([-2.0, -0.5, 0.0, 1.5]))
case("pow-neg-base-float-int-exp", lambda L, x: L.pow(x, 2.0), np.array([-2.0, -0.5, 0.0, 1.5]))
case("pow-tensor-neg-base-int-valued-exp", lambda L, x, y: L.pow(x, y),
     np.array([-2.0, -0.5, -3.0]), np.array([2.0, 3.0, -1.0]))
case("pow-0-neg", lambda L, x: L.pow(x, -1), np.array([0.0, 2.0, -0.0]))
case("pow-0-half", lambda L, x: L.pow(x, 0.5), np.array([0.0, 4.0]))
case("pow-0-exp0", lambda L, x: L.pow(x, 0), np.array([0.0, -3.0]))
case("pow-0-exp1", lambda L, x: L.pow(x, 1), np.array([0.0, -3.0]))
case("rpow-0", lambda L, y: 0.0 ** y, np.array([0.0, 1.0, 2.0]))
case("rpow-neg-base", lambda L, y: (-2.0) ** y, np.array([2.0, 3.0]))
case("rpow-2", lambda L, y: 2 ** y, np.array([0.0, -1.0, 3.5]))
case("pow-int-tensor-float-exp", lambda L, x: L.pow(x, 0.5), np.array([4, 9], dtype=np.int64))
case("pow-int-tensor-int-exp", lambda L, x: L.pow(x, 2), np.array([-4, 9], dtype=np.int64))
case("sqrt-0", lambda L, x: L.sqrt(x), np.array([0.0, 4.0]))
case("rsqrt-0", lambda L, x: L.rsqrt(x), np.array([0.0, 4.0]))
case("abs-0", lambda L, x: L.abs(x), SPEC)
case("sign", lambda L, x: L.sign(x), SPEC)
case("sign-int", lambda L, x: L.sign(x), np.array([-3, 0, 2]))
case("square-int", lambda L, x: L.square(x), np.array([-3, 0, 2], dtype=np.int32))
case("reciprocal-int", lambda L, x: L.reciprocal(x), np.array([-3, 2], dtype=np.int64))
case("sqrt-int", lambda L, x: L.sqrt(x), np.array([4, 2], dtype=np.int64))
case("exp-int", lambda L, x: L.exp(x), np.array([0, 1], dtype=np.int32))
case("clamp-at-bounds", lambda L, x: L.clamp(x, -1.0, 2.0), np.array([-1.0, 2.0, 0.0, -3.0, 3.0]))
case("clamp-min-only", lambda L, x: L.clamp(x, min=0.0), SPEC)
case("clamp-max-only", lambda L, x: L.clamp(x, max=-1.0), SPEC)
case("clamp-min-gt-max", lambda L, x: L.clamp(x, 1.0, -1.0), SPEC)
case("clamp-tensor-bounds", lambda L, x, lo, hi: L.clamp(x, lo, hi),
     np.array([-1.0, 2.0, 0.5, 3.0]), np.array([-1.0, 0.0, 0.5, 4.0]), np.array([1.0, 2.0, 0.5, 5.0]))
case("clamp-int", lambda L, x: L.clamp(x, 0, 2), np.array([-1, 1, 3]))
case("clamp-int-float-bound", lambda L, x: L.clamp(x, 0.5), np.array([-1, 1, 3]))
case("where-bcast", lambda L, x, y: L.where(torch_or_nv(L, B(True, False, True).reshape(3, 1)), x, y),
     _n(1, 4), _n(3, 1))
case("where-scalar-other", lambda L, x: L.where(torch_or_nv(L, B(True, False)), x, 0.0), _n(3, 2))
case("where-int-float", lambda L, x: L.where(torch_or_nv(L, B(True, False)), x,
                                              torch_or_nv(L, np.array([1, 2]))), _n(2))
case("maximum-eq", lambda L, x, y: L.maximum(x, y), np.array([1.0, 2.0, -0.0]), np.array([1.0, 3.0, 0.0]))
case("minimum-nan", lambda L, x, y: L.minimum(x, y), np.array([np.nan, 2.0]), np.array([1.0, np.nan]))
# amax over a NaN: torch gives every element a NaN gradient (0 ties counted); nerve passes
# it to the NaN, as max(dim) does in both: left as is
case("div-int-int", lambda L, x, y: L.div(x, y), np.array([7, -7, 1]), np.array([2, 2, 3]))
case("div-int-int-op", lambda L, x, y: x / y, np.array([7, -7], dtype=np.int32), np.array([2, 2], dtype=np.int32))
case("div-int-by-zero", lambda L, x, y: x / y, np.array([1, 0, -1]), np.array([0, 0, 0]))
case("div-by-zero-float", lambda L, x, y: x / y, np.array([1.0, 0.0, -1.0]), np.array([0.0, 0.0, -0.0]))
case("div-int-scalar", lambda L, x: x / 2, np.array([7, -7]))
case("rdiv-int", lambda L, x: 1 / x, np.array([7, -2]))
case("rsub-float", lambda L, x: 1.5 - x, SPEC)
case("sub-alpha", lambda L, x, y: L.sub(x, y, alpha=2), SPEC, SPEC[::-1].copy())
case("add-alpha-bcast", lambda L, x, y: L.add(x, y, alpha=-0.5), _n(3, 1), _n(4))

# dtype promotion ---------------------------------------------------------------------------
case("int-plus-float-scalar", lambda L, x: x + 1.5, np.array([1, 2], dtype=np.int64))
case("int32-plus-int-scalar", lambda L, x: x + 3, np.array([1, 2], dtype=np.int32))
case("int8-times-big-scalar", lambda L, x: x * 2, np.array([100, -3], dtype=np.int8))
case("uint8-minus", lambda L, x: x - 3, np.array([1, 200], dtype=np.uint8))
case("int32-plus-int64", lambda L, x, y: x + y, np.array([1, 2], dtype=np.int32), np.array([5, 6], dtype=np.int64))
case("int8-plus-uint8", lambda L, x, y: x + y, np.array([1, -2], dtype=np.int8), np.array([5, 250], dtype=np.uint8))
case("bool-plus-bool", lambda L, x, y: x + y, B(True, False), B(True, True))
case("bool-plus-int", lambda L, x: x + 2, B(True, False))
case("bool-times-float", lambda L, x: x * 0.5, B(True, False))
case("f32-plus-f64-scalar", lambda L, x: x + np.float64(1.0) * 0 + 1.25, _n(3).astype(np.float32),
     dtypes=(np.float64,))
case("f32-plus-int-tensor", lambda L, x, y: x + y, _n(3), np.array([1, 2, 3]))
case("int-tensor-plus-f", lambda L, x, y: y * x, _n(3), np.array([1, 2, 3], dtype=np.int32))
case("f32-plus-f64-0d", lambda L, x, y: x + y, _n(3), np.float64(2.0), dtypes=(np.float32,),
     tfn=lambda L, x, y: x + y.double())
# NumPy scalars and 0-d tensors are weak (they change the dtype only when of a higher kind)
case("f32-times-np-float64", lambda L, x: x * np.float64(0.5) + np.sqrt(2.0) - np.float64(1) / x, X34,
     dtypes=(np.float32,))
case("f32-where-np-float64", lambda L, x: L.where(x > 0, x, np.float64(-1.0)), X34, dtypes=(np.float32,))
case("f32-max-np-float64", lambda L, x: L.maximum(x, torch_or_nv(L, np.float64(0.1))) ** np.float64(2.0), X34,
     dtypes=(np.float32,))
case("f32-plus-0d-f64-tensor", lambda L, x: x + torch_or_nv(L, np.float64(0.5)), X34, dtypes=(np.float32,))
case("int32-plus-np-int64", lambda L, x: x + np.int64(3), np.array([1, 2], dtype=np.int32))
case("int32-plus-0d-int64", lambda L, x: x * torch_or_nv(L, np.int64(3)), np.array([1, 2], dtype=np.int32))
case("int64-plus-0d-f64", lambda L, x: x + torch_or_nv(L, np.float64(0.5)), np.array([1, 2]))
case("uint8-plus-int8", lambda L, x: x + torch_or_nv(L, np.array([-1, 1], dtype=np.int8)),
     np.array([1, 2], dtype=np.uint8))
case("where-two-floats", lambda L, x: L.where(x > 0, 1.0, -1.0), X34)
case("where-two-ints", lambda L, x: L.where(x > 0, 1, -1), X34)
case("add-alpha-int32-bool", lambda L, x, y: L.add(x, y, alpha=2), np.array([1, 2], dtype=np.int32), B(True, False))
case("add-alpha-bool-bool", lambda L, x, y: L.add(x, y, alpha=2), B(True, False), B(False, False))
case("sub-alpha-0d-f64-int", lambda L, y: L.sub(torch_or_nv(L, np.float64(1.0)), y, alpha=-1.5),
     np.array([1, 2], dtype=np.int32))
case("cmp-int-float", lambda L, x: x < 1.5, np.array([1, 2]))
case("eq-bool-int", lambda L, x, y: x == y, B(True, False), np.array([1, 1]))
case("sum-int", lambda L, x: L.sum(x), np.array([1, 2], dtype=np.int32))
case("sum-bool", lambda L, x: L.sum(x, 0), B(True, True, False))
case("mean-int-errors", lambda L, x: L.mean(x.float()), np.array([1, 2], dtype=np.int32))
case("prod-int", lambda L, x: L.prod(x), np.array([3, -2], dtype=np.int32))
case("cumsum-int32", lambda L, x: L.cumsum(x, 0), np.array([3, -2], dtype=np.int32))
case("cumsum-bool", lambda L, x: L.cumsum(x, 0), B(True, True, False))
case("max-int", lambda L, x: L.amax(x, 0), np.array([3, -2], dtype=np.int32))
case("neg-int", lambda L, x: -x, np.array([3, -2], dtype=np.int16))
case("abs-int", lambda L, x: L.abs(x), np.array([3, -2], dtype=np.int16))

# linear algebra ----------------------------------------------------------------------------
case("matmul-1d-1d", lambda L, x, y: L.matmul(x, y), _n(3), _n(3))
case("matmul-1d-2d", lambda L, x, y: L.matmul(x, y), _n(3), NC(_n(3, 2), "T"))
case("matmul-2d-1d", lambda L, x, y: L.matmul(x, y), NC(_n(2, 3), "S"), _n(3))
case("matmul-1d-3d", lambda L, x, y: L.matmul(x, y), _n(3), _n(2, 3, 4))
case("matmul-3d-1d", lambda L, x, y: L.matmul(x, y), _n(2, 4, 3), _n(3))
case("matmul-bcast-batch", lambda L, x, y: L.matmul(x, y), _n(2, 1, 3, 4), _n(5, 4, 2))
case("matmul-bcast-batch1", lambda L, x, y: L.matmul(x, y), _n(1, 3, 4), NC(_n(4, 2), "T"))
case("matmul-empty-k", lambda L, x, y: L.matmul(x, y), _n(2, 0), _n(0, 3))
case("matmul-op-B", lambda L, x, y: x @ y, NC(_n(1, 4), "B"), _n(4, 1))
case("mm-T", lambda L, x, y: L.mm(x, y), NC(_n(2, 3), "T"), NC(_n(3, 4), "S"))
case("bmm-T", lambda L, x, y: L.bmm(x, y), NC(_n(2, 3, 4), "S"), _n(2, 4, 1))
case("matmul-int", lambda L, x, y: L.matmul(x, y), np.array([[1, 2]]), np.array([[3], [4]]))
case("einsum-trace", lambda L, x: L.einsum("ii->", x), _n(3, 3))
case("einsum-diag", lambda L, x: L.einsum("ii->i", x), NC(_n(3, 3), "T"))
case("einsum-batch-diag", lambda L, x: L.einsum("bii->bi", x), _n(2, 3, 3))
case("einsum-repeat-3", lambda L, x: L.einsum("iii->i", x), _n(2, 2, 2))
case("einsum-ellipsis", lambda L, x, y: L.einsum("...ij,...jk->...ik", x, y), _n(2, 1, 2, 3), _n(3, 3, 2))
case("einsum-ellipsis-mid", lambda L, x: L.einsum("i...j->j...i", x), X234)
case("einsum-outer", lambda L, x, y: L.einsum("i,j->ij", x, y), _n(3), _n(2))
case("einsum-sum-all", lambda L, x: L.einsum("ij->", x), X34)
case("einsum-same-op-twice", lambda L, x: L.einsum("ij,ij->i", x, x), X34)
case("einsum-implicit", lambda L, x, y: L.einsum("ij,jk", x, y), _n(2, 3), _n(3, 2))
case("einsum-bcast-1", lambda L, x, y: L.einsum("ij,ij->ij", x, y), _n(1, 3), _n(2, 3))
case("einsum-diag-two-ops", lambda L, x, y: L.einsum("ii,i->i", x, y), _n(3, 3), _n(3))
for beta, alpha in ((0.0, 1.0), (0.0, 2.0), (0.5, -1.5), (1.0, 0.0)):
    nan_in = np.array([[np.nan, 1.0], [2.0, np.inf]]) if beta == 0 else _n(2, 2)
    case(f"addmm-b{beta}-a{alpha}", lambda L, i, x, y, b=beta, a=alpha: L.addmm(i, x, y, beta=b, alpha=a),
         nan_in, _n(2, 3), _n(3, 2))
    case(f"baddbmm-b{beta}-a{alpha}", lambda L, i, x, y, b=beta, a=alpha: L.baddbmm(i, x, y, beta=b, alpha=a),
         nan_in, _n(3, 2, 4), _n(3, 4, 2))
case("addmm-bcast-input", lambda L, i, x, y: L.addmm(i, x, y, beta=2.0), _n(2), NC(_n(3, 4), "T"), _n(4, 2))
case("baddbmm-bcast-input", lambda L, i, x, y: L.baddbmm(i, x, y), _n(1, 2), _n(2, 3, 1), _n(2, 1, 2))
for o in (None, 1, 2, float("inf"), -float("inf"), 0, 3):
    case(f"vector_norm-ord{o}", lambda L, x, o=o: (L.vector_norm(x, 2 if o is None else o, dim=1) if L is F
                                                 else torch.linalg.vector_norm(x, 2 if o is None else o, dim=1)),
         np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0], [1.0, -1.0, 1.0]]))
for o in ("fro", "nuc", 1, -1, float("inf"), -float("inf"), 2, -2):
    case(f"matrix_norm-ord{o}", lambda L, x, o=o: (L.matrix_norm(x, o) if L is F
                                                 else torch.linalg.matrix_norm(x, o)), _n(2, 3, 3))
case("linalg_norm-default", lambda L, x: (L.linalg_norm(x) if L is F else torch.linalg.norm(x)), X234)
case("linalg_norm-vec-dim", lambda L, x: (L.linalg_norm(x, 3, dim=-1) if L is F else torch.linalg.norm(x, 3, dim=-1)),
     X34)
case("linalg_norm-zero", lambda L, x: (L.linalg_norm(x, dim=(0, 1)) if L is F else torch.linalg.norm(x, dim=(0, 1))),
     np.zeros((2, 2)))


# in-place Tensor methods through views ----------------------------------------------------
def _ip(body):
    """``y = x * 1``, then ``body(y, *rest)`` mutates y (through views), then return y."""
    def fn(L, x, *rest):
        y = x * 1
        body(y, *rest)
        return y
    return fn


case("iadd-T-view", _ip(lambda y, v: y.t().add_(v)), X34, _n(4, 3))
case("mul_-row-view", _ip(lambda y, v: y[1].mul_(v)), X34, _n(4))
case("chained-setitem", _ip(lambda y, v: y[1].__setitem__(2, v)), X34, np.float64(0.3))
case("setitem-through-T", _ip(lambda y, v: y.t().__setitem__((slice(1, 3),), v)), X34, _n(3))
case("iadd-strided-view", _ip(lambda y, v: y[:, ::2].add_(v)), X34, _n(3, 1))
case("getitem-iadd-unique", _ip(lambda y, v: y.__setitem__(I(2, 0), y[I(2, 0)] + v)), X34, _n(2, 4))
case("clamp_-view", _ip(lambda y: y[:, 1:3].clamp_(-0.2, 0.2)), X34)
case("div_-view-then-read", lambda L, x, v: _ip(lambda y, w: y[0].div_(w))(L, x, v) * x, X34, _n(4) + 3.0)
case("addcmul_-view", _ip(lambda y, a, b: y[1:].addcmul_(a, b, value=0.5)), X34, _n(2, 4), _n(4))
case("pow_-view", _ip(lambda y: y[0].pow_(2)), X34)
case("zero_-view", _ip(lambda y: y[:, 0].zero_()), X34)
case("fill_-0d", _ip(lambda y: y[1, 1].fill_(3.0)), X34)
case("copy_-bcast", _ip(lambda y, v: y[:2].copy_(v)), X34, _n(4))
case("masked_fill_-view", _ip(lambda y: y.t().masked_fill_(torch_or_nv(F if isinstance(y, nv.Tensor) else torch,
                                                                       B(True, False, True)), 0.0)), X34)
case("index_fill_-dup", _ip(lambda y: y.index_fill_(0, torch_or_nv(F if isinstance(y, nv.Tensor) else torch,
                                                                    I(2, 2)), -1.0)), X34)
case("scatter_-value", _ip(lambda y: y.scatter_(1, torch_or_nv(F if isinstance(y, nv.Tensor) else torch,
                                                               I(3, 0, 1).reshape(3, 1)), 0.0)), X34)
case("clamp_min_-tensor", _ip(lambda y, m: y.clamp_min_(m)), X34, _n(4))
case("clamp_max_-view-tensor", _ip(lambda y, m: y[1:].clamp_max_(m)), X34, _n(2, 1))
case("addcdiv_-view", _ip(lambda y, a, b: y.t().addcdiv_(a, b, value=-2)), X34, _n(4, 3), _n(3) + 3)
case("lerp_", _ip(lambda y, e: y.lerp_(e, 0.25)), X34, _n(4))
case("sub_-alpha", _ip(lambda y, v: y.sub_(v, alpha=3)), X34, _n(3, 1))

# sorting with ties ---------------------------------------------------------------------------
TS = np.array([[2.0, 1.0, 2.0, 1.0, 0.5], [3.0, 3.0, 3.0, -1.0, 3.0]])
case("sort-ties-stable", lambda L, x: L.sort(x, 1, stable=True), TS,
     tfn=lambda L, x: torch.sort(x, dim=1, stable=True))
case("sort-desc-stable", lambda L, x: L.sort(x, -1, descending=True, stable=True), TS,
     tfn=lambda L, x: torch.sort(x, dim=-1, descending=True, stable=True))
case("argsort-stable-T", lambda L, x: L.argsort(x, 0, stable=True), NC(TS, "T"),
     tfn=lambda L, x: torch.argsort(x, dim=0, stable=True))
case("sort-values-T", lambda L, x: L.sort(x, 0)[0], NC(_n(3, 4), "T"))
case("topk-distinct", lambda L, x: L.topk(x, 2, 1), _n(3, 5))
case("topk-smallest", lambda L, x: L.topk(x, 3, 0, largest=False), NC(_n(4, 3), "S"))
case("topk-k0", lambda L, x: L.topk(x, 0, 1), _n(3, 5))
# topk among ties: which tied index torch picks is unspecified, so no gradient check there
case("kthvalue-distinct", lambda L, x: L.kthvalue(x, 2, 1), _n(3, 5))
case("kthvalue-keep-neg", lambda L, x: L.kthvalue(x, 1, -2, keepdim=True), _n(3, 5))

# more reductions and dtypes ----------------------------------------------------------------
case("sum-dtype-f64", lambda L, x: L.sum(x, 0, dtype=torch.float64 if L is torch else nv.float64), X34,
     dtypes=(np.float32,))
case("sum-int-dtype-f32", lambda L, x: L.sum(x, dtype=torch.float32 if L is torch else nv.float32),
     np.array([1, 2, 3]))
case("cumsum-int-dtype", lambda L, x: L.cumsum(x, 0, dtype=torch.float32 if L is torch else nv.float32),
     np.array([1, 2, 3]))
case("prod-dtype", lambda L, x: L.prod(x, 0, dtype=torch.float64 if L is torch else nv.float64), X34,
     dtypes=(np.float32,))
case("prod-keep-neg", lambda L, x: L.prod(x, -1, keepdim=True), Z1)
case("prod-empty", lambda L, x: L.prod(x, 1), _n(2, 0))
case("cumprod-empty", lambda L, x: L.cumprod(x, 1), _n(2, 0))
case("logsumexp-empty", lambda L, x: L.logsumexp(x, 1), _n(2, 0))
case("logsumexp-posinf", lambda L, x: L.logsumexp(x, 1), np.array([[np.inf, 1.0], [np.inf, -np.inf]]))
case("mean-empty", lambda L, x: L.mean(x, 1), _n(2, 0))
case("amax-empty-other-dim", lambda L, x: L.amax(x, 0), _n(2, 0))
case("max-keepdim-0d", lambda L, x: L.max(x, 0, keepdim=True), np.float64(1.0))
case("argmax-0d", lambda L, x: L.argmax(x), np.float64(1.0))
case("sum-0d-dim", lambda L, x: L.sum(x, 0), np.float64(1.5))
case("sum-0d-dim-neg", lambda L, x: L.sum(x, -1, keepdim=True), np.float64(1.5))
case("mean-dim-list", lambda L, x: L.mean(x, [0, 1]), X234)
case("var-unbiased-kw", lambda L, x: L.var(x, 0, unbiased=False), X34)
case("std-all", lambda L, x: L.std(x), X34)
case("std-all-c0-zero", lambda L, x: L.std(x, correction=0), np.full((2, 2), 3.0))
case("norm-dim-tuple-zero", lambda L, x: L.norm(x, dim=(0, 1)), np.zeros((2, 2, 2)))
case("norm-fro-keep", lambda L, x: L.norm(x, "fro", dim=(0, 1), keepdim=True), X234)
case("where-scalars", lambda L, x: L.where(x > 0, 1.0, -1.0) * x, _n(4))
case("where-cond-only", lambda L, x: L.where(x > 0), _n(2, 3))
case("nonzero", lambda L, x: L.nonzero(x), np.array([[0.0, 1.0], [2.0, 0.0]]))
case("nonzero-tuple", lambda L, x: L.nonzero(x, as_tuple=True), np.array([[0.0, 1.0], [2.0, 0.0]]))
case("getitem-list-idx", lambda L, x: x[[0, 0, 2]], X34)
# a nested list is one index array, as NumPy and as torch announces for after its
# deprecation (torch 2.13 still reads it as a tuple, with a warning)
case("getitem-nested-list-idx", lambda L, x: x[[[0, 1], [2, 2]]], X34,
     tfn=lambda L, x: x[torch.tensor([[0, 1], [2, 2]])])
case("getitem-tuple-of-lists", lambda L, x: x[[0, 0], [1, 1]], X34)
case("expand_as-T", lambda L, x, y: x[:, :1].expand_as(y), NC(X34, "T"), _n(3, 4))
case("view-neg1-0d", lambda L, x: x.view(-1), np.float64(2.0))
case("reshape-empty", lambda L, x: x.reshape(0, 5, 2), _n(0, 2))
case("mT-batched", lambda L, x: x.mT, X234)
case("diff-append-int-n", lambda L, x, a: L.diff(x, n=3, dim=-1, append=a), X34, _n(3, 2))
case("type_as-int", lambda L, x, y: x.type_as(y), np.array([1, 2]), _n(2))
case("to-dtype-grad", lambda L, x: x.to(torch.float64 if L is torch else nv.float64) * 2, X34,
     dtypes=(np.float32,))
case("float-of-int", lambda L, x: x.float() / 2, np.array([1, 3]))
case("abs-negzero-grad", lambda L, x: L.abs(x) * x, np.array([-0.0, 0.0, -1.0]))


# index ops: smaller index than input, broadcast-view inputs, 0-d -----------------------------
case("gather-index-smaller", lambda L, x: L.gather(x, 1, torch_or_nv(L, I(1, 1, 0, 2).reshape(2, 2))), X34)
case("gather-B", lambda L, x: L.gather(x, 0, torch_or_nv(L, I(0, 2, 1, 1).reshape(1, 4))), NC(_n(1, 4), "B"))
case("gather-0d", lambda L, x: L.gather(x, 0, torch_or_nv(L, np.int64(0))), np.float64(2.0))
case("scatter_add-index-smaller", lambda L, x, s: L.scatter_add(x, 0, torch_or_nv(L, I(2, 2, 0).reshape(3, 1)), s),
     X34, _n(3, 1))  # torch's backward needs src shaped as the index
case("scatter_add-B-src",
     lambda L, x, s: L.scatter_add(x, 1, torch_or_nv(L, I(1, 1, 1, 1, 0, 0, 3, 3, 2, 2, 2, 2).reshape(3, 4)), s),
     X34, NC(_n(1, 4), "B"))
case("index_select-B", lambda L, x: L.index_select(x, 1, torch_or_nv(L, I(0, 0, 3))), NC(_n(1, 4), "B"))
case("index_add-B-source", lambda L, x, s: L.index_add(x, 0, torch_or_nv(L, I(1, 1, 1)), s),
     X34, NC(_n(1, 4), "B"))
case("index_select-0d-input", lambda L, x: L.index_select(x, 0, torch_or_nv(L, I(0))), np.float64(2.0))
case("masked_fill-B", lambda L, x: L.masked_fill(x, torch_or_nv(L, B(True, False, True, False)), 1.0),
     NC(_n(1, 4), "B"))
case("getitem-mask-B", lambda L, x: x[torch_or_nv(L, np.eye(3, 4, dtype=bool))], NC(_n(1, 4), "B"))
case("setitem-B-base", _set((slice(None), 0)), NC(_n(1, 4), "B"), _n(3))
case("einsum-B", lambda L, x, y: L.einsum("ij,jk->ik", x, y), NC(_n(1, 4), "B"), NC(_n(4, 2), "T"))
case("einsum-transpose-out", lambda L, x: L.einsum("ij->ji", x), NC(X34, "S"))
case("einsum-three-ops", lambda L, x, y, z: L.einsum("i,ij,j->", x, y, z), _n(3), X34, _n(4))
case("einsum-batch-repeat", lambda L, x, y: L.einsum("bij,bjk->bik", x, y), _n(1, 2, 3), _n(3, 3, 2))
case("bmm-empty-batch", lambda L, x, y: L.bmm(x, y), _n(0, 2, 3), _n(0, 3, 1))
case("matmul-1d-1d-empty", lambda L, x, y: L.matmul(x, y), _n(0), _n(0))
case("tril-1row", lambda L, x: L.tril(x, 1), _n(1, 4))
case("triu-empty", lambda L, x: L.triu(x), _n(0, 3))
case("triu-batch-T", lambda L, x: L.triu(x, -1), NC(X234, "T"))


# one input used twice (its gradient sums over both uses) --------------------------------
case("twice-maximum-self", lambda L, x: L.maximum(x, x), X34)
case("twice-minimum-T", lambda L, x: L.minimum(x[:3, :3], x[:3, :3].t()), X34)
case("twice-matmul-T", lambda L, x: L.matmul(x, x.t()), NC(X34, "T"))
case("twice-where", lambda L, x: L.where(x > 0, x, x * 2), X34)
case("twice-cat", lambda L, x: L.cat([x, x[1:], x], 0), X34)
case("twice-stack-views", lambda L, x: L.stack([x[0], x[-1], x[0]]), X34)
case("twice-index_add-self", lambda L, x: L.index_add(x, 0, torch_or_nv(L, I(0, 0, 1)), x), X34)
case("twice-scatter_add-self", lambda L, x: L.scatter_add(x, 1, torch_or_nv(L, I(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3)
                                                                             .reshape(3, 4)), x), X34)
case("twice-einsum", lambda L, x: L.einsum("ij,kj->ik", x, x), X34)
case("twice-pow-self", lambda L, x: L.pow(L.abs(x) + 0.5, x), X34)
case("twice-clamp-self-bounds", lambda L, x: L.clamp(x, x - 0.1, x * 2), X34)
case("twice-addmm", lambda L, x: L.addmm(x[:, :3], x, x.t()[:, :3]), X34)
case("twice-getitem-overlap", lambda L, x: x[1:] * x[:-1], X34)
case("twice-masked_fill-then-mul", lambda L, x: L.masked_fill(x, x > 0, 0.0) * x, X34)


def torch_or_nv(L, a):
    return torch.from_numpy(np.asarray(a)) if L is torch else nv.tensor(a)


@pytest.mark.parametrize("fn", [
    lambda x, lo, hi: F.clamp(x, lo, hi) ** 2,
    lambda x, lo, hi: F.clamp(x * x, min=lo) * hi,
    lambda x, lo, hi: F.pow(x.abs() + 0.5, lo) * F.maximum(x, hi) ** 2,
    lambda x, lo, hi: F.minimum(x * x, hi) * F.where(x > 0, lo, x),
], ids=["clamp-tensor-bounds", "clamp-min-tensor", "pow-maximum", "minimum-where"])
def test_second_order_of_the_fixed_ops(fn):
    r = np.random.default_rng(3)
    x = nv.tensor(r.uniform(-2, 2, 6), requires_grad=True)
    lo = nv.tensor(r.uniform(-1, 0, 6), requires_grad=True)
    hi = nv.tensor(r.uniform(0.2, 1, 6), requires_grad=True)
    assert nv.autograd.gradgradcheck(fn, (x, lo, hi))


def test_int_to_negative_int_power_says_so():
    with pytest.raises(RuntimeError, match="negative integer power"):
        F.pow(nv.tensor([1, 2]), -1)
    with pytest.raises(RuntimeError, match="cannot broadcast"):
        F.pow(nv.tensor([1.0, 2.0]), nv.tensor([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("fn,tfn,inputs,loose,dtypes", CASES)
def test_matches_torch(fn, tfn, inputs, loose, dtypes, dtype):
    if dtype not in dtypes:
        pytest.skip("float64 only")
    _compare(fn, tfn, inputs, dtype, loose=loose)


@pytest.mark.parametrize("fn,tfn,inputs,loose,dtypes", CASES)
def test_matches_torch_readonly(fn, tfn, inputs, loose, dtypes):
    _compare(fn, tfn, inputs, dtypes[0], readonly=True, loose=loose)
