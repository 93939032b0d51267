"""The seeds' small CNN: one 3×3 conv layer, a pooling step and a dense classifier.

The seed article builds it in Keras on channels-last (224, 224, 3) images; nerve works in
channels-first NCHW, so here the input is (N, 3, 224, 224). The layers and counts are the
same either way.

    conv   Conv2d(3→32, 3×3, padding='same')   → (N, 32, 224, 224)   ReLU
    pool   MaxPool2d(2)                        → (N, 32, 112, 112)
    flat   Flatten                             → (N, 401,408)         (32·112·112)
    fc1    Linear(401,408→128)  ReLU
    fc2    Linear(128→10)                      → (N, 10) logits

Parameter count, 51,382,538 in all:

    conv   32×3×3×3 + 32        =        896
    fc1    401,408×128 + 128    = 51,380,352
    fc2    128×10 + 10          =      1,290

Almost all of it sits in ``fc1``, and it depends on the image size: the flattened width is
32·(H/2)·(W/2). Replacing Flatten by global average pooling (``gap=True``) averages each of
the 32 maps to one number, so ``fc1`` becomes 32×128 + 128 = 4,224 and the whole network has

    896 + 4,224 + 1,290 = 6,410

parameters for any image size. (The conv layer itself is also size-independent: its 896
weights are shared over every position.)

    >>> from nerve import models
    >>> models.get_model("seed-cnn").num_parameters()
    51382538
    >>> models.get_model("seed-cnn-gap").num_parameters()
    6410
    >>> import nerve as nv
    >>> models.seed_cnn(image_size=32)(nv.zeros(2, 3, 32, 32)).shape
    (2, 10)
"""
from __future__ import annotations

from .. import nn
from . import register_model

__all__ = ["SeedCNN", "SimpleCNN", "seed_cnn", "seed_cnn_gap"]


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


class SeedCNN(nn.Module):
    """Conv(32, 3×3, same) → ReLU → MaxPool(2) → Flatten or GAP → Linear(128) → ReLU → Linear(classes).

    Args:
        num_classes: output width (default 10).
        in_channels: image channels (default 3).
        image_size: H or (H, W) of the inputs (default 224). Only the Flatten variant needs
            it, to size ``fc1``; with ``gap=True`` any size works.
        gap: use global average pooling instead of Flatten (default False).
        filters, hidden: conv filters (32) and the hidden dense width (128).

    Shapes: (N, in_channels, H, W) → (N, num_classes).

    Example:
        >>> net = SeedCNN(image_size=32)
        >>> net.fc1.in_features    # 32 filters × 16 × 16 after pooling
        8192
    """

    def __init__(self, num_classes=10, in_channels=3, image_size=224, gap=False, filters=32, hidden=128):
        super().__init__()
        h, w = _pair(image_size)
        self.gap = gap
        self.image_size = (h, w)
        self.conv = nn.Conv2d(in_channels, filters, 3, padding="same")
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        # (N, filters, H/2, W/2) → (N, filters) with GAP, or (N, filters·H/2·W/2) with Flatten
        self.reduce = nn.GlobalAvgPool2d() if gap else nn.Flatten()
        width = filters if gap else filters * (h // 2) * (w // 2)
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x)))
        if not self.gap and tuple(x.shape[2:]) != (self.image_size[0] // 2, self.image_size[1] // 2):
            raise ValueError(f"SeedCNN was built for {self.image_size[0]}×{self.image_size[1]} images but got "
                             f"{tuple(x.shape[2:])} maps after pooling (input of shape {2 * x.shape[2]}×"
                             f"{2 * x.shape[3]}); build it with image_size=(H, W) or use gap=True, which "
                             f"accepts any size")
        return self.fc2(self.relu(self.fc1(self.reduce(x))))


SimpleCNN = SeedCNN   # the name the glossary map uses


@register_model("seed-cnn", "simple-cnn")
def seed_cnn(num_classes=10, in_channels=3, image_size=224):
    """The seed's CNN with Flatten: 51,382,538 parameters at 224×224×3; see :class:`SeedCNN`."""
    return SeedCNN(num_classes, in_channels, image_size, gap=False)


@register_model("seed-cnn-gap", "simple-cnn-gap")
def seed_cnn_gap(num_classes=10, in_channels=3):
    """The seed's CNN with global average pooling: 6,410 parameters at any size."""
    return SeedCNN(num_classes, in_channels, gap=True)
