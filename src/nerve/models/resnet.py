"""Residual networks (He et al. 2016): ResNet-18, 34, 50, 101 and 152, plus a small CIFAR/MNIST variant.

A residual block computes y = relu(F(x) + shortcut(x)). F is two 3×3 convs (``BasicBlock``)
or a 1×1 → 3×3 → 1×1 "bottleneck" (``Bottleneck``). The shortcut is the identity when F
keeps the shape; when F halves the resolution or changes the channel count, the shortcut is
a projection, a 1×1 conv (with the same stride) followed by BatchNorm, so the two terms can
be added. Every conv is followed by BatchNorm and has no bias (the BN's β plays that part).

Layout for 224×224 inputs (torchvision's names; the block counts per stage in brackets):

    conv1    7×7, 64, stride 2, pad 3      → 64 × 112²
    bn1, relu, maxpool 3×3 stride 2 pad 1  → 64 × 56²
    layer1   [2, 3, 3, 3, 3] blocks        → 64 × 56²    (bottleneck nets: 256 × 56²)
    layer2   first block stride 2          → 128 × 28²   (512 × 28²)
    layer3   first block stride 2          → 256 × 14²   (1024 × 14²)
    layer4   first block stride 2          → 512 × 7²    (2048 × 7²)
    avgpool  global average pooling        → 512         (2048)
    fc       Linear                        → num_classes

Blocks per stage: ResNet-18 [2, 2, 2, 2], 34 [3, 4, 6, 3] (basic blocks); ResNet-50 [3, 4, 6, 3],
101 [3, 4, 23, 3], 152 [3, 8, 36, 3] (bottlenecks). The depth counts the layers with weights
on the main path: ResNet-50 is 1 (conv1) + 3·16 (three convs in each of 16 bottlenecks) +
1 (fc) = 50.

The stage widths 64, 128, 256 and 512 are the *bottleneck widths*: in ResNet-50 and deeper,
each block's last 1×1 conv expands its output to 4× that width (256, 512, 1024, 2048), and the
next block's first 1×1 conv reduces it back. So the very first bottleneck (64 → 256 channels)
already needs a projection shortcut, and so does the first block of every later stage of
every ResNet, where the resolution halves.

Where the stride sits: this file follows torchvision ("ResNet v1.5") and puts the stride 2 of
a downsampling bottleneck on its 3×3 conv. The original paper put it on the first 1×1 conv,
which throws away three of every four positions before any 3×3 filter has seen them; v1.5
is slightly more accurate. Parameter counts are the same either way.

Parameter counts (1000 classes, 3-channel input), equal to torchvision's:

    resnet18   11,689,512        resnet50    25,557,032        resnet152   60,192,808
    resnet34   21,797,672        resnet101   44,549,160

How a block's count adds up (BatchNorm has γ and β per channel):

    BasicBlock(64, 64):     3×3×64×64 + 64·2  (conv1, bn1)
                          + 3×3×64×64 + 64·2  (conv2, bn2)              = 73,984
    Bottleneck(256, 64):    1×1×256×64 + 64·2 (reduce)  =  16,512
                          + 3×3×64×64  + 64·2 (3×3)     =  36,992
                          + 1×1×64×256 + 256·2 (expand) =  16,896
                                                          = 70,400
    ResNet-18: stem 7×7×3×64 + 128 = 9,536; fc 512×1000 + 1000 = 513,000; the four stages
    add 147,968 + 525,568 + 2,099,712 + 8,393,728, for 11,689,512 in all.

Key names match torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``,
``fc`` ...), so a torchvision ``state_dict`` converted to arrays loads with ``load_state_dict``.
No pretrained weights are shipped.

    >>> from nerve import models
    >>> models.resnet18().num_parameters()
    11689512
    >>> models.get_model("resnet50").num_parameters()
    25557032
"""
from __future__ import annotations

from .. import nn
from . import register_model

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnet_small", "conv3x3", "conv1x1"]


def conv3x3(in_channels, out_channels, stride=1):
    """3×3 conv with padding 1 and no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels, out_channels, stride=1):
    """1×1 conv, no bias: mixes channels at each position (and subsamples when stride > 1)."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


