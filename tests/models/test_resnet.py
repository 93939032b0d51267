"""models.resnet: torchvision's parameter counts, block structure, and ResNet-18 parity with torch."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.models import resnet
from nerve.models.resnet import BasicBlock, Bottleneck


# --------------------------------------------------------------------------- counts
@pytest.mark.parametrize("name, expected", [
    ("resnet18", 11_689_512), ("resnet34", 21_797_672), ("resnet50", 25_557_032),
    ("resnet101", 44_549_160), ("resnet152", 60_192_808)])
def test_parameter_counts_equal_torchvision(name, expected):
    # counted from the parameters only; no forward pass on 224×224
    assert models.get_model(name).num_parameters() == expected


def test_block_counts_and_the_resnet18_breakdown_in_the_docstring():
    assert BasicBlock(64, 64).num_parameters() == 73_984
    block = Bottleneck(256, 64)
    assert block.num_parameters() == 70_400
    assert block.conv3.out_channels == 256 and block.downsample is None
    net = models.resnet18()
    stem = sum(p.numel() for n, p in net.named_parameters() if n.split(".")[0] in ("conv1", "bn1"))
    stages = [getattr(net, f"layer{i}").num_parameters() for i in range(1, 5)]
    assert stem == 9_536 and net.fc.num_parameters() == 513_000
    assert stages == [147_968, 525_568, 2_099_712, 8_393_728]
    assert models.resnet_small().num_parameters() == 701_466


def test_resnet50_depth_and_stage_layout():
    net = models.resnet50()
    assert [len(getattr(net, f"layer{i}")) for i in range(1, 5)] == [3, 4, 6, 3]
    convs_on_main_path = sum(1 for n, m in net.named_modules()
                             if isinstance(m, nn.Conv2d) and "downsample" not in n)
    linears = sum(1 for m in net.modules() if isinstance(m, nn.Linear))
    assert convs_on_main_path + linears == 1 + 3 * 16 + 1 == 50
    # the stage widths are bottleneck widths; the blocks output 4× them
    assert [getattr(net, f"layer{i}")[-1].conv3.out_channels for i in range(1, 5)] == [256, 512, 1024, 2048]
    assert net.fc.in_features == 2048


def test_projection_appears_exactly_when_the_shape_changes():
    for cin, cout, stride in [(64, 64, 1), (64, 128, 1), (64, 64, 2), (64, 128, 2)]:
        block = BasicBlock(cin, cout, stride)
        needs = stride != 1 or cin != cout
        assert (block.downsample is not None) == needs, (cin, cout, stride)
        if needs:
            conv, bn = block.downsample
            assert conv.kernel_size == (1, 1) and conv.stride == (stride, stride) and conv.bias is None
            assert isinstance(bn, nn.BatchNorm2d) and bn.num_features == cout
    # the very first bottleneck of ResNet-50 maps 64 → 256 channels: a projection, stride 1
    net = models.resnet50()
    first = net.layer1[0]
    assert first.downsample is not None and first.downsample[0].stride == (1, 1)
    assert all(b.downsample is None for b in net.layer1[1:])
    # v1.5: the stride of a downsampling bottleneck sits on the 3×3 conv
    down = net.layer2[0]
    assert down.conv1.stride == (1, 1) and down.conv2.stride == (2, 2)


def test_zero_gamma_makes_the_block_return_relu_of_its_input():
    nv.manual_seed(1)
    for block, x in [(BasicBlock(8, 8), nv.randn(2, 8, 5, 5)), (Bottleneck(16, 4), nv.randn(2, 16, 5, 5))]:
        last_bn = block.bn2 if isinstance(block, BasicBlock) else block.bn3
        nn.init.zeros_(last_bn.weight)
        nn.init.zeros_(last_bn.bias)
        for mode in (True, False):
            block.train(mode)
            np.testing.assert_array_equal(block(x).numpy(), np.maximum(x.numpy(), 0))


def test_stage_output_shapes():
    net = models.resnet_small(num_classes=10, in_channels=1)
    seen = {}
    for i in range(1, 5):
        getattr(net, f"layer{i}").register_forward_hook(
            lambda m, inp, out, i=i: seen.__setitem__(i, tuple(out.shape)))
    assert net(nv.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert seen == {1: (2, 16, 28, 28), 2: (2, 32, 14, 14), 3: (2, 64, 7, 7), 4: (2, 128, 4, 4)}

    # ResNet-50's layout, at 64×64 instead of 224×224 (every side is 224/64 = 3.5× smaller):
    # /2 after conv1, /4 after the max-pool, then /4, /8, /16, /32 after the four stages
    net = models.resnet50(num_classes=7).eval()
    seen = {}
    for name in ("conv1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"):
        getattr(net, name).register_forward_hook(
            lambda m, inp, out, name=name: seen.__setitem__(name, tuple(out.shape[1:])))
    with nv.no_grad():
        assert net(nv.zeros(1, 3, 64, 64)).shape == (1, 7)
    assert seen == {"conv1": (64, 32, 32), "maxpool": (64, 16, 16), "layer1": (256, 16, 16),
                    "layer2": (512, 8, 8), "layer3": (1024, 4, 4), "layer4": (2048, 2, 2),
                    "avgpool": (2048, 1, 1)}


def test_wrong_channel_count_error_teaches():
    net = models.resnet_small(num_classes=10, in_channels=3)
    with pytest.raises(ValueError, match="in_channels=1"):
        net(nv.zeros(2, 1, 28, 28))


def test_small_resnet_learns_a_tiny_task():
    # 16 images of two classes told apart by the bright half; the loss must fall well below ln 2
    nv.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, size=(16, 1, 12, 12)).astype(np.float32)
    y = np.arange(16) % 2
    x[y == 0, :, :, :6] += 1.0
    x[y == 1, :, :, 6:] += 1.0
    net = models.resnet_small(num_classes=2, in_channels=1, widths=(4, 8, 8, 8), layers=(1, 1, 1, 1))
    opt = nv.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = nv.tensor(x), nv.tensor(y)
    for _ in range(30):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
    assert loss.item() < 0.2


def test_docstring_examples():
    result = doctest.testmod(resnet, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------- torch parity
def _torch_resnet18(torch, num_classes):
    """torchvision's ResNet-18 (v1.5) rebuilt from plain torch.nn layers, with the same key names."""
    tnn = torch.nn

    class TorchBasicBlock(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class TorchResNet18(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU()
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, (w, s) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
                setattr(self, f"layer{i}", tnn.Sequential(TorchBasicBlock(cin, w, s), TorchBasicBlock(w, w, 1)))
                cin = w
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.fc = tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return TorchResNet18()


@pytest.fixture
def twins():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tnet = _torch_resnet18(torch, num_classes=5).double()
    # non-trivial BN state, so eval mode really uses the running statistics and γ, β
    with torch.no_grad():
        for m in tnet.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    net = models.resnet18(num_classes=5).double()
    sd = tnet.state_dict()
    assert set(sd) == set(net.state_dict())      # identical key names, torchvision's
    net.load_state_dict({k: v.detach().numpy() for k, v in sd.items()})
    x = np.random.default_rng(0).normal(size=(2, 3, 32, 32))
    return torch, tnet, net, x


def _compare_forward_backward(torch, tnet, net, x, atol):
    xt = torch.tensor(x, requires_grad=True)
    tout = tnet(xt)
    weights = np.random.default_rng(1).normal(size=tout.shape)
    (tout * torch.tensor(weights)).sum().backward()

    xn = nv.tensor(x, dtype=nv.float64, requires_grad=True)
    out = net(xn)
    (out * nv.tensor(weights, dtype=nv.float64)).sum().backward()

    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=atol)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=atol)
    tparams = dict(tnet.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-6, atol=atol,
                                   err_msg=name)


