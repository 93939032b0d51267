"""The everyday tensor surface outside the op table (issue 9, item 5): index queries,
comparisons, factory methods, formatting, conversion. Each is checked against torch."""
import numpy as np
import pytest

import nerve as nv

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------ where(cond) / nonzero
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
def test_where_with_one_argument_is_nonzero_as_tuple(shape):
    a = np.random.default_rng(1).standard_normal(shape) > 0.2
    ours = nv.where(nv.tensor(a))
    theirs = torch.where(torch.tensor(a))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.dtype == nv.int64 and o.tolist() == t.tolist()
    n = nv.tensor(a).nonzero()
    assert n.shape == tuple(torch.tensor(a).nonzero().shape) and n.tolist() == torch.tensor(a).nonzero().tolist()
    if a.ndim:
        x = nv.tensor(a.astype(np.float32))
        assert x[nv.where(nv.tensor(a))].tolist() == [1.0] * int(a.sum())


def test_where_needs_both_or_neither_value():
    with pytest.raises(TypeError, match="pass both x and y"):
        nv.where(nv.tensor([True]), nv.tensor([1.0]))


def test_tensor_where_method_follows_torch_argument_order():
    a = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    ours = nv.tensor(a).where(nv.tensor(a) > 0, nv.tensor(0.0))
    theirs = torch.tensor(a).where(torch.tensor(a) > 0, torch.tensor(0.0))
    assert ours.tolist() == theirs.tolist()


# --------------------------------------------------------------------------------- diff
def test_diff_of_bool_is_xor_and_errors_name_the_op():
    a = np.array([True, False, False, True])
    assert nv.tensor(a).diff().tolist() == torch.tensor(a).diff().tolist()
    with pytest.raises(RuntimeError, match=r"diff: prepend of shape \(2, 2\) must match"):
        nv.ones(3, 4).diff(dim=1, prepend=nv.ones(2, 2))
    with pytest.raises(RuntimeError, match="diff: expected a tensor with at least 1 dimension"):
        nv.tensor(1.0).diff()


def test_diff_rejects_a_scalar_prepend_like_torch():
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 4.0]).diff(prepend=torch.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"diff: prepend of shape \(\) must match"):
        nv.tensor([1.0, 4.0]).diff(prepend=nv.tensor(1.0))


def test_cumprod_of_ints_is_int64_and_of_a_scalar_is_itself():
    assert nv.tensor([1, 2, 3], dtype=nv.int32).cumprod(0).dtype == nv.int64
    assert nv.tensor(2.5).cumprod(0).item() == 2.5


