"""Data augmentation: random flips, crops, shifts, rotations, affine warps, resized crops and
Gaussian noise on image batches.

Images are channel-first NumPy arrays: one image ``(C, H, W)`` (or ``(H, W)``) or a batch
``(N, C, H, W)``. On a batch every image gets its own random parameters, drawn all at once,
and the result is gathered with one fancy-index: no Python loop over images. Each random
transform owns a ``numpy.random.Generator`` (from ``seed``, or seeded from nerve's global
generator at construction), so the same seed gives the same augmented batch, and its
``state_dict()`` can be checkpointed. They are marked ``deterministic = False``, so a
dataset applies them to every fetched batch rather than once at load.

The plain functions (``hflip``, ``crop``, ``shift``, ``rotate``, ``affine`` ...) apply fixed
parameters; ``shift`` and ``affine`` also take one parameter per image as arrays.

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
from .transforms import Transform, cast_like, resize_bilinear


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
    ``'edge'``, ``'reflect'`` or ``'symmetric'``. ``fill`` (constant mode) is a number or one
    value per channel (the third axis from the end), e.g. ``(255, 0, 0)`` for red borders."""
    x = np.asarray(x)
    p = (padding,) * 4 if isinstance(padding, (int, np.integer)) else tuple(padding)
    if len(p) == 2:
        p = (p[0], p[1], p[0], p[1])
    if len(p) != 4 or min(p) < 0:
        raise ValueError(f"padding must be an int, 2 or 4 non-negative ints, got {padding}")
    left, top, right, bottom = (int(v) for v in p)
    width = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        f = np.asarray(fill)
        if f.ndim == 0 or f.size == 1:
            return np.pad(x, width, mode="constant", constant_values=f.reshape(()).item())
        # NOTE: np.pad reads a sequence of constants as (before, after) pairs per axis, so a
        # per-channel fill is laid down here instead: pad with zeros, then paint the border.
        if f.ndim != 1 or x.ndim < 3 or x.shape[-3] != f.size:
            raise ValueError(f"fill must be a number or one value per channel ({x.shape[-3] if x.ndim >= 3 else 1}"
                             f" channels in an image of shape {x.shape}), got {fill!r}")
        out = np.pad(x, width, mode="constant")
        border = np.ones(out.shape[-2:], dtype=bool)
        border[top:top + x.shape[-2], left:left + x.shape[-1]] = False
        out[..., border] = f.astype(out.dtype)[:, None]
        return out
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


def _rotate_batch(x, angles, fill, interpolation="nearest"):
    """Rotate each image of ``x`` (N, C, H, W) counter-clockwise by ``angles`` (N,) degrees."""
    n = len(x)
    return _affine_batch(x, np.asarray(angles, np.float64), np.zeros((n, 2)), np.ones(n), np.zeros((n, 2)),
                         fill, interpolation)


