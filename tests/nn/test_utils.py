"""nn.utils: parameters <-> vector, grad_norm, and the clipping re-exports."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.nn import utils


def test_parameters_to_vector_and_back():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    vec = utils.parameters_to_vector(net.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,) and vec.dtype == np.float32
    np.testing.assert_array_equal(vec._data, np.concatenate([p._data.ravel() for p in net.parameters()]))
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    arrays = [p._data for p in other.parameters()]
    utils.vector_to_parameters(vec, other.parameters())
    for p, q, arr in zip(net.parameters(), other.parameters(), arrays):
        np.testing.assert_array_equal(p._data, q._data)
        assert q._data is arr                      # copied in place: optimizers keep valid references
    with pytest.raises(ValueError, match="26 elements but the parameters hold 30"):
        utils.vector_to_parameters(nv.zeros(26), list(other.parameters()) + [nv.zeros(4)])


def test_parameters_to_vector_is_differentiable():
    a = nv.randn(2, 3, dtype=nv.float64, requires_grad=True)
    b = nv.randn(4, dtype=nv.float64, requires_grad=True)
    assert nv.autograd.gradcheck(lambda a, b: utils.parameters_to_vector([a, b]) ** 2, (a, b))
    (utils.parameters_to_vector([a, b]) * nv.arange(10, dtype=nv.float64)).sum().backward()
    np.testing.assert_array_equal(a.grad._data.ravel(), np.arange(6))
    np.testing.assert_array_equal(b.grad._data, np.arange(6, 10))


def test_grad_norm():
    net = nn.Linear(5, 3)
    net(nv.randn(4, 5)).sum().backward()
    grads = np.concatenate([p.grad._data.ravel().astype(np.float64) for p in net.parameters()])
    assert utils.grad_norm(net.parameters()) == pytest.approx(np.linalg.norm(grads), rel=1e-12)
    assert utils.grad_norm(net.parameters(), math.inf) == pytest.approx(np.abs(grads).max())
    assert utils.grad_norm(net.parameters(), 1) == pytest.approx(np.abs(grads).sum(), rel=1e-12)
    assert utils.grad_norm(nn.Linear(2, 2).parameters()) == 0.0


def test_clipping_is_re_exported_from_optim():
    clip = pytest.importorskip("nerve.optim.clip")
    assert utils.clip_grad_norm_ is clip.clip_grad_norm_
    assert utils.clip_grad_value_ is clip.clip_grad_value_
    net = nn.Linear(5, 3)
    (net(nv.randn(4, 5)) * 100).sum().backward()
    utils.clip_grad_norm_(net.parameters(), 1.0)
    assert utils.grad_norm(net.parameters()) == pytest.approx(1.0, rel=1e-5)
    utils.clip_grad_value_(net.parameters(), 0.01)
    assert max(float(np.abs(p.grad._data).max()) for p in net.parameters()) <= 0.01
    with pytest.raises(AttributeError, match="no attribute 'clip_grad_nrm_'"):
        utils.clip_grad_nrm_  # noqa: B018


def test_spectral_norm_is_reachable_from_utils():
    norm = pytest.importorskip("nerve.nn.normalization")
    if not hasattr(norm, "spectral_norm"):
        pytest.skip("spectral_norm not available yet")
    assert utils.spectral_norm is norm.spectral_norm
    assert utils.remove_spectral_norm is norm.remove_spectral_norm
