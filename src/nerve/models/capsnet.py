"""CapsNet: a small capsule network (Sabour, Frosst & Hinton 2017) for 8x8 digits.

The paper's MNIST net (Conv 9×9 → PrimaryCaps 32×8-D → DigitCaps 10×16-D, 8.2 M parameters
with its reconstruction decoder) scaled down to scikit-learn's 8x8 digits, without the
decoder:

    input (N, 1, 8, 8)
    conv1       Conv2d(1→64, 3×3) + ReLU                         → (N, 64, 6, 6)
    primary     PrimaryCaps: Conv2d(64→8·8, 3×3), 8 types × 8-D   → (N, 128, 8)  (8 types × 4×4)
    digits      DigitCaps(128×8 → 10×16), 3 routing iterations    → (N, 10, 16)
    lengths     ‖v_k‖                                             → (N, 10) class scores in [0, 1)

Parameters: conv1 64·9 + 64 = 640; primary 64·64·9 + 64 = 36,928;
digits 128·10·16·8 = 163,840; total 201,408.

Train with ``nn.margin_loss(net(x), y)``; the prediction is the longest capsule.

    >>> from nerve import models
    >>> models.get_model("capsnet").num_parameters()
    201408
"""
from __future__ import annotations

from .. import nn
from . import register_model

__all__ = ["CapsNet", "capsnet"]


class CapsNet(nn.Module):
    """Conv → PrimaryCaps → DigitCaps with routing; ``forward`` returns capsule lengths (N, classes).

    Args:
        in_channels: image channels.
        image_size: input height = width (8 for the digits).
        conv_channels: channels of the first convolution.
        primary_types, primary_dim: capsule types and their size in PrimaryCaps.
        num_classes, class_dim: class capsules and their size.
        routing_iters: routing iterations in DigitCaps.
    """

    def __init__(self, in_channels=1, image_size=8, conv_channels=64, primary_types=8, primary_dim=8,
                 num_classes=10, class_dim=16, routing_iters=3):
        super().__init__()
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 5:
            # two valid 3×3 convolutions take 4 pixels off each side length; below 5 nothing is left
            raise ValueError(f"CapsNet: image_size must be an integer of at least 5 (two 3×3 convolutions "
                             f"without padding shrink it by 4), got {image_size!r}")
        self.conv1 = nn.Conv2d(in_channels, conv_channels, 3)
        self.act = nn.ReLU()
        self.primary = nn.PrimaryCaps(conv_channels, primary_types, primary_dim, kernel_size=3, stride=1)
        side = image_size - 4                                  # two valid 3×3 convolutions
        self.digits = nn.DigitCaps(primary_types * side * side, primary_dim, num_classes, class_dim,
                                   routing_iters)

    def capsules(self, x):
        """The class capsules v (N, num_classes, class_dim)."""
        return self.digits(self.primary(self.act(self.conv1(x))))

    def forward(self, x):
        v = self.capsules(x)
        return ((v * v).sum(-1) + 1e-12).sqrt()                # lengths (N, num_classes)


@register_model("capsnet")
def capsnet(**kwargs):
    """``CapsNet(**kwargs)``: the 8x8-digits capsule network (201,408 parameters by default)."""
    return CapsNet(**kwargs)
