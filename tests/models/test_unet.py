"""models.unet and data.synthetic.ShapesSegmentation: layout, counts, parity, and a short training run."""
import doctest
import importlib.util
import pathlib

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.data import DataLoader
from nerve.data import synthetic
from nerve.data.synthetic import ShapesSegmentation
import importlib

unet_module = importlib.import_module("nerve.models.unet")  # the file, not the builder

# The short training run (glossary row 55: circles and squares at 32×32): 600 images, 4 epochs
# of batch 16 (150 Adam steps), U-Net base 16, depth 2. Its first honest run scored mIoU 0.864
# (background 0.996, circle 0.809, square 0.789) in about 20 s on 2 cores; the bar is the
# glossary's 0.8.
TRAIN = dict(n_train=600, n_test=100, epochs=4, base=16, depth=2, lr=5e-3,
             shapes=("circle", "square"), radius=(0.18, 0.3))
MIOU_BAR = 0.8

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "unet_shapes.py"


def _example():
    spec = importlib.util.spec_from_file_location("unet_shapes_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ----------------------------------------------------------------------- the data
def test_shapes_dataset_is_seeded_and_labels_match_the_pixels():
    a, b = ShapesSegmentation(50, size=32, seed=3), ShapesSegmentation(50, size=32, seed=3)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.data, ShapesSegmentation(50, size=32, seed=4).data)
    assert a.data.shape == (50, 1, 32, 32) and a.targets.shape == (50, 32, 32)
    assert set(np.unique(a.targets)) == {0, 1, 2, 3}
    # every image has a shape; shapes are brighter than the background (0.2 vs 0.6..1.0 + noise)
    assert (a.targets.reshape(50, -1) > 0).any(axis=1).all()
    img = a.data[:, 0]
    assert img[a.targets > 0].mean() > img[a.targets == 0].mean() + 0.4
    freq = a.class_frequencies()
    assert freq.sum() == pytest.approx(1.0) and 0.6 < freq[0] < 0.95 and (freq[1:] > 0.02).all()
    assert "ShapesSegmentation(50 images of 32×32" in repr(a)
    assert synthetic.SyntheticShapes is ShapesSegmentation


def test_dataset_batches_through_the_loader():
    ds = ShapesSegmentation(10, size=16, seed=0)
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert tuple(x.shape) == (4, 1, 16, 16) and tuple(y.shape) == (4, 16, 16)
    img, mask = ds[0]
    assert img.shape == (1, 16, 16) and mask.shape == (16, 16)


def test_dataset_argument_errors():
    with pytest.raises(ValueError, match="radius"):
        ShapesSegmentation(4, radius=(0.3, 0.6))
    with pytest.raises(ValueError, match="n ≥ 1"):
        ShapesSegmentation(0)


# ---------------------------------------------------------------------- the model
def test_count_layout_and_skip_shapes():
    net = models.get_model("unet", in_channels=1, num_classes=4, base=16, depth=3)
    assert net.num_parameters() == 483_204
    shapes = {}
    for i, dec in enumerate(net.decoders):
        dec[0].register_forward_hook(lambda m, inp, out, i=i: shapes.__setitem__(i, tuple(inp[0].shape)))
    out = net(nv.zeros(2, 1, 32, 32))
    assert out.shape == (2, 4, 32, 32)
    # each decoder block sees the upsampled features and the skip, concatenated: 2w channels
    assert shapes == {0: (2, 128, 8, 8), 1: (2, 64, 16, 16), 2: (2, 32, 32, 32)}


def test_variants_and_errors():
    bil = models.UNet(3, 2, base=4, depth=2, upsample="bilinear", batch_norm=False)
    assert bil(nv.zeros(1, 3, 12, 12)).shape == (1, 2, 12, 12)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in bil.modules())
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 8"):
        models.UNet(1, 4, depth=3)(nv.zeros(1, 1, 20, 20))
    with pytest.raises(ValueError, match="upsample must be"):
        models.UNet(1, 4, upsample="nearest-ish")


