"""backprop_steps: the hand-written chain rule equals what loss.backward() and SGD compute."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.diagnostics import backprop_steps, backprop_steps_from_model, mlp_trace

# The classic worked example (2-2-2, sigmoid, ½Σ(t − o)² = mean over the two outputs).
W = [np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])]
B = [np.array([0.35, 0.35]), np.array([0.60, 0.60])]


def test_worked_example_numbers():
    s = backprop_steps(W, B, [0.05, 0.10], [0.01, 0.99], activation="sigmoid", lr=0.5)
    assert np.allclose(s["forward"][0]["a"], [0.593269992, 0.596884378], atol=1e-9)
    assert s["loss"] == pytest.approx(0.298371109, abs=1e-9)
    # the updated output weights of the published walk-through
    assert np.allclose(s["updates"][1]["W_new"], [[0.35891648, 0.408666186], [0.511301270, 0.561370121]], atol=1e-8)
    assert np.allclose(s["updates"][0]["W_new"], [[0.149780716, 0.19956143], [0.24975114, 0.29950229]], atol=1e-8)


@pytest.mark.parametrize("act_cls", [nn.Sigmoid, nn.Tanh, nn.ReLU])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_equals_autograd_and_sgd(act_cls, loss):
    nv.manual_seed(1)
    layers = [nn.Linear(2, 3), act_cls(), nn.Linear(3, 2)] + ([act_cls()] if loss == "mse" else [])
    model = nn.Sequential(*layers).double()
    x = np.array([0.3, -0.7])
    target = [0.2, 0.9] if loss == "mse" else 1
    s = backprop_steps_from_model(model, x, target, loss=loss, lr=0.1)
    out = model(nv.Tensor(x[None]))
    if loss == "mse":
        value = nn.MSELoss()(out, nv.Tensor(np.array([target])))
    else:
        value = nn.CrossEntropyLoss()(out, nv.Tensor(np.array([target])))
    value.backward()
    assert s["loss"] == pytest.approx(float(value.item()), rel=1e-12)
    linears = [m for m in model.children() if isinstance(m, nn.Linear)]
    by_layer = {b["layer"]: b for b in s["backward"]}
    for i, lin in enumerate(linears, start=1):
        np.testing.assert_allclose(by_layer[i]["dW"], lin.weight.grad.numpy(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(by_layer[i]["db"], lin.bias.grad.numpy(), rtol=1e-10, atol=1e-14)
    optim.SGD(model.parameters(), lr=0.1).step()
    for i, lin in enumerate(linears):
        np.testing.assert_allclose(s["updates"][i]["W_new"], lin.weight.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s["updates"][i]["b_new"], lin.bias.numpy(), rtol=1e-12, atol=1e-14)


def test_forward_equals_model():
    nv.manual_seed(2)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)).double()
    s = backprop_steps_from_model(model, [0.5, 0.25], 0, loss="cross_entropy")
    assert np.allclose(s["forward"][-1]["z"], model(nv.Tensor(np.array([[0.5, 0.25]]))).numpy()[0], atol=1e-14)


@pytest.mark.parametrize("kwargs, match", [
    ({"activation": "gelu"}, "activation must be"), ({"loss": "hinge"}, "loss must be"),
    ({"lr": -1.0}, "lr must be"), ({"x": [1.0, float("nan")]}, "x must be"),
    ({"target": [0.1, 0.2, 0.3]}, "target must have 2"), ({"x": [1.0, 2.0, 3.0]}, "do not fit"),
])
def test_bad_arguments(kwargs, match):
    args = {"weights": W, "biases": B, "x": [0.05, 0.1], "target": [0.01, 0.99], **kwargs}
    with pytest.raises(ValueError, match=match):
        backprop_steps(**args)


def test_from_model_refuses_other_layers():
    with pytest.raises(ValueError, match="handles Linear"):
        backprop_steps_from_model(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)), [0, 0], [0, 0])


def test_mlp_trace_equals_numpy_forward():
    from nerve import models

    nv.manual_seed(0)
    for act, f in (("sigmoid", lambda z: 1 / (1 + np.exp(-z))), ("relu", lambda z: np.maximum(z, 0)),
                   ("identity", lambda z: z)):
        net = models.get_model("playground-mlp", hidden="5,4", activation=act, in_features=6, num_classes=3) \
            if act != "identity" else models.mlp([6, 5, 4, 3], activation=None)
        x = np.random.default_rng(0).normal(size=6)
        t = mlp_trace(net, x)
        a = x
        expect = [x]
        linears = [m for m in net.children() if isinstance(m, nn.Linear)]
        for i, lin in enumerate(linears):
            z = lin.weight.numpy().astype(np.float64) @ a + lin.bias.numpy().astype(np.float64)
            a = z if i == len(linears) - 1 else f(z)
            expect.append(a)
        assert [len(v) for v in t["activations"]] == [6, 5, 4, 3] and t["activation"] == act
        for got, want in zip(t["activations"], expect):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        p = np.exp(a - a.max())
        np.testing.assert_allclose(t["probabilities"], p / p.sum(), rtol=1e-12)
        assert net[1].weight.dtype == np.float32  # the model itself is left as it was


def test_mlp_trace_refuses_non_mlp():
    with pytest.raises(ValueError, match="not a plain MLP"):
        mlp_trace(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="must hold 4"):
        mlp_trace(nn.Sequential(nn.Linear(4, 2)), np.zeros(5))
