"""Activations beyond the op table: kinks, identities, saturation, errors, XOR."""
from __future__ import annotations

import doctest
import math
import time
import warnings

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve.autograd import gradgradcheck
from nerve.functional import activation as A

DTYPES = [np.float32, np.float64]


def _grad_of(fn, x, *more):
    """Forward value and d(sum fn)/dx for a fresh leaf (plus grads of extra leaves)."""
    xs = [nv.tensor(a, requires_grad=True) for a in (x,) + more]
    y = fn(*xs)
    y.backward(nv.tensor(np.ones(y.shape, y.dtype)))
    return (y.numpy(),) + tuple(t.grad.numpy() for t in xs)


# ---------------------------------------------------------------------- kinks
KINKS = [
    ("relu", F.relu, "relu", {}, [0.0, -0.0, 1e-8, -1e-8]),
    ("relu6", F.relu6, "relu6", {}, [0.0, 6.0, -0.0, 5.999, 6.001]),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), "leaky_relu", {"negative_slope": 0.1}, [0.0, -0.0]),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 2.0), "hardtanh", {"min_val": -0.5, "max_val": 2.0},
     [-0.5, 2.0, 0.0]),
    ("hardtanh_default", F.hardtanh, "hardtanh", {}, [-1.0, 1.0]),
    ("elu", lambda x: F.elu(x, 2.0), "elu", {"alpha": 2.0}, [0.0, -0.0]),
    ("selu", F.selu, "selu", {}, [0.0]),
    ("softplus_threshold", lambda x: F.softplus(x, 2.0, 1.0), "softplus", {"beta": 2.0, "threshold": 1.0},
     [0.5, 0.5000001]),
    ("softsign", F.softsign, "softsign", {}, [0.0]),
    ("gelu", F.gelu, "gelu", {}, [0.0]),
    ("silu", F.silu, "silu", {}, [0.0]),
]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name,fn,tname,kw,points", KINKS, ids=[k[0] for k in KINKS])
def test_kinks_match_torch_exactly(name, fn, tname, kw, points, dtype):
    torch = pytest.importorskip("torch")
    x = np.array(points, dtype=dtype)
    y, g = _grad_of(fn, x)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, tname)(tx, **kw)
    ty.sum().backward()
    # A wrong sub-gradient is off by O(1); the tolerance only absorbs last-bit rounding.
    rtol = 2e-7 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=rtol, atol=0)
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=rtol, atol=0)


def test_kink_conventions_by_value():
    """The documented sub-gradients, stated as numbers (no torch needed)."""
    x = np.array([0.0])
    assert _grad_of(F.relu, x)[1][0] == 0.0
    assert _grad_of(lambda t: F.leaky_relu(t, 0.2), x)[1][0] == pytest.approx(0.2)
    assert _grad_of(F.relu6, np.array([0.0, 6.0]))[1].tolist() == [0.0, 0.0]
    assert _grad_of(F.hardtanh, np.array([-1.0, 1.0]))[1].tolist() == [0.0, 0.0]
    assert _grad_of(lambda t: F.elu(t, 3.0), x)[1][0] == 3.0
    assert _grad_of(F.selu, x)[1][0] == pytest.approx(A.SELU_SCALE * A.SELU_ALPHA)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_prelu_at_zero_and_weight_grad_match_torch(dtype):
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, -2.0, 3.0], [-0.0, 1.0, -1.5]], dtype=dtype)
    w = np.array([0.25, 0.1, 0.5], dtype=dtype)
    y, gx, gw = _grad_of(F.prelu, x, w)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    torch.nn.functional.prelu(tx, tw).sum().backward()
    np.testing.assert_array_equal(gx, tx.grad.numpy())
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-6)
    # dL/da = sum over x <= 0 of x · upstream
    np.testing.assert_allclose(gw, np.where(x > 0, 0, x).sum(0), rtol=1e-6)


