"""Image grids: many images laid out in one picture, and written to a PNG file.

``make_grid`` and ``save_image`` follow torchvision's ``make_grid`` / ``save_image``: the same
arguments, the same layout (``padding`` pixels of ``pad_value`` around every tile, ``nrow`` tiles
per row, one-channel images repeated to three channels) and the same optional scaling to [0, 1].
They take a nerve Tensor or a NumPy array of shape ``(B, C, H, W)``, ``(C, H, W)`` or ``(H, W)``,
or a list of ``(C, H, W)`` images, and never keep an autograd graph.

    >>> import numpy as np
    >>> g = make_grid(np.ones((5, 1, 4, 4), np.float32), nrow=3, padding=1)
    >>> g.shape                      # 3 channels, 2 rows of 4+1, 3 columns of 4+1, plus 1
    (3, 11, 16)
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["make_grid", "save_image"]


def _as_array(images):
    """(array, was_tensor): the pixel values as a NumPy array, whatever container they came in."""
    from ..autograd import Tensor  # noqa: PLC0415
    from ..backend import to_device  # noqa: PLC0415

    if isinstance(images, Tensor):
        return np.asarray(to_device(images.detach()._data, "cpu")), True
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("make_grid got an empty list; pass at least one image")
        parts = [_as_array(im)[0] for im in images]
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            raise ValueError(f"make_grid needs images of one shape, got {sorted(shapes)}; "
                             f"resize or crop them to a common size first")
        return np.stack(parts), isinstance(images[0], Tensor)
    if isinstance(images, np.ndarray):
        return images, False
    raise TypeError(f"make_grid takes a Tensor, a NumPy array or a list of them, "
                    f"got {type(images).__name__}")


def _scale(x, value_range):
    low, high = (float(x.min()), float(x.max())) if value_range is None else map(float, value_range)
    x = np.clip(x, low, high)
    return (x - low) / max(high - low, 1e-5)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0):
    """Tile a batch of images into one ``(C, H_grid, W_grid)`` image.

    Args:
        tensor: ``(B, C, H, W)``, ``(C, H, W)``, ``(H, W)`` or a list of ``(C, H, W)`` images.
        nrow: tiles per row; the number of rows is ``ceil(B / nrow)``.
        padding: pixels of ``pad_value`` around each tile (shared between neighbours).
        normalize: shift and scale to [0, 1] using ``value_range`` (default: the min and max of
            the batch, or of each image when ``scale_each``), values outside it clipped.

    Returns the same kind of object it was given (a nerve Tensor without history, or an array).
    A single image comes back as that image (three channels when it had one), as in torchvision.
    """
    if not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"make_grid needs nrow >= 1, got {nrow!r}")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"make_grid needs padding >= 0, got {padding!r}")
    x, was_tensor = _as_array(tensor)
    if not np.issubdtype(x.dtype, np.number) and x.dtype != np.bool_:
        raise TypeError(f"make_grid needs numeric pixels, got dtype {x.dtype}")
    x = x.astype(np.float32) if x.dtype.kind in "biu" else x.copy()
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"make_grid needs (B, C, H, W), (C, H, W) or (H, W) images, got shape "
                         f"{tuple(x.shape)}")
    if x.shape[1] == 1:
        x = np.repeat(x, 3, axis=1)
    if value_range is not None and len(tuple(value_range)) != 2:
        raise ValueError(f"value_range must be (low, high), got {value_range!r}")
    if normalize:
        x = np.stack([_scale(im, value_range) for im in x]) if scale_each else _scale(x, value_range)
    B, C, H, W = x.shape
    if B == 1:
        out = x[0]
    else:
        cols = min(nrow, B)
        rows = math.ceil(B / cols)
        h, w = H + padding, W + padding
        out = np.full((C, rows * h + padding, cols * w + padding), pad_value, dtype=x.dtype)
        for k in range(B):  # one whole-tile copy per image
            r, c = divmod(k, cols)
            out[:, r * h + padding:r * h + padding + H, c * w + padding:c * w + padding + W] = x[k]
    if was_tensor:
        from ..autograd import Tensor  # noqa: PLC0415
        return Tensor(out)
    return out


def save_image(tensor, fp, format: str | None = None, **grid_kwargs):  # noqa: A002
    """Write ``make_grid(tensor, **grid_kwargs)`` as an 8-bit image file and return its path.

    Float pixel values are taken to lie in [0, 1] (pass ``normalize=True`` otherwise) and rounded
    as torchvision does: ``clip(x * 255 + 0.5, 0, 255)`` truncated to uint8. uint8 pixels
    (0..255) are written as they are. The file is written to a
    temporary name and renamed into place, so an interrupted save never leaves a broken file.
    ``fp`` may also be a writable binary file object (then ``format`` is required); it is
    returned as it was given.
    """
    from pathlib import Path  # noqa: PLC0415

    from ..io.atomic import atomic_path  # noqa: PLC0415

    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError:
        raise ImportError("save_image writes files with Pillow, which is not installed; install it "
                          "with: pip install 'nerve[train]'") from None
    grid, _ = _as_array(make_grid(tensor, **grid_kwargs))
    if _as_array(tensor)[0].dtype == np.uint8 and not grid_kwargs.get("normalize", False):
        # uint8 pixels are 0..255 already: scaling them by 255 again would saturate every
        # non-black pixel to white
        pixels = np.clip(grid, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    else:
        pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    elif pixels.shape[2] not in (3, 4):
        raise ValueError(f"save_image can write 1, 3 or 4 channels, got {pixels.shape[2]}")
    if hasattr(fp, "write"):             # a file object (io.BytesIO ...), as torchvision accepts
        if format is None:
            raise ValueError("save_image to a file object needs format=, e.g. format='PNG' (there is no "
                             "file name to tell the type from)")
        Image.fromarray(pixels).save(fp, format="JPEG" if format.upper() == "JPG" else format)
        return fp
    path = Path(fp)
    fmt = format or (path.suffix.lstrip(".").upper() or None)
    if fmt == "JPG":
        fmt = "JPEG"
    if fmt is None:
        raise ValueError(f"save_image cannot tell the file type of {str(fp)!r}; add a suffix such "
                         f"as .png or pass format='PNG'")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp, format=fmt)
    return path
