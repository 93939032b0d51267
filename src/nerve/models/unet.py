"""U-Net (Ronneberger et al. 2015): an encoder-decoder with skip connections for per-pixel labels.

Semantic segmentation gives every pixel a class. The network must see context (is this
edge part of a triangle?) and still answer at full resolution. U-Net does both:

* the encoder repeats [conv block → 2×2 max-pool], halving H and W and doubling the
  channels at each level, so deep features see a wide area;
* the decoder repeats [2×2 transposed conv (×2 upsampling, halving the channels) →
  concatenate the encoder features of the same resolution (the skip connection) → conv
  block], so fine detail lost by pooling comes back from the skip;
* a 1×1 conv head maps each pixel's features to ``num_classes`` logits.

A conv block is (3×3 conv, padding 1 → BatchNorm → ReLU) twice. Padding keeps the sizes
equal, so the skips need no cropping (the 2015 paper used unpadded convs and cropped).
H and W must be divisible by 2^depth.

Layout of ``unet(1, 4, base=16, depth=3)`` on (N, 1, 32, 32):

    enc0   block 1→16      → 16 × 32²   ─────────────────────────┐ skip
    pool                   → 16 × 16²                            │
    enc1   block 16→32     → 32 × 16²   ───────────────┐         │
    pool                   → 32 × 8²                   │         │
    enc2   block 32→64     → 64 × 8²    ─────┐         │         │
    pool                   → 64 × 4²         │         │         │
    bottom block 64→128    → 128 × 4²        │         │         │
    up2    convT 128→64    → 64 × 8²  + skip ┘ → 128 → block 128→64 → 64 × 8²
    up1    convT 64→32     → 32 × 16² + skip ──────────┘ → 64 → block 64→32 → 32 × 16²
    up0    convT 32→16     → 16 × 32² + skip ────────────────────┘ → 32 → block 32→16 → 16 × 32²
    head   1×1 conv 16→4   → 4 × 32² logits

Parameter count of that model, 483,204 in all. A block cin→c has
9·cin·c + c + 2c (conv1, bn1) + 9·c·c + c + 2c (conv2, bn2); a transposed conv
2×2×cin×cout + cout:

    enc0    (9·1·16 + 48)   + (9·16·16 + 48)     =   2,544
    enc1    (9·16·32 + 96)  + (9·32·32 + 96)     =  14,016
    enc2    (9·32·64 + 192) + (9·64·64 + 192)    =  55,680
    bottom  (9·64·128 + 384) + (9·128·128 + 384) = 221,952
    up2     4·128·64 + 64 = 32,832;  block 128→64: (9·128·64 + 192) + (9·64·64 + 192) = 110,976
    up1     4·64·32 + 32  =  8,224;  block 64→32:  (9·64·32 + 96)  + (9·32·32 + 96)  =  27,840
    up0     4·32·16 + 16  =  2,064;  block 32→16:  (9·32·16 + 48)  + (9·16·16 + 48)  =   7,008
    head    16·4 + 4                              =      68

    >>> import nerve as nv
    >>> net = unet(1, 4, base=16, depth=3)
    >>> net.num_parameters()
    483204
    >>> net(nv.zeros(2, 1, 32, 32)).shape
    (2, 4, 32, 32)
"""
from __future__ import annotations

from .. import nn
from ..functional import cat
from . import register_model

__all__ = ["UNet", "unet", "ConvBlock"]


class ConvBlock(nn.Sequential):
    """(3×3 conv → BatchNorm → ReLU) × 2, keeping H and W; the conv has a bias (as in the U-Net paper).

    Example:
        >>> import nerve as nv
        >>> ConvBlock(3, 8)(nv.zeros(1, 3, 10, 10)).shape
        (1, 8, 10, 10)
    """

    def __init__(self, in_channels, out_channels, batch_norm=True):
        layers = []
        for cin in (in_channels, out_channels):
            layers.append(nn.Conv2d(cin, out_channels, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        super().__init__(*layers)


class UNet(nn.Module):
    """Encoder-decoder segmentation net with skip connections; outputs (N, num_classes, H, W) logits.

    Args:
        in_channels: image channels.
        num_classes: classes per pixel (the head's output channels).
        base: channels of the first level (default 16); level i has base·2^i.
        depth: number of poolings (default 3); H and W must be divisible by 2^depth.
        batch_norm: BatchNorm in the conv blocks (default True; the 2015 paper had none).
        upsample: 'transpose' (2×2 stride-2 ConvTranspose2d, default) or 'bilinear'
            (Upsample(×2, bilinear) then a 1×1 conv that halves the channels).

    Train with per-pixel cross-entropy: ``F.cross_entropy(net(x), masks)`` where ``masks``
    is (N, H, W) int64; the prediction is ``net(x).argmax(1)``.
    """

    def __init__(self, in_channels, num_classes, base=16, depth=3, batch_norm=True, upsample="transpose"):
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNet: depth must be ≥ 1 (the number of poolings), got {depth}")
        if upsample not in ("transpose", "bilinear"):
            raise ValueError(f"UNet: upsample must be 'transpose' or 'bilinear', got {upsample!r}")
        self.in_channels, self.num_classes, self.depth = in_channels, num_classes, depth
        widths = [base * 2 ** i for i in range(depth + 1)]       # e.g. 16, 32, 64, 128
        self.encoders = nn.ModuleList()
        cin = in_channels
        for w in widths[:-1]:
            self.encoders.append(ConvBlock(cin, w, batch_norm))
            cin = w
        self.pool = nn.MaxPool2d(2)
        self.bottom = ConvBlock(widths[-2], widths[-1], batch_norm)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for w in reversed(widths[:-1]):                            # 64, 32, 16
            if upsample == "transpose":
                self.ups.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            else:
                self.ups.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                              nn.Conv2d(2 * w, w, 1)))
            self.decoders.append(ConvBlock(2 * w, w, batch_norm))  # 2w: upsampled + skip
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x):
        k = 2 ** self.depth
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % k or x.shape[3] % k:
            raise ValueError(f"UNet(in_channels={self.in_channels}, depth={self.depth}) got input of shape "
                             f"{tuple(x.shape)}; it expects (N, {self.in_channels}, H, W) with H and W "
                             f"divisible by 2^depth = {k} (pad or crop the images, or lower depth)")
        skips = []
        for enc in self.encoders:
            x = enc(x)
            skips.append(x)                   # (N, w, H/2^i, W/2^i)
            x = self.pool(x)
        x = self.bottom(x)
        for up, dec, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = dec(cat([up(x), skip], dim=1))  # (N, 2w, ...) → (N, w, ...)
        return self.head(x)                   # (N, num_classes, H, W)


@register_model("unet", "u-net")
def unet(in_channels=1, num_classes=4, base=16, depth=3, batch_norm=True, upsample="transpose"):
    """A small U-Net; ``unet(1, 4, base=16, depth=3)`` has 483,204 parameters. See :class:`UNet`."""
    return UNet(in_channels, num_classes, base, depth, batch_norm, upsample)
