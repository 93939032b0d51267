"""torchvision.transforms, on nerve: the same classes, arguments and results.

A pipeline written for torchvision runs after renaming the import::

    from nerve.vision import transforms as T
    t = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                   T.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    x = t(pil_image)                       # a nerve Tensor (3, 32, 32), float32

Each transform takes what torchvision's takes: a ``PIL.Image`` (kept a PIL image, processed by
Pillow exactly as torchvision does) or an image tensor ``(..., C, H, W)``: a nerve Tensor (the
result is a Tensor) or a NumPy array (the result is an array). Only ``Normalize`` passes
gradients back; the others refuse a tensor that requires grad while gradients are recorded
(detach it, or use ``nerve.no_grad()``) rather than drop its graph. Random transforms draw from
nerve's global generator, so ``nerve.manual_seed(s)`` makes a pipeline repeatable, as
``torch.manual_seed`` does for torchvision.

The geometric transforms (``Resize``, ``CenterCrop``, ``RandomCrop``, ``RandomResizedCrop``,
``Pad``, the flips and ``RandomRotation``) also move bounding boxes with the image:
``t(img, boxes)`` returns ``(img, boxes)`` with the ``(K, 4)`` ``xyxy`` pixel boxes flipped,
scaled, shifted or turned and clipped as the pixels were (``Compose`` passes them along;
transforms that do not move pixels leave them as they are, and a :mod:`nerve.data` transform
that moves pixels is refused when boxes are given).

The array work is shared with :mod:`nerve.data` (``ToTensor``'s layout change, ``Normalize``,
padding, cropping and rotation); this module adapts it to torchvision's contract.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import random as _random
from ..autograd import Tensor
from ..autograd import grad_mode as _grad_mode
from ..data import augment as _aug
from ..data import transforms as _dt

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize", "CenterCrop",
           "RandomCrop", "RandomResizedCrop", "Pad", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "ColorJitter",
           "Grayscale", "Lambda", "InterpolationMode", "resize_matrix"]


class InterpolationMode:
    """Names of the resampling filters, as ``torchvision.transforms.InterpolationMode``."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


_PIL_FILTERS = {"nearest": 0, "bilinear": 2, "bicubic": 3}   # PIL.Image.NEAREST, BILINEAR, BICUBIC


def _mode_name(interpolation):
    name = getattr(interpolation, "value", interpolation)
    if isinstance(name, int):
        inv = {v: k for k, v in _PIL_FILTERS.items()}
        name = inv.get(name, name)
    if name not in _PIL_FILTERS:
        raise ValueError(f"interpolation must be one of {sorted(_PIL_FILTERS)}, got {interpolation!r}")
    return name


def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.")


def _unwrap(img, keeps_graph=False):
    """``(array (..., C, H, W), rewrap)`` for a Tensor or an array; PIL images are refused.

    The transforms compute on the values, so a Tensor that is part of a graph would come out
    without it and its gradient would be lost without a word (torchvision's tensor transforms
    are differentiable): such a tensor is refused while gradients are recorded, unless the
    caller (``Normalize``) builds the graph itself (``keeps_graph``).
    """
    if isinstance(img, Tensor):
        if img.requires_grad and not keeps_graph and _grad_mode.is_grad_enabled():
            raise RuntimeError(
                f"this nerve.vision transform works on a tensor's values and passes no gradient back, "
                f"but it got a tensor of shape {tuple(img.shape)} that requires grad (only Normalize is "
                "differentiable here); call .detach() on it, or apply the transform under "
                "nerve.no_grad(), when its gradient is not needed")
        return np.asarray(img.detach()._data), lambda a: Tensor(np.ascontiguousarray(a))
    if isinstance(img, np.ndarray):
        return img, np.ascontiguousarray
    raise TypeError(f"expected a PIL image, a nerve Tensor or a NumPy array, got {type(img).__name__}")


def _pil_to_chw(img):
    """A PIL image as a channel-first array, and the function that turns such an array back."""
    from PIL import Image  # noqa: PLC0415

    mode = img.mode
    a = np.asarray(img)
    chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    palette = img.palette.mode if mode in ("P", "PA") and img.palette is not None else None

    def back(x):
        x = np.ascontiguousarray(x[0] if a.ndim == 2 else x.transpose(1, 2, 0))
        # Let Pillow name the mode from the dtype and channel count: forcing mode='1' on a bool
        # array misreads its bytes, and 'I;16' refuses a uint16 array given that mode.
        out = Image.fromarray(x)
        if palette is not None:          # 'P' / 'PA': the indices come back as 'L' / 'LA'
            out.putpalette(img.getpalette(palette), palette)
            if "transparency" in img.info:
                out.info["transparency"] = img.info["transparency"]
        elif out.mode != mode:           # CMYK, YCbCr, LAB, I;16L ...: the same bytes, in that mode
            out = Image.frombytes(mode, (x.shape[1], x.shape[0]), x.tobytes())
        return out

    return chw, back


def _as_chw(img):
    """``(channel-first array, back)`` for any accepted image kind."""
    if _is_pil(img):
        return _pil_to_chw(img)
    arr, wrap = _unwrap(img)
    if arr.ndim < 2:
        raise ValueError(f"an image tensor needs at least 2 dimensions (H, W), got shape {arr.shape}")
    return arr, wrap