def rotate(x, angle, fill=0, interpolation="nearest"):
    """Rotate counter-clockwise (as displayed) by ``angle`` degrees about the centre, same size.

    Half turns, and quarter turns of square images, are exact (``np.rot90``); other angles,
    and quarter turns of non-square images (which must keep their height and width, as
    torchvision's and Pillow's ``expand=False`` do), are ``affine(x, angle, fill=fill,
    interpolation=interpolation)``, which fills the uncovered parts with ``fill``.

    Example:
        >>> import numpy as np
        >>> rotate(np.array([[1, 2], [3, 4]]), 90).tolist()
        [[2, 4], [1, 3]]
    """
    x = np.asarray(x)
    if float(angle) % 90 == 0:
        k = int(angle // 90) % 4
        if k % 2 == 0 or x.shape[-2] == x.shape[-1]:   # np.rot90 swaps height and width
            return np.ascontiguousarray(np.rot90(x, k=k, axes=(-2, -1)))
    return affine(x, angle, fill=fill, interpolation=interpolation)


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
    return np.ascontiguousarray(cast_like(out.transpose(0, 3, 1, 2), x.dtype))


def resized_crop(x, top, left, height, width, size):
    """Crop a box and resize it to ``size`` with bilinear interpolation."""
    return resize_bilinear(crop(x, top, left, height, width), _pair(size, "size"))


# ----------------------------------------------------------------------------- sampling grids

def _fill_array(fill, channels, dtype):
    """``fill`` as an array that broadcasts against ``(N, C, H, W)``: a scalar, or one value per channel."""
    f = np.asarray(fill, dtype=dtype)
    if f.ndim == 0:
        return f
    if f.ndim == 1 and len(f) in (1, channels):
        return f.reshape(1, -1, 1, 1)
    raise ValueError(f"fill must be a number or one value per channel ({channels}), got {fill!r}")


def _gather(x, yi, xi, fill):
    """Read ``x[n, :, yi, xi]`` for every output pixel; positions outside the image read ``fill``.

    Args:
        x: ``(N, C, H, W)``.
        yi, xi: integer source rows / columns, broadcastable to ``(N, H_out, W_out)``.
        fill: array broadcastable to ``(N, C, H_out, W_out)`` (see :func:`_fill_array`).

    Returns ``(N, C, H_out, W_out)`` in the common dtype of ``x`` and ``fill``.
    """
    n, c, h, w = x.shape
    inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)  # (N, H_out, W_out) after broadcasting
    k = np.arange(n)[:, None, None, None]
    ch = np.arange(c)[None, :, None, None]
    # one fancy-index for the whole batch: (N, 1, 1, 1), (1, C, 1, 1), (N, 1, H_out, 1|W_out) ...
    vals = x[k, ch, np.clip(yi, 0, h - 1)[:, None], np.clip(xi, 0, w - 1)[:, None]]  # (N, C, H_out, W_out)
    return np.where(inside[:, None], vals, fill)


def _sample(x, src_y, src_x, fill, interpolation):
    """Sample ``x`` (N, C, H, W) at real-valued pixel positions ``src_y, src_x`` (N, H, W).

    Pixel ``(i, j)`` sits at the integer position ``(i, j)``. ``'nearest'`` reads the pixel at
    ``rint`` of the position (ties to even); ``'bilinear'`` blends the four surrounding pixels
    with weights ``(1 - fy)(1 - fx), (1 - fy) fx, fy (1 - fx), fy fx`` (``f`` the fractional
    parts), and a neighbour outside the image counts as ``fill``.
    """
    n, c, h, w = x.shape
    if interpolation == "nearest":
        return _gather(x, np.rint(src_y).astype(np.int64), np.rint(src_x).astype(np.int64),
                       _fill_array(fill, c, x.dtype))
    if interpolation != "bilinear":
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    # NOTE: trig leaves positions like 2.9999999999999996 after a quarter turn; snapping them
    # onto the integer keeps exact cases (90 degrees, identity) exact in bilinear mode too.
    src_y = np.where(np.abs(src_y - np.rint(src_y)) < 1e-9, np.rint(src_y), src_y)
    src_x = np.where(np.abs(src_x - np.rint(src_x)) < 1e-9, np.rint(src_x), src_x)
    y0, x0 = np.floor(src_y), np.floor(src_x)
    fy, fx = (src_y - y0)[:, None], (src_x - x0)[:, None]  # (N, 1, H, W)
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    f = _fill_array(fill, c, np.float64)
    out = (_gather(x, y0, x0, f) * ((1 - fy) * (1 - fx)) + _gather(x, y0, x0 + 1, f) * ((1 - fy) * fx)
           + _gather(x, y0 + 1, x0, f) * (fy * (1 - fx)) + _gather(x, y0 + 1, x0 + 1, f) * (fy * fx))
    return cast_like(out, x.dtype)


def _per_image(value, n, name):
    """A scalar or ``(N,)`` parameter as a float64 ``(N,)`` array."""
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per image, shape ({n},); got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return a