def _projection(in_channels, out_channels, stride):
    """The shortcut used when the block changes shape: 1×1 conv (same stride) + BatchNorm, or None."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3×3 conv + BN layers with a shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    Args:
        in_channels: channels of x.
        out_channels: channels of the output (``expansion`` is 1).
        stride: stride of the first conv (2 halves H and W).

    The shortcut is the identity, unless ``stride != 1`` or ``in_channels != out_channels``:
    then ``downsample`` is a 1×1 conv with that stride plus BatchNorm.

    Parameters: 9·in·out + 9·out·out + 4·out, plus in·out + 2·out for a projection.

    Example:
        >>> import nerve as nv
        >>> block = BasicBlock(64, 128, stride=2)
        >>> block(nv.zeros(1, 64, 8, 8)).shape, block.downsample is not None
        ((1, 128, 4, 4), True)
    """

    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = _projection(in_channels, out_channels, stride)
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 → 1×1 expand (each with BN), plus a shortcut; output 4·width channels.

    Args:
        in_channels: channels of x.
        width: the bottleneck width (channels of the inner 3×3 conv); the block outputs
            ``4 * width`` channels.
        stride: stride of the 3×3 conv (torchvision v1.5; the 2015 paper used the first 1×1).

    The shortcut is a 1×1 conv + BN projection when ``stride != 1`` or
    ``in_channels != 4 * width``, else the identity.

    Parameters: in·w + 9·w·w + w·4w (convs) + 2·(w + w + 4w) (BN), plus the projection.
    ``Bottleneck(256, 64)`` has 70,400.

    Example:
        >>> import nerve as nv
        >>> block = Bottleneck(256, 64)
        >>> block.num_parameters(), block(nv.zeros(1, 256, 4, 4)).shape
        (70400, (1, 256, 4, 4))
        >>> Bottleneck(64, 64).downsample is not None    # 64 → 256 channels needs a projection
        True
    """

    expansion = 4

    def __init__(self, in_channels, width, stride=1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = _projection(in_channels, out_channels, stride)
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A stem, four stages of residual blocks, global average pooling and a linear classifier.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: blocks per stage, e.g. [3, 4, 6, 3].
        num_classes: outputs of ``fc`` (default 1000).
        in_channels: image channels (default 3).
        small_input: use a 3×3 stride-1 stem without max-pooling, for 28×28 or 32×32 images
            (the ImageNet stem would shrink them to 8×8 before the first block).
        widths: the four stage widths (default 64, 128, 256, 512).
        zero_init_residual: set the γ of each block's last BN to 0, so every block starts as
            the identity (torchvision's option of the same name).

    Shapes: (N, in_channels, H, W) → (N, num_classes). The ImageNet stem and the three
    strided stages divide H and W by 32 (by 8 with ``small_input``), rounding up, and global
    average pooling turns whatever is left into one value per channel, so any size works;
    224×224 ends at 7×7 before the pooling.

    Weights are initialized as torchvision does: Kaiming-normal (fan_out, ReLU) for convs,
    γ = 1 and β = 0 for BatchNorm, PyTorch's default for ``fc``.
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3, small_input=False,
                 widths=(64, 128, 256, 512), zero_init_residual=False):
        super().__init__()
        if len(layers) != 4 or len(widths) != 4:
            raise ValueError(f"ResNet needs four stages: layers and widths must have 4 entries, got "
                             f"layers={list(layers)}, widths={list(widths)}")
        self.in_channels = in_channels
        self._channels = widths[0]     # channels entering the next stage
        if small_input:
            self.conv1 = conv3x3(in_channels, widths[0])
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        self.layer1 = self._make_stage(block, widths[0], layers[0], stride=1)
        self.layer2 = self._make_stage(block, widths[1], layers[1], stride=2)
        self.layer3 = self._make_stage(block, widths[2], layers[2], stride=2)
        self.layer4 = self._make_stage(block, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_stage(self, block, width, blocks, stride):
        # Only the first block of a stage changes the shape (and so may need a projection).
        stage = [block(self._channels, width, stride)]
        self._channels = width * block.expansion
        stage += [block(self._channels, width) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_weights(self, zero_init_residual):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ResNet expects images of shape (N, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape)}; for grayscale images build it with in_channels=1")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.flatten(self.avgpool(x)))


@register_model("resnet18", "resnet-18")
def resnet18(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-18: BasicBlock × [2, 2, 2, 2]; 11,689,512 parameters with 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, **kwargs)


@register_model("resnet34", "resnet-34")
def resnet34(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-34: BasicBlock × [3, 4, 6, 3]; 21,797,672 parameters with 1000 classes."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


@register_model("resnet50", "resnet-50")
def resnet50(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-50: Bottleneck × [3, 4, 6, 3]; 25,557,032 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, **kwargs)


@register_model("resnet101", "resnet-101")
def resnet101(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-101: Bottleneck × [3, 4, 23, 3]; 44,549,160 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, **kwargs)


@register_model("resnet152", "resnet-152")
def resnet152(num_classes=1000, in_channels=3, **kwargs):
    """ResNet-152: Bottleneck × [3, 8, 36, 3]; 60,192,808 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, **kwargs)


@register_model("resnet-small", "resnet18-small")
def resnet_small(num_classes=10, in_channels=3, widths=(16, 32, 64, 128), layers=(2, 2, 2, 2)):
    """A ResNet-18-shaped net for 28×28 / 32×32 images: 3×3 stem, no max-pool, narrow stages.

    Stages run at 32², 16², 8², 4² for a 32×32 input. With the default widths
    (16, 32, 64, 128) and 10 classes it has 701,466 parameters (ResNet-18's 11.2 M
    divided by about 16, since conv weights scale with width²).

    Example:
        >>> import nerve as nv
        >>> net = resnet_small(num_classes=10, in_channels=1)
        >>> net(nv.zeros(2, 1, 28, 28)).shape
        (2, 10)
    """
    return ResNet(BasicBlock, list(layers), num_classes, in_channels, small_input=True, widths=widths)