def _size_of(img):
    """(height, width) of any accepted image kind."""
    if _is_pil(img):
        return img.height, img.width
    return tuple(_unwrap(img)[0].shape[-2:])


def _check_boxes(boxes):
    if boxes is None:
        return None, None
    if not isinstance(boxes, (Tensor, np.ndarray)):
        raise TypeError(f"boxes must be a nerve Tensor or a NumPy array of shape (K, 4) in xyxy pixel "
                        f"coordinates, got {type(boxes).__name__}; wrap them with np.asarray(boxes, np.float32)")
    arr, wrap = _unwrap(boxes)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"boxes must have shape (K, 4) in xyxy pixel coordinates, got {arr.shape}")
    return arr, wrap


class Transform:
    """Base class: ``__call__(img)``, or ``__call__(img, boxes)`` returning both."""

    moves_pixels = False

    def __call__(self, img, boxes=None):
        if boxes is None:
            return self.forward(img)
        return self.forward(img), boxes

    def forward(self, img):
        raise NotImplementedError

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class _Geometric(Transform):
    """A transform that moves pixels: subclasses give ``params``, ``apply`` and ``move_boxes``."""

    def __call__(self, img, boxes=None):
        size = _size_of(img)
        params = self.params(size)
        out = self.apply(img, params)
        if boxes is None:
            return out
        arr, wrap = _check_boxes(boxes)
        return out, wrap(self.move_boxes(arr, params, size))

    def forward(self, img):
        return self(img)

    def params(self, size):
        return None


class Compose(_dt.Compose):
    """``nerve.data.transforms.Compose`` that also carries bounding boxes: with ``boxes`` each
    box-aware step moves them too.

    Example:
        >>> import numpy as np
        >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 2)])(np.array([1])).tolist()
        [4]
    """

    def __call__(self, img, boxes=None):
        for t in self.transforms:
            if boxes is None:
                img = t(img)
            elif isinstance(t, (Transform, Compose)):
                img, boxes = t(img, boxes)
            else:
                if _moves_pixels_without_boxes(t):
                    raise ValueError(
                        f"Compose got boxes, but {type(t).__module__}.{type(t).__name__} moves the pixels "
                        f"and cannot move boxes with them (they would no longer match the image); use "
                        f"the nerve.vision.transforms version of it, which moves boxes too")
                img = t(img)
        return img if boxes is None else (img, boxes)


def _moves_pixels_without_boxes(t):
    """Whether ``t`` is a :mod:`nerve.data` transform (or a Compose holding one) that moves pixels."""
    if isinstance(t, _dt.Compose):
        return any(_moves_pixels_without_boxes(u) for u in t.transforms)
    return isinstance(t, (_dt.Resize, _dt.CenterCrop, _aug.RandomHorizontalFlip, _aug.RandomCrop,
                          _aug.RandomRotation, _aug.RandomResizedCrop, _aug.RandomShift, _aug.RandomAffine))


class Lambda(Transform):
    """Wrap a function ``img -> img`` as a transform.

    Example:
        >>> Lambda(lambda x: x * 3)(2)
        6
    """

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda needs a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def forward(self, img):
        return self.lambd(img)


# ----------------------------------------------------------------------------- conversions

class ToTensor(_dt.ToTensor, Transform):
    """A PIL image or an ``(H, W, C)`` / ``(H, W)`` array to a channel-first float Tensor.

    uint8 pixels are divided by 255 (float32 in [0, 1]); a one-bit image gives 0.0 / 1.0;
    other dtypes keep their values. A 28x28 grayscale image becomes ``(1, 28, 28)``.
    Given to a :mod:`nerve.data` reader that stores channel-first arrays (MNIST), it only
    scales, so items are ``(1, 28, 28)`` there too.

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> ToTensor()(Image.fromarray(np.full((28, 28), 255, np.uint8))).shape
        (1, 28, 28)
    """

    def __call__(self, pic, boxes=None):
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor expects a PIL image or a NumPy array, got a Tensor; it is "
                            "already converted, so drop ToTensor")
        if not _is_pil(pic) and not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor expects a PIL image or a NumPy array, got {type(pic).__name__}")
        x = np.asarray(pic)
        if x.ndim not in (2, 3):
            raise ValueError(f"ToTensor expects one image (H, W) or (H, W, C), got shape {x.shape}")
        if x.dtype == np.bool_:
            x = x.astype(np.float32)
        out = Tensor(_dt.ToTensor.__call__(self, x))
        return out if boxes is None else (out, boxes)

    forward = __call__


class PILToTensor(Transform):
    """A PIL image to a ``(C, H, W)`` Tensor of its raw pixel values (uint8 stays uint8).

    Example:
        >>> import numpy as np
        >>> from PIL import Image
        >>> t = PILToTensor()(Image.fromarray(np.full((2, 3, 3), 7, np.uint8)))
        >>> t.shape, str(t.dtype)
        ((3, 2, 3), 'uint8')
    """

    def forward(self, pic):
        if not _is_pil(pic):
            raise TypeError(f"PILToTensor expects a PIL image, got {type(pic).__name__}")
        return Tensor(np.ascontiguousarray(_pil_to_chw(pic)[0]))


