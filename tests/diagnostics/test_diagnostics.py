"""Pure diagnostics: gradient norms, activation statistics, the NaN/Inf locator."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.data import DataLoader, TensorDataset
from nerve.diagnostics import activation_stats, find_nonfinite, gradient_norms, is_activation


def _phi(z):
    return 0.5 * math.erfc(-z / math.sqrt(2))


# ------------------------------------------------------------------- gradient_norms
def test_gradient_norms_match_the_closed_form_of_a_linear_layer():
    # loss = sum(x W^T + b): dW = 1_out ⊗ Σ_n x_n, db = N per output
    layer = nn.Linear(3, 2)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    layer(nv.tensor(x)).sum().backward()
    g = gradient_norms(layer)
    assert g.norms["weight"] == pytest.approx(math.sqrt(2) * np.linalg.norm(x.sum(0)), rel=1e-6)
    assert g.norms["bias"] == pytest.approx(5 * math.sqrt(2), rel=1e-6)
    assert g.total == pytest.approx(math.hypot(g.norms["weight"], g.norms["bias"]), rel=1e-9)
    assert g.first == g.last == "weight" and g.ratio == 1.0 and g.nonfinite == []


def test_ratio_is_first_weight_over_last_weight_skipping_biases():
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))
    net(nv.tensor(np.ones((6, 4), np.float32))).sum().backward()
    g = gradient_norms(net)
    assert g.layers == ["0.weight", "2.weight", "4.weight"]
    w0 = np.linalg.norm(net[0].weight.grad.numpy())
    w4 = np.linalg.norm(net[4].weight.grad.numpy())
    assert g.ratio == pytest.approx(w0 / w4, rel=1e-6)


def test_nonfinite_and_huge_gradients():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    for p in net.parameters():
        p.grad = nv.tensor(np.ones(p.shape, np.float32))
    net[0].weight.grad = nv.tensor(np.full((2, 2), 1e20, np.float32))   # squares overflow float32
    g = gradient_norms(net)
    assert g.norms["0.weight"] == pytest.approx(2e20, rel=1e-6) and g.nonfinite == []
    net[2].bias.grad = nv.tensor(np.array([np.nan, 0.0], np.float32))
    g = gradient_norms(net)
    assert g.nonfinite == ["2.bias"] and math.isnan(g.norms["2.bias"])


def test_gradient_norms_without_a_backward_says_what_to_do():
    with pytest.raises(ValueError, match="backward"):
        gradient_norms(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="named_parameters"):
        gradient_norms(np.zeros(3))


# ----------------------------------------------------------------- activation_stats
@pytest.mark.parametrize("shift, expected", [(0.0, 0.5), (1.0, _phi(-1.0))])
def test_relu_zero_fraction_depends_on_the_input_distribution(shift, expected):
    x = np.random.default_rng(1).normal(loc=shift, size=(200_000, 1)).astype(np.float32)
    s = activation_stats(nn.ReLU(), x)[""]
    assert s.sparsity == pytest.approx(expected, abs=0.01)
    assert round(_phi(-1.0), 4) == 0.1587


def test_a_unit_with_bias_minus_ten_is_dead_and_leaky_relu_reports_it_inactive():
    nv.manual_seed(0)
    lin = nn.Linear(8, 4)
    nn.init.constant_(lin.bias, 0.0)
    lin.bias.data[2] = -10.0
    x = np.random.default_rng(0).normal(size=(256, 8)).astype(np.float32)   # standardized inputs
    for act in (nn.ReLU(), nn.LeakyReLU()):
        s = activation_stats(nn.Sequential(lin, act), x)["1"]
        assert s.dead_units.tolist() == [2] and s.dead_fraction == 0.25 and s.units == 4
    relu = activation_stats(nn.Sequential(lin, nn.ReLU()), x)["1"]
    assert relu.sparsity >= 0.25 and relu.saturation is None


def test_sigmoid_and_tanh_saturation_match_the_normal_tails():
    x = np.random.default_rng(2).normal(size=(200_000, 1))
    # σ(z) ≥ 0.99 or ≤ 0.01 ⇔ |z| ≥ logit(0.99); tanh: |z| ≥ atanh(0.99)
    s = activation_stats(nn.Sigmoid(), (10 * x).astype(np.float32))[""]
    assert s.saturation == pytest.approx(2 * _phi(-math.log(99) / 10), abs=0.005)
    assert s.dead_fraction is None and s.dead_units is None
    t = activation_stats(nn.Tanh(), x.astype(np.float32))[""]
    assert t.saturation == pytest.approx(2 * _phi(-math.atanh(0.99)), abs=0.002)


def test_channels_are_the_units_of_image_shaped_outputs():
    x = np.abs(np.random.default_rng(0).normal(size=(4, 3, 5, 5))).astype(np.float32)
    x[:, 1] *= -1   # channel 1 never positive
    s = activation_stats(nn.ReLU(), x)[""]
    assert s.units == 3 and s.dead_units.tolist() == [1]


def test_stats_accumulate_over_a_loader_and_skip_softmax():
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 5), nn.Softmax(dim=1))
    stats = activation_stats(net, DataLoader(TensorDataset(x, np.zeros(40, np.int64)), batch_size=16))
    assert list(stats) == ["1"] and stats["1"].samples == 40
    assert is_activation(nn.GELU()) and not is_activation(nn.Softmax(dim=1))
    # float64 arrays are cast to the model's float32
    assert activation_stats(net, x.astype(np.float64))["1"].samples == 40


def test_a_model_without_activation_layers_is_an_error():
    with pytest.raises(ValueError, match="no activation layers"):
        activation_stats(nn.Linear(2, 2), np.zeros((1, 2), np.float32))
    # the hooks are removed afterwards
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    activation_stats(net, np.zeros((1, 2), np.float32))
    assert all(not m._forward_hooks for m in net.modules())


# -------------------------------------------------------------------- find_nonfinite
class _Log(nn.Module):
    def forward(self, x):
        return x.log()


def test_find_nonfinite_names_the_module_op_and_input_range():
    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), _Log(), nn.Linear(6, 2))
    x = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    r = find_nonfinite(net, x)
    h = net[0](nv.tensor(x)).numpy()
    assert (r.module, r.kind, r.op) == ("1", "_Log", "Log")
    assert r.nan == int((h < 0).sum()) and r.inf == int((h == 0).sum())
    assert r.input_min == pytest.approx(h.min()) and r.input_max == pytest.approx(h.max())
    assert r.input_finite and r.bad_parameters == []
    assert "Log" in r.describe() and all(not m._forward_hooks for m in net.modules())


def test_find_nonfinite_blames_bad_weights_and_bad_inputs():
    net = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
    assert find_nonfinite(net, np.ones((3, 2), np.float32)) is None
    net[2].weight.data[0, 1] = np.inf
    r = find_nonfinite(net, np.ones((3, 2), np.float32))
    assert r.module == "2" and r.bad_parameters == ["weight"] and "already non-finite" in r.describe()
    x = np.ones((3, 2), np.float32)
    x[1, 0] = np.nan
    r = find_nonfinite(net, x)
    assert r.module == "<input>" and r.nan == 1 and (r.input_min, r.input_max) == (1.0, 1.0)


def test_activation_sparsity_of_one_layer():
    from nerve.diagnostics import activation_sparsity

    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU())
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    out = net[1](net[0](nv.tensor(x))).numpy()
    assert activation_sparsity(net, x, "1") == pytest.approx(np.mean(out == 0))
    with pytest.raises(KeyError, match="measured layers are"):
        activation_sparsity(net, x, "0")
