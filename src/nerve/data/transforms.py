"""Array transforms: NumPy in, NumPy out, applied to whole arrays or batches at once.

Every transform here works on an array whose first axis is the sample axis (a batch
``(N, C, H, W)`` or a whole stored dataset), and on single images where noted. Each has a
``deterministic`` flag: a dataset applies a deterministic transform (or the deterministic
prefix of a :class:`Compose`) once to its whole stored array at load time, and anything
random at access time, per batch. Augmentations with random draws set
``deterministic = False``; a transform without the attribute is treated as random.

Example:
    >>> import numpy as np
    >>> t = Compose([Scale01(), Normalize(0.5, 0.5), Flatten()])
    >>> t(np.full((2, 1, 2, 2), 255, np.uint8)).tolist()
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
"""
from __future__ import annotations

import numpy as np

def _scale01(x: np.ndarray) -> np.ndarray:
    """uint8 -> new float32 array ``x / 255``: the same IEEE float32 quotient as torchvision's
    ``ToTensor`` (``float().div(255)``), computed in place after one conversion."""
    out = x.astype(np.float32)
    np.divide(out, np.float32(255), out=out)
    return out


def cast_like(out: np.ndarray, dtype) -> np.ndarray:
    """Interpolated values ``out`` (float) back in the input's ``dtype``, as torchvision does.

    Float dtypes are kept; integer images (uint8 pixels) are rounded to the nearest integer
    and clipped to the dtype's range, so a uint8 image stays a uint8 image in 0..255 (and a
    later ``ToTensor`` / ``Scale01`` still scales it to [0, 1]); bool images threshold at 0.5.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return out.astype(dtype, copy=False)
    if dtype.kind == "b":
        return out >= 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(dtype)
    return out.astype(np.float32)


class Transform:
    """Base class: subclasses implement ``__call__(x)``; set ``deterministic`` truthfully."""

    deterministic = True

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class Scale01(Transform):
    """uint8 pixels (0..255) to float32 in [0, 1] (``x / 255``), like torchvision's ToTensor scaling.

    Example:
        >>> import numpy as np
        >>> Scale01()(np.array([0, 51, 255], np.uint8)).tolist()
        [0.0, 0.20000000298023224, 1.0]
    """

    def __call__(self, x):
        x = np.asarray(x)
        if x.dtype != np.uint8:
            raise TypeError(f"Scale01 expects uint8 pixels (0..255), got dtype {x.dtype}; the data is "
                            "probably scaled already (MNIST(dtype='float32') is), so drop Scale01")
        return _scale01(x)


class ToTensor(Transform):
    """Images in height-width-channel layout to channel-first float32, uint8 scaled to [0, 1].

    ``(H, W, C) -> (C, H, W)``, ``(H, W) -> (1, H, W)`` and, for a batch,
    ``(N, H, W, C) -> (N, C, H, W)``, as torchvision's ``ToTensor`` does for one image:
    uint8 is divided by 255, bool (one-bit images) becomes 0.0 / 1.0, other dtypes keep their
    values. The result is a NumPy array (contiguous); the DataLoader turns batches into
    Tensors. PIL images are accepted.

    Example:
        >>> import numpy as np
        >>> ToTensor()(np.full((2, 3, 3), 255, np.uint8)).shape
        (3, 2, 3)
    """

    def __call__(self, pic):
        x = np.asarray(pic)
        if x.ndim == 2:
            x = x[None]
        elif x.ndim == 3:
            x = x.transpose(2, 0, 1)
        elif x.ndim == 4:
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"ToTensor expects (H, W), (H, W, C) or (N, H, W, C) images, got shape {x.shape}")
        x = np.ascontiguousarray(x)
        if x.dtype == np.bool_:            # a one-bit PIL image: 0.0 / 1.0, as torchvision gives
            return x.astype(np.float32)
        return _scale01(x) if x.dtype == np.uint8 else x


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of 1-D linear interpolation with half-pixel centres.

    Output pixel ``o`` samples the input at ``(o + 0.5) * n_in / n_out - 0.5`` (clamped to the
    edges), the convention of ``torch.nn.functional.interpolate(mode='bilinear',
    align_corners=False)`` and OpenCV. Rows sum to 1, so values stay in the input's range.
    """
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in), dtype=np.float64)
    rows = np.arange(n_out)
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


def resize_bilinear(images, size) -> np.ndarray:
    """Resize a batch ``(..., H, W)`` to ``(..., *size)`` with bilinear interpolation.

    Bilinear resizing is separable, so the whole batch is two matrix products:
    ``out = R @ x @ C.T`` with ``R`` ``(H_out, H)`` and ``C`` ``(W_out, W)``. Float input
    keeps its dtype; integer input (uint8 pixels) is rounded back to its dtype, as
    ``torch.nn.functional.interpolate`` and torchvision do for uint8 images.

    Example:
        >>> import numpy as np
        >>> resize_bilinear(np.ones((2, 1, 8, 8), np.float32), (28, 28)).shape
        (2, 1, 28, 28)
    """
    x = np.asarray(images)
    h_out, w_out = (size, size) if isinstance(size, (int, np.integer)) else size
    r = bilinear_matrix(x.shape[-2], int(h_out))
    c = bilinear_matrix(x.shape[-1], int(w_out))
    out = np.matmul(np.matmul(r, x.astype(np.float64)), c.T)  # (..., H_out, W_out)
    return cast_like(out, x.dtype)