class ToPILImage(Transform):
    """A Tensor ``(C, H, W)`` or array ``(H, W, C)`` to a PIL image, as torchvision converts them.

    Float values are multiplied by 255 and truncated to uint8, as torchvision does; values
    outside [0, 1] saturate at black or white instead of wrapping around (1.004 * 255 would
    wrap to 0). One channel gives mode ``'L'``, three ``'RGB'``, four ``'RGBA'``; ``mode``
    forces another, and ``mode='F'`` keeps one float channel as float32 values.

    Example:
        >>> import nerve as nv
        >>> ToPILImage()(nv.ones(3, 2, 2)).mode
        'RGB'
    """

    def __init__(self, mode=None):
        self.mode = mode

    def forward(self, pic):
        from PIL import Image  # noqa: PLC0415

        if isinstance(pic, Tensor):
            a = np.asarray(pic.detach()._data)
            if a.ndim == 2:
                a = a[None]
            if a.ndim != 3:
                raise ValueError(f"ToPILImage expects a (C, H, W) or (H, W) Tensor, got shape {a.shape}")
            a = a.transpose(1, 2, 0)
        elif isinstance(pic, np.ndarray):
            a = pic[..., None] if pic.ndim == 2 else pic
            if a.ndim != 3:
                raise ValueError(f"ToPILImage expects an (H, W, C) or (H, W) array, got shape {pic.shape}")
        else:
            raise TypeError(f"ToPILImage expects a Tensor or a NumPy array, got {type(pic).__name__}")
        if a.shape[-1] not in (1, 2, 3, 4):
            raise ValueError(f"ToPILImage: an image needs 1 to 4 channels, got {a.shape[-1]} "
                             f"(is a (C, H, W) array passed where (H, W, C) is expected?)")
        if a.dtype.kind == "f" and self.mode != "F":
            a = np.clip(a * 255, 0, 255).astype(np.uint8)
        elif a.dtype.kind == "f":
            a = a.astype(np.float32)   # Pillow's 'F' is float32: other floats would be misread
        elif a.dtype == np.bool_:
            a = a.astype(np.uint8) * 255
        if a.shape[-1] == 1 and a.dtype.kind in "iu" and a.dtype not in (np.uint8, np.int16, np.uint16, np.int32):
            # Pillow reads int8 as unsigned (-5 -> 251) and wraps uint32 past 2**31 in mode 'I';
            # its 32-bit integer mode keeps these values exactly when they fit, else refuse
            info = np.iinfo(np.int32)
            if a.size and (a.min() < info.min or a.max() > info.max):
                raise ValueError(f"ToPILImage: a {a.dtype} image with values {a.min()}..{a.max()} does not fit "
                                 f"Pillow's 32-bit integer mode 'I'; scale it, or convert it to float32 "
                                 f"and pass mode='F'")
            a = a.astype(np.int32)
        a = np.ascontiguousarray(a)
        if a.shape[-1] == 1:
            return Image.fromarray(a[..., 0], mode=self.mode or ("L" if a.dtype == np.uint8 else None))
        mode = self.mode or {2: "LA", 3: "RGB", 4: "RGBA"}[a.shape[-1]]
        if a.dtype != np.uint8:
            raise TypeError(f"ToPILImage: a {a.shape[-1]}-channel image must be uint8 or float, got {a.dtype}")
        return Image.fromarray(a, mode=mode)


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel of a float image tensor ``(..., C, H, W)``.

    On a Tensor that requires grad the result is part of the graph (the gradient reaches the
    input, ``1 / std[c]`` per element); ``inplace=True`` overwrites the input's values instead.

    Example:
        >>> import nerve as nv
        >>> Normalize([0.5], [0.25])(nv.ones(1, 1, 2)).tolist()
        [[[2.0, 2.0]]]
    """

    def __init__(self, mean, std, inplace=False):
        self._impl = _dt.Normalize(mean, std)
        self.mean, self.std, self.inplace = mean, std, bool(inplace)

    def forward(self, tensor):
        if _is_pil(tensor):
            raise TypeError("Normalize needs a tensor, got a PIL image; put ToTensor() before it")
        x, wrap = _unwrap(tensor, keeps_graph=True)
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize expects a float tensor, got dtype {x.dtype}; convert with ToTensor() "
                            "(or divide by 255) first")
        if x.ndim < 3:
            raise ValueError(f"Normalize expects a tensor image (..., C, H, W), got shape {x.shape}")
        c = max(self._impl.mean.size, self._impl.std.size)
        lead = x.shape[:-3]
        flat = x.reshape((-1,) + x.shape[-3:])
        if c > 1 and flat.shape[1] != c:
            raise ValueError(f"Normalize has {c} mean/std values but the image has {flat.shape[1]} channels")
        if c == 1 and flat.shape[1] > 1:   # one value for every channel, as torch broadcasts it
            out = (flat - flat.dtype.type(self._impl.mean[0])) / flat.dtype.type(self._impl.std[0])
        else:
            out = self._impl(flat)
        out = out.reshape(lead + x.shape[-3:])
        if self.inplace and isinstance(tensor, Tensor) and tensor.requires_grad:
            # torchvision's tensor.sub_(mean).div_(std): recorded in-place ops, so the gradient
            # gets the 1 / std factor (writing _data behind autograd's back dropped it) and a
            # leaf that requires grad is refused as in torch
            shape = (-1, 1, 1) if c > 1 else (1, 1, 1)
            mean = np.broadcast_to(self._impl.mean, (c,)).astype(x.dtype).reshape(shape)
            std = np.broadcast_to(self._impl.std, (c,)).astype(x.dtype).reshape(shape)
            return tensor.sub_(Tensor(mean)).div_(Tensor(std))
        if self.inplace and isinstance(tensor, Tensor):
            tensor._data[...] = out
            return tensor
        if self.inplace and isinstance(tensor, np.ndarray) and tensor.flags.writeable:
            tensor[...] = out      # an array is normalised in place too, as the flag promises
            return tensor
        if isinstance(tensor, Tensor) and tensor.requires_grad:
            # inside a model (or an input being optimised) the gradient must reach the input, as
            # it does through torchvision's Normalize: the same arithmetic on Tensors
            shape = (-1, 1, 1) if c > 1 else (1, 1, 1)
            mean = np.broadcast_to(self._impl.mean, (c,)).astype(x.dtype).reshape(shape)
            std = np.broadcast_to(self._impl.std, (c,)).astype(x.dtype).reshape(shape)
            return (tensor - Tensor(mean)) / Tensor(std)
        return wrap(out)


# ----------------------------------------------------------------------------- resizing

def resize_matrix(n_in: int, n_out: int, mode: str = "bilinear", antialias: bool = True) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of one-axis resampling, with half-pixel centres.

    ``'bilinear'`` with ``antialias`` widens the triangle filter by the shrink factor when
    downsampling (Pillow's and torchvision's antialiased resize); without it, or when
    enlarging, it is plain linear interpolation. ``'nearest'`` takes input pixel
    ``floor(o * n_in / n_out)`` (torch's ``nearest``).
    """
    if mode == "nearest":
        m = np.zeros((n_out, n_in))
        src = np.minimum(np.floor(np.arange(n_out) * (n_in / n_out)).astype(np.int64), n_in - 1)
        m[np.arange(n_out), src] = 1.0
        return m
    if mode != "bilinear":
        raise ValueError(f"tensor resizing supports 'bilinear' and 'nearest', got {mode!r}; bicubic "
                         "works on PIL images")
    scale = n_in / n_out
    if not antialias or scale <= 1:
        return _dt.bilinear_matrix(n_in, n_out)
    support = scale                                      # the triangle's half-width, in input pixels
    centers = (np.arange(n_out) + 0.5) * scale            # (n_out,)
    pix = np.arange(n_in) + 0.5                           # input pixel centres
    w = np.clip(1.0 - np.abs(pix[None, :] - centers[:, None]) / support, 0.0, None)
    lo = np.maximum((centers - support + 0.5).astype(np.int64), 0)   # Pillow's window bounds
    hi = np.minimum((centers + support + 0.5).astype(np.int64), n_in)
    idx = np.arange(n_in)[None, :]
    w = np.where((idx >= lo[:, None]) & (idx < hi[:, None]), w, 0.0)
    return w / w.sum(axis=1, keepdims=True)


