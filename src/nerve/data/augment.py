"""Data augmentation: random flips, crops, rotations and resized crops on image batches.

Images are channel-first NumPy arrays: one image ``(C, H, W)`` (or ``(H, W)``) or a batch
``(N, C, H, W)``. On a batch every image gets its own random parameters, drawn all at once,
and the result is gathered with one fancy-index: no Python loop over images. Each random
transform owns a ``numpy.random.Generator`` (from ``seed``, or seeded from nerve's global
generator at construction), so the same seed gives the same augmented batch, and its
``state_dict()`` can be checkpointed. They are marked ``deterministic = False``, so a
dataset applies them to every fetched batch rather than once at load.

The plain functions (``hflip``, ``crop``, ``rotate`` ...) apply fixed parameters.

Example:
    >>> import numpy as np
    >>> from nerve.data.transforms import Compose
    >>> aug = Compose([RandomCrop(28, padding=4, seed=0), RandomHorizontalFlip(seed=0)])
    >>> aug(np.zeros((16, 1, 28, 28), np.float32)).shape
    (16, 1, 28, 28)
"""
from __future__ import annotations

import numpy as np

from .dataset import _resolve_generator
from .transforms import Transform, resize_bilinear


def _pair(size, name):
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) <= 0:
        raise ValueError(f"{name} must be a positive int or (height, width), got {size}")
    return size


def _as_batch(x):
    """``(x as (N, C, H, W), undo)``: single images gain a batch (and channel) axis."""
    x = np.asarray(x)
    if x.ndim == 4:
        return x, lambda y: y
    if x.ndim == 3:
        return x[None], lambda y: y[0]
    if x.ndim == 2:
        return x[None, None], lambda y: y[0, 0]
    raise ValueError(f"expected an image (H, W), (C, H, W) or a batch (N, C, H, W), got shape {x.shape}")


# ----------------------------------------------------------------------------- fixed parameters

def hflip(x):
    """Mirror left-right (the last axis)."""
    return np.ascontiguousarray(np.asarray(x)[..., ::-1])


def vflip(x):
    """Mirror top-bottom (the second-to-last axis)."""
    return np.ascontiguousarray(np.asarray(x)[..., ::-1, :])


