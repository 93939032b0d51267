"""Inception blocks (Szegedy et al. 2015, GoogLeNet) and a tiny Inception network for small images.

An Inception block looks at the same input through four parallel branches and stacks their
outputs along the channel axis:

    branch1  1×1 conv                         → c1 channels
    branch2  1×1 conv (reduce) → 3×3 conv     → c3 channels
    branch3  1×1 conv (reduce) → 5×5 conv     → c5 channels
    branch4  3×3 max-pool (stride 1) → 1×1    → pool_proj channels
    output   concatenation                    → c1 + c3 + c5 + pool_proj channels

Every branch keeps H and W (the 3×3 and 5×5 convs are padded by 1 and 2, the pool by 1),
which is what makes the concatenation possible. The 1×1 "reduce" convs shrink the channel
count before the expensive 3×3 and 5×5 filters; that is where the savings come from. Each
conv is followed by ReLU (and, with ``batch_norm=True``, BatchNorm before the ReLU, as in
later Inception versions).

Parameter count of GoogLeNet's inception (3a), ``InceptionBlock(192, 64, 96, 128, 16, 32, 32)``,
with biases and no BatchNorm (k×k×in×out + out per conv):

    branch1  1×1×192×64 + 64                      =  12,352
    branch2  1×1×192×96 + 96 = 18,528; 3×3×96×128 + 128 = 110,720   → 129,248
    branch3  1×1×192×16 + 16 =  3,088; 5×5×16×32 + 32   =  12,832   →  15,920
    branch4  1×1×192×32 + 32                      =   6,176
                                                    -------
                                                    163,696   (64 + 128 + 32 + 32 = 256 channels out)

A plain 5×5 conv from 192 to 256 channels would need 5×5×192×256 = 1,228,800 weights.
(torchvision's GoogLeNet uses a 3×3 conv in the "5×5" branch; this file follows the paper.)

    >>> import nerve as nv
    >>> block = InceptionBlock(192, 64, 96, 128, 16, 32, 32)
    >>> block.num_parameters(), block.out_channels
    (163696, 256)
    >>> block(nv.zeros(1, 192, 28, 28)).shape
    (1, 256, 28, 28)
"""
from __future__ import annotations

from .. import nn
from ..functional import cat
from . import register_model

__all__ = ["InceptionBlock", "TinyInception", "tiny_inception"]


def _conv(in_channels, out_channels, kernel_size, batch_norm):
    """Conv (padded to keep H, W) → [BatchNorm] → ReLU."""
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class InceptionBlock(nn.Module):
    """Four parallel branches (1×1; 1×1→3×3; 1×1→5×5; pool→1×1) concatenated on channels.

    Args:
        in_channels: channels of the input.
        c1: output channels of the 1×1 branch.
        c3_reduce, c3: the 1×1 reduction and the 3×3 conv's output channels.
        c5_reduce, c5: the same for the 5×5 branch.
        pool_proj: output channels of the 1×1 conv after the 3×3 max-pool.
        batch_norm: BatchNorm after every conv (then the convs have no bias).

    Shapes: (N, in_channels, H, W) → (N, c1 + c3 + c5 + pool_proj, H, W).

    Parameters (without BatchNorm): in·c1 + c1 + in·c3r + c3r + 9·c3r·c3 + c3
    + in·c5r + c5r + 25·c5r·c5 + c5 + in·pool_proj + pool_proj.

    Example:
        >>> import nerve as nv
        >>> InceptionBlock(8, 4, 4, 8, 2, 4, 4)(nv.zeros(2, 8, 6, 6)).shape
        (2, 20, 6, 6)
    """

    def __init__(self, in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, batch_norm=False):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = c1 + c3 + c5 + pool_proj
        self.branch1 = _conv(in_channels, c1, 1, batch_norm)
        self.branch2 = nn.Sequential(_conv(in_channels, c3_reduce, 1, batch_norm), _conv(c3_reduce, c3, 3, batch_norm))
        self.branch3 = nn.Sequential(_conv(in_channels, c5_reduce, 1, batch_norm), _conv(c5_reduce, c5, 5, batch_norm))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(in_channels, pool_proj, 1, batch_norm))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"InceptionBlock(in_channels={self.in_channels}) got input of shape "
                             f"{tuple(x.shape)}; it expects (N, {self.in_channels}, H, W)")
        branches = [self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)]
        return cat(branches, dim=1)       # (N, c1 + c3 + c5 + pool_proj, H, W)


class TinyInception(nn.Module):
    """A small GoogLeNet-style classifier for 28×28 or 32×32 images.

    Layout for a (N, 3, 32, 32) input:

        stem     3×3 conv 3→32, ReLU; 2×2 max-pool          → 32 × 16²
        incep1   InceptionBlock(32, 16, 16, 24, 4, 8, 8)    → 56 × 16²
        incep2   InceptionBlock(56, 24, 24, 32, 8, 16, 16)  → 88 × 16²
        pool     2×2 max-pool                               → 88 × 8²
        incep3   InceptionBlock(88, 32, 32, 48, 8, 16, 16)  → 112 × 8²
        head     global average pooling, Linear(112→classes)

    Parameters with 3 input channels and 10 classes (no BatchNorm):

        stem     3×3×3×32 + 32                                          =    896
        incep1   (32·16+16) + (32·16+16) + (9·16·24+24)
                 + (32·4+4) + (25·4·8+8) + (32·8+8)                     =  5,740
        incep2   (56·24+24) + (56·24+24) + (9·24·32+32)
                 + (56·8+8) + (25·8·16+16) + (56·16+16)                 = 14,264
        incep3   (88·32+32) + (88·32+32) + (9·32·48+48)
                 + (88·8+8) + (25·8·16+16) + (88·16+16)                 = 24,920
        head     112×10 + 10                                            =  1,130
                                                                           ------
                                                                           46,950

    Example:
        >>> import nerve as nv
        >>> net = TinyInception(num_classes=10, in_channels=3)
        >>> net.num_parameters()
        46950
        >>> net(nv.zeros(2, 3, 32, 32)).shape
        (2, 10)
    """

    def __init__(self, num_classes=10, in_channels=3, batch_norm=False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.incep1 = InceptionBlock(32, 16, 16, 24, 4, 8, 8, batch_norm)      # → 56
        self.incep2 = InceptionBlock(56, 24, 24, 32, 8, 16, 16, batch_norm)    # → 88
        self.pool = nn.MaxPool2d(2)
        self.incep3 = InceptionBlock(88, 32, 32, 48, 8, 16, 16, batch_norm)    # → 112
        self.gap = nn.GlobalAvgPool2d()
        self.fc = nn.Linear(112, num_classes)

    def forward(self, x):
        x = self.incep2(self.incep1(self.stem(x)))
        x = self.incep3(self.pool(x))
        return self.fc(self.gap(x))


@register_model("tiny-inception", "inception-tiny")
def tiny_inception(num_classes=10, in_channels=3, batch_norm=False):
    """A three-block Inception net for small images (46,950 parameters at 3 channels, 10 classes)."""
    return TinyInception(num_classes, in_channels, batch_norm)