def _resize_array(x, size, mode, antialias):
    h, w = x.shape[-2:]
    r = resize_matrix(h, size[0], mode, antialias)
    c = resize_matrix(w, size[1], mode, antialias)
    out = np.matmul(np.matmul(r, x.astype(np.float64)), c.T)
    if x.dtype.kind in "iub":
        info = np.iinfo(x.dtype) if x.dtype.kind != "b" else None
        out = np.round(out)
        if info is not None:
            out = np.clip(out, info.min, info.max)
    return out.astype(x.dtype)


def _output_size(size, max_size, h, w):
    """torchvision's rule: an int sets the shorter side (the longer one scaled and truncated)."""
    if isinstance(size, numbers.Integral) or (isinstance(size, (list, tuple)) and len(size) == 1):
        s = int(size if isinstance(size, numbers.Integral) else size[0])
        short, long = (h, w) if h <= w else (w, h)
        new_short, new_long = s, int(s * long / short)
        if max_size is not None:
            if max_size <= s:
                raise ValueError(f"max_size ({max_size}) must be larger than size ({s})")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_short, new_long) if h <= w else (new_long, new_short)
    return int(size[0]), int(size[1])


class Resize(_Geometric):
    """Resize to ``size``: ``(h, w)`` exactly, or an int for the shorter side (aspect kept).

    PIL images are resized by Pillow with the chosen filter (as torchvision does); tensors with
    separable resampling: bilinear is antialiased when shrinking (``antialias=True``, torchvision's
    default), which matches Pillow's result on float images. Boxes are scaled with the image.

    Example:
        >>> import numpy as np
        >>> Resize(4)(np.zeros((3, 8, 16), np.float32)).shape
        (3, 4, 8)
    """

    moves_pixels = True

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        if isinstance(size, numbers.Integral):
            ok = size > 0
        else:
            ok = isinstance(size, (list, tuple)) and len(size) in (1, 2) and all(
                isinstance(s, numbers.Integral) and s > 0 for s in size)
        if not ok:
            raise ValueError(f"Resize size must be a positive int or (height, width), got {size!r}")
        if max_size is not None and not (isinstance(size, numbers.Integral) or len(size) == 1):
            raise ValueError(f"Resize: max_size={max_size} only applies when size is one int (the shorter "
                             f"side), got size={size!r}; drop max_size or give an int size")
        self.size, self.interpolation = size, _mode_name(interpolation)
        self.max_size, self.antialias = max_size, bool(antialias)

    def params(self, size):
        return _output_size(self.size, self.max_size, *size)

    def apply(self, img, out_size):
        if _is_pil(img):
            return img.resize((out_size[1], out_size[0]), _PIL_FILTERS[self.interpolation])
        x, wrap = _unwrap(img)
        return wrap(_resize_array(x, out_size, self.interpolation, self.antialias))

    def move_boxes(self, boxes, out_size, size):
        from .ops import resize_boxes  # noqa: PLC0415

        return resize_boxes(boxes, size, out_size)