def test_per_pixel_cross_entropy_backpropagates_to_every_parameter():
    net = models.UNet(1, 4, base=4, depth=2)
    ds = ShapesSegmentation(4, size=16, seed=0)
    loss = nn.functional.cross_entropy(net(nv.tensor(ds.data)), nv.tensor(ds.targets))
    loss.backward()
    assert loss.item() == pytest.approx(np.log(4), abs=0.5)
    for name, p in net.named_parameters():
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all(), name


@pytest.mark.torch
def test_matches_torch_in_train_mode():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)

    def block(cin, c):
        return tnn.Sequential(tnn.Conv2d(cin, c, 3, padding=1), tnn.BatchNorm2d(c), tnn.ReLU(),
                              tnn.Conv2d(c, c, 3, padding=1), tnn.BatchNorm2d(c), tnn.ReLU())

    twin = tnn.ModuleDict({
        "encoders": tnn.ModuleList([block(1, 4), block(4, 8)]),
        "bottom": block(8, 16),
        "ups": tnn.ModuleList([tnn.ConvTranspose2d(16, 8, 2, stride=2), tnn.ConvTranspose2d(8, 4, 2, stride=2)]),
        "decoders": tnn.ModuleList([block(16, 8), block(8, 4)]),
        "head": tnn.Conv2d(4, 3, 1),
    }).double()

    def twin_forward(x):
        skips = []
        for enc in twin["encoders"]:
            x = enc(x)
            skips.append(x)
            x = tnn.functional.max_pool2d(x, 2)
        x = twin["bottom"](x)
        for up, dec, skip in zip(twin["ups"], twin["decoders"], reversed(skips)):
            x = dec(torch.cat([up(x), skip], 1))
        return twin["head"](x)

    net = models.UNet(1, 3, base=4, depth=2).double()
    net.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8))
    target = np.random.default_rng(1).integers(0, 3, size=(2, 8, 8))
    xt = torch.tensor(x, requires_grad=True)
    tout = twin_forward(xt)
    tnn.functional.cross_entropy(tout, torch.tensor(target)).backward()
    xn = nv.tensor(x, dtype=nv.float64, requires_grad=True)
    out = net(xn)
    nn.functional.cross_entropy(out, nv.tensor(target)).backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-9)
    tgrads = {k: p.grad.numpy() for k, p in twin.named_parameters()}
    for k, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[k], rtol=1e-6, atol=1e-9, err_msg=k)


# --------------------------------------------------------------- training and IoU
def test_iou_helper_against_hand_counts():
    iou = _example().iou_per_class
    target = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    # class 0: TP 1, FP 1, FN 1 → 1/3; class 1: TP 2, FP 1 → 2/3; class 2: TP 1, FN 1 → 1/2; class 3 absent
    got = iou(pred, target, 4)
    np.testing.assert_allclose(got[:3], [1 / 3, 2 / 3, 1 / 2])
    assert np.isnan(got[3])


def test_short_training_run_segments_circles_and_squares():
    # Painting everything background would score mIoU = IoU_bg / 3 ≈ 0.28 here.
    ious, miou, seconds, model = _example().train_unet(verbose=False, **TRAIN)
    assert set(ious) == {"background", "circle", "square"}
    assert ious["background"] > 0.95 and min(ious["circle"], ious["square"]) > 0.6, ious
    assert miou >= MIOU_BAR, ious


def test_docstring_examples():
    for mod in (unet_module, synthetic):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


def test_shape_subset_gives_fewer_classes():
    ds = ShapesSegmentation(30, seed=0, shapes=("circle", "square"))
    assert ds.classes == ["background", "circle", "square"] and ds.num_classes == 3
    assert set(np.unique(ds.targets)) == {0, 1, 2}
    with pytest.raises(ValueError, match="shapes must be distinct names"):
        ShapesSegmentation(3, shapes=("circle", "hexagon"))


def test_example_runs_as_a_script(capsys):
    miou = _example().main(["--train", "32", "--test", "8", "--epochs", "1", "--base", "4", "--depth", "1"])
    out = capsys.readouterr().out
    assert "IoU background" in out and "mean IoU" in out and 0.0 <= miou <= 1.0
