"""Generated data sets that need no files: noisy images of shapes with per-pixel labels.

``ShapesSegmentation`` draws circles, squares and triangles on a noisy background. Each
image comes with a mask that gives every pixel its class: 0 background, 1 circle,
2 square, 3 triangle. Shapes may overlap; a later shape covers an earlier one, in the
image and in the mask alike. All shapes share one brightness distribution, so a model
must tell them apart by their outline, not by their colour.

The same ``seed`` always gives the same images, so a test can pin a number on them.

    >>> ds = ShapesSegmentation(8, size=32, seed=0)
    >>> ds.data.shape, ds.data.dtype.name, ds.targets.shape, ds.targets.dtype.name
    ((8, 1, 32, 32), 'float32', (8, 32, 32), 'int64')
    >>> ds.classes
    ['background', 'circle', 'square', 'triangle']
    >>> bool((ds.data == ShapesSegmentation(8, size=32, seed=0).data).all())
    True
"""
from __future__ import annotations

import numpy as np

from .dataset import ArrayDataset

__all__ = ["ShapesSegmentation", "SyntheticShapes"]


def _triangle_mask(yy, xx, cy, cx, r, angle):
    """(N, H, W) mask of the triangle with vertices at radius r around (cy, cx), rotated by angle."""
    a = angle[:, None] + np.array([0.0, 2 * np.pi / 3, 4 * np.pi / 3])[None, :]       # (N, 3)
    vy, vx = cy[:, None] + r[:, None] * np.sin(a), cx[:, None] + r[:, None] * np.cos(a)
    signs = []
    for i in range(3):                       # one half-plane test per edge
        j = (i + 1) % 3
        ey, ex = (vy[:, j] - vy[:, i])[:, None, None], (vx[:, j] - vx[:, i])[:, None, None]
        py, px = yy - vy[:, i][:, None, None], xx - vx[:, i][:, None, None]
        signs.append(ex * py - ey * px)       # (N, H, W) cross product: which side of the edge
    s = np.stack(signs)                      # inside: on the same side of all three edges
    return (s >= 0).all(axis=0) | (s <= 0).all(axis=0)


class ShapesSegmentation(ArrayDataset):
    """``n`` noisy grayscale images of circles, squares and triangles, with per-pixel class masks.

    Args:
        n: number of images.
        size: image side in pixels (default 32).
        seed: seed of the generator (default 0); the data depend only on (n, size, seed,
            the other arguments).
        max_shapes: up to this many shapes per image (at least one; default 3).
        noise: standard deviation of the Gaussian pixel noise (default 0.15).
        radius: (min, max) shape radius as a fraction of ``size`` (default 0.12 to 0.25):
            circles have this radius, squares a half-side of 0.85× it (a similar area),
            triangles a circumradius of 1.4× it.
        shapes: which shapes to draw, a subset of ('circle', 'square', 'triangle'); the
            mask values follow this order after 0 = background, so
            ``shapes=('circle', 'square')`` gives a 3-class task.

    Attributes:
        data: (n, 1, size, size) float32 images, background ≈ 0.2 and shapes 0.6 to 1.0,
            plus noise.
        targets: (n, size, size) int64 masks with values in 0..num_classes − 1.
        classes: the class names, indexed by mask value.
        num_classes: ``len(shapes) + 1`` (4 by default).

    Items are ``(image (1, size, size), mask (size, size))``; a DataLoader batches them
    as (N, 1, H, W) and (N, H, W), the layout ``cross_entropy`` takes for (N, C, H, W) logits.
    """

    SHAPES = ("circle", "square", "triangle")

    def __init__(self, n, size=32, seed=0, max_shapes=3, noise=0.15, radius=(0.12, 0.25),
                 shapes=SHAPES):
        if int(n) < 1 or int(size) < 8:
            raise ValueError(f"ShapesSegmentation needs n ≥ 1 images of size ≥ 8, got n={n}, size={size}")
        if int(max_shapes) < 1:
            raise ValueError(f"ShapesSegmentation: max_shapes must be ≥ 1, got {max_shapes}")
        lo, hi = radius
        if not 0 < lo <= hi < 0.5:
            raise ValueError(f"ShapesSegmentation: radius must be (min, max) fractions of the size with "
                             f"0 < min ≤ max < 0.5, got {radius}")
        shapes = tuple(shapes)
        if not shapes or len(set(shapes)) != len(shapes) or not set(shapes) <= set(self.SHAPES):
            raise ValueError(f"ShapesSegmentation: shapes must be distinct names among {self.SHAPES}, "
                             f"got {shapes}")
        self.classes = ["background", *shapes]
        self.num_classes = len(self.classes)
        n, size = int(n), int(size)
        rng = np.random.default_rng(seed)
        yy, xx = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5, indexing="ij")
        yy, xx = yy[None], xx[None]                                    # (1, H, W)
        image = np.full((n, size, size), 0.2)
        mask = np.zeros((n, size, size), dtype=np.int64)
        for slot in range(int(max_shapes)):                            # whole-batch ops per shape slot
            present = np.ones(n, bool) if slot == 0 else rng.random(n) < 0.6
            kind = rng.integers(1, len(shapes) + 1, size=n)            # mask value: 1 + index in shapes
            r = rng.uniform(lo, hi, size=n) * size
            cy, cx = (rng.uniform(r, size - r) for _ in range(2))      # keep the shape inside the image
            angle = rng.uniform(0, 2 * np.pi, size=n)
            brightness = rng.uniform(0.6, 1.0, size=n)
            dy, dx = yy - cy[:, None, None], xx - cx[:, None, None]   # (N, H, W)
            rr = r[:, None, None]
            circle = dy ** 2 + dx ** 2 <= rr ** 2
            square = (np.abs(dy) <= rr * 0.85) & (np.abs(dx) <= rr * 0.85)   # about the circle's area
            triangle = _triangle_mask(yy, xx, cy, cx, r * 1.4, angle)  # similar area
            drawn = {"circle": circle, "square": square, "triangle": triangle}
            k = kind[:, None, None]
            shape = np.zeros_like(circle)
            for value, name in enumerate(shapes, start=1):
                shape = np.where(k == value, drawn[name], shape)
            shape &= present[:, None, None]
            image = np.where(shape, brightness[:, None, None], image)
            mask = np.where(shape, k, mask)
        image = image + rng.normal(0.0, noise, size=image.shape)
        self.data = image[:, None].astype(np.float32)                  # (N, 1, H, W)
        self.targets = mask                                            # (N, H, W)
        self.size, self.seed = size, seed
        self._set_transforms(None, None)

    def class_frequencies(self):
        """Fraction of all pixels in each class, background first."""
        return np.bincount(self.targets.ravel(), minlength=self.num_classes) / self.targets.size

    def __repr__(self):
        freq = ", ".join(f"{c} {100 * f:.1f}%" for c, f in zip(self.classes, self.class_frequencies()))
        return f"ShapesSegmentation({len(self)} images of {self.size}×{self.size}, seed={self.seed}; pixels: {freq})"


SyntheticShapes = ShapesSegmentation
