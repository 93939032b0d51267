"""models.lenet: LeNet-5's layout, its 61,706 parameters and their arithmetic, torch parity."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.models import lenet


def test_parameter_count_and_summary_arithmetic():
    net = models.get_model("lenet5")
    assert net.num_parameters() == 61_706
    s = net.summary((1, 28, 28))
    rows = [(r.type, r.arithmetic) for r in s.rows if r.num_params]
    assert rows == [("Conv2d", "6×1×5×5 + 6 = 156"), ("Conv2d", "16×6×5×5 + 16 = 2,416"),
                    ("Linear", "400×120 + 120 = 48,120"), ("Linear", "120×84 + 84 = 10,164"),
                    ("Linear", "84×10 + 10 = 850")]
    shapes = [r.output_shape for r in s.rows if r.type in ("MaxPool2d", "Flatten")]
    assert shapes == [(1, 6, 14, 14), (1, 16, 5, 5), (1, 400)]
    text = str(s)
    assert "6×1×5×5 + 6 = 156" in text and "Total params: 61,706" in text


def test_classic_variant_swaps_activation_and_pooling_but_not_the_count():
    classic = models.lenet5(classic=True)
    kinds = {type(m).__name__ for m in classic.modules()}
    assert {"Tanh", "AvgPool2d"} <= kinds and not {"ReLU", "MaxPool2d"} & kinds
    assert classic.num_parameters() == 61_706
    assert classic(nv.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_options_and_registry_aliases():
    assert models.get_model("LeNet-5", num_classes=26).classifier[-1].out_features == 26
    rgb = models.lenet5(in_channels=3)
    assert rgb.num_parameters() == 61_706 + 2 * 6 * 5 * 5
    assert rgb(nv.zeros(1, 3, 28, 28)).shape == (1, 10)


def test_wrong_image_size_error_teaches():
    with pytest.raises(ValueError, match="expects 28×28 images.*gave 576 features"):
        models.lenet5()(nv.zeros(1, 1, 32, 32))


def test_gradients_reach_every_parameter():
    net = models.lenet5()
    x = nv.randn(4, 1, 28, 28)
    loss = nn.functional.cross_entropy(net(x), nv.tensor(np.array([0, 1, 2, 3])))
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name


@pytest.mark.torch
@pytest.mark.parametrize("classic", [False, True])
def test_matches_torch(classic):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    act, pool = (tnn.Tanh, tnn.AvgPool2d) if classic else (tnn.ReLU, tnn.MaxPool2d)
    twin = tnn.ModuleDict({
        "features": tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), act(), pool(2),
                                   tnn.Conv2d(6, 16, 5), act(), pool(2)),
        "classifier": tnn.Sequential(tnn.Linear(400, 120), act(), tnn.Linear(120, 84), act(),
                                     tnn.Linear(84, 10)),
    }).double()
    net = models.lenet5(classic=classic).double()
    net.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(3, 1, 28, 28))
    xt = torch.tensor(x, requires_grad=True)
    tout = twin["classifier"](twin["features"](xt).flatten(1))
    tout.square().sum().backward()
    xn = nv.tensor(x, dtype=nv.float64, requires_grad=True)
    out = net(xn)
    (out * out).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-8)
    tgrads = {k: p.grad.numpy() for k, p in twin.named_parameters()}
    for k, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[k], rtol=1e-6, atol=1e-8, err_msg=k)


def test_docstring_examples():
    result = doctest.testmod(lenet, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def _example():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "lenet_mnist.py"
    spec = importlib.util.spec_from_file_location("lenet_mnist_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_example_shift_augmentation_moves_pixels_without_changing_them():
    ex = _example()
    x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    x[:, 0, 10:18, 10:18] = np.arange(64, dtype=np.float32).reshape(8, 8)
    out = ex.random_shift(x, np.random.default_rng(0), max_shift=2)
    assert out.shape == x.shape
    for a, b in zip(out, x):
        assert a.sum() == b.sum() and sorted(a.ravel()) == sorted(b.ravel())   # only moved
    assert not all(np.array_equal(a, b) for a, b in zip(out, x))


def test_example_trains_lenet_on_a_slice_of_mnist():
    from nerve.data.datasets import DatasetFileError

    ex = _example()
    try:
        acc, seconds, epochs = ex.train_lenet("mnist", epochs=1, limit=3000, verbose=False)
    except DatasetFileError:
        pytest.skip("MNIST files not available (set NERVE_DATA_DIR)")
    # first run of this configuration: 82.8 % test accuracy after one epoch on 2,850 images
    assert acc > 0.75