def pad(x, padding, fill=0, padding_mode="constant"):
    """Pad the last two axes. ``padding``: int, ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)`` as in torchvision; ``padding_mode``: ``'constant'``,
    ``'edge'``, ``'reflect'`` or ``'symmetric'``."""
    x = np.asarray(x)
    p = (padding,) * 4 if isinstance(padding, (int, np.integer)) else tuple(padding)
    if len(p) == 2:
        p = (p[0], p[1], p[0], p[1])
    if len(p) != 4 or min(p) < 0:
        raise ValueError(f"padding must be an int, 2 or 4 non-negative ints, got {padding}")
    left, top, right, bottom = (int(v) for v in p)
    width = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=fill)
    if padding_mode not in ("edge", "reflect", "symmetric"):
        raise ValueError(f"padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
    return np.pad(x, width, mode=padding_mode)


def crop(x, top, left, height, width):
    """The window ``[top:top + height, left:left + width]`` of the last two axes (a copy)."""
    x = np.asarray(x)
    if top < 0 or left < 0 or top + height > x.shape[-2] or left + width > x.shape[-1]:
        raise ValueError(f"crop box (top={top}, left={left}, {height}x{width}) does not fit an image of "
                         f"size {x.shape[-2]}x{x.shape[-1]}; pad first")
    return np.ascontiguousarray(x[..., top:top + height, left:left + width])


def center_crop(x, size):
    """The central ``size`` window (torchvision rounds the offsets the same way)."""
    h, w = _pair(size, "size")
    x = np.asarray(x)
    top, left = int(round((x.shape[-2] - h) / 2.0)), int(round((x.shape[-1] - w) / 2.0))
    return crop(x, top, left, h, w)


def _rotate_nearest(x, angles, fill):
    """Rotate each image of ``x`` (N, C, H, W) counter-clockwise by ``angles`` (N,) degrees."""
    n, c, h, w = x.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64))[:, None, None]  # (N, 1, 1)
    yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")  # (H, W)
    # inverse map: the output pixel (y, x) reads the input at the point rotated back
    cos, sin = np.cos(theta), np.sin(theta)
    src_x = cos * xx - sin * yy + cx
    src_y = sin * xx + cos * yy + cy
    xi, yi = np.rint(src_x).astype(np.int64), np.rint(src_y).astype(np.int64)  # (N, H, W)
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    gathered = x[np.arange(n)[:, None, None], :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]  # (N, H, W, C)
    out = np.where(inside[..., None], gathered, np.asarray(fill, dtype=x.dtype))
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def rotate(x, angle, fill=0):
    """Rotate counter-clockwise by ``angle`` degrees about the centre, same size.

    Multiples of 90 degrees are exact (``np.rot90``); other angles sample the nearest pixel
    and fill the uncovered corners with ``fill``.
    """
    x = np.asarray(x)
    if float(angle) % 90 == 0:
        return np.ascontiguousarray(np.rot90(x, k=int(angle // 90) % 4, axes=(-2, -1)))
    xb, undo = _as_batch(x)
    return undo(_rotate_nearest(xb, np.full(len(xb), float(angle)), fill))


def _bilinear_boxes(x, tops, lefts, heights, widths, size):
    """Crop box ``n`` of image ``n`` and resize it to ``size`` (bilinear, half-pixel centres)."""
    n = x.shape[0]
    oh, ow = size
    h, w = x.shape[-2:]

    def axis_weights(start, length, out, limit):
        src = start[:, None] + (np.arange(out) + 0.5)[None] * (length[:, None] / out) - 0.5  # (N, out)
        src = np.clip(src, start[:, None], (start + length - 1)[:, None])
        lo = np.floor(src).astype(np.int64)
        hi = np.minimum(lo + 1, limit - 1)
        return lo, hi, src - lo

    y0, y1, wy = axis_weights(tops.astype(np.float64), heights.astype(np.float64), oh, h)
    x0, x1, wx = axis_weights(lefts.astype(np.float64), widths.astype(np.float64), ow, w)
    k = np.arange(n)[:, None, None]

    def g(yi, xi):  # (N, oh, ow, C)
        return x[k, :, yi[:, :, None], xi[:, None, :]].astype(np.float64)

    wy, wx = wy[:, :, None, None], wx[:, None, :, None]
    out = (g(y0, x0) * (1 - wy) * (1 - wx) + g(y0, x1) * (1 - wy) * wx
           + g(y1, x0) * wy * (1 - wx) + g(y1, x1) * wy * wx)
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)).astype(dtype)


def resized_crop(x, top, left, height, width, size):
    """Crop a box and resize it to ``size`` with bilinear interpolation."""
    return resize_bilinear(crop(x, top, left, height, width), _pair(size, "size"))


# ----------------------------------------------------------------------------- random transforms

class RandomTransform(Transform):
    """Base of the random augmentations: owns a generator, applies per image of a batch."""

    deterministic = False

    def __init__(self, seed=None, generator=None):
        self.generator = _resolve_generator(generator, seed)

    def state_dict(self) -> dict:
        return self.generator.bit_generator.state

    def load_state_dict(self, state: dict) -> None:
        self.generator.bit_generator.state = state

    def __call__(self, x):
        xb, undo = _as_batch(x)
        return undo(self.apply_batch(xb))

    def apply_batch(self, x):
        raise NotImplementedError


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability ``p``.

    Example:
        >>> import numpy as np
        >>> RandomHorizontalFlip(p=1.0, seed=0)(np.array([[[1, 2, 3]]])).tolist()
        [[[3, 2, 1]]]
    """

    def __init__(self, p=0.5, seed=None, generator=None):
        super().__init__(seed, generator)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = float(p)

    def _flip(self, x):
        return x[..., ::-1]

    def apply_batch(self, x):
        fire = self.generator.random(len(x)) < self.p  # (N,)
        return np.where(fire[:, None, None, None], self._flip(x), x)


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p``."""

    def _flip(self, x):
        return x[..., ::-1, :]


class RandomCrop(RandomTransform):
    """Cut a random ``size`` window from each image, after optional padding.

    Args:
        size: output ``(height, width)`` or one int.
        padding: added around the image first (see :func:`pad`), e.g. 4 for the classic
            CIFAR / MNIST shift augmentation.
        pad_if_needed: pad images smaller than ``size`` up to it.
        fill, padding_mode: as in :func:`pad`.

    Example:
        >>> import numpy as np
        >>> RandomCrop(2, seed=0)(np.zeros((5, 3, 4, 4))).shape
        (5, 3, 2, 2)
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant",
                 seed=None, generator=None):
        super().__init__(seed, generator)
        self.size = _pair(size, "size")
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    def apply_batch(self, x):
        if self.padding is not None:
            x = pad(x, self.padding, self.fill, self.padding_mode)
        h, w = self.size
        if self.pad_if_needed and (x.shape[-2] < h or x.shape[-1] < w):
            dh, dw = max(h - x.shape[-2], 0), max(w - x.shape[-1], 0)
            x = pad(x, (dw, dh), self.fill, self.padding_mode)
        H, W = x.shape[-2:]  # noqa: N806
        if H < h or W < w:
            raise ValueError(f"RandomCrop{self.size} is larger than the (padded) image {H}x{W}; "
                             "use pad_if_needed=True or a smaller size")
        n = len(x)
        tops = self.generator.integers(0, H - h + 1, size=n)
        lefts = self.generator.integers(0, W - w + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(x, (h, w), axis=(-2, -1))  # (N, C, H-h+1, W-w+1, h, w)
        return np.ascontiguousarray(windows[np.arange(n), :, tops, lefts])  # (N, C, h, w)


class RandomRotation(RandomTransform):
    """Rotate each image by an angle drawn uniformly from ``degrees`` (nearest-pixel sampling).

    Args:
        degrees: ``d`` for ``[-d, d]``, or ``(low, high)``.
        fill: value for the uncovered corners.

    Example:
        >>> import numpy as np
        >>> RandomRotation(15, seed=0)(np.ones((2, 1, 8, 8))).shape
        (2, 1, 8, 8)
    """

    def __init__(self, degrees, fill=0, seed=None, generator=None):
        super().__init__(seed, generator)
        lo, hi = (-abs(degrees), abs(degrees)) if np.isscalar(degrees) else degrees
        if lo > hi:
            raise ValueError(f"degrees must be (low, high) with low <= high, got {degrees}")
        self.degrees, self.fill = (float(lo), float(hi)), fill

    def apply_batch(self, x):
        angles = self.generator.uniform(*self.degrees, size=len(x))
        return _rotate_nearest(x, angles, self.fill)


class RandomResizedCrop(RandomTransform):
    """A random box (area share from ``scale``, aspect ratio from ``ratio``) resized to ``size``.

    The box is drawn as torchvision draws it: up to 10 tries of a random area and log-uniform
    aspect ratio that fits, otherwise the central crop with the ratio clamped into range.
    Resizing is bilinear with half-pixel centres (no antialiasing).

    Example:
        >>> import numpy as np
        >>> RandomResizedCrop(24, seed=0)(np.ones((3, 1, 28, 28), np.float32)).shape
        (3, 1, 24, 24)
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), seed=None, generator=None):
        super().__init__(seed, generator)
        self.size, self.scale, self.ratio = _pair(size, "size"), tuple(scale), tuple(ratio)
        if not (0 < self.scale[0] <= self.scale[1] and 0 < self.ratio[0] <= self.ratio[1]):
            raise ValueError(f"scale and ratio must be increasing positive pairs, got {scale}, {ratio}")

    def _boxes(self, n, H, W):  # noqa: N803
        area = H * W
        log_r = np.log(self.ratio)
        tries = 10
        target = area * self.generator.uniform(*self.scale, size=(n, tries))
        aspect = np.exp(self.generator.uniform(log_r[0], log_r[1], size=(n, tries)))
        ws = np.rint(np.sqrt(target * aspect)).astype(np.int64)
        hs = np.rint(np.sqrt(target / aspect)).astype(np.int64)
        ok = (ws > 0) & (hs > 0) & (ws <= W) & (hs <= H)
        first = np.where(ok.any(1), ok.argmax(1), -1)  # the first try that fits, per image
        rows = np.arange(n)
        h, w = hs[rows, first], ws[rows, first]
        # fallback: the whole image, cut to the nearest allowed aspect ratio
        in_ratio = W / H
        if in_ratio < self.ratio[0]:
            fw, fh = W, int(round(W / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            fh, fw = H, int(round(H * self.ratio[1]))
        else:
            fh, fw = H, W
        miss = first < 0
        h, w = np.where(miss, fh, h), np.where(miss, fw, w)
        tops = np.floor(self.generator.random(n) * (H - h + 1)).astype(np.int64)
        lefts = np.floor(self.generator.random(n) * (W - w + 1)).astype(np.int64)
        tops = np.where(miss, (H - h) // 2, tops)
        lefts = np.where(miss, (W - w) // 2, lefts)
        return tops, lefts, h, w

    def apply_batch(self, x):
        H, W = x.shape[-2:]  # noqa: N806
        tops, lefts, h, w = self._boxes(len(x), H, W)
        return _bilinear_boxes(x, tops, lefts, h, w, self.size)


__all__ = ["hflip", "vflip", "pad", "crop", "center_crop", "rotate", "resized_crop", "RandomTransform",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomRotation", "RandomResizedCrop"]
