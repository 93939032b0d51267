"""Image files as model inputs: any mode and bit depth to grayscale floats in [0, 1].

``read_image(path)`` opens a file with Pillow and returns ``(pixels, notes)``: a
``(28, 28)`` float32 array in [0, 1], light digit on a dark background as in MNIST, and a list of
what was changed to get there. Every mode is scaled by its own range, never clipped:

* 1-bit, 8-bit grayscale (``1``, ``L``) and colour (``RGB``, ``CMYK``, ``YCbCr``...): /255
  after conversion to grayscale;
* 16-bit grayscale (``I;16``, ``I;16B``...): /65535; 32-bit integer (``I``): /255 when every
  value fits in 8 bits, /65535 when in 16 bits, else by the largest value;
* floating point (``F``, e.g. a float TIFF): as is when in [0, 1], /255 when in [0, 255], else
  min-max scaled (noted);
* palette (``P``) through its colours; transparency (``RGBA``, ``LA``, ``PA``, a palette with a
  transparent entry) is laid on white paper first.

Pillow's decompression-bomb limit stays on: an image with more pixels than
``PIL.Image.MAX_IMAGE_PIXELS`` is refused before it is decoded, with a one-line
:class:`ImageError` (so are files Pillow cannot read).

    >>> import numpy as np, tempfile, pathlib
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "deep.png"
    >>> Image.fromarray(np.full((28, 28), 65535, np.uint16)).save(p)  # a 16-bit PNG, all white
    >>> x, notes = read_image(p, invert="never")
    >>> float(x.max()), x.dtype.name, notes
    (1.0, 'float32', [])
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

__all__ = ["read_image", "image_to_array", "image_files", "ImageError", "IMAGE_SUFFIXES"]


class ImageError(ValueError):
    """An image file that cannot be used; the message is one line."""


def _pil():
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError:
        raise ImageError("reading images needs Pillow: pip install 'nerve[train]'") from None
    return Image


def image_to_array(img):
    """A Pillow image as a 2-D float32 array in [0, 1], scaled by its mode's range.

    Returns ``(pixels, notes)``.
    """
    Image = _pil()
    notes = []
    mode = img.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in img.info):
        # Transparent parts count as paper: lay the image on white first.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img, mode = Image.alpha_composite(background, rgba), "RGBA"
        notes.append("laid the transparent image on white")
    if mode.startswith("I;16"):
        x = np.asarray(img, dtype=np.float64) / 65535.0
    elif mode == "I":
        x = np.asarray(img, dtype=np.float64)
        top = x.max() if x.size else 0.0
        scale = 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        x = np.clip(x, 0, None) / scale
    elif mode == "F":
        x = np.asarray(img, dtype=np.float64)
        if not np.isfinite(x).all():
            raise ImageError("the image holds NaN or Inf pixel values")
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo >= 0.0 and hi <= 1.0:
            pass
        elif lo >= 0.0 and hi <= 255.0:
            x = x / 255.0
        else:
            x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
            notes.append(f"scaled float pixels from [{lo:g}, {hi:g}] to [0, 1]")
    else:  # 1-bit, 8-bit grey, palette, RGB, CMYK, YCbCr, LAB, HSV: 8 bits per channel
        x = np.asarray(img.convert("L"), dtype=np.float64) / 255.0
    return x.astype(np.float32), notes


_EXIF_ORIENTATION = 0x0112


def _upright(img):
    """``(img as displayed, orientation)``: a photo whose EXIF orientation tag says it is stored
    turned or mirrored (phones save portrait shots that way) is transposed back; orientation is
    the tag's value when that happened, else None."""
    from PIL import ImageOps  # noqa: PLC0415

    try:
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, TypeError):   # unreadable EXIF: take the pixels as stored
        return img, None
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return img, None
    return ImageOps.exif_transpose(img), orientation


def read_image(path, size=(28, 28), invert: str = "auto"):
    """Load an image file as ``size`` float32 pixels in [0, 1], light on dark as in MNIST.

    The pixels are taken as the image is displayed: a file with an EXIF orientation tag (a
    phone photo taken in portrait) is turned upright first, and a note says so.

    Args:
        path: a PNG, JPEG, BMP, GIF, TIFF ... file.
        size: ``(width, height)`` to resize to (bilinear, in floating point).
        invert: ``'auto'`` flips a light-background image (mean border > 0.5) to light-on-dark;
            ``'never'`` leaves it as it is.

    Returns:
        ``(pixels (height, width) float32, notes)``; the notes say what was changed.

    Raises:
        ImageError: a missing file, a folder, a file Pillow cannot read, or one above
            Pillow's decompression-bomb limit.
    """
    Image = _pil()
    path = Path(path)
    if not path.exists():
        raise ImageError(f"no such file: {path}")
    if path.is_dir():
        raise ImageError(f"{path} is a directory, not an image file")
    try:
        with warnings.catch_warnings():
            # Between the limit and twice it Pillow only warns; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                img, orientation = _upright(img)
                x, notes = image_to_array(img)
                if orientation:
                    notes.insert(0, f"turned upright by its EXIF orientation tag ({orientation})")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{path} is too large to decode safely ({str(e).split('(')[0].strip() or e}); "
                         f"Pillow's limit is {Image.MAX_IMAGE_PIXELS:,} pixels: shrink the image first") from None
    except ImageError as e:
        raise ImageError(f"{path}: {e}") from None
    except (OSError, SyntaxError, ValueError, MemoryError, Image.UnidentifiedImageError):
        raise ImageError(f"{path} is not an image Pillow can read (expected PNG, JPEG, BMP, GIF, TIFF ...)"
                         ) from None
    if x.ndim != 2 or 0 in x.shape:
        raise ImageError(f"{path} has no pixels to read (shape {x.shape})")
    if (x.shape[1], x.shape[0]) != tuple(size):
        notes.append(f"resized {x.shape[1]}x{x.shape[0]} to {size[0]}x{size[1]}")
        x = np.asarray(Image.fromarray(x, mode="F").resize(tuple(size), Image.BILINEAR), dtype=np.float32)
        x = np.clip(x, 0.0, 1.0)
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if invert == "auto" and border.mean() > 0.5:  # light paper, dark ink: MNIST is the other way round
        x = 1.0 - x
        notes.append("inverted dark-on-light image to MNIST's light-on-dark")
    return x.astype(np.float32), notes


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def image_files(paths):
    """The image files named by ``paths``: files as given, folders expanded to the image files
    directly inside them (by suffix, sorted by name). Raises :class:`ImageError` for a path
    that does not exist or a folder with no images, naming it.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for n in ("b.png", "a.PNG", "notes.txt"):
        ...     _ = (d / n).write_bytes(b"")
        >>> [p.name for p in image_files([d])]
        ['a.PNG', 'b.png']
    """
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted((f for f in path.iterdir()
                            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES), key=lambda f: f.name)
            if not found:
                raise ImageError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise ImageError(f"no such file: {path}; give image files or a folder of them")
    return out
