"""Explicit checks for the shape ops beyond the op table: error messages, torch's exact
semantics (chunk counts, squeeze of non-1 dims, pad order), numpy.pad equality, the
broadcast error helper, and the NumPy-style graph namespace used by double backward."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve.autograd import engine, gradcheck, gradgradcheck
from nerve.functional import _errors
from nerve.functional import shape as S
from nerve.functional import reduction as R


def t(data, dtype=np.float32, grad=False):
    return nv.tensor(np.asarray(data, dtype=dtype), requires_grad=grad)


def test_docstring_examples_run():
    for mod in (S, _errors):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.attempted > 0 and res.failed == 0, mod.__name__


# ------------------------------------------------------------------ squeeze family
def test_squeeze_leaves_non_unit_dims_alone_like_torch():
    x = nv.zeros(2, 1, 3)
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze((0, 1)).shape == (2, 3)
    assert nv.zeros(()).squeeze().shape == () and nv.zeros(()).squeeze(0).shape == ()
    assert x.unsqueeze(3).shape == (2, 1, 3, 1) and x.unsqueeze(-4).shape == (1, 2, 1, 3)
    with pytest.raises(IndexError, match="unsqueeze: dimension 4 is out of range"):
        x.unsqueeze(4)


# -------------------------------------------------------------------------- cat/stack
def test_cat_error_names_the_op_and_both_shapes():
    with pytest.raises(RuntimeError) as e:
        S.cat([nv.zeros(2, 3), nv.zeros(2, 4)], dim=0)
    msg = str(e.value)
    assert msg.startswith("cat:") and "(2, 3)" in msg and "(2, 4)" in msg and "dimension 1" in msg
    with pytest.raises(RuntimeError, match=r"cat: .*same number of dimensions.*\(2, 3\).*\(3,\)"):
        S.cat([nv.zeros(2, 3), nv.zeros(3)])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        S.cat([nv.zeros(()), nv.zeros(())])
    with pytest.raises(RuntimeError, match="non-empty list"):
        S.cat([])
    with pytest.raises(TypeError, match="list or tuple of tensors"):
        S.cat(nv.zeros(2))


def test_stack_error_names_the_op_and_both_shapes():
    with pytest.raises(RuntimeError, match=r"stack: .*tensor 0 has shape \(2, 3\) and tensor 2 has shape \(3, 2\)"):
        S.stack([nv.zeros(2, 3), nv.zeros(2, 3), nv.zeros(3, 2)])


def test_cat_skips_legacy_empty_vectors_and_promotes_dtypes():
    out = S.cat([nv.zeros(2, 3), nv.zeros(0), nv.ones(1, 3)])
    assert out.shape == (3, 3)
    a = t([1.0, 2.0], grad=True)
    b = t([3.0], dtype=np.float64, grad=True)
    c = S.cat([a, b])
    assert c.dtype == np.float64
    c.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    assert S.cat([nv.tensor([1, 2]), nv.tensor([3])]).dtype == np.int64


def test_single_tensor_cat_is_a_differentiable_copy():
    a = t([1.0, 2.0], grad=True)
    (S.cat([a]) * 3).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


# ------------------------------------------------------------ split / chunk / unbind
@pytest.mark.torch
@pytest.mark.parametrize("n,chunks", [(5, 4), (6, 4), (4, 4), (3, 5), (7, 3), (1, 2), (0, 3)])
def test_chunk_sizes_match_torch(n, chunks):
    torch = pytest.importorskip("torch")
    got = [p.shape for p in nv.zeros(n, 2).chunk(chunks)]
    want = [tuple(p.shape) for p in torch.zeros(n, 2).chunk(chunks)]
    assert got == want


@pytest.mark.torch
@pytest.mark.parametrize("n,size", [(5, 2), (4, 4), (3, 5), (0, 2)])
def test_split_sizes_match_torch(n, size):
    torch = pytest.importorskip("torch")
    assert [p.shape for p in nv.zeros(n).split(size)] == [tuple(p.shape) for p in torch.zeros(n).split(size)]


def test_split_errors():
    with pytest.raises(RuntimeError, match=r"split: split sizes \[2, 2\] add up to 4, but dimension 0 .* has size 5"):
        nv.zeros(5).split([2, 2])
    with pytest.raises(ValueError, match="positive integer"):
        nv.zeros(5).split(0)
    with pytest.raises(RuntimeError, match="0-d"):
        nv.zeros(()).unbind()


def test_pieces_share_one_gradient():
    x = t(np.arange(6.0).reshape(2, 3), grad=True)
    a, b, c = x.unbind(1)
    (a * 1 + b * 2 + c * 3).sum().backward()
    assert x.grad.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


# ---------------------------------------------------------------------------- pad
@pytest.mark.parametrize("pad", [(1, 1), (0, 2, 1, 0), (2, 1, 0, 0, 1, 1), (1, 0, 1, 0, 1, 0, 1, 0)])
def test_pad_equals_numpy_pad(pad):
    a = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    width = [(0, 0)] * 4
    for i in range(len(pad) // 2):
        width[3 - i] = (pad[2 * i], pad[2 * i + 1])
    for value in (0.0, -2.5):
        got = S.pad(nv.tensor(a), pad, value=value)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got.numpy(), np.pad(a, width, constant_values=value))


def test_pad_errors_and_modes():
    x = nv.zeros(2, 3)
    with pytest.raises(ValueError, match=r"pad: the pad tuple must have an even length of at most 2·ndim = 4"):
        S.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="at most 2·ndim"):
        S.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(RuntimeError, match="negative size"):
        S.pad(x, (-2, -2))
    with pytest.raises(NotImplementedError, match="mode 'bogus' is not available"):
        S.pad(x, (1, 1), mode="bogus")


def test_pad_crop_gradients_are_each_others_adjoint():
    x = t(np.arange(12.0).reshape(3, 4), dtype=np.float64, grad=True)
    assert gradcheck(lambda a: S.pad(a, (-1, 2, 1, -2), value=3.0), [x])
    assert gradgradcheck(lambda a: S.pad(a, (-1, 2, 1, -2)) ** 2, [x])


# ------------------------------------------------------------- gather / scatter / index
def test_index_errors_name_the_op_and_the_fix():
    x = nv.zeros(3, 4)
    with pytest.raises(TypeError, match=r"gather: the index must hold integers .* float32; convert it with .long\(\)"):
        x.gather(1, nv.zeros(3, 1))
    with pytest.raises(IndexError, match="gather: index 4 is out of bounds for dimension 1 with size 4"):
        x.gather(1, nv.tensor([[4]]))
    with pytest.raises(IndexError, match="index_select: index -1 is out of bounds"):
        x.index_select(0, nv.tensor([-1]))
    with pytest.raises(RuntimeError, match="gather: index .* as many dimensions"):
        x.gather(1, nv.tensor([1]))
    with pytest.raises(RuntimeError, match=r"gather: index shape \(4, 1\) is larger than input shape \(3, 4\)"):
        x.gather(1, nv.zeros(4, 1, dtype=nv.int64))
    with pytest.raises(RuntimeError, match=r"index_add: source has shape \(2, 3\) but must have shape \(2, 4\)"):
        x.index_add(0, nv.tensor([0, 1]), nv.zeros(2, 3))
    with pytest.raises(RuntimeError, match="scatter_add: src has dtype float64"):
        x.scatter_add(0, nv.tensor([[0]]), nv.zeros(1, 1, dtype=nv.float64))


def test_scatter_add_and_index_add_accumulate_repeats():
    out = nv.zeros(3).scatter_add(0, nv.tensor([1, 1, 1, 0]), nv.ones(4))
    assert out.tolist() == [1.0, 3.0, 0.0]
    out = nv.zeros(2, 2).index_add(1, nv.tensor([0, 0, 0]), nv.ones(2, 3), alpha=0.5)
    assert out.tolist() == [[1.5, 0.0], [1.5, 0.0]]


def test_gather_backward_accumulates_repeats_and_is_twice_differentiable():
    x = t([[1.0, 2.0, 3.0]], dtype=np.float64, grad=True)
    idx = nv.tensor([[2, 2, 0, 2]])
    x.gather(1, idx).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 3.0]]
    assert gradgradcheck(lambda a: a.gather(1, idx) ** 3, [x])


def test_masked_fill_errors_and_value_gradient():
    x = t([[1.0, -2.0], [-3.0, 4.0]], grad=True)
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool tensor, got dtype int64"):
        x.masked_fill(nv.tensor([1, 0]), 0.0)
    with pytest.raises(RuntimeError, match=r"mask of shape \(3,\) cannot be broadcast to the input's shape \(2, 2\)"):
        x.masked_fill(nv.tensor([True, False, True]), 0.0)
    with pytest.raises(RuntimeError, match="0-d tensor"):
        x.masked_fill(x > 0, nv.zeros(2))
    v = t(7.0, grad=True)
    out = x.masked_fill(x < 0, v)
    assert out.tolist() == [[1.0, 7.0], [7.0, 4.0]] and out.dtype == np.float32
    out.sum().backward()
    assert v.grad.item() == 2.0 and x.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert nv.tensor([1, 2, 3]).masked_fill(nv.tensor([True, False, False]), 9.7).tolist() == [9, 2, 3]


# ------------------------------------------------------------- repeat / tile / others
def test_repeat_tile_and_contiguous():
    x = nv.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"repeat: got 1 repeat counts \(2,\) for a tensor with 2 dimensions"):
        x.repeat(2)
    assert x.repeat((2, 1, 1)).shape == (2, 2, 3) and x.tile(2).shape == (2, 6)
    assert x.contiguous() is x
    y = t([1.0, 2.0], grad=True)
    y.repeat(3, 2).sum().backward()
    assert y.grad.tolist() == [6.0, 6.0]


def test_flip_returns_a_copy():
    x = nv.tensor([1.0, 2.0, 3.0])
    y = x.flip(0)
    y.zero_()
    assert x.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("fn", [
    lambda a: a.squeeze(), lambda a: S.cat([a, a], 1), lambda a: S.stack([a, a]),
    lambda a: a.split(1)[0], lambda a: a.flip(1), lambda a: S.pad(a, (1, 1)),
    lambda a: a.repeat(2, 1), lambda a: a.gather(1, nv.tensor([[0], [1]])),
    lambda a: a.index_select(1, nv.tensor([1, 0])), lambda a: a.masked_fill(a > 1, 0.0),
    lambda a: a.scatter_add(0, nv.tensor([[1, 0]]), a[:1] * 1),
    lambda a: a.index_add(0, nv.tensor([1]), a[:1] * 1)])
def test_float32_stays_float32_forward_and_backward(fn):
    x = t([[1.0, 2.0], [3.0, 4.0]], grad=True)
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


# ------------------------------------------------------------------ broadcast errors
def test_broadcast_error_names_the_op_both_shapes_and_the_clash():
    err = _errors.broadcast_error("add", (2, 3), (4,))
    assert isinstance(err, RuntimeError)
    msg = str(err)
    assert msg.startswith("add:") and "(2, 3)" in msg and "(4,)" in msg and "dimension -1" in msg
    msg = str(_errors.broadcast_error("mul", (5, 2, 3), (4, 1, 3)))
    assert "dimension -3 has size 5 in operand 0 and 4 in operand 1" in msg
    assert _errors.check_broadcast("add", (2, 1), (3,)) == (2, 3)
    with pytest.raises(RuntimeError, match=r"where: cannot broadcast shapes \(2,\) and \(3,\) and \(1,\)"):
        _errors.check_broadcast("where", (2,), (3,), (1,))


def test_adding_incompatible_shapes_raises_a_runtime_error_naming_both_shapes():
    with pytest.raises(RuntimeError, match=r"add: .*\(2, 3\).*\(4,\)"):
        nv.zeros(2, 3) + nv.zeros(4)


# -------------------------------------------------------------- the graph namespace
NS_CASES = [
    ("concatenate", lambda a: ([a, a * 2],), {"axis": 1}),
    ("stack", lambda a: ([a, a * 2],), {"axis": -1}),
    ("expand_dims", lambda a: (a, (0, 2)), {}),
    ("squeeze", lambda a: (a[:, :1],), {"axis": 1}),
    ("flip", lambda a: (a,), {}),
    ("flip", lambda a: (a, 1), {}),
    ("moveaxis", lambda a: (a, 0, -1), {}),
    ("swapaxes", lambda a: (a, 0, 1), {}),
    ("tile", lambda a: (a, (2, 1, 2)), {}),
    ("pad", lambda a: (a, ((1, 0), (0, 2))), {}),
    ("pad", lambda a: (a, 1), {"constant_values": 2.0}),
    ("take_along_axis", lambda a: (a, np.array([[2, 0]])), {"axis": 1}),
    ("take_along_axis", lambda a: (a, np.array([[1], [0]])), {"axis": 0}),
    ("sum", lambda a: (a,), {"axis": 0, "keepdims": True}),
    ("mean", lambda a: (a,), {"axis": (0, 1)}),
    ("var", lambda a: (a,), {"axis": 1}),
    ("std", lambda a: (a,), {"ddof": 1}),
    ("prod", lambda a: (a,), {"axis": 1}),
    ("cumsum", lambda a: (a,), {}),
    ("cumsum", lambda a: (a,), {"axis": 1}),
    ("amax", lambda a: (a,), {"axis": 1}),
    ("max", lambda a: (a,), {}),
    ("min", lambda a: (a,), {"axis": 0, "keepdims": True}),
]


@pytest.mark.parametrize("name,args,kw", NS_CASES, ids=[c[0] for c in NS_CASES])
def test_graph_namespace_matches_numpy_and_is_differentiable(name, args, kw):
    a = np.random.default_rng(3).uniform(0.5, 2.0, (2, 3))
    x = t(a, dtype=np.float64, grad=True)
    fn = getattr(engine.graph_namespace, name)
    conv = [(c._data if isinstance(c, nv.Tensor) else c) for c in args(x)]
    conv = [[e._data if isinstance(e, nv.Tensor) else e for e in c] if isinstance(c, list) else c for c in conv]
    want = getattr(np, name)(*conv, **kw)
    got = fn(*args(x), **kw)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert gradcheck(lambda v: fn(*args(v), **kw), [x])


def test_backward_written_with_ctx_xp_gets_higher_order_gradients():
    """A custom op whose backward uses pad/concatenate/take_along_axis via ctx.xp."""

    class Shift(nv.Function):  # out[i] = x[i - 1] * x[i - 1], out[0] = 0
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.concatenate([np.zeros(1, x.dtype), x[:-1] * x[:-1]])

        def backward(ctx, grad):
            (x,) = ctx.saved
            xp = ctx.xp
            g = xp.pad(grad[1:], ((0, 1),))  # grad of out[i + 1] lands on x[i]
            g = xp.concatenate([g[:1], g[1:]])
            return g * 2 * xp.take_along_axis(x, np.arange(x.shape[0]), 0)

    x = t([1.0, -2.0, 3.0, 0.5], dtype=np.float64, grad=True)
    assert gradcheck(Shift.apply, [x])
    assert gradgradcheck(Shift.apply, [x])


def test_reduction_and_shape_ops_are_tensor_methods():
    for name in ["var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "logsumexp", "prod",
                 "cumsum", "all", "any", "norm", "squeeze", "unsqueeze", "split", "chunk", "unbind",
                 "flip", "gather", "scatter_add", "index_add", "index_select", "masked_fill", "repeat",
                 "tile", "contiguous"]:
        assert callable(getattr(nv.Tensor, name)), name
    assert set(R.__all__) >= {"var", "logsumexp"} and set(S.__all__) >= {"cat", "pad", "gather"}


def test_fast_index_add_equals_ufunc_at_on_random_patterns():
    """The sorted / unique fast paths behind indexing backward and index_add agree with
    NumPy's add.at, including repeats, negative indices and multi-dimensional indices."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        nd = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 6, nd))
        axis = int(rng.integers(0, nd))
        if axis != nd - 1 and rng.random() < 0.5:
            shape = shape[:-1] + (shape[-1] * 20,)  # wide rows take the sorted path
        ishape = tuple(int(s) for s in rng.integers(1, 5, int(rng.integers(1, 3))))
        arr = rng.integers(-shape[axis], shape[axis], ishape)
        idx = (slice(None),) * axis + (arr,)
        g = rng.standard_normal(np.zeros(shape)[idx].shape)
        want = np.zeros(shape)
        np.add.at(want, idx, g)
        np.testing.assert_allclose(S._index_add_to(np, g, shape, idx), want, rtol=1e-12, atol=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize("src,dst", [((0, 1), (2, 0)), ((3, 0), (0, 3)), (1, -1), ((0, 2), (-1, -2))])
def test_movedim_and_narrow_match_torch(src, dst):
    torch = pytest.importorskip("torch")
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(nv.tensor(a).movedim(src, dst).numpy(), torch.tensor(a).movedim(src, dst).numpy())
    np.testing.assert_array_equal(nv.tensor(a).narrow(1, -2, 2).numpy(), torch.tensor(a).narrow(1, -2, 2).numpy())


def test_one_pad_with_pytorchs_modes():
    """F.pad is PyTorch's full pad (one implementation; there is no second pad_nd)."""
    import nerve.nn.functional as NF

    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    for mode, np_mode in [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge"),
                          ("circular", "wrap")]:
        out = NF.pad(nv.tensor(x), (2, 1, 1, 3), mode=mode).numpy()
        np.testing.assert_array_equal(out, np.pad(x, [(0, 0), (0, 0), (1, 3), (2, 1)], mode=np_mode))
    assert NF.pad(nv.tensor(x), (1, 1), "constant", 2.5).numpy()[0, 0, 0, 0] == 2.5
    assert not hasattr(NF, "pad_nd")
    with pytest.raises(ValueError, match="only applies to mode='constant'"):
        NF.pad(nv.tensor(x), (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match="crops only in mode='constant'"):
        NF.pad(nv.tensor(x), (-1, 1), mode="replicate")
    with pytest.raises(ValueError, match="cannot exceed"):
        NF.pad(nv.tensor(x), (6, 0), mode="circular")
    xt = nv.tensor(x[:1, :1], requires_grad=True)
    assert gradgradcheck(lambda a: NF.pad(a, (2, 1, 1, 3), mode="reflect") ** 2, [xt])