def _is_pil(x) -> bool:
    return type(x).__module__.startswith("PIL.")


class Resize(Transform):
    """Resize images: an int matches the shorter side keeping the aspect ratio, ``(h, w)`` is exact.

    A ``PIL.Image`` is resized by Pillow with bilinear filtering and stays a PIL image, as in
    torchvision. An array ``(C, H, W)`` or batch ``(N, C, H, W)`` is resized with bilinear
    interpolation and half-pixel centres (no antialiasing, like
    ``torch.nn.functional.interpolate(mode='bilinear', align_corners=False)``).

    Example:
        >>> import numpy as np
        >>> Resize(4)(np.zeros((3, 8, 16), np.float32)).shape
        (3, 4, 8)
    """

    def __init__(self, size):
        if isinstance(size, (int, np.integer)):
            if size <= 0:
                raise ValueError(f"Resize size must be positive, got {size}")
        elif len(size) != 2 or min(size) <= 0:
            raise ValueError(f"Resize size must be an int or (height, width), got {size}")
        self.size = size

    def _target(self, h, w):
        if isinstance(self.size, (int, np.integer)):
            s = int(self.size)
            # torchvision's rule: the short side becomes s, the long side scales and truncates
            return (s, int(s * w / h)) if h <= w else (int(s * h / w), s)
        return tuple(int(v) for v in self.size)

    def __call__(self, img):
        if _is_pil(img):
            from PIL import Image  # noqa: PLC0415

            h, w = self._target(img.height, img.width)
            return img.resize((w, h), Image.BILINEAR)
        x = np.asarray(img)
        return resize_bilinear(x, self._target(*x.shape[-2:]))