def _per_image_pair(value, n, name, scalar_second=None):
    """An ``(x, y)`` pair, or ``(N, 2)`` pairs, as a float64 ``(N, 2)`` array.

    A scalar is accepted only when ``scalar_second`` is given: it becomes ``(value, scalar_second)``.
    """
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0 and scalar_second is not None:
        a = np.array([float(a), scalar_second])
    if a.shape == (2,):
        a = np.broadcast_to(a, (n, 2))
    if a.shape != (n, 2):
        raise ValueError(f"{name} must be an (x, y) pair or one pair per image, shape ({n}, 2); got shape "
                         f"{a.shape}. For per-image values stack them: np.stack([xs, ys], axis=1)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return a


def _inverse_affine(angle, translate, scale, shear):
    """Per-image inverse maps: ``(A, t)`` with ``A`` (N, 2, 2) so that ``p_in = A (p_out - t)``.

    The forward matrix is ``scale * R(angle) @ Sh(shear)`` (see :func:`affine`); ``R`` and
    ``Sh`` both have determinant 1, so the inverse is the adjugate divided by ``scale``.
    """
    theta = np.deg2rad(angle)
    tan_x, tan_y = np.tan(np.deg2rad(shear[:, 0])), np.tan(np.deg2rad(shear[:, 1]))
    cos, sin = np.cos(theta), np.sin(theta)
    # R(angle) = [[cos, sin], [-sin, cos]]: counter-clockwise on screen, where y points down
    # Sh = [[1, -tan_x], [-tan_y, 1 + tan_x tan_y]]
    a = cos - sin * tan_y
    b = -cos * tan_x + sin * (1 + tan_x * tan_y)
    c = -sin - cos * tan_y
    d = sin * tan_x + cos * (1 + tan_x * tan_y)
    inv = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / scale[:, None, None]  # (N, 2, 2)
    return inv, translate


def _affine_batch(x, angle, translate, scale, shear, fill, interpolation):
    """:func:`affine` on a batch ``(N, C, H, W)`` with checked ``(N,)`` / ``(N, 2)`` parameters."""
    n, c, h, w = x.shape
    inv, t = _inverse_affine(angle, translate, scale, shear)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy = (np.arange(h) - cy)[None, :, None] - t[:, 1, None, None]  # (N, H, 1) output rows, centred, untranslated
    xx = (np.arange(w) - cx)[None, None, :] - t[:, 0, None, None]  # (N, 1, W)
    src_x = inv[:, 0, 0, None, None] * xx + inv[:, 0, 1, None, None] * yy + cx  # (N, H, W)
    src_y = inv[:, 1, 0, None, None] * xx + inv[:, 1, 1, None, None] * yy + cy
    return _sample(x, src_y, src_x, fill, interpolation)


def affine(x, angle=0.0, translate=(0, 0), scale=1.0, shear=0.0, fill=0, interpolation="nearest"):
    """Rotate, scale, shear and translate images about their centre, keeping their size.

    Convention (the one torchvision uses): pixel ``(row i, column j)`` has the position
    ``p = (j - (W - 1) / 2, i - (H - 1) / 2)`` — ``x`` to the right, ``y`` *down*, origin at the
    centre of the pixel grid. Image content at ``p`` moves to

        p' = scale * R(angle) @ Sh(shear_x, shear_y) @ p + (tx, ty)

        R(a)  = [[cos a,  sin a],  [-sin a, cos a]]       # counter-clockwise as displayed
        Sh    = [[1, -tan sx],     [-tan sy, 1 + tan sx tan sy]]

    so a positive ``angle`` turns the picture counter-clockwise on screen (90 degrees on a
    square image is ``np.rot90(x, 1, axes=(-2, -1))``) and a positive ``tx`` / ``ty`` moves
    it right / down. The output is built by inverse mapping: each output pixel ``p'`` reads
    the input at ``p = M^-1 (p' - t)``, with nearest or bilinear sampling; positions outside
    the input read ``fill``. In bilinear mode each out-of-image neighbour counts as ``fill``
    (torchvision blends its border slightly differently; interiors agree).

    Args:
        x: an image ``(C, H, W)`` / ``(H, W)`` or a batch ``(N, C, H, W)``.
        angle: degrees, a number or one per image ``(N,)``.
        translate: ``(tx, ty)`` in pixels (fractions allowed), or ``(N, 2)``.
        scale: zoom factor > 0, a number or ``(N,)``.
        shear: degrees; a number shears along x only, ``(sx, sy)`` along both, ``(N, 2)`` per image.
        fill: value for uncovered pixels, a number or one per channel.
        interpolation: ``'nearest'`` or ``'bilinear'``; both keep the dtype (bilinear rounds
            integer pixels back to integers, as torchvision does for uint8 images).

    Returns:
        An array of the same shape as ``x``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3)
        >>> affine(x, angle=90)[0].tolist()                      # same as np.rot90
        [[2.0, 5.0, 8.0], [1.0, 4.0, 7.0], [0.0, 3.0, 6.0]]
        >>> affine(x, translate=(1, 0), fill=-1)[0].tolist()   # one pixel to the right
        [[-1.0, 0.0, 1.0], [-1.0, 3.0, 4.0], [-1.0, 6.0, 7.0]]
    """
    xb, undo = _as_batch(x)
    n = len(xb)
    scale = _per_image(scale, n, "scale")
    if np.any(scale <= 0):
        raise ValueError(f"scale must be > 0 (1 keeps the size), got {scale.min()}")
    shear = _per_image_pair(shear, n, "shear", scalar_second=0.0)
    if np.any(np.abs(shear) >= 90):
        raise ValueError(f"shear angles must lie strictly between -90 and 90 degrees, got {np.abs(shear).max()}")
    return undo(_affine_batch(xb, _per_image(angle, n, "angle"), _per_image_pair(translate, n, "translate"),
                              scale, shear, fill, interpolation))


def _integer_shifts(value, n, name):
    a = np.asarray(value)
    if a.dtype.kind not in "iub":
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)) or np.any(a != np.rint(a)):
            raise ValueError(f"{name} must be whole pixels, got {value!r}; for sub-pixel moves use "
                             f"affine(x, translate=...)")
    a = a.astype(np.int64)
    if a.ndim == 0:
        a = np.full(n, int(a))
    if a.shape != (n,):
        raise ValueError(f"{name} must be an int or one int per image, shape ({n},); got shape {a.shape}")
    return a


