"""viz.features: filters and feature maps of a CNN, as arrays and as PNG grids."""
import doctest
import os

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.viz import features
from nerve.viz.features import feature_maps, filters, first_conv, save_feature_maps, save_filters

from .pngcheck import check_png

pytest.importorskip("matplotlib")


def _sobel_net():
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    conv.weight.data[0, 0] = sobel_x
    conv.weight.data[1, 0] = sobel_x.T
    return nn.Sequential(conv, nn.ReLU())


def _square_image():
    img = np.zeros((1, 16, 16), dtype=np.float32)
    img[0, 4:12, 4:12] = 1.0
    return img


def test_hooked_maps_equal_a_manual_conv_call():
    net = _sobel_net()
    x = _square_image()
    maps = feature_maps(net, x, "0")
    manual = nn.functional.conv2d(nv.tensor(x[None]), net[0].weight, None, 1, 1).numpy()[0]
    np.testing.assert_allclose(maps, manual, rtol=0, atol=0)
    # vertical edges respond to Sobel-x: +4 on the left edge of the square (dark → bright), −4 on the right
    assert maps[0, 8, 4] == 4 and maps[0, 8, 11] == -4 and maps[0, 8, 8] == 0
    relu = feature_maps(net, x, net[1])
    np.testing.assert_array_equal(relu, np.maximum(manual, 0))


def test_feature_maps_uses_eval_mode_and_restores_it():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.Dropout(0.9))
    net.train()
    x = nv.randn(4, 1, 8, 8)
    a = feature_maps(net, x, "2", index=1)
    b = feature_maps(net, x, "2", index=1)
    np.testing.assert_array_equal(a, b)       # dropout off: deterministic
    assert net.training and all(m.training for m in net.modules())
    assert float(net[1].num_batches_tracked.numpy()) == 0   # running stats untouched


def test_errors_name_the_problem():
    net = models.lenet5()
    with pytest.raises(ValueError, match="no sub-module named 'conv9'"):
        feature_maps(net, nv.zeros(1, 1, 28, 28), "conv9")
    with pytest.raises(ValueError, match="not feature maps"):
        feature_maps(net, nv.zeros(1, 1, 28, 28), "classifier.0")
    with pytest.raises(ValueError, match="has no Conv2d"):
        filters(nn.Sequential(nn.Linear(2, 2)))
    assert first_conv(net) is net.features[0]
    assert filters(net).shape == (6, 1, 5, 5)


def test_pngs_of_lenet_filters_and_feature_maps(tmp_path):
    net = models.lenet5()
    digit = np.zeros((1, 28, 28), dtype=np.float32)
    digit[0, 6:22, 12:16] = 1.0                      # a thick vertical stroke, like a "1"
    f = save_filters(net, tmp_path / "filters.png")
    m = save_feature_maps(net, digit, "features.1", tmp_path / "maps.png")
    assert f == tmp_path / "filters.png" and m == tmp_path / "maps.png"
    check_png(f, min_size=(250, 100))
    check_png(m, min_size=(250, 100))
    assert sorted(os.listdir(tmp_path)) == ["filters.png", "maps.png"]   # no temporary files left


def test_rgb_and_multichannel_filters_render(tmp_path):
    rgb = save_filters(models.resnet_small(in_channels=3), tmp_path / "rgb.png", max_filters=16)
    check_png(rgb, min_size=(250, 100))
    deep = nn.Conv2d(6, 4, 3)
    check_png(save_filters(deep, tmp_path / "mean.png"), min_size=(200, 80))
    check_png(save_filters(deep, tmp_path / "ch2.png", channel=2), min_size=(200, 80))
    with pytest.raises(ValueError, match="channel must be in 0..5"):
        save_filters(deep, tmp_path / "bad.png", channel=6)


def test_docstring_examples():
    result = doctest.testmod(features, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_layer_trace_lists_layers_in_call_order_once_each():
    import nerve as nv
    from nerve.viz import default_feature_layer, layer_trace

    class Net(nv.nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nv.nn.ReLU()         # defined first, runs second (and again, last)
            self.conv = nv.nn.Conv2d(1, 3, 3)
            self.conv2 = nv.nn.Conv2d(3, 2, 3)

        def forward(self, x):
            return self.act(self.conv2(self.act(self.conv(x))))

    net = Net()
    trace = layer_trace(net, np.zeros((2, 1, 7, 7), np.float32))
    assert [(n, s) for n, _, s in trace] == [("conv", (2, 3, 5, 5)), ("act", (2, 3, 5, 5)), ("conv2", (2, 2, 3, 3))]
    assert trace[0][1] is net.conv
    assert default_feature_layer(trace, "conv") == "act"
    assert default_feature_layer(trace, "conv2") == "conv2"  # its activation already ran before it
    assert default_feature_layer(trace, "missing") == "missing"
