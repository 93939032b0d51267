"""Activation modules: twins of F.* and of torch.nn, PReLU learning, the name registry, XOR."""
import warnings

import numpy as np
import pytest

import nerve as nv
from nerve import nn

# (our module, torch module name, kwargs)
CASES = [
    (nn.ReLU, "ReLU", {}), (nn.ReLU6, "ReLU6", {}), (nn.LeakyReLU, "LeakyReLU", {"negative_slope": 0.2}),
    (nn.ELU, "ELU", {"alpha": 0.7}), (nn.SELU, "SELU", {}), (nn.GELU, "GELU", {}),
    (nn.GELU, "GELU", {"approximate": "tanh"}), (nn.SiLU, "SiLU", {}), (nn.Sigmoid, "Sigmoid", {}),
    (nn.Tanh, "Tanh", {}), (nn.Softplus, "Softplus", {"beta": 2.0, "threshold": 5.0}),
    (nn.Softsign, "Softsign", {}), (nn.Hardtanh, "Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    (nn.Softmax, "Softmax", {"dim": 1}), (nn.LogSoftmax, "LogSoftmax", {"dim": -1}),
    (nn.PReLU, "PReLU", {"num_parameters": 3, "init": 0.1}),
]


@pytest.mark.torch
@pytest.mark.parametrize("ours,name,kw", CASES, ids=[f"{c[1]}{i}" for i, c in enumerate(CASES)])
def test_matches_torch_module_forward_and_backward(ours, name, kw):
    torch = pytest.importorskip("torch")
    m = ours(**kw).double()
    t = getattr(torch.nn, name)(**kw).double()
    xn = np.random.default_rng(0).standard_normal((4, 3, 5)) * 3
    gn = np.random.default_rng(1).standard_normal((4, 3, 5))
    x = nv.tensor(xn, requires_grad=True)
    out = m(x)
    out.backward(nv.tensor(gn))
    xt = torch.tensor(xn, requires_grad=True)
    ot = t(xt)
    ot.backward(torch.tensor(gn))
    np.testing.assert_allclose(out._data, ot.detach().numpy(), atol=1e-8, rtol=1e-6)
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), atol=1e-8, rtol=1e-6)
    if name == "PReLU":
        np.testing.assert_allclose(m.weight.grad._data, t.weight.grad.numpy(), atol=1e-8, rtol=1e-6)
    assert repr(m) == repr(t)


def test_float32_stays_float32():
    x = nv.randn(2, 3, 4)   # 3 channels on dim 1 for PReLU(num_parameters=3)
    for cls, _, kw in CASES:
        assert cls(**kw)(x).dtype == np.float32, cls


def test_prelu_slope_gradient_is_the_sum_over_negative_inputs():
    act = nn.PReLU().double()
    x = nv.tensor([[-2.0, 1.0, -0.5], [3.0, -1.0, 0.0]], dtype=nv.float64)
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    act(x).backward(nv.tensor(g))
    neg = x._data < 0
    assert act.weight.grad.item() == pytest.approx((x._data * g)[neg].sum(), abs=1e-15)
    assert [n for n, _ in act.named_parameters()] == ["weight"]
    assert act.weight.item() == 0.25


def test_softmax_without_dim_warns_and_uses_torch_legacy_rule():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = nn.Softmax()(nv.zeros(2, 5))
    assert any("pass dim explicitly" in str(x.message) for x in w)
    np.testing.assert_allclose(p._data.sum(axis=1), 1, rtol=1e-6)


def test_registry_builds_fresh_modules_and_explains_unknown_names():
    assert isinstance(nn.get_activation("relu"), nn.ReLU)
    assert isinstance(nn.get_activation("Leaky-ReLU"), nn.LeakyReLU)
    assert nn.get_activation("leaky_relu", negative_slope=0.3).negative_slope == 0.3
    for name in ["identity", "linear", None]:
        assert isinstance(nn.get_activation(name), nn.Identity)
    assert nn.get_activation("softmax").dim == -1
    assert isinstance(nn.get_activation(nn.Tanh), nn.Tanh)
    proto = nn.PReLU()
    made = nn.get_activation(proto)
    assert isinstance(made, nn.PReLU) and made.weight is not proto.weight
    for name in ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "elu", "selu", "softplus",
                 "identity", "linear", "swish", "relu6", "prelu", "softsign", "hardtanh"]:
        assert name in nn.available_activations()
        nn.get_activation(name)(nv.randn(2, 3))
    with pytest.raises(ValueError, match="unknown activation 'relux'; valid names are .*relu"):
        nn.get_activation("relux")
    with pytest.raises(TypeError):
        nn.get_activation(3)
    nn.register_activation("double_tanh", lambda: nn.Sequential(nn.Tanh(), nn.Tanh()))
    try:
        assert isinstance(nn.get_activation("double-tanh"), nn.Sequential)
    finally:
        nn.activation._REGISTRY.pop("double_tanh")


def _train_xor(activation, steps=1500, lr=0.5, seed=0):
    nv.manual_seed(seed)
    x = nv.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=nv.float64)
    y = nv.tensor([[0.0], [1.0], [1.0], [0.0]], dtype=nv.float64)
    net = nn.Sequential(nn.Linear(2, 4), nn.get_activation(activation), nn.Linear(4, 1)).double()
    for _ in range(steps):
        loss = ((net(x) - y) ** 2).mean()
        net.zero_grad()
        loss.backward()
        with nv.no_grad():
            for p in net.parameters():
                p._data -= lr * p.grad._data
    pred = (net(x)._data > 0.5).astype(float)
    return float((pred == y._data).mean())


def test_xor_needs_a_nonlinearity():
    assert _train_xor("tanh") == 1.0
    for seed in range(3):
        assert _train_xor("identity", seed=seed) <= 0.75


@pytest.mark.parametrize("name", [n for n in nn.available_activations() if n != "double_tanh"])
def test_every_registered_activation_passes_gradcheck_away_from_kinks(name):
    from torch_twin import off_grid

    act = nn.get_activation(name).double()
    x = nv.tensor(off_grid(np.random.default_rng(3), (3, 4), [-1.0, 0.0, 1.0, 6.0]) * 2,
                  dtype=nv.float64, requires_grad=True)
    params = list(act.parameters())
    assert nv.autograd.gradcheck(lambda x, *ps: act(x), (x, *params))
