"""nn.Linear: forward formula, default init, torch parity, errors, and the bias demo (row 7)."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn


def test_forward_equals_numpy_formula_and_keeps_float32():
    layer = nn.Linear(5, 3)
    x = nv.randn(7, 5)
    out = layer(x)
    assert out.dtype == np.float32 and out.shape == (7, 3)
    np.testing.assert_allclose(out._data, x._data @ layer.weight._data.T + layer.bias._data, rtol=1e-6)
    # leading batch dims are allowed: (*, in) -> (*, out)
    assert layer(nv.randn(2, 4, 5)).shape == (2, 4, 3)
    assert layer(nv.randn(5)).shape == (3,)


def test_no_bias():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None and layer.num_parameters() == 8
    assert "bias=False" in repr(layer)
    x = nv.randn(3, 4)
    np.testing.assert_allclose(layer(x)._data, x._data @ layer.weight._data.T, rtol=1e-6)


def test_default_init_bounds_match_one_over_sqrt_fan_in():
    layer = nn.Linear(400, 2500)   # 1e6 weights
    k = 1 / math.sqrt(400)
    w = layer.weight._data.astype(np.float64)
    assert np.abs(w).max() <= k
    assert abs(np.abs(w).max() - k) / k < 0.01           # the empirical bound reaches k
    assert abs(w.std() - k / math.sqrt(3)) / (k / math.sqrt(3)) < 0.01
    b = layer.bias._data
    assert np.abs(b).max() <= k and abs(np.abs(b).max() - k) / k < 0.01


def test_init_is_reproducible_and_overridable():
    nv.manual_seed(7)
    a = nn.Linear(10, 10)
    nv.manual_seed(7)
    b = nn.Linear(10, 10)
    np.testing.assert_array_equal(a.weight._data, b.weight._data)
    c = nn.Linear(10, 10, weight_init="xavier_uniform", bias_init=0.01)
    assert np.all(c.bias._data == np.float32(0.01))
    assert np.abs(c.weight._data).max() <= math.sqrt(6 / 20)
    z = nn.Linear(3, 3, bias_init="zeros")
    assert not z.bias._data.any()


@pytest.mark.torch
def test_torch_parity_forward_and_backward_float64():
    torch = pytest.importorskip("torch")
    ours = nn.Linear(6, 4).double()
    theirs = torch.nn.Linear(6, 4).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight._data))
        theirs.bias.copy_(torch.from_numpy(ours.bias._data))
    xn = np.random.default_rng(0).standard_normal((9, 6))
    gn = np.random.default_rng(1).standard_normal((9, 4))
    x = nv.tensor(xn, requires_grad=True)
    out = ours(x)
    out.backward(nv.tensor(gn))
    xt = torch.tensor(xn, requires_grad=True)
    ot = theirs(xt)
    ot.backward(torch.tensor(gn))
    np.testing.assert_allclose(out._data, ot.detach().numpy(), atol=1e-10, rtol=1e-10)
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy(), atol=1e-10, rtol=1e-10)
    np.testing.assert_allclose(ours.weight.grad._data, theirs.weight.grad.numpy(), atol=1e-10, rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad._data, theirs.bias.grad.numpy(), atol=1e-10, rtol=1e-10)


def test_bias_gradient_is_the_batch_sum_of_upstream_gradients():
    layer = nn.Linear(3, 2).double()
    g = np.random.default_rng(2).standard_normal((8, 2))
    layer(nv.randn(8, 3, dtype=nv.float64)).backward(nv.tensor(g))
    np.testing.assert_allclose(layer.bias.grad._data, g.sum(axis=0), rtol=1e-14)


def test_gradcheck_through_linear():
    layer = nn.Linear(3, 2).double()
    x = nv.randn(4, 3, dtype=nv.float64, requires_grad=True)
    assert nv.autograd.gradcheck(lambda x, w, b: nv.nn.functional.linear(x, w, b),
                                 (x, layer.weight, layer.bias))


def test_a_batch_equals_single_sample_calls_stacked():
    layer = nn.Linear(784, 16).double()
    x = nv.randn(64, 784, dtype=nv.float64)
    batched = layer(x)._data
    singles = np.stack([layer(x[i])._data for i in range(64)])
    np.testing.assert_allclose(batched, singles, rtol=0, atol=1e-12)


def test_wrong_shape_error_names_the_layer():
    layer = nn.Linear(784, 16)
    with pytest.raises(RuntimeError) as info:
        layer(nv.zeros(32, 28, 28))
    assert str(info.value).startswith(
        "Linear(784→16) got input of shape (32, 28, 28); did you forget Flatten()?")
    with pytest.raises(RuntimeError, match=r"Linear\(784→16\) got input of shape \(32, 100\).*expects 784"):
        layer(nv.zeros(32, 100))
    with pytest.raises(RuntimeError, match=r"Linear\(784→16\).*dtype"):
        layer(nv.zeros(2, 784, dtype=nv.float64))
    with pytest.raises(ValueError, match="non-negative integer"):
        nn.Linear(3.5, 2)


def test_neuron_is_sigmoid_of_w_dot_x_plus_b():
    neuron = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()).double()
    x = np.array([[0.5, -1.0, 2.0]])
    w, b = neuron[0].weight._data[0], neuron[0].bias._data[0]
    expected = 1 / (1 + np.exp(-(x[0] @ w + b)))
    assert abs(neuron(nv.tensor(x)).item() - expected) < 1e-15


def test_two_linear_layers_collapse_to_one():
    l1, l2 = nn.Linear(5, 7).double(), nn.Linear(7, 3).double()
    stacked = nn.Sequential(l1, nn.Identity(), l2)
    merged = nn.Linear(5, 3).double()
    W1, b1, W2, b2 = l1.weight._data, l1.bias._data, l2.weight._data, l2.bias._data
    merged.load_state_dict({"weight": W2 @ W1, "bias": W2 @ b1 + b2})
    x = nv.randn(10, 5, dtype=nv.float64)
    np.testing.assert_allclose(stacked(x)._data, merged(x)._data, atol=1e-12)


def _fit_line(bias, steps=300, lr=0.5):
    """Plain full-batch gradient descent on MSE for y = 2x + 3, x ~ U(-1, 1)."""
    nv.manual_seed(0)
    x = nv.rand(256, 1, dtype=nv.float64) * 2 - 1
    y = 2 * x + 3
    model = nn.Linear(1, 1, bias=bias).double()
    for _ in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        model.zero_grad()
        loss.backward()
        with nv.no_grad():
            for p in model.parameters():
                p._data -= lr * p.grad._data
    return model, ((model(x) - y) ** 2).mean().item()


def test_bias_demo_y_equals_2x_plus_3():
    _, mse_without = _fit_line(bias=False)
    assert mse_without > 8.5           # ≈ 9: a line through the origin cannot shift by 3
    model, mse_with = _fit_line(bias=True)
    assert mse_with < 1e-8
    assert abs(model.bias.item() - 3) < 1e-4 and abs(model.weight.item() - 2) < 1e-4
