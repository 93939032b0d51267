"""models.inception: GoogLeNet's (3a) block, gradients through the branches, the tiny net."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.autograd.gradcheck import gradcheck
from nerve.models import inception
from nerve.models.inception import InceptionBlock


def _conv_params(k, cin, cout):
    return k * k * cin * cout + cout


def test_googlenet_3a_shape_and_count():
    block = InceptionBlock(192, 64, 96, 128, 16, 32, 32)
    expected = (_conv_params(1, 192, 64) + _conv_params(1, 192, 96) + _conv_params(3, 96, 128)
                + _conv_params(1, 192, 16) + _conv_params(5, 16, 32) + _conv_params(1, 192, 32))
    assert block.num_parameters() == expected == 163_696
    with nv.no_grad():
        assert block(nv.zeros(1, 192, 28, 28)).shape == (1, 256, 28, 28)


def test_output_is_the_four_branches_stacked_in_order():
    nv.manual_seed(0)
    block = InceptionBlock(6, 2, 3, 4, 2, 3, 5)
    x = nv.randn(2, 6, 7, 7)
    out = block(x).numpy()
    parts = [block.branch1(x), block.branch2(x), block.branch3(x), block.branch4(x)]
    np.testing.assert_array_equal(out, np.concatenate([p.numpy() for p in parts], axis=1))
    assert [p.shape[1] for p in parts] == [2, 4, 3, 5]


def test_gradient_reaches_every_branch_and_passes_gradcheck():
    nv.manual_seed(0)
    block = InceptionBlock(3, 2, 2, 2, 1, 2, 2).double()
    x = nv.randn(1, 3, 5, 5, dtype=nv.float64, requires_grad=True)
    # away from ReLU kinks: shift the biases so that pre-activations are clearly positive
    for m in block.modules():
        if isinstance(m, nn.Conv2d):
            m.bias.data[...] = 3.0
    assert gradcheck(lambda t: block(t), (x,), eps=1e-6, atol=1e-7, rtol=1e-5)
    # the gradient of x is the sum of the four branches' contributions
    upstream = np.random.default_rng(0).normal(size=(1, 8, 5, 5))
    block(x).backward(nv.tensor(upstream, dtype=nv.float64))
    total = x.grad.numpy().copy()
    per_branch, start = [], 0
    for branch, width in zip([block.branch1, block.branch2, block.branch3, block.branch4], [2, 2, 2, 2]):
        xb = nv.tensor(x.numpy(), dtype=nv.float64, requires_grad=True)
        branch(xb).backward(nv.tensor(upstream[:, start:start + width], dtype=nv.float64))
        per_branch.append(xb.grad.numpy())
        start += width
    np.testing.assert_allclose(total, sum(per_branch), rtol=1e-12, atol=1e-12)
    assert all(np.abs(g).sum() > 0 for g in per_branch)


def test_wrong_channels_error_names_the_block():
    with pytest.raises(ValueError, match=r"InceptionBlock\(in_channels=192\)"):
        InceptionBlock(192, 64, 96, 128, 16, 32, 32)(nv.zeros(1, 3, 8, 8))


def test_tiny_inception_registry_shapes_and_batch_norm_variant():
    net = models.get_model("tiny-inception", in_channels=1)
    assert net(nv.zeros(2, 1, 28, 28)).shape == (2, 10)
    bn = models.tiny_inception(batch_norm=True)
    assert bn(nv.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert any(isinstance(m, nn.BatchNorm2d) for m in bn.modules())
    assert all(m.bias is None for m in bn.modules() if isinstance(m, nn.Conv2d) and m is not bn.stem[0])


@pytest.mark.torch
def test_block_matches_torch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)

    def conv(cin, cout, k):
        return tnn.Sequential(tnn.Conv2d(cin, cout, k, padding=k // 2), tnn.ReLU())

    branches = tnn.ModuleDict({
        "branch1": conv(8, 4, 1),
        "branch2": tnn.Sequential(conv(8, 3, 1), conv(3, 5, 3)),
        "branch3": tnn.Sequential(conv(8, 2, 1), conv(2, 3, 5)),
        "branch4": tnn.Sequential(tnn.MaxPool2d(3, 1, 1), conv(8, 2, 1)),
    }).double()
    block = InceptionBlock(8, 4, 3, 5, 2, 3, 2).double()
    block.load_state_dict({k: v.detach().numpy() for k, v in branches.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(2, 8, 6, 6))
    xt = torch.tensor(x, requires_grad=True)
    tout = torch.cat([branches[f"branch{i}"](xt) for i in range(1, 5)], dim=1)
    tout.square().sum().backward()
    xn = nv.tensor(x, dtype=nv.float64, requires_grad=True)
    out = block(xn)
    (out * out).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-8)


def test_docstring_examples():
    result = doctest.testmod(inception, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