def shift(x, dx, dy, fill=0):
    """Move images by whole pixels, ``dx`` right and ``dy`` down, filling the uncovered strip.

    ``out[..., i, j] = x[..., i - dy, j - dx]`` where that pixel exists, else ``fill``; exact
    (no interpolation), any dtype kept. Same direction as ``affine(x, translate=(dx, dy))``.

    Args:
        x: an image ``(C, H, W)`` / ``(H, W)`` or a batch ``(N, C, H, W)``.
        dx, dy: ints, or one int per image ``(N,)``; negative moves left / up.
        fill: value for the uncovered pixels, a number or one per channel.

    Example:
        >>> import numpy as np
        >>> shift(np.arange(1, 7).reshape(2, 3), dx=1, dy=-1).tolist()
        [[0, 4, 5], [0, 0, 0]]
    """
    xb, undo = _as_batch(x)
    n, c, h, w = xb.shape
    dx, dy = _integer_shifts(dx, n, "dx"), _integer_shifts(dy, n, "dy")
    f = _fill_array(fill, c, xb.dtype)
    m = int(max(np.abs(dx).max(initial=0), np.abs(dy).max(initial=0)))
    if 0 < m < min(h, w):
        # Pad every image by m with the fill, then each output is one (H, W) window of its
        # padded image, starting at (m - dy, m - dx): a single row-contiguous copy.
        padded = np.empty((n, c, h + 2 * m, w + 2 * m), dtype=xb.dtype)
        padded[...] = f
        padded[:, :, m:m + h, m:m + w] = xb
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
        return undo(windows[np.arange(n), :, m - dy, m - dx])  # (N, C, H, W)
    yi = np.arange(h)[None, :, None] - dy[:, None, None]  # (N, H, 1) source rows
    xi = np.arange(w)[None, None, :] - dx[:, None, None]  # (N, 1, W) source columns
    return undo(_gather(xb, yi, xi, f))


# ----------------------------------------------------------------------------- random transforms

