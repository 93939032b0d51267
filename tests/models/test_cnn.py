"""models.cnn: the seed's small CNN, 51,382,538 parameters with Flatten and 6,410 with GAP."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.models import cnn


def test_seed_counts_at_224_without_a_forward_pass():
    flat = models.get_model("seed-cnn")          # built for 3×224×224; never run at that size here
    assert flat.num_parameters() == 51_382_538
    assert flat.conv.num_parameters() == 896 == (3 * 3 * 3 + 1) * 32
    assert flat.fc1.in_features == 32 * 112 * 112 == 401_408
    assert flat.fc1.num_parameters() == 51_380_352 and flat.fc2.num_parameters() == 1_290
    gap = models.get_model("seed-cnn-gap")
    assert gap.num_parameters() == 6_410 == 896 + (32 * 128 + 128) + 1_290


def test_forward_at_32_and_what_depends_on_the_image_size():
    nv.manual_seed(0)
    small = models.seed_cnn(image_size=32)
    x = nv.randn(2, 3, 32, 32)
    assert small(x).shape == (2, 10)
    assert small.num_parameters() == 896 + (32 * 16 * 16 * 128 + 128) + 1_290
    gap = models.seed_cnn_gap()
    assert gap(x).shape == (2, 10) and gap(nv.randn(1, 3, 20, 28)).shape == (1, 10)
    # the conv's parameter count does not depend on the input size (weights are shared)
    assert small.conv.num_parameters() == gap.conv.num_parameters() == 896


def test_conv_keeps_size_with_same_padding_and_gap_is_the_map_mean():
    net = models.seed_cnn_gap()
    seen = {}
    net.conv.register_forward_hook(lambda m, i, o: seen.__setitem__("conv", o.numpy()))
    net.reduce.register_forward_hook(lambda m, i, o: seen.__setitem__("gap", o.numpy()))
    net.pool.register_forward_hook(lambda m, i, o: seen.__setitem__("pool", o.numpy()))
    net(nv.randn(2, 3, 24, 24))
    assert seen["conv"].shape == (2, 32, 24, 24) and seen["pool"].shape == (2, 32, 12, 12)
    np.testing.assert_allclose(seen["gap"], seen["pool"].mean(axis=(2, 3)), rtol=1e-6)


def test_wrong_size_error_suggests_the_fix():
    with pytest.raises(ValueError, match="built for 32×32.*gap=True"):
        models.seed_cnn(image_size=32)(nv.zeros(1, 3, 64, 64))


def test_learns_to_separate_two_textures():
    # horizontal vs vertical stripes: a few Adam steps of the GAP model must fit them
    rng = np.random.default_rng(0)
    stripes = np.tile((np.arange(16) % 4 < 2).astype(np.float32), (16, 1))
    x = np.stack([np.stack([stripes] * 3) if i % 2 else np.stack([stripes.T] * 3) for i in range(16)])
    x = x + rng.normal(0, 0.2, size=x.shape).astype(np.float32)
    y = np.arange(16) % 2
    nv.manual_seed(0)
    net = models.seed_cnn_gap(num_classes=2)
    opt = nv.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(40):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(nv.tensor(x)), nv.tensor(y))
        loss.backward()
        opt.step()
    assert (net(nv.tensor(x)).numpy().argmax(1) == y).all()


def test_docstring_examples():
    result = doctest.testmod(cnn, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