# ----------------------------------------------------------------------------- crops and flips

def _pad_chw(x, padding, fill, padding_mode):
    return _aug.pad(x, padding, fill, padding_mode)


def _crop_any(img, top, left, height, width):
    """Crop a window that may reach outside the image (the outside is filled with 0), any kind."""
    x, back = _as_chw(img)
    h, w = x.shape[-2:]
    pl, pt = max(-left, 0), max(-top, 0)
    pr, pb = max(left + width - w, 0), max(top + height - h, 0)
    if pl or pt or pr or pb:
        x = _aug.pad(x, (pl, pt, pr, pb))
        top, left = top + pt, left + pl
    return back(x[..., top:top + height, left:left + width])


def _pair(size, name):
    if isinstance(size, numbers.Integral):
        size = (int(size), int(size))
    elif isinstance(size, (list, tuple)) and len(size) == 1:
        size = (int(size[0]), int(size[0]))
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and min(size) > 0):
        raise ValueError(f"{name} size must be a positive int or (height, width), got {size!r}")
    return int(size[0]), int(size[1])


class CenterCrop(_Geometric):
    """The central ``size`` window (zero-padded first if the image is smaller), as torchvision.

    Example:
        >>> import numpy as np
        >>> CenterCrop(2)(np.arange(16).reshape(1, 4, 4)).tolist()
        [[[5, 6], [9, 10]]]
    """

    moves_pixels = True

    def __init__(self, size):
        self.size = _pair(size, "CenterCrop")

    def params(self, size):
        (h, w), (ch, cw) = size, self.size
        # An image smaller than the crop is first zero-padded to it, torchvision's way (the odd
        # pixel goes bottom/right); a negative offset here means exactly that padding.
        return _dt.center_offset(h, ch), _dt.center_offset(w, cw), ch, cw

    def apply(self, img, p):
        return _crop_any(img, *p)

    def move_boxes(self, boxes, p, size):
        from .ops import crop_boxes  # noqa: PLC0415

        return crop_boxes(boxes, *p)


class RandomCrop(_Geometric):
    """A random ``size`` window, after optional ``padding`` (torchvision's arguments).

    Args:
        size: output ``(h, w)`` or an int.
        padding: int, ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``.
        pad_if_needed: pad an image smaller than ``size`` up to it.
        fill, padding_mode: ``'constant'`` (with ``fill``), ``'edge'``, ``'reflect'``, ``'symmetric'``.

    The window's top and left are drawn uniformly from nerve's global generator.

    Example:
        >>> import numpy as np
        >>> RandomCrop(28, padding=4)(np.zeros((1, 28, 28), np.float32)).shape
        (1, 28, 28)
    """

    per_sample = True   # one random draw per call: datasets call it once per sample
    moves_pixels = True

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size, "RandomCrop")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
        self.padding, self.pad_if_needed, self.padding_mode = padding, pad_if_needed, padding_mode
        self.fill = _check_fill(fill, "RandomCrop")

    def params(self, size):
        h, w = size
        if self.padding is not None:
            p = (self.padding,) * 4 if isinstance(self.padding, numbers.Integral) else tuple(self.padding)
            p = (p[0], p[1], p[0], p[1]) if len(p) == 2 else p
            if len(p) != 4:
                raise ValueError(f"padding must be an int, 2 or 4 ints, got {self.padding!r}")
        else:
            p = (0, 0, 0, 0)
        h2, w2 = h + p[1] + p[3], w + p[0] + p[2]
        th, tw = self.size
        extra = (0, 0)
        if self.pad_if_needed:
            extra = (max(tw - w2, 0), max(th - h2, 0))
            h2, w2 = h2 + 2 * extra[1], w2 + 2 * extra[0]
        if h2 < th or w2 < tw:
            raise ValueError(f"RandomCrop{self.size} is larger than the (padded) image {h2}x{w2}; "
                             "use pad_if_needed=True or a smaller size")
        g = _random.default_generator()
        top = int(g.integers(0, h2 - th + 1))
        left = int(g.integers(0, w2 - tw + 1))
        return p, extra, top, left

    def apply(self, img, params):
        p, extra, top, left = params
        x, back = _as_chw(img)
        if any(p):
            x = _pad_chw(x, p, self.fill, self.padding_mode)
        if any(extra):
            x = _pad_chw(x, extra, self.fill, self.padding_mode)
        th, tw = self.size
        return back(x[..., top:top + th, left:left + tw])

    def move_boxes(self, boxes, params, size):
        from .ops import crop_boxes  # noqa: PLC0415

        p, extra, top, left = params
        shift = np.array([p[0] + extra[0], p[1] + extra[1]] * 2, dtype=boxes.dtype if boxes.dtype.kind == "f"
                         else np.float32)
        return crop_boxes(boxes + shift, top, left, *self.size)


