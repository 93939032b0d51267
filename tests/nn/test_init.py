"""nn.init: statistics over 1e6 draws, torch's gain table and fans, orthogonality, seeding."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.nn import init

N = 1_000_000


def _big(shape=(1000, 1000), dtype=np.float64):
    return nv.empty(*shape, dtype=dtype)


def _close(value, target, rel=0.01):
    assert abs(value - target) <= rel * abs(target), (value, target)


def test_uniform_and_normal_statistics():
    w = init.uniform_(_big(), -2.0, 3.0)._data
    assert w.min() >= -2 and w.max() < 3
    _close(w.mean(), 0.5, rel=0.02)
    _close(w.std(), 5 / math.sqrt(12))
    w = init.normal_(_big(), 1.5, 0.5)._data
    _close(w.mean(), 1.5)
    _close(w.std(), 0.5)


def test_xavier_statistics():
    fan_in, fan_out = 1000, 1000
    a = math.sqrt(6 / (fan_in + fan_out))
    w = init.xavier_uniform_(_big())._data
    assert np.abs(w).max() <= a
    _close(np.abs(w).max(), a)
    _close(w.std(), math.sqrt(2 / (fan_in + fan_out)))
    w = init.xavier_normal_(_big(), gain=init.calculate_gain("tanh"))._data
    _close(w.std(), 5 / 3 * math.sqrt(2 / (fan_in + fan_out)))


def test_kaiming_and_lecun_statistics():
    w = init.kaiming_normal_(_big((500, 2000)), nonlinearity="relu")._data
    _close(w.std(), math.sqrt(2 / 2000))
    w = init.kaiming_normal_(_big((500, 2000)), mode="fan_out", nonlinearity="relu")._data
    _close(w.std(), math.sqrt(2 / 500))
    w = init.kaiming_uniform_(_big((500, 2000)), nonlinearity="relu")._data
    bound = math.sqrt(6 / 2000)
    assert np.abs(w).max() <= bound
    _close(np.abs(w).max(), bound)
    _close(w.std(), math.sqrt(2 / 2000))
    w = init.lecun_normal_(_big((500, 2000)))._data
    _close(w.std(), math.sqrt(1 / 2000))
    w = init.lecun_uniform_(_big((500, 2000)))._data
    _close(np.abs(w).max(), math.sqrt(3 / 2000))


def _phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _pdf(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04),
                                           (0.0, 1.0, 3.0, 10.0), (1.0, 2.0, -7.0, -5.5),
                                           (0.0, 1.0, 0.5, 0.6)])
def test_trunc_normal_matches_the_truncated_distribution(mean, std, a, b):
    w = init.trunc_normal_(_big(), mean, std, a, b)._data
    assert w.min() >= a and w.max() <= b
    al, be = (a - mean) / std, (b - mean) / std
    z = _phi(be) - _phi(al)
    t_mean = mean + std * (_pdf(al) - _pdf(be)) / z
    t_var = std ** 2 * (1 + (al * _pdf(al) - be * _pdf(be)) / z - ((_pdf(al) - _pdf(be)) / z) ** 2)
    assert abs(w.mean() - t_mean) <= 0.01 * max(abs(t_mean), math.sqrt(t_var))
    _close(w.std(), math.sqrt(t_var))


@pytest.mark.parametrize("shape", [(64, 64), (100, 30), (30, 100), (8, 3, 3, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(nv.empty(*shape, dtype=nv.float64), gain=2.0)._data.reshape(shape[0], -1)
    rows, cols = w.shape
    gram = w.T @ w if rows >= cols else w @ w.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-12)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal_(nv.empty(5))


def test_constant_zeros_ones_eye_and_bias_values():
    b = nv.empty(16)
    assert init.constant_(b, 0.01) is b and np.all(b._data == np.float32(0.01))
    assert not init.zeros_(b)._data.any()
    assert np.all(init.ones_(b)._data == 1)
    np.testing.assert_array_equal(init.eye_(nv.empty(3, 4))._data, np.eye(3, 4))
    with pytest.raises(ValueError, match="2-D"):
        init.eye_(nv.empty(2, 2, 2))


def test_in_place_returns_same_tensor_records_nothing_and_keeps_dtype():
    p = nn.Parameter(nv.zeros(20, 30))
    arr = p._data
    out = init.kaiming_uniform_(p)
    assert out is p and p._data is arr and p.dtype == np.float32
    assert p.grad_fn is None and p.requires_grad and p.is_leaf


def test_seeded_draws_are_reproducible():
    nv.manual_seed(5)
    a = init.xavier_normal_(nv.empty(10, 10))._data.copy()
    nv.manual_seed(5)
    b = init.xavier_normal_(nv.empty(10, 10))._data
    np.testing.assert_array_equal(a, b)
    g = np.random.default_rng(3)
    c = init.normal_(nv.empty(4), generator=g)._data
    np.testing.assert_array_equal(c, np.random.default_rng(3).normal(0, 1, 4).astype(np.float32))


@pytest.mark.torch
def test_calculate_gain_equals_torch():
    torch = pytest.importorskip("torch")
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid", "tanh",
                 "relu", "selu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)
    for slope in [None, 0.0, 0.2, 1, 5.0]:
        assert init.calculate_gain("leaky_relu", slope) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-15)
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("softmaxx")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(16, 784), (10, 16), (6, 1, 5, 5), (32, 3, 3, 3), (8, 4, 7),
                                   (4, 2, 3, 3, 3)])
def test_fans_equal_torch(shape):
    torch = pytest.importorskip("torch")
    ours = init._calculate_fan_in_and_fan_out(nv.empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_of_a_bias_is_an_error():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(nv.empty(5))


@pytest.mark.torch
def test_dirac_equals_torch():
    torch = pytest.importorskip("torch")
    for shape, groups in [((6, 3, 3, 3), 1), ((4, 2, 3), 2), ((3, 5, 3, 3), 1)]:
        ours = init.dirac_(nv.empty(*shape), groups=groups)._data
        theirs = torch.nn.init.dirac_(torch.empty(*shape), groups=groups).numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_get_initializer():
    t = nv.empty(3, 3)
    assert np.all(init.get_initializer(0.5)(t)._data == 0.5)
    init.get_initializer("he_normal")(t)
    init.get_initializer("xavier_uniform_")(t)
    with pytest.raises(ValueError, match="unknown initializer 'nope'"):
        init.get_initializer("nope")


def _mean_sq_preacts(std_fn, depth=20, width=256, batch=512):
    x = nv.randn(batch, width, dtype=nv.float64)
    out = []
    with nv.no_grad():
        for _ in range(depth):
            layer = nn.Linear(width, width, bias=False).double()
            init.normal_(layer.weight, 0.0, std_fn(width))
            z = layer(x)
            out.append(float((z._data ** 2).mean()))
            x = nv.nn.functional.relu(z)
    return np.array(out)


def test_he_init_keeps_relu_signal_alive_and_lecun_std_collapses_it():
    he = _mean_sq_preacts(lambda n: math.sqrt(2 / n))
    assert np.all(he / he[0] >= 0.25) and np.all(he / he[0] <= 4)
    small = _mean_sq_preacts(lambda n: math.sqrt(1 / n))
    assert small[-1] / small[0] < 1e-4