def test_leaky_relu_keeps_a_unit_alive_where_relu_kills_it():
    """A unit whose bias is forced to -10: relu passes no gradient, leaky relu passes α·upstream."""
    x = nv.randn(16, 3)
    w = nv.randn(3, 1, requires_grad=True)
    b = nv.tensor([-10.0], requires_grad=True)
    F.relu(x @ w + b).sum().backward()
    assert b.grad.item() == 0.0
    b.grad = None
    F.leaky_relu(x @ w + b, 0.01).sum().backward()
    assert b.grad.item() == pytest.approx(16 * 0.01)


# ------------------------------------------------------------------ identities
def test_sigmoid_derivative_is_s_times_one_minus_s_with_max_quarter_at_zero():
    x = np.linspace(-6, 6, 1201)
    y, g = _grad_of(F.sigmoid, x)
    np.testing.assert_allclose(g, y * (1 - y), rtol=1e-12)
    assert g.max() == 0.25 and x[g.argmax()] == 0.0


def test_sigmoid_second_derivative():
    x = nv.tensor(np.linspace(-4, 4, 17), requires_grad=True)
    (g,) = nv.autograd.grad(F.sigmoid(x).sum(), x, create_graph=True)
    (g2,) = nv.autograd.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(g2.numpy(), s * (1 - s) * (1 - 2 * s), rtol=1e-10, atol=1e-15)


def test_tanh_is_a_rescaled_sigmoid():
    x = nv.tensor(np.linspace(-8, 8, 321))
    np.testing.assert_allclose(F.tanh(x).numpy(), (2 * F.sigmoid(2 * x) - 1).numpy(), atol=1e-12)
    sym = nv.tensor(np.linspace(-3, 3, 61))
    assert abs(F.tanh(sym).numpy().mean()) < 1e-15


def test_tanh_derivative_reuses_output():
    x = np.linspace(-3, 3, 13)
    y, g = _grad_of(F.tanh, x)
    np.testing.assert_allclose(g, 1 - y * y, rtol=1e-14)


def test_softmax_of_logit_and_zero_is_sigmoid():
    z = np.linspace(-30, 30, 61)
    pair = nv.tensor(np.stack([z, np.zeros_like(z)], axis=1))
    np.testing.assert_allclose(F.softmax(pair, 1).numpy()[:, 0], F.sigmoid(nv.tensor(z)).numpy(),
                               rtol=1e-12, atol=1e-300)


def test_softmax_rows_sum_to_one_and_ignore_shifts():
    x = nv.randn(6, 9, dtype=nv.float64) * 5
    p = F.softmax(x, 1).numpy()
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-12)
    np.testing.assert_allclose(F.softmax(x + 123.0, 1).numpy(), p, atol=1e-12)
    np.testing.assert_allclose(F.softmax(x + 1e4, 1).numpy(), p, atol=1e-12)


def test_softmax_jacobian_is_diag_p_minus_ppt():
    x = nv.randn(5, dtype=nv.float64, requires_grad=True)
    p = F.softmax(x, 0)
    rows = []
    for i in range(5):
        (g,) = nv.autograd.grad(p, x, grad_outputs=nv.tensor(np.eye(5)[i]), retain_graph=True)
        rows.append(g.numpy())
    pv = p.numpy()
    np.testing.assert_allclose(np.array(rows), np.diag(pv) - np.outer(pv, pv), atol=1e-15)


def test_softmax_matches_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.random.default_rng(3).standard_normal((4, 7)) * 3
    np.testing.assert_allclose(F.softmax(nv.tensor(x), -1).numpy(), special.softmax(x, axis=-1),
                               rtol=1e-13)
    np.testing.assert_allclose(F.log_softmax(nv.tensor(x), 0).numpy(), special.log_softmax(x, axis=0),
                               rtol=1e-13)


def test_log_softmax_does_not_underflow_where_softmax_log_does():
    x = nv.tensor([[0.0, -200.0]])
    assert np.isfinite(F.log_softmax(x, 1).numpy()).all()
    assert F.log_softmax(x, 1).numpy()[0, 1] == pytest.approx(-200.0)


def test_softmax_implicit_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="dim"):
        p = F.softmax(nv.randn(3, 4))
    np.testing.assert_allclose(p.numpy().sum(1), 1, rtol=1e-6)