@pytest.mark.torch
def test_resnet18_matches_torch_in_eval_mode(twins):
    torch, tnet, net, x = twins
    tnet.eval()
    net.eval()
    _compare_forward_backward(torch, tnet, net, x, atol=1e-8)


@pytest.mark.torch
def test_resnet18_matches_torch_in_train_mode_with_batch_statistics(twins):
    torch, tnet, net, x = twins
    tnet.train()
    net.train()
    # layer4 sees 1×1 maps at 32×32, so a batch of 2 gives BN just two values per channel:
    # still well defined, and the harshest test of the batch-statistics gradient.
    _compare_forward_backward(torch, tnet, net, x, atol=1e-7)
    tsd = tnet.state_dict()
    for name, buf in net.named_buffers():
        np.testing.assert_allclose(buf.numpy(), tsd[name].numpy(), rtol=1e-6, atol=1e-10, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("cin, width, stride", [(16, 4, 1), (8, 4, 2)])
def test_bottleneck_matches_torch_in_train_mode(cin, width, stride):
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)

    class TorchBottleneck(tnn.Module):      # torchvision v1.5: the stride on the 3×3 conv
        def __init__(self):
            super().__init__()
            out = 4 * width
            self.conv1 = tnn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(width)
            self.conv2 = tnn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(width)
            self.conv3 = tnn.Conv2d(width, out, 1, bias=False)
            self.bn3 = tnn.BatchNorm2d(out)
            self.relu = tnn.ReLU()
            self.downsample = None
            if stride != 1 or cin != out:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, out, 1, stride, bias=False), tnn.BatchNorm2d(out))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.relu(self.bn2(self.conv2(y)))
            return self.relu(self.bn3(self.conv3(y)) + identity)

    twin = TorchBottleneck().double()
    block = Bottleneck(cin, width, stride).double()
    block.load_state_dict({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(3, cin, 6, 6))
    xt = torch.tensor(x, requires_grad=True)
    tout = twin(xt)
    tout.square().sum().backward()
    xn = nv.tensor(x, dtype=nv.float64, requires_grad=True)
    out = block(xn)
    (out * out).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-8)
    tgrads = {k: p.grad.numpy() for k, p in twin.named_parameters()}
    for k, p in block.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[k], rtol=1e-6, atol=1e-8, err_msg=k)