def center_offset(size: int, crop: int) -> int:
    """Where a centred ``crop`` starts along an axis of ``size`` pixels, torchvision's way.

    A smaller crop starts at ``round((size - crop) / 2)``; a larger one is the image padded
    with ``(crop - size) // 2`` pixels before it (the odd pixel goes after), which is the
    negative offset ``-((crop - size) // 2)``. (Rounding ``(size - crop) / 2`` there instead
    would put the odd pixel before the image for some sizes and shift it by one.)
    """
    return -((crop - size) // 2) if crop > size else int(round((size - crop) / 2.0))


class CenterCrop(Transform):
    """Cut the central ``size`` window (``int`` for a square); PIL images stay PIL images.

    Example:
        >>> import numpy as np
        >>> CenterCrop(2)(np.arange(16).reshape(1, 4, 4)).tolist()
        [[[5, 6], [9, 10]]]
    """

    def __init__(self, size):
        self.size = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(size)

    def __call__(self, img):
        h, w = self.size
        if _is_pil(img):
            # outside the image Pillow's crop reads zeros: a larger crop is zero-padded
            top, left = center_offset(img.height, h), center_offset(img.width, w)
            return img.crop((left, top, left + w, top + h))
        from .augment import center_crop  # noqa: PLC0415

        return center_crop(img, self.size)


class Normalize(Transform):
    """``(x - mean) / std``, per channel for images, one value for plain arrays.

    Args:
        mean, std: numbers, or one value per channel. With per-channel values the input
            must be ``(C, H, W)`` or ``(N, C, H, W)`` with matching ``C``.

    Shapes:
        output shape and float dtype equal the input's.

    Example:
        >>> import numpy as np
        >>> Normalize([0.5, 0.0], [0.5, 2.0])(np.ones((1, 2, 1, 1), np.float32)).ravel().tolist()
        [1.0, 0.5]
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64).reshape(-1)
        self.std = np.asarray(std, dtype=np.float64).reshape(-1)
        if self.mean.size == 0 or self.std.size == 0:
            raise ValueError("Normalize needs at least one mean and one std value")
        if self.mean.size != self.std.size and 1 not in (self.mean.size, self.std.size):
            raise ValueError(f"Normalize: mean has {self.mean.size} values and std {self.std.size}; "
                             "give one per channel for both (or single numbers)")
        if np.any(self.std == 0) or not np.all(np.isfinite(self.std)):
            raise ValueError(f"Normalize: std must be non-zero and finite, got {self.std.tolist()}")

    def __call__(self, x):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize expects a float array, got dtype {x.dtype}; convert first "
                            "(e.g. Scale01() for uint8 images)")
        mean, std = self.mean.astype(x.dtype), self.std.astype(x.dtype)
        c = max(mean.size, std.size)
        if c > 1:
            if x.ndim not in (3, 4):
                raise ValueError(f"Normalize with {c} per-channel values needs (C, H, W) or (N, C, H, W) "
                                 f"input, got shape {x.shape}")
            axis = x.ndim - 3
            if x.shape[axis] != c:
                raise ValueError(f"Normalize has {c} channel values but the input of shape {x.shape} "
                                 f"has {x.shape[axis]} channels (axis {axis})")
            shape = (c, 1, 1)
            mean, std = np.broadcast_to(mean, (c,)).reshape(shape), np.broadcast_to(std, (c,)).reshape(shape)
        else:
            mean, std = mean[0], std[0]
        out = np.subtract(x, mean)
        out /= std
        return out


class OneHot(Transform):
    """Integer labels ``(N,)`` to one-hot rows ``(N, num_classes)`` (float32 by default).

    Example:
        >>> import numpy as np
        >>> OneHot(3)(np.array([2, 0])).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """

    def __init__(self, num_classes, dtype=np.float32):
        if not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
            raise ValueError(f"OneHot: num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes, self.dtype = int(num_classes), np.dtype(dtype)

    def __call__(self, labels):
        from .utils import one_hot  # noqa: PLC0415

        return one_hot(labels, self.num_classes, dtype=self.dtype)


class Flatten(Transform):
    """Merge the axes from ``start_dim`` on: ``(N, 1, 28, 28) -> (N, 784)`` (a view when possible).

    Example:
        >>> import numpy as np
        >>> Flatten()(np.zeros((5, 1, 28, 28))).shape
        (5, 784)
    """

    def __init__(self, start_dim=1):
        self.start_dim = int(start_dim)

    def __call__(self, x):
        x = np.asarray(x)
        d = self.start_dim if self.start_dim >= 0 else x.ndim + self.start_dim
        if not 0 <= d <= x.ndim:
            raise ValueError(f"Flatten(start_dim={self.start_dim}) does not fit an input of shape {x.shape}")
        return x.reshape(x.shape[:d] + (-1,)) if d < x.ndim else x


class Compose(Transform):
    """Apply transforms one after the other.

    Example:
        >>> import numpy as np
        >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])(np.array([1])).tolist()
        [4]
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    @property
    def deterministic(self):
        return all(getattr(t, "deterministic", False) for t in self.transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class Lambda(Transform):
    """Wrap a function as a transform.

    Args:
        fn: array -> array.
        deterministic: declare that ``fn`` makes no random draws, so a dataset may apply
            it once to the whole stored array (default False: applied per access).

    Example:
        >>> import numpy as np
        >>> Lambda(np.negative, deterministic=True)(np.array([1, -2])).tolist()
        [-1, 2]
    """

    def __init__(self, fn, deterministic=False):
        if not callable(fn):
            raise TypeError(f"Lambda needs a callable, got {type(fn).__name__}")
        self.fn, self.deterministic = fn, bool(deterministic)

    def __call__(self, x):
        return self.fn(x)


class _StoredToTensor(Transform):
    """What :class:`ToTensor` means for a reader whose stored array is already channel-first
    ``(N, C, H, W)``: scale uint8 to [0, 1] and leave the layout alone (a second transpose
    would turn MNIST's ``(N, 1, 28, 28)`` into ``(N, 28, 1, 28)``)."""

    def __call__(self, x):
        x = np.asarray(x)
        return _scale01(x) if x.dtype == np.uint8 else x


def for_channel_first_store(transform):
    """``transform`` with every :class:`ToTensor` (also inside a :class:`Compose`) replaced by
    its channel-first twin, for datasets that store ``(N, C, H, W)`` arrays (MNIST, Digits ...).

    ``ToTensor`` turns one height-width-channel image into channel-first layout. A reader that
    already holds channel-first images must not transpose again, so it applies this version.
    """
    if isinstance(transform, ToTensor):
        return _StoredToTensor()
    if isinstance(transform, Compose):
        return Compose([for_channel_first_store(t) for t in transform.transforms])
    return transform


def draws_per_call(transform) -> bool:
    """Whether ``transform`` (or a step of a :class:`Compose`) follows torchvision's contract of
    one random draw per call (``per_sample = True``, e.g. ``nerve.vision.transforms.RandomCrop``).

    Such a transform given a whole batch would flip, crop or jitter every sample the same
    way, so a dataset calls it once per sample instead (torchvision transforms each item on
    its own). nerve.data's augmentations draw per image inside a batch and need no such care.
    """
    if isinstance(transform, Compose):
        return any(draws_per_call(t) for t in transform.transforms)
    return bool(getattr(transform, "per_sample", False))


def split_deterministic(transform):
    """Split a transform into ``(at_load, at_access)``: the deterministic part to apply once to
    the stored array and the rest to apply to every fetched batch (either may be None)."""
    if transform is None:
        return None, None
    if isinstance(transform, Compose):
        ts = transform.transforms
        k = 0
        while k < len(ts) and getattr(ts[k], "deterministic", False):
            k += 1
        pre = None if k == 0 else ts[0] if k == 1 else Compose(ts[:k])
        post = None if k == len(ts) else ts[k] if len(ts) - k == 1 else Compose(ts[k:])
        return pre, post
    if getattr(transform, "deterministic", False):
        return transform, None
    return None, transform