def test_gelu_matches_its_definition_and_the_tanh_form_is_close():
    x = np.linspace(-5, 5, 101)
    y = F.gelu(nv.tensor(x)).numpy()
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(y, x * phi, rtol=1e-14, atol=1e-300)
    approx = F.gelu(nv.tensor(x), approximate="tanh").numpy()
    assert np.abs(approx - y).max() < 1e-3


def test_gelu_left_tail_keeps_relative_precision():
    """erfc instead of 1 + erf: gelu(-10) is -7.6e-23, not -0."""
    x = -10.0
    want = x * 0.5 * math.erfc(-x / math.sqrt(2))
    got = F.gelu(nv.tensor([x], dtype=nv.float64)).item()
    assert got == pytest.approx(want, rel=1e-13)


def test_erf_and_erfc_accuracy_over_their_whole_range():
    x = np.concatenate([np.linspace(-30, 30, 6001), [0.0, -0.0, 1e-300, 0.84375, 1.25, 6.0, 28.0, np.inf,
                                                     -np.inf]])
    for fn, ref in ((F.erf, math.erf), (F.erfc, math.erfc)):
        want = np.array([ref(v) for v in x])
        got = fn(nv.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=4e-16 * 64, atol=1e-300)
        assert np.isnan(fn(nv.tensor([np.nan], dtype=nv.float64)).item())
        x32 = x.astype(np.float32)
        g32 = fn(nv.tensor(x32)).numpy()
        assert g32.dtype == np.float32
        want32 = np.array([ref(float(v)) for v in x32])   # exact values at the float32 inputs
        np.testing.assert_allclose(g32, want32, rtol=2e-6, atol=1e-37)


# ----------------------------------------------------------- numerics, dtypes
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("fn", [F.relu, F.relu6, F.leaky_relu, F.elu, F.selu, F.gelu, F.silu, F.sigmoid,
                                F.tanh, F.softplus, F.softsign, F.hardtanh, lambda x: F.softmax(x, -1),
                                lambda x: F.log_softmax(x, -1), lambda x: F.gelu(x, approximate="tanh")])
