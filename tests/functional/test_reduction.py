"""Explicit checks for the reductions beyond the op table: kinks and ties (against torch),
extreme values, zeros in prod, the var/std corrections, dtypes and error messages."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve.autograd import gradcheck, gradgradcheck
from nerve.functional import reduction as R

F64 = np.float64
TIES = [[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 0.0, 2.0], [5.0, 5.0, 5.0, 5.0]]


def t(data, dtype=np.float32, grad=True):
    return nv.tensor(np.asarray(data, dtype=dtype), requires_grad=grad)


def test_docstring_examples_run():
    res = doctest.testmod(R, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 10 and res.failed == 0


# ----------------------------------------------------------------- max / min and ties
@pytest.mark.torch
@pytest.mark.parametrize("op", ["max", "min"])
def test_full_max_min_split_ties_evenly_like_torch(op):
    torch = pytest.importorskip("torch")
    x = t(TIES)
    getattr(x, op)().backward()
    tx = torch.tensor(TIES, requires_grad=True)
    getattr(tx, op)().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    # max: the four 5s share the gradient; min: the single -2 gets all of it
    assert x.grad.numpy().sum() == pytest.approx(1.0)


@pytest.mark.torch
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_min_dim_ties_go_to_the_returned_index_like_torch(op, dim):
    torch = pytest.importorskip("torch")
    x = t(TIES)
    tx = torch.tensor(TIES, requires_grad=True)
    res = getattr(x, op)(dim)
    tres = getattr(tx, op)(dim)
    np.testing.assert_array_equal(res.indices.numpy(), tres.indices.numpy())
    np.testing.assert_array_equal(res.values.numpy(), tres.values.detach().numpy())
    g = np.arange(1.0, 1.0 + res.values.numel()).reshape(res.values.shape)
    res.values.backward(nv.tensor(g))
    tres.values.backward(torch.tensor(g, dtype=torch.float32))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.torch
def test_full_max_with_nans_sends_the_gradient_to_the_nans_like_torch():
    torch = pytest.importorskip("torch")
    vals = [[1.0, np.nan, 3.0], [np.nan, np.nan, 0.0]]
    x = t(vals)
    out = x.max()
    out.backward()
    tx = torch.tensor(vals, requires_grad=True)
    tx.max().backward()
    assert np.isnan(out.item())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_max_dim_returns_a_namedtuple():
    x = t(TIES)
    res = x.max(dim=1)
    values, indices = res
    assert isinstance(res, tuple) and res[0] is values and res.indices is indices
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert type(res).__name__ == "max" and type(x.min(1)).__name__ == "min"
    assert indices.tolist() == [1, 0, 0]


def test_max_dim_keepdim_and_scalar():
    x = t(np.arange(24.0).reshape(2, 3, 4))
    v, i = x.max(1, keepdim=True)
    assert v.shape == (2, 1, 4) and i.shape == (2, 1, 4)
    v, i = t(3.0).max(0)
    assert v.shape == () and i.item() == 0 and v.item() == 3.0


@pytest.mark.torch
@pytest.mark.parametrize("op", ["amax", "amin"])
def test_amax_amin_split_ties_evenly_within_each_slice_like_torch(op):
    torch = pytest.importorskip("torch")
    x = t(TIES)
    getattr(x, op)(1).sum().backward()
    tx = torch.tensor(TIES, requires_grad=True)
    getattr(tx, op)(1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-7)


@pytest.mark.torch
@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_argmin_ties_pick_the_first_like_torch(op):
    torch = pytest.importorskip("torch")
    x = t(TIES, grad=False)
    tx = torch.tensor(TIES)
    for kw in [{}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"keepdim": True}]:
        got = getattr(x, op)(**kw)
        want = getattr(tx, op)(**kw)
        assert got.dtype == np.int64
        assert got.shape == tuple(want.shape), kw
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_max_with_a_tensor_is_elementwise_maximum():
    a, b = t([1.0, 5.0, 2.0]), t([3.0, 4.0, 2.0])
    assert a.max(b).tolist() == [3.0, 5.0, 2.0]
    assert a.min(b).tolist() == [1.0, 4.0, 2.0]


def test_max_double_backward_is_zero_and_defined():
    x = t([[1.0, 4.0], [3.0, 2.0]], dtype=F64)
    (g,) = nv.autograd.grad(x.max(1).values.sum() * 2, x, create_graph=True)
    assert g.tolist() == [[0.0, 2.0], [2.0, 0.0]]
    assert gradgradcheck(lambda a: a.max(1).values ** 2, [x])
    assert gradgradcheck(lambda a: a.amax(0) ** 2, [x])


# ------------------------------------------------------------------------ logsumexp
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("big", [1e4, -1e4])
def test_logsumexp_is_finite_and_exact_at_1e4(dtype, big):
    x = t([[big, big, big - 1.0], [big, 0.0, -big]], dtype=dtype)
    out = x.logsumexp(1)
    assert out.dtype == dtype
    a = np.asarray([[big, big, big - 1.0], [big, 0.0, -big]])
    m = a.max(1)
    want = m + np.log(np.exp(a - m[:, None]).sum(1))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6 if dtype == np.float32 else 1e-12)
    out.sum().backward()
    g = x.grad.numpy()
    assert np.isfinite(g).all()
    # NOTE: the gradient is exp(x - out), and in float32 `out` near 1e4 is only known to
    # its spacing (~1e-3), so the softmax rows sum to 1 within 1e-3 there (torch: same).
    np.testing.assert_allclose(g.sum(1), [1.0, 1.0], rtol=1e-3 if dtype == np.float32 else 1e-12)


@pytest.mark.torch
def test_logsumexp_infinities_match_torch():
    torch = pytest.importorskip("torch")
    rows = [[-np.inf, -np.inf], [-np.inf, 1.0], [np.inf, 1.0]]
    got = t(rows, grad=False).logsumexp(1).numpy()
    want = torch.tensor(rows).logsumexp(1).numpy()
    np.testing.assert_array_equal(got, want)


def test_logsumexp_gradient_is_softmax():
    x = t(np.random.default_rng(0).standard_normal((3, 5)), dtype=F64)
    x.logsumexp(-1).sum().backward()
    e = np.exp(x.numpy() - x.numpy().max(-1, keepdims=True))
    np.testing.assert_allclose(x.grad.numpy(), e / e.sum(-1, keepdims=True), rtol=1e-12)


# ----------------------------------------------------------------------------- prod
ZERO_CASES = [[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0], [1.5, -2.0, 0.5]]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("vals", ZERO_CASES)
def test_prod_gradient_at_zeros_matches_torch(vals, dtype):
    torch = pytest.importorskip("torch")
    x = t(vals, dtype=dtype)
    with np.errstate(all="raise"):  # no division by zero anywhere
        x.prod().backward()
    tx = torch.tensor(np.asarray(vals, dtype=dtype), requires_grad=True)
    tx.prod().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


@pytest.mark.torch
def test_prod_second_derivative_at_zeros_matches_torch():
    torch = pytest.importorskip("torch")
    vals = np.array([[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 3.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    x = t(vals, dtype=F64)
    (g,) = nv.autograd.grad(x.prod(1).sum(), x, create_graph=True)
    (g * g).sum().backward()
    tx = torch.tensor(vals, requires_grad=True)
    (tg,) = torch.autograd.grad(tx.prod(1).sum(), tx, create_graph=True)
    (tg * tg).sum().backward()
    np.testing.assert_allclose(g.numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_prod_with_zeros_passes_gradgradcheck():
    x = t([[0.0, 1.5, -2.0], [0.0, 0.0, 0.7]], dtype=F64)
    assert gradcheck(lambda a: a.prod(1), [x])
    assert gradgradcheck(lambda a: a.prod(1), [x])
    assert gradgradcheck(lambda a: a.prod(), [x])


def test_prod_rejects_a_tuple_dim():
    with pytest.raises(TypeError, match="prod: dim must be a single int"):
        t([[1.0, 2.0]]).prod((0, 1))


# ------------------------------------------------------------------------ var and std
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std_correction_matches_numpy_ddof(correction):
    a = np.random.default_rng(1).standard_normal((4, 6))
    x = t(a, dtype=F64, grad=False)
    np.testing.assert_allclose(x.var(1, correction=correction).numpy(), a.var(1, ddof=correction), rtol=1e-12)
    np.testing.assert_allclose(x.std(correction=correction).numpy(), a.std(ddof=correction), rtol=1e-12)


def test_var_legacy_unbiased_spellings():
    a = np.arange(6.0).reshape(2, 3)
    x = t(a, grad=False)
    assert x.var().item() == pytest.approx(a.var(ddof=1))
    assert x.var(False).item() == pytest.approx(a.var())          # var(unbiased)
    assert x.var(1, False).tolist() == pytest.approx(a.var(1).tolist())  # var(dim, unbiased)
    assert x.var(1, True, True).shape == (2, 1)                      # var(dim, unbiased, keepdim)
    assert x.std(unbiased=False).item() == pytest.approx(a.std())
    with pytest.raises(TypeError, match="either unbiased= or correction="):
        x.var(unbiased=True, correction=0)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_var_with_too_few_elements_is_nan_or_inf_like_torch():
    torch = pytest.importorskip("torch")
    for vals, c in [([1.0], 1), ([1.0, 2.0], 2), ([1.0, 2.0], 3)]:
        got = t(vals, grad=False).var(correction=c).item()
        want = torch.tensor(vals).var(correction=c).item()
        assert (np.isnan(got) and np.isnan(want)) or got == want


@pytest.mark.torch
def test_std_of_a_constant_has_zero_gradient_like_torch():
    torch = pytest.importorskip("torch")
    x = t([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    x.std(1).sum().backward()
    tx = torch.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], requires_grad=True)
    tx.std(1).sum().backward()
    assert x.grad.numpy()[0].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_var_mean_and_std_mean():
    x = t([[1.0, 2.0, 4.0]], grad=False)
    v, m = R.var_mean(x, 1)
    s, m2 = R.std_mean(x, 1, correction=0)
    assert m.tolist() == m2.tolist() == pytest.approx([7 / 3])
    assert v.tolist() == pytest.approx([np.var([1, 2, 4], ddof=1)])
    assert s.tolist() == pytest.approx([np.std([1, 2, 4])])


# ----------------------------------------------------------------------------- norm
@pytest.mark.torch
@pytest.mark.parametrize("p", [2, "fro", 1, 3, 1.5, 0.5, float("inf")])
def test_norm_gradient_at_zero_is_zero_like_torch(p):
    torch = pytest.importorskip("torch")
    vals = [[0.0, 0.0, 0.0], [0.0, 3.0, -4.0]]
    x = t(vals, dtype=F64)
    x.norm(p, dim=1).sum().backward()
    tx = torch.tensor(vals, dtype=torch.float64, requires_grad=True)
    tx.norm(p, dim=1).sum().backward()
    assert x.grad.numpy()[0].tolist() == [0.0, 0.0, 0.0]
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_norm_at_zero_double_backward_is_finite():
    x = t([[0.0, 0.0], [3.0, 4.0]], dtype=F64)
    (g,) = nv.autograd.grad(x.norm(dim=1).sum(), x, create_graph=True)
    g.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and x.grad.numpy()[0].tolist() == [0.0, 0.0]


def test_std_of_a_constant_double_backward_is_finite():
    x = t([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]], dtype=F64)
    (g,) = nv.autograd.grad(x.std(1).sum(), x, create_graph=True)
    (g * g).sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and x.grad.numpy()[0].tolist() == [0.0, 0.0, 0.0]
    assert gradgradcheck(lambda a: a.std(1), [t([[1.0, 2.0, 4.0]], dtype=F64)])


def test_empty_dim_list_reduces_everything():
    x = t([[1.0, 5.0], [3.0, 2.0]], grad=False)
    assert x.amax([]).item() == 5.0 and x.sum(dim=()).item() == 11.0 and x.var([]).item() == x.var().item()


def test_norm_takes_nuc_as_torch_and_rejects_unknown_names():
    # torch.norm computes p='nuc' over a 2-D input (or a pair of dims); spectral norms
    # are only in linalg.matrix_norm.
    assert abs(t([[3.0, 0.0], [0.0, -4.0]]).norm("nuc").item() - 7.0) < 1e-6
    with pytest.raises(RuntimeError, match="norm: p='nuc' needs a 2-D input or a pair of dims"):
        t([1.0, 2.0]).norm("nuc")
    with pytest.raises(ValueError, match="p='spectral' is not a norm this function knows"):
        t([[1.0]]).norm("spectral")


# ---------------------------------------------------------------- cumsum, all, any
def test_cumsum_dtypes_follow_torch():
    assert t([1, 2, 3], dtype=np.int32, grad=False).cumsum(0).dtype == np.int64
    assert t([True, False, True], dtype=np.bool_, grad=False).cumsum(0).tolist() == [1, 1, 2]
    assert t([1.0, 2.0]).cumsum(0).dtype == np.float32
    assert t([1, 2], dtype=np.int64, grad=False).cumsum(0, dtype=np.float64).dtype == np.float64


def test_cumsum_backward_is_reverse_cumsum():
    x = t([1.0, 2.0, 3.0, 4.0])
    x.cumsum(0).backward(nv.tensor([1.0, 10.0, 100.0, 1000.0]))
    assert x.grad.tolist() == [1111.0, 1110.0, 1100.0, 1000.0]


def test_all_any():
    x = nv.tensor([[1.0, 0.0], [2.0, 3.0]])
    assert R.all(x).item() is False and R.any(x).item() is True
    assert (x > 0).all(1).tolist() == [False, True]
    assert (x > 0).any(0, keepdim=True).tolist() == [[True, True]]
    assert x.all(1).dtype == np.bool_


# ------------------------------------------------------------- dtypes and errors
@pytest.mark.parametrize("fn", [
    lambda a: a.var(0), lambda a: a.std(), lambda a: a.max(), lambda a: a.max(0).values,
    lambda a: a.amin(1), lambda a: a.logsumexp(1), lambda a: a.prod(0), lambda a: a.cumsum(1),
    lambda a: a.norm(), lambda a: a.norm(3, dim=0), lambda a: a.norm(1)])
def test_float32_stays_float32_forward_and_backward(fn):
    x = t(np.random.default_rng(2).uniform(0.5, 1.5, (3, 4)))
    out = fn(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_errors_name_the_op_and_the_problem():
    with pytest.raises(IndexError, match=r"var: dimension 2 is out of range .* 2 dimensions"):
        t([[1.0]]).var(2)
    with pytest.raises(RuntimeError, match=r"max\(\): cannot reduce an empty slice .* \(0, 3\)"):
        nv.zeros(0, 3).max()
    with pytest.raises(RuntimeError, match=r"min\(\): dimension 0 .* has size 0"):
        nv.zeros(0, 3).min(0)
    with pytest.raises(RuntimeError, match=r"std\(\) needs a floating-point tensor"):
        nv.tensor([1, 2]).std()
    with pytest.raises(RuntimeError, match="appears more than once"):
        t([[1.0]]).logsumexp((0, 0))
