"""nn.regularization: L1, L2 and elastic-net penalties, their gradients and weight decay."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.nn import regularization
from nerve.nn.regularization import elastic_net_penalty, l1_penalty, l2_penalty


def _params():
    rng = np.random.default_rng(0)
    return [nv.tensor(rng.normal(size=s), dtype=nv.float64, requires_grad=True) for s in [(3, 4), (4,), (2, 2, 2)]]


def test_values_match_numpy_and_strength_scales():
    ps = _params()
    arrays = [p.numpy() for p in ps]
    l1 = sum(np.abs(a).sum() for a in arrays)
    l2 = sum((a ** 2).sum() for a in arrays)
    assert float(l1_penalty(ps)) == pytest.approx(l1, rel=1e-12)
    assert float(l2_penalty(ps)) == pytest.approx(l2, rel=1e-12)
    assert float(l2_penalty(ps, strength=0.3)) == pytest.approx(0.3 * l2, rel=1e-12)
    for rho in (0.0, 0.25, 1.0):
        assert float(elastic_net_penalty(ps, rho, strength=2.0)) == pytest.approx(
            2.0 * (rho * l1 + (1 - rho) * l2), rel=1e-12)


def test_gradients_are_sign_and_twice_w():
    ps = _params()
    ps[0]._data[0, 0] = 0.0                     # the kink: sub-gradient 0, as in torch
    (l1_penalty(ps) + l2_penalty(ps, strength=0.5)).backward()
    for p in ps:
        np.testing.assert_allclose(p.grad.numpy(), np.sign(p.numpy()) + p.numpy(), rtol=1e-12)
    assert ps[0].grad.numpy()[0, 0] == 0.0


def test_module_argument_and_weights_only_selection():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    everything = sum((p.numpy() ** 2).sum() for p in net.parameters())
    assert float(l2_penalty(net)) == pytest.approx(everything, rel=1e-6)
    weights = [p for n, p in net.named_parameters() if n.endswith("weight")]
    assert float(l2_penalty(weights)) == pytest.approx(sum((w.numpy() ** 2).sum() for w in weights), rel=1e-6)


def test_sgd_weight_decay_equals_half_strength_l2_penalty():
    x = nv.tensor(np.random.default_rng(1).normal(size=(8, 3)), dtype=nv.float32)
    y = nv.tensor(np.random.default_rng(2).normal(size=(8, 1)), dtype=nv.float32)
    wd = 0.1
    nets = []
    for use_penalty in (False, True):
        nv.manual_seed(0)
        net = nn.Linear(3, 1)
        opt = optim.SGD(net.parameters(), lr=0.1, weight_decay=0 if use_penalty else wd)
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            if use_penalty:
                loss = loss + l2_penalty(net, strength=wd / 2)
            loss.backward()
            opt.step()
        nets.append(net)
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)


def test_l1_drives_weights_to_zero_and_l2_only_shrinks():
    # minimize 0.5·(w − 0.05)² + λ·penalty(w) with λ = 0.1 by plain gradient descent
    results = {}
    for name, fn in (("l1", l1_penalty), ("l2", l2_penalty)):
        w = nv.tensor([0.05], dtype=nv.float64, requires_grad=True)
        opt = optim.SGD([w], lr=0.01)
        for _ in range(2000):
            opt.zero_grad()
            loss = ((w - 0.05) * (w - 0.05)).sum() * 0.5 + fn([w], strength=0.1)
            loss.backward()
            opt.step()
        results[name] = abs(float(w.numpy()[0]))
    assert results["l1"] < 0.01            # soft-thresholded to (about) zero: |0.05| < λ
    assert results["l2"] == pytest.approx(0.05 / 1.2, rel=1e-3)   # w* = 0.05 / (1 + 2λ)


def test_errors_teach():
    net = nn.Linear(2, 2)
    gen = net.parameters()
    list(gen)
    with pytest.raises(ValueError, match="consumed already"):
        l2_penalty(gen)
    with pytest.raises(ValueError, match="l1_ratio must be in"):
        elastic_net_penalty(net, l1_ratio=1.5)
    with pytest.raises(ValueError, match="strength must be ≥ 0"):
        l1_penalty(net, strength=-1)
    with pytest.raises(TypeError, match="expected Parameters or Tensors"):
        l1_penalty([np.ones(3)])


def test_exported_from_nn_and_docstrings_run():
    assert nn.l1_penalty is l1_penalty and nn.elastic_net_penalty is elastic_net_penalty
    result = doctest.testmod(regularization, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