def test_extremes_are_finite_silent_and_keep_dtype(fn, dtype):
    x = nv.tensor(np.array([-1e4, -1000.0, -50.0, 0.0, 50.0, 1000.0, 1e4], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        y.backward(nv.tensor(np.ones(y.shape, dtype)))
    assert y.dtype == dtype and x.grad.dtype == dtype
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("fn", [F.relu, F.sigmoid, F.tanh, F.gelu, lambda x: F.softmax(x, 0)])
def test_scalar_and_empty_inputs(fn):
    s = fn(nv.tensor(0.5, requires_grad=True))
    assert s.shape == ()
    s.backward()
    e = fn(nv.zeros(0, 3) if fn.__name__ != "<lambda>" else nv.zeros(0))
    assert e.shape in ((0, 3), (0,))


def test_float32_sigmoid_saturates_to_exactly_one_near_16_6():
    x = np.arange(15.0, 18.0, 0.01, dtype=np.float32)
    y = F.sigmoid(nv.tensor(x)).numpy()
    first = x[np.argmax(y == 1.0)]
    assert (y[x >= first] == 1.0).all() and (y[x < first] < 1.0).all()
    assert 16.4 < first < 16.8
    assert F.sigmoid(nv.tensor([16.5])).item() < 1.0
    assert F.sigmoid(nv.tensor([-16.7])).item() > 0.0  # the left tail keeps relative precision
    t = F.tanh(nv.tensor(np.arange(8.0, 11.0, 0.01, dtype=np.float32))).numpy()
    assert 8.5 < np.arange(8.0, 11.0, 0.01)[np.argmax(t == 1.0)] <= 10.5   # "9 to 10" (A08)


def test_relu_saves_only_its_output():
    x = nv.randn(4, 5, requires_grad=True)
    y = F.relu(x)
    saved = y.grad_fn.saved
    assert len(saved) == 1 and saved[0] is y._data


def test_relu_costs_about_what_bare_numpy_costs():
    """relu forward + backward against the same two NumPy lines (interleaved, best of many).

    Measured at about 1.2x on a (256, 1024) float32 array; the bound is loose because
    timings on shared cores are noisy.
    """
    x = nv.randn(256, 1024, requires_grad=True)
    g = nv.tensor(np.ones((256, 1024), np.float32))

    def ours():
        F.relu(x).backward(g)
        x.grad = None

    def bare():
        out = np.maximum(x._data, 0)
        return g._data * (out > 0)

    best = {ours: np.inf, bare: np.inf}
    for _ in range(15):
        for fn in best:
            t0 = time.perf_counter()
            fn()
            best[fn] = min(best[fn], time.perf_counter() - t0)
    ratio = best[ours] / best[bare]
    assert ratio < 2.5, f"relu forward+backward costs {ratio:.2f}x bare NumPy"


def test_double_backward_of_softmax_and_log_softmax_in_a_chain():
    x = nv.randn(3, 4, dtype=nv.float64, requires_grad=True)
    assert gradgradcheck(lambda t: F.log_softmax(F.softmax(t, 1) * 3, 0), [x])
    assert gradgradcheck(lambda t: F.silu(F.elu(t)) * F.softplus(t, 2.0), [x])


# --------------------------------------------------------------------- errors
def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="3 slopes.*4 channels"):
        F.prelu(nv.randn(2, 4), nv.ones(3))
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(nv.randn(3), approximate="fast")
    with pytest.raises(TypeError, match=r"\.float\(\)"):
        F.sigmoid(nv.tensor([1, 2, 3]))
    # relu, like torch.relu, also accepts integer tensors
    out = F.relu(nv.tensor([-1, 0, 2]))
    assert out.dtype == nv.int64 and out.tolist() == [0, 0, 2]
    with pytest.raises(ValueError, match="beta"):
        F.softplus(nv.randn(3), beta=0)
    with pytest.raises(IndexError, match="out of range"):
        F.softmax(nv.randn(2, 3), dim=2)
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(nv.randn(3), 1.0, -1.0)


def test_tensor_methods_are_installed():
    x = nv.randn(2, 3)
    for name in ("relu", "sigmoid", "tanh", "erf"):
        np.testing.assert_array_equal(getattr(x, name)().numpy(), getattr(F, name)(x).numpy())
    np.testing.assert_array_equal(x.softmax(1).numpy(), F.softmax(x, 1).numpy())
    np.testing.assert_array_equal(x.log_softmax(dim=0).numpy(), F.log_softmax(x, 0).numpy())


def test_docstring_examples_run():
    res = doctest.testmod(A, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 10 and res.failed == 0


# ------------------------------------------------------------------------ XOR
def _train_xor(hidden_act, steps=500, lr=1.0, seed=0):
    """A 2-4-1 net on XOR, trained by full-batch gradient descent with Tensor ops only.

    Weights and biases start as in torch.nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Returns the training accuracy after every step.
    """
    nv.manual_seed(seed)
    X = nv.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = nv.tensor([[0.0], [1.0], [1.0], [0.0]])

    def uniform(shape, fan_in):
        k = float(1 / np.sqrt(fan_in))
        return ((nv.rand(*shape) * 2 - 1) * k).detach().requires_grad_()

    W1, b1 = uniform((2, 4), 2), uniform((4,), 2)
    W2, b2 = uniform((4, 1), 4), uniform((1,), 4)
    params = [W1, b1, W2, b2]
    accs = []
    for _ in range(steps):
        logit = hidden_act(X @ W1 + b1) @ W2 + b2
        loss = F.binary_cross_entropy_with_logits(logit, y)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p._data -= lr * p.grad._data
        accs.append(float(((logit.numpy() > 0) == (y.numpy() > 0.5)).mean()))
    return accs


@pytest.mark.parametrize("seed", range(4))
def test_xor_needs_a_hidden_nonlinearity(seed):
    """Glossary row 1: tanh hidden layer -> 100 %; identity hidden layer -> never above 75 %."""
    assert _train_xor(F.tanh, seed=seed)[-1] == 1.0
    linear = _train_xor(lambda h: h, seed=seed)
    assert max(linear) <= 0.75  # the best any linear boundary can do on XOR