def _check_fill(fill, name):
    """``fill`` if it is a number or a sequence of numbers (one per channel); anything else (None
    padded with NaN on tensors and failed inside Pillow) is refused."""
    ok = isinstance(fill, numbers.Number) or (
        isinstance(fill, (list, tuple)) and len(fill) > 0 and all(isinstance(v, numbers.Number) for v in fill)) or (
        isinstance(fill, np.ndarray) and fill.ndim <= 1 and fill.size > 0 and fill.dtype.kind in "biuf")
    if not ok:
        raise TypeError(f"{name}: fill must be a number or a sequence of numbers (one per channel), got "
                        f"{fill!r}; use fill=0 for black")
    return fill


def _padding4(padding):
    """torchvision's padding forms as (left, top, right, bottom)."""
    p = (padding,) * 4 if isinstance(padding, numbers.Integral) else tuple(padding)
    p = (p[0], p[1], p[0], p[1]) if len(p) == 2 else p
    if len(p) != 4 or not all(isinstance(v, numbers.Integral) and v >= 0 for v in p):
        raise ValueError(f"padding must be a non-negative int, 2 or 4 of them, got {padding!r}")
    return tuple(int(v) for v in p)


class Pad(_Geometric):
    """Pad the borders: an int, ``(left/right, top/bottom)`` or ``(left, top, right, bottom)``.

    Example:
        >>> import numpy as np
        >>> Pad((1, 0))(np.ones((1, 1, 1))).tolist()
        [[[0.0, 1.0, 0.0]]]
    """

    moves_pixels = True

    def __init__(self, padding, fill=0, padding_mode="constant"):
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = _padding4(padding), _check_fill(fill, "Pad"), padding_mode

    def apply(self, img, params):
        x, back = _as_chw(img)
        return back(_pad_chw(x, self.padding, self.fill, self.padding_mode))

    def move_boxes(self, boxes, params, size):
        left, top = self.padding[:2]
        return boxes + np.array([left, top, left, top], dtype=boxes.dtype)


class RandomResizedCrop(_Geometric):
    """A random crop of random area and aspect ratio, resized to ``size`` (torchvision's recipe).

    The area is a fraction drawn from ``scale`` and the aspect ratio log-uniformly from
    ``ratio``; after 10 misses the central crop with the ratio clamped to ``ratio`` is used.
    Draws come from nerve's global generator; boxes are cropped and scaled with the image.

    Example:
        >>> import numpy as np
        >>> RandomResizedCrop(8)(np.zeros((3, 20, 30), np.float32)).shape
        (3, 8, 8)
    """

    per_sample = True   # one random draw per call: datasets call it once per sample
    moves_pixels = True

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _pair(size, "RandomResizedCrop")
        if not (0 < scale[0] <= scale[1]) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f"scale and ratio must be (low, high) with 0 < low <= high, got {scale}, {ratio}")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self._resize = Resize(self.size, interpolation, antialias=antialias)
        self.interpolation = self._resize.interpolation

    def params(self, size):
        height, width = size
        area = height * width
        g = _random.default_generator()
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * g.uniform(*self.scale)
            aspect = math.exp(g.uniform(*log_ratio))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(g.integers(0, height - h + 1)), int(g.integers(0, width - w + 1)), h, w
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def apply(self, img, p):
        return self._resize.apply(_crop_any(img, *p), self.size)

    def move_boxes(self, boxes, p, size):
        from .ops import crop_boxes, resize_boxes  # noqa: PLC0415

        return resize_boxes(crop_boxes(boxes, *p), p[2:], self.size)


