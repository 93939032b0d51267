"""models.mlp / MLP / seed-mlp: layout, parameter counts, the registry, the arithmetic rows."""
import numpy as np
import pytest

import nerve as nv
from nerve import models, nn


def test_mlp_layout():
    net = models.mlp([784, 16, 16, 10])
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [
        (784, 16), (16, 16), (16, 10)]
    assert net.num_parameters() == 13_002
    weights = sum(p.numel() for n, p in net.named_parameters() if n.endswith("weight"))
    assert weights == 12_960 and net.num_parameters() - weights == 42
    assert models.mlp([3, 4, 1]).num_parameters() == 21
    assert isinstance(models.mlp([2, 3, 1], output_activation="sigmoid")[-1], nn.Sigmoid)
    assert len(models.mlp([2, 3, 1], activation=None)) == 2
    assert models.mlp([4, 3, 2], bias=False).num_parameters() == 4 * 3 + 3 * 2


def test_parameter_count_formula_over_random_sizes():
    rng = np.random.default_rng(0)
    for _ in range(25):
        sizes = [int(s) for s in rng.integers(1, 40, size=rng.integers(2, 6))]
        expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        assert models.mlp(sizes).num_parameters() == expected
        assert sum(r.total for r in models.mlp_param_rows(sizes)) == expected


def test_activation_instances_are_copied_per_layer():
    net = models.mlp([4, 4, 4, 1], activation=nn.PReLU())
    slopes = [m.weight for m in net if isinstance(m, nn.PReLU)]
    assert len(slopes) == 2 and slopes[0] is not slopes[1]


def test_seed_mlp_accepts_three_input_layouts():
    net = models.get_model("seed-mlp")
    assert net.num_parameters() == 13_002
    x = nv.randn(8, 1, 28, 28)
    out = net(x)
    assert out.shape == (8, 10) and out.dtype == np.float32
    np.testing.assert_array_equal(net(x.reshape(8, 28, 28))._data, out._data)
    np.testing.assert_array_equal(net(x.reshape(8, 784))._data, out._data)
    assert "13,002" in models.seed_mlp.__doc__ and "784×16 + 16 = 12,560" in models.seed_mlp.__doc__
    assert isinstance(models.get_model("SEED_MLP", activation="tanh")[2], nn.Tanh)


def test_chapter1_mlp_is_sigmoid():
    net = models.get_model("chapter1-mlp")
    assert [type(m).__name__ for m in net][2] == "Sigmoid"
    assert models.chapter1_mlp().num_parameters() == 13_002


def test_registry():
    assert {"seed-mlp", "chapter1-mlp"} <= set(models.available())
    with pytest.raises(ValueError, match="unknown model 'resnet-9000'; available models: .*seed-mlp"):
        models.get_model("resnet-9000")

    @models.register_model("tiny-test-net")
    def tiny():
        return models.mlp([2, 1])

    try:
        assert models.get_model("tiny_test_net").num_parameters() == 3
        with pytest.raises(ValueError, match="already registered"):
            models.register_model("tiny-test-net")(lambda: None)
    finally:
        models._REGISTRY.pop("tiny-test-net")
    with pytest.raises(AttributeError, match="no attribute 'not_a_model'"):
        models.not_a_model  # noqa: B018


def test_param_rows():
    rows = models.mlp_param_rows([784, 16, 16, 10])
    assert [r.arithmetic for r in rows] == ["784×16 + 16 = 12,560", "16×16 + 16 = 272", "16×10 + 10 = 170"]
    assert [(r.layer, r.in_features, r.out_features, r.weights, r.biases) for r in rows][0] == (
        1, 784, 16, 12_544, 16)
    assert [r.total for r in models.mlp_param_rows([3, 4, 1])] == [16, 5]
    assert models.mlp_param_rows([3, 4, 1], bias=False)[0].arithmetic == "3×4 = 12"
    with pytest.raises(ValueError, match="at least two sizes"):
        models.mlp_param_rows([784])
    with pytest.raises(ValueError, match="positive integers"):
        models.mlp([784, 0, 10])


def test_mlp_heads():
    clf = models.MLP([20, 32, 3], head="multiclass")
    assert isinstance(clf, nn.Sequential) and isinstance(clf.loss_fn(), nn.CrossEntropyLoss)
    assert isinstance(models.MLP([20, 8, 1], head="binary").loss_fn(), nn.BCEWithLogitsLoss)
    assert isinstance(models.MLP([20, 8, 1], head="regression").loss_fn(), nn.MSELoss)
    assert models.MLP([784, 16, 10], flatten=True)(nv.zeros(2, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="binary head has 1 output"):
        models.MLP([20, 8, 2], head="binary")
    with pytest.raises(ValueError, match="head must be one of"):
        models.MLP([20, 8, 2], head="softmax")
    with pytest.raises(ValueError, match="without a head"):
        models.MLP([2, 2]).loss_fn()


def _blobs(centers, n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(c, 0.5, size=(n, 2)) for c in centers])
    y = np.repeat(np.arange(len(centers)), n)
    return x, y


def _fit(model, x, y, steps=200, lr=0.3):
    loss_fn = model.loss_fn()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        model.zero_grad()
        loss.backward()
        with nv.no_grad():
            for p in model.parameters():
                p._data -= lr * p.grad._data
    return loss.item()


def test_each_head_trains_on_its_task():
    x, y = _blobs([(-2, -2), (2, 2)])
    binary = models.MLP([2, 8, 1], head="binary")
    _fit(binary, nv.tensor(x, dtype=nv.float32), nv.tensor(y[:, None], dtype=nv.float32))
    acc = ((binary(nv.tensor(x, dtype=nv.float32))._data[:, 0] > 0) == y).mean()
    assert acc >= 0.98
    x3, y3 = _blobs([(-3, 0), (3, 0), (0, 3)])
    multi = models.MLP([2, 8, 3], head="multiclass")
    _fit(multi, nv.tensor(x3, dtype=nv.float32), nv.tensor(y3))
    assert (multi(nv.tensor(x3, dtype=nv.float32))._data.argmax(1) == y3).mean() >= 0.98
    rng = np.random.default_rng(1)
    xr = rng.uniform(-1, 1, size=(100, 3))
    yr = xr @ np.array([1.5, -2.0, 0.5]) + 0.7
    reg = models.MLP([3, 1], head="regression")
    final = _fit(reg, nv.tensor(xr, dtype=nv.float32), nv.tensor(yr[:, None], dtype=nv.float32), steps=400)
    assert final < 1e-4