# ------------------------------------------------------------------- docstring examples
@pytest.mark.parametrize("name", ["nerve.functional.linalg", "nerve.functional.sorting",
                                  "nerve.functional.elementwise", "nerve.functional.reduction",
                                  "nerve.functional.tensor_api", "nerve.autograd.grad_mode"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


# ------------------------------------------------------------- isclose / allclose / equal
def test_isclose_allclose_equal_match_torch():
    a = np.array([1.0, np.inf, np.nan, 2.0, -np.inf, 1e-9], dtype=np.float64)
    b = np.array([1.0 + 1e-7, np.inf, np.nan, 2.1, np.inf, 0.0], dtype=np.float64)
    for kw in [{}, dict(equal_nan=True), dict(rtol=0.1), dict(rtol=0.0, atol=0.0)]:
        ours = nv.isclose(nv.tensor(a), nv.tensor(b), **kw)
        assert ours.dtype == nv.bool
        assert ours.tolist() == torch.isclose(torch.tensor(a), torch.tensor(b), **kw).tolist()
        assert nv.allclose(nv.tensor(a), nv.tensor(b), **kw) == torch.allclose(torch.tensor(a), torch.tensor(b), **kw)
    x = nv.tensor([[1.0, 2.0]])
    assert x.allclose(nv.tensor([1.0, 2.0 + 1e-6])) is True
    assert x.isclose(nv.tensor([[1.0], [2.0]])).shape == (2, 2)
    assert nv.equal(nv.tensor([1, 2]), nv.tensor([1, 2])) is True
    assert nv.tensor([1, 2]).equal(nv.tensor([1, 3])) is False
    assert nv.equal(nv.ones(2), nv.ones(1, 2)) is torch.equal(torch.ones(2), torch.ones(1, 2)) is False
    assert nv.equal(nv.tensor([np.nan]), nv.tensor([np.nan])) is False
    with pytest.raises(RuntimeError, match="isclose: both tensors must have the same dtype"):
        nv.isclose(nv.ones(2), nv.ones(2, dtype=nv.float64))
    with pytest.raises(RuntimeError, match="isclose"):
        nv.isclose(nv.ones(2), nv.ones(3))


# ------------------------------------------------------------------------ new_* factories
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_new_factories_follow_the_source_dtype_like_torch(dtype):
    src = nv.zeros(3, dtype=dtype)
    tsrc = torch.zeros(3, dtype={np.float32: torch.float32, np.float64: torch.float64,
                                 np.int64: torch.int64, np.bool_: torch.bool}[dtype])
    for name, args in [("new_zeros", ((2, 3),)), ("new_ones", (2, 3)), ("new_full", ((2,), 1)),
                       ("new_empty", ((4,),)), ("new_tensor", ([[1, 0]],))]:
        ours, theirs = getattr(src, name)(*args), getattr(tsrc, name)(*args)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == dtype, name
        assert not ours.requires_grad
        if name != "new_empty":
            assert ours.tolist() == theirs.tolist(), name


def test_new_factories_take_dtype_and_requires_grad_and_copy_data():
    src = nv.zeros(1)
    t = src.new_zeros(2, dtype=nv.float64, requires_grad=True)
    assert t.dtype == nv.float64 and t.requires_grad and t.is_leaf
    data = np.array([1.0, 2.0], dtype=np.float32)
    c = src.new_tensor(data)
    data[0] = 9.0
    assert c.tolist() == [1.0, 2.0]
    assert src.new_tensor(nv.tensor([3, 4])).dtype == nv.float32
    with pytest.raises(TypeError, match="new_zeros: size must be non-negative integers"):
        src.new_zeros(-1)


# ------------------------------------------------------------- __format__, item, tolist
def test_format_of_a_0d_tensor_is_the_format_of_its_number():
    loss = nv.tensor(0.123456)
    assert f"{loss:.4f}" == f"{torch.tensor(0.123456):.4f}" == "0.1235"
    assert f"{nv.tensor(7):>4}" == f"{torch.tensor(7):>4}"
    assert f"{nv.tensor(True)}" == f"{torch.tensor(True)}"
    assert f"{nv.ones(2)}" == str(nv.ones(2))
    with pytest.raises(TypeError, match="unsupported format string '.4f'.*shape \\(2,\\)"):
        f"{nv.ones(2):.4f}"
    with pytest.raises(TypeError):  # torch raises the same way
        f"{torch.ones(2):.4f}"


DTYPES = [("float16", 1.5), ("float32", 0.1), ("float64", 0.1), ("int8", -3), ("uint8", 200),
          ("int16", 300), ("int32", -7), ("int64", 2 ** 40), ("bool", True)]


@pytest.mark.parametrize("name,value", DTYPES)
def test_item_and_tolist_give_python_numbers_for_every_dtype(name, value):
    dt = getattr(nv, name)
    tdt = getattr(torch, name)
    for shape in [(), (1,), (2, 1)]:
        ours = nv.tensor(np.full(shape, value, dtype=dt))
        theirs = torch.full(shape, value, dtype=tdt)
        assert ours.tolist() == theirs.tolist()
        assert type(ours.tolist()) is type(theirs.tolist())
        if ours.numel() == 1:
            assert ours.item() == theirs.item() and type(ours.item()) is type(theirs.item())
    with pytest.raises((ValueError, RuntimeError)):
        nv.tensor(np.zeros(2, dtype=dt)).item()