class RandomHorizontalFlip(_Geometric):
    """Mirror left-right with probability ``p`` (one draw per call); boxes flip with the image.

    Example:
        >>> import numpy as np
        >>> RandomHorizontalFlip(p=1.0)(np.array([[[1, 2, 3]]])).tolist()
        [[[3, 2, 1]]]
    """

    per_sample = True   # one random draw per call: datasets call it once per sample
    moves_pixels = True
    _axis = -1

    def __init__(self, p=0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.p = float(p)

    def params(self, size):
        return bool(_random.default_generator().random() < self.p)

    def apply(self, img, fire):
        if not fire:
            return img
        if _is_pil(img):
            from PIL import Image  # noqa: PLC0415

            return img.transpose(Image.FLIP_LEFT_RIGHT if self._axis == -1 else Image.FLIP_TOP_BOTTOM)
        x, wrap = _unwrap(img)
        return wrap(np.flip(x, axis=self._axis))

    def move_boxes(self, boxes, fire, size):
        from .ops import hflip_boxes, vflip_boxes  # noqa: PLC0415

        if not fire:
            return boxes
        return hflip_boxes(boxes, size[1]) if self._axis == -1 else vflip_boxes(boxes, size[0])


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability ``p``; boxes flip with the image."""

    _axis = -2


class RandomRotation(_Geometric):
    """Rotate counter-clockwise by an angle drawn uniformly from ``degrees`` (``d`` means ``[-d, d]``).

    PIL images are rotated by Pillow (``Image.rotate``, as torchvision); tensors by
    :func:`nerve.data.augment.rotate`. Multiples of 90 degrees are exact on both.
    Uncovered corners get ``fill``. Boxes are turned with the image: each becomes the
    smallest box holding its four turned corners, clipped to the image (torchvision v2's rule).

    Example:
        >>> import numpy as np
        >>> RandomRotation((90, 90))(np.array([[[1, 2], [3, 4]]])).tolist()
        [[[2, 4], [1, 3]]]
    """

    per_sample = True   # one random draw per call: datasets call it once per sample
    moves_pixels = True

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError(f"degrees must be non-negative when a single number, got {degrees}")
            degrees = (-float(degrees), float(degrees))
        elif len(degrees) != 2 or degrees[0] > degrees[1]:
            raise ValueError(f"degrees must be a number or (low, high) with low <= high, got {degrees!r}")
        if expand or center is not None:
            raise ValueError("RandomRotation: expand=True and center= are not supported; rotate about the "
                             "centre at the same size")
        self.degrees = (float(degrees[0]), float(degrees[1]))
        # torchvision's fill=None here means "no fill value": the uncovered corners are 0
        self.interpolation = _mode_name(interpolation)
        self.fill = 0 if fill is None else _check_fill(fill, "RandomRotation")

    def params(self, size):
        return float(_random.default_generator().uniform(*self.degrees))

    def apply(self, img, angle):
        if _is_pil(img):
            fill = self.fill
            if isinstance(fill, numbers.Number) and len(img.getbands()) > 1:
                fill = (fill,) * len(img.getbands())
            return img.rotate(angle, resample=_PIL_FILTERS[self.interpolation], fillcolor=fill)
        x, wrap = _unwrap(img)
        if self.interpolation == "bicubic":
            raise ValueError("RandomRotation on tensors supports nearest and bilinear interpolation")
        if x.ndim > 4:   # (..., C, H, W) as torchvision takes it: rotate the flattened batch
            flat = x.reshape((-1,) + x.shape[-3:])
            out = _aug.rotate(flat, angle, fill=self.fill, interpolation=self.interpolation)
            return wrap(out.reshape(x.shape))
        return wrap(_aug.rotate(x, angle, fill=self.fill, interpolation=self.interpolation))

    def move_boxes(self, boxes, angle, size):
        h, w = size
        cx, cy = w / 2.0, h / 2.0          # the centre of the pixel grid, in box (edge) coordinates
        t = math.radians(angle)
        cos, sin = math.cos(t), math.sin(t)
        b = boxes.astype(np.float64)
        xs = b[:, [0, 2, 0, 2]] - cx       # the four corners of each box, (K, 4) each
        ys = b[:, [1, 1, 3, 3]] - cy
        # counter-clockwise on screen with y pointing down (nerve.data.augment.affine's R(angle))
        rx = cx + cos * xs + sin * ys
        ry = cy - sin * xs + cos * ys
        out = np.stack([rx.min(1), ry.min(1), rx.max(1), ry.max(1)], axis=1)
        out[:, 0::2] = np.clip(out[:, 0::2], 0, w)
        out[:, 1::2] = np.clip(out[:, 1::2], 0, h)
        return out.astype(boxes.dtype) if boxes.dtype.kind == "f" else out


# ----------------------------------------------------------------------------- colour

def _gray_weights(x):
    """torchvision's luma of an RGB tensor ``(..., 3, H, W)``: 0.2989 R + 0.587 G + 0.114 B."""
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    return (0.2989 * r + 0.587 * g + 0.114 * b)[..., None, :, :]


def _bound(x):
    return 1.0 if x.dtype.kind == "f" else float(np.iinfo(x.dtype).max)


def _blend(a, b, ratio):
    """``ratio * a + (1 - ratio) * b`` clipped to the image range, in ``a``'s dtype."""
    bound = _bound(a)
    out = np.clip(ratio * a.astype(np.float64) + (1.0 - ratio) * b, 0, bound)
    return out.astype(a.dtype) if a.dtype.kind == "f" else out.astype(a.dtype)


def _rgb_to_hsv(x):
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_div = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_div, (maxc - g) / cr_div, (maxc - b) / cr_div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.mod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack([h, s, maxc], axis=-3)


def _hsv_to_rgb(x):
    h, s, v = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    sel = [i == k for k in range(6)]
    r = np.select(sel, [v, q, p, p, t, v])
    g = np.select(sel, [t, v, v, q, p, p])
    b = np.select(sel, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-3)


def _colour_channels(x, name):
    """The channel count of an image tensor, ``(H, W)`` counting as one; torchvision's colour
    adjustments take 1 or 3 channels only (RGBA's alpha would be blended, or dropped by the hue
    change, without a word)."""
    c = 1 if x.ndim == 2 else x.shape[-3]
    if x.ndim < 2 or c not in (1, 3):
        raise TypeError(f"{name} works on images (..., C, H, W) with 1 or 3 channels, got shape {x.shape}; "
                        f"split off an alpha channel first (x[..., :3, :, :])")
    return c


def adjust_brightness(img, factor):
    """Scale the pixel values by ``factor`` (0 gives black), clipped to the image range."""
    if _is_pil(img):
        from PIL import ImageEnhance  # noqa: PLC0415

        return ImageEnhance.Brightness(img).enhance(factor)
    x, wrap = _unwrap(img)
    _colour_channels(x, "adjust_brightness")
    return wrap(_blend(x, 0.0, factor))


def adjust_contrast(img, factor):
    """Blend with the mean grey level of the image (0 gives a flat grey image)."""
    if _is_pil(img):
        from PIL import ImageEnhance  # noqa: PLC0415

        return ImageEnhance.Contrast(img).enhance(factor)
    x, wrap = _unwrap(img)
    c = _colour_channels(x, "adjust_contrast")
    gray = _gray_weights(x) if c == 3 else x.astype(np.float64)
    if x.dtype.kind != "f":
        gray = np.floor(gray)   # torchvision converts the luma to the image dtype before averaging
    mean = gray.mean(axis=(-3, -2, -1) if x.ndim > 2 else (-2, -1), keepdims=True)
    return wrap(_blend(x, mean, factor))


def adjust_saturation(img, factor):
    """Blend with the grayscale image (0 gives grey, 1 the original)."""
    if _is_pil(img):
        from PIL import ImageEnhance  # noqa: PLC0415

        return ImageEnhance.Color(img).enhance(factor)
    x, wrap = _unwrap(img)
    if _colour_channels(x, "adjust_saturation") == 1:
        return img
    gray = _gray_weights(x)
    if x.dtype.kind != "f":
        gray = np.floor(gray)
    return wrap(_blend(x, gray, factor))


def adjust_hue(img, hue_factor):
    """Rotate the hue by ``hue_factor`` of a full turn (in [-0.5, 0.5])."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor must lie in [-0.5, 0.5], got {hue_factor}")
    if _is_pil(img):
        from PIL import Image  # noqa: PLC0415

        if img.mode in ("L", "1", "I", "F"):
            return img
        h, s, v = img.convert("HSV").split()
        hh = np.asarray(h, dtype=np.uint8)
        with np.errstate(over="ignore"):
            hh = hh + np.uint8(np.int64(hue_factor * 255) % 256)
        return Image.merge("HSV", (Image.fromarray(hh, "L"), s, v)).convert(img.mode)
    x, wrap = _unwrap(img)
    if _colour_channels(x, "adjust_hue") == 1:
        return img
    f = x.astype(np.float64) / _bound(x)
    hsv = _rgb_to_hsv(f)
    hsv[..., 0, :, :] = np.mod(hsv[..., 0, :, :] + hue_factor, 1.0)
    rgb = _hsv_to_rgb(hsv)
    if x.dtype.kind == "f":
        return wrap(rgb.astype(x.dtype))
    return wrap((rgb * (_bound(x) + 1.0 - 1e-3)).astype(x.dtype))   # torchvision's float -> integer rule


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order (torchvision's).

    Each factor is drawn uniformly: brightness/contrast/saturation ``b`` means
    ``[max(0, 1 - b), 1 + b]`` (or give ``(low, high)``), hue ``h`` means ``[-h, h]`` with
    ``h <= 0.5``. PIL images use Pillow's ``ImageEnhance`` as torchvision does.

    Example:
        >>> import numpy as np
        >>> ColorJitter(brightness=(2.0, 2.0))(np.full((3, 1, 1), 0.25, np.float32)).ravel().tolist()
        [0.5, 0.5, 0.5]
    """

    per_sample = True   # one random draw per call: datasets call it once per sample

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._range(brightness, "brightness")
        self.contrast = self._range(contrast, "contrast")
        self.saturation = self._range(saturation, "saturation")
        self.hue = self._range(hue, "hue", center=0.0, bound=(-0.5, 0.5), clip_first=False)

    @staticmethod
    def _range(value, name, center=1.0, bound=(0.0, math.inf), clip_first=True):
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"ColorJitter {name} must be non-negative, got {value}")
            value = [center - float(value), center + float(value)]
            if clip_first:
                value[0] = max(value[0], 0.0)
        elif not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ValueError(f"ColorJitter {name} must be a number or (low, high), got {value!r}")
        lo, hi = float(value[0]), float(value[1])
        if not bound[0] <= lo <= hi <= bound[1]:
            raise ValueError(f"ColorJitter {name} range ({lo}, {hi}) must lie within {bound}")
        return None if lo == hi == center else (lo, hi)

    def forward(self, img):
        g = _random.default_generator()
        order = g.permutation(4)
        factors = [None if r is None else float(g.uniform(*r))
                   for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        fns = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
        for k in order:
            if factors[k] is not None:
                img = fns[k](img, factors[k])
        return img


class Grayscale(Transform):
    """Convert to grayscale with 1 or 3 (equal) output channels.

    PIL images use ``convert('L')``; RGB tensors ``0.2989 R + 0.587 G + 0.114 B`` (integer
    images truncated back to their dtype), as torchvision.

    Example:
        >>> import numpy as np
        >>> Grayscale()(np.ones((3, 2, 2), np.float32)).shape
        (1, 2, 2)
    """

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"num_output_channels must be 1 or 3, got {num_output_channels}")
        self.num_output_channels = num_output_channels

    def forward(self, img):
        if _is_pil(img):
            out = img.convert("L")
            if self.num_output_channels == 3:
                from PIL import Image  # noqa: PLC0415

                out = Image.merge("RGB", (out, out, out))
            return out
        x, wrap = _unwrap(img)
        if x.ndim < 3 or x.shape[-3] not in (1, 3):
            raise ValueError(f"Grayscale expects a (..., 1 or 3, H, W) tensor, got shape {x.shape}")
        gray = x if x.shape[-3] == 1 else _gray_weights(x).astype(x.dtype)
        reps = [1] * gray.ndim
        reps[-3] = self.num_output_channels
        return wrap(np.tile(gray, reps))