def _range(value, name):
    """``d`` -> ``(-d, d)``; a ``(low, high)`` pair is checked and kept."""
    if np.isscalar(value):  # d and -d both mean [-|d|, |d|]
        return -abs(float(value)), abs(float(value))
    if len(value) != 2 or value[0] > value[1]:
        raise ValueError(f"{name} must be a number or (low, high) with low <= high, got {value}")
    return float(value[0]), float(value[1])


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
        interpolation: ``'nearest'`` or ``'bilinear'`` (see :func:`affine`).

    Example:
        >>> import numpy as np
        >>> RandomRotation(15, seed=0)(np.ones((2, 1, 8, 8))).shape
        (2, 1, 8, 8)
    """

    def __init__(self, degrees, fill=0, seed=None, generator=None, interpolation="nearest"):
        super().__init__(seed, generator)
        self.degrees, self.fill, self.interpolation = _range(degrees, "degrees"), fill, interpolation

    def apply_batch(self, x):
        angles = self.generator.uniform(*self.degrees, size=len(x))
        return _rotate_batch(x, angles, self.fill, self.interpolation)


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


class RandomShift(RandomTransform):
    """Move each image by a random whole number of pixels, ``dx, dy`` uniform in ``[-max, max]``.

    ``out = shift(x, dx, dy, fill)`` with one ``(dx, dy)`` per image (integers, both ends
    included, drawn ``dx`` first); exact, no interpolation, dtype kept. Compared with
    ``RandomCrop(size, padding=max)``, the image keeps its size without an explicit crop size.

    Args:
        max_shift: the largest move in pixels, one int for both axes or ``(max_dx, max_dy)``.
        fill: value for the uncovered strip, a number or one per channel.
        seed, generator: see :class:`RandomTransform`.

    Example:
        >>> import numpy as np
        >>> RandomShift(2, seed=0)(np.ones((4, 1, 5, 5), np.float32)).shape
        (4, 1, 5, 5)
    """

    def __init__(self, max_shift, fill=0, seed=None, generator=None):
        super().__init__(seed, generator)
        m = (max_shift, max_shift) if np.isscalar(max_shift) else tuple(max_shift)
        if len(m) != 2 or any(int(v) != v or v < 0 for v in m):
            raise ValueError(f"max_shift must be a non-negative int or a (max_dx, max_dy) pair of them, "
                             f"got {max_shift!r}")
        self.max_shift, self.fill = (int(m[0]), int(m[1])), fill

    def apply_batch(self, x):
        n = len(x)
        dx = self.generator.integers(-self.max_shift[0], self.max_shift[0] + 1, size=n)
        dy = self.generator.integers(-self.max_shift[1], self.max_shift[1] + 1, size=n)
        return shift(x, dx, dy, self.fill)


class RandomAffine(RandomTransform):
    """A random rotation, translation, zoom and shear per image, applied with :func:`affine`.

    Parameters are drawn independently for each image, with the ranges of torchvision's
    ``RandomAffine`` (``W, H`` the image width and height; a range left as ``None`` is not drawn):

        angle   ~ U(degrees)
        tx, ty  = round(U(-a W, a W)), round(U(-b H, b H))      # translate = (a, b), whole pixels
        scale   ~ U(scale)
        shear_x ~ U(shear[0], shear[1]),  shear_y ~ U(shear[2], shear[3])

    :meth:`sample_params` returns the draws, so ``affine(x, **t.sample_params(...))`` reproduces
    a call from the same generator state.

    Args:
        degrees: ``d`` for ``[-d, d]`` or ``(low, high)``; 0 for no rotation.
        translate: ``(a, b)``, the largest move as a fraction of width and height, each in [0, 1].
        scale: ``(low, high)`` zoom range, both > 0.
        shear: degrees; ``s`` for an x-shear in ``[-s, s]``, ``(low, high)`` for an x-shear,
            ``(x_low, x_high, y_low, y_high)`` for both.
        fill, interpolation: as in :func:`affine`.
        seed, generator: see :class:`RandomTransform`.

    Example:
        >>> import numpy as np
        >>> t = RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5, seed=0)
        >>> t(np.ones((64, 1, 28, 28), np.float32)).shape
        (64, 1, 28, 28)
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, fill=0, seed=None, generator=None,
                 interpolation="nearest"):
        super().__init__(seed, generator)
        self.degrees = _range(degrees, "degrees")
        if translate is not None:
            translate = tuple(float(v) for v in translate)
            if len(translate) != 2 or not all(0.0 <= v <= 1.0 for v in translate):
                raise ValueError(f"translate must be (a, b), the largest moves as fractions of width and height, "
                                 f"each in [0, 1]; got {translate}")
        if scale is not None:
            scale = tuple(float(v) for v in scale)
            if len(scale) != 2 or not 0.0 < scale[0] <= scale[1]:
                raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {scale}")
        if shear is not None:
            shear = _range(shear, "shear") if np.isscalar(shear) else tuple(float(v) for v in shear)
            if len(shear) not in (2, 4) or shear[0] > shear[1] or (len(shear) == 4 and shear[2] > shear[3]):
                raise ValueError(f"shear must be s, (low, high) or (x_low, x_high, y_low, y_high), got {shear}")
            if max(abs(v) for v in shear) >= 90:
                raise ValueError(f"shear angles must lie strictly between -90 and 90 degrees, got {shear}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.fill, self.interpolation = fill, interpolation

    def sample_params(self, n, height, width):
        """Draw parameters for ``n`` images of ``height x width``.

        Returns a dict of arrays for :func:`affine`: ``angle`` (n,), ``translate`` (n, 2)
        in whole pixels, ``scale`` (n,) and ``shear`` (n, 2), all float64.
        """
        g = self.generator
        angle = g.uniform(*self.degrees, size=n)
        translate = np.zeros((n, 2))
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * width, self.translate[1] * height
            translate[:, 0] = np.rint(g.uniform(-max_dx, max_dx, size=n))
            translate[:, 1] = np.rint(g.uniform(-max_dy, max_dy, size=n))
        scale = g.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        shear = np.zeros((n, 2))
        if self.shear is not None:
            shear[:, 0] = g.uniform(self.shear[0], self.shear[1], size=n)
            if len(self.shear) == 4:
                shear[:, 1] = g.uniform(self.shear[2], self.shear[3], size=n)
        return {"angle": angle, "translate": translate, "scale": scale, "shear": shear}

    def apply_batch(self, x):
        p = self.sample_params(len(x), *x.shape[-2:])
        return _affine_batch(x, p["angle"], p["translate"], p["scale"], p["shear"], self.fill, self.interpolation)


class GaussianNoise(RandomTransform):
    """Add independent Gaussian noise to every element: ``out = x + mean + std * z``, ``z ~ N(0, 1)``.

    Works on any shape (an image, a batch, a table of features); float dtypes are kept
    (float32 noise is drawn directly in float32), other dtypes give float32. With ``clip=(low,
    high)`` the result is clipped into that range afterwards, e.g. ``(0, 1)`` for pixels.

    Args:
        std: standard deviation of the noise, >= 0.
        mean: its mean (default 0).
        clip: optional ``(low, high)`` applied after adding.
        seed, generator: see :class:`RandomTransform`.

    Example:
        >>> import numpy as np
        >>> out = GaussianNoise(0.1, clip=(0, 1), seed=0)(np.full((2, 1, 4, 4), 0.5, np.float32))
        >>> out.dtype, bool(out.min() >= 0 and out.max() <= 1)
        (dtype('float32'), True)
    """

    def __init__(self, std, mean=0.0, clip=None, seed=None, generator=None):
        super().__init__(seed, generator)
        if not (np.isfinite(std) and std >= 0):
            raise ValueError(f"std must be a finite number >= 0, got {std}")
        if not np.isfinite(mean):
            raise ValueError(f"mean must be a finite number, got {mean}")
        if clip is not None:
            clip = tuple(float(v) for v in clip)
            if len(clip) != 2 or not clip[0] <= clip[1]:
                raise ValueError(f"clip must be (low, high) with low <= high, or None, got {clip}")
        self.std, self.mean, self.clip = float(std), float(mean), clip

    def __call__(self, x):
        return self.apply_batch(np.asarray(x))

    def apply_batch(self, x):
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
        draw = np.float64 if dtype.itemsize >= 8 else np.float32  # the two dtypes the generator draws in
        out = self.generator.standard_normal(x.shape, dtype=draw).astype(dtype, copy=False)
        out *= dtype.type(self.std)
        out += dtype.type(self.mean)
        out += x
        if self.clip is not None:
            np.clip(out, dtype.type(self.clip[0]), dtype.type(self.clip[1]), out=out)
        return out


__all__ = ["hflip", "vflip", "pad", "crop", "center_crop", "shift", "rotate", "affine", "resized_crop",
           "RandomTransform", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomShift",
           "RandomRotation", "RandomAffine", "RandomResizedCrop", "GaussianNoise"]
