"""Gradient clipping by norm and by value, against torch and against the definitions."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve.optim import clip_grad_norm_, clip_grad_value_

SHAPES = [(3, 4), (5,), (), (2, 2, 2)]


def _params(dtype, scale, seed=0):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) * scale for s in SHAPES]
    ps = []
    for g in grads:
        p = nv.tensor(np.zeros(g.shape), dtype=dtype, requires_grad=True)
        p.grad = nv.tensor(np.asarray(g), dtype=dtype)
        ps.append(p)
    return ps, grads


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ps, grads = _params(dtype, 2.0)
    tps = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.float64 if dtype == np.float64 else torch.float32,
                        requires_grad=True)
        t.grad = torch.tensor(np.asarray(g, dtype=dtype))
        tps.append(t)
    total = clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type, foreach=False)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert isinstance(total, nv.Tensor) and total.dtype == dtype
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=rtol)
    for p, t in zip(ps, tps):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-30)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_after_clipping_the_norm_is_at_most_max_norm(norm_type):
    ps, grads = _params(np.float64, 10.0)
    before = clip_grad_norm_(ps, 0.5, norm_type=norm_type).item()
    flat = np.concatenate([np.ravel(g) for g in grads])
    assert before == pytest.approx(np.linalg.norm(flat, ord=norm_type), rel=1e-12)
    after = np.linalg.norm(np.concatenate([p.grad.numpy().ravel() for p in ps]), ord=norm_type)
    assert after <= 0.5 + 1e-6
    assert after == pytest.approx(0.5, rel=1e-5)


def test_gradients_below_max_norm_are_untouched():
    ps, _ = _params(np.float32, 0.01)
    arrays = [p.grad._data for p in ps]
    copies = [a.copy() for a in arrays]
    clip_grad_norm_(ps, 1.0)
    for p, a, c in zip(ps, arrays, copies):
        assert p.grad._data is a
        np.testing.assert_array_equal(a, c)


def test_clipping_replaces_arrays_instead_of_writing_into_them():
    a = nv.tensor([0.0, 0.0], dtype=nv.float64, requires_grad=True)
    b = nv.tensor([0.0, 0.0], dtype=nv.float64, requires_grad=True)
    shared = np.array([30.0, 40.0])
    a.grad = nv.tensor(shared)
    b.grad = nv.tensor(shared)
    a.grad._data = b.grad._data = shared  # the engine may share one array between leaves
    total = clip_grad_norm_([a, b], 1.0)
    assert total.item() == pytest.approx(50 * math.sqrt(2))
    np.testing.assert_array_equal(shared, [30.0, 40.0])
    clip_grad_value_([a, b], 0.1)
    np.testing.assert_array_equal(shared, [30.0, 40.0])


def test_nonfinite_norm_raises_only_when_asked():
    p = nv.tensor([0.0, 0.0], requires_grad=True)
    p.grad = nv.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_([p], 1.0).item())


def test_no_gradients_gives_zero_and_single_tensor_is_accepted():
    p = nv.tensor([1.0], requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    p.grad = nv.tensor([3.0])
    assert clip_grad_norm_(p, 1.0).item() == 3.0
    assert p.grad.item() == pytest.approx(1.0 / (1 + 1e-6 / 3), rel=1e-6)


def test_bad_arguments_are_named():
    p = nv.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="max_norm must be >= 0, got -1.0"):
        clip_grad_norm_([p], -1)
    with pytest.raises(ValueError, match="clip_value must be >= 0, got -0.5"):
        clip_grad_value_([p], -0.5)
    with pytest.raises(TypeError, match="item 0 is a ndarray"):
        clip_grad_norm_([np.ones(2)], 1.0)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_clip_grad_value_matches_torch_and_bounds_every_entry(dtype):
    torch = pytest.importorskip("torch")
    ps, grads = _params(dtype, 3.0, seed=1)
    tps = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.float64 if dtype == np.float64 else torch.float32,
                        requires_grad=True)
        t.grad = torch.tensor(np.asarray(g, dtype=dtype))
        tps.append(t)
    clip_grad_value_(ps, 1.5)
    torch.nn.utils.clip_grad_value_(tps, 1.5, foreach=False)
    for p, t in zip(ps, tps):
        assert p.grad.dtype == dtype
        assert np.all(np.abs(p.grad.numpy()) <= 1.5)
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
