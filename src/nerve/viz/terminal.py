"""Pictures of inputs and predictions: as text for a terminal (``ascii_image``), and as a PNG
grid with the labels and top classes (``save_predictions``, with matplotlib).

Each character covers one pixel column and two pixel rows (a terminal cell is about twice as
tall as it is wide), so a 28x28 digit becomes 14 lines of 28 characters. Darker to brighter:
``" .:-=+*#%@"``; values are scaled by the image's own range, so any input range works.

    >>> import numpy as np
    >>> img = np.zeros((4, 4)); img[:, 2] = 1.0
    >>> print(ascii_image(img))
      @ 
      @ 
"""
from __future__ import annotations

import numpy as np

RAMP = " .:-=+*#%@"

__all__ = ["ascii_image", "save_predictions", "RAMP"]


def ascii_image(image, ramp: str = RAMP) -> str:
    """Draw a 2-D grayscale array (H, W) as ``ceil(H / 2)`` lines of W characters.

    Args:
        image: array-like of shape (H, W), any real range (scaled to its min..max; a constant
            image is drawn with the darkest character). NaN and -inf count as the darkest
            value, +inf as the brightest.
        ramp: the characters from darkest to brightest (at least two).
    """
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"ascii_image draws a non-empty 2-D (H, W) image, got shape {x.shape}")
    if len(ramp) < 2:
        raise ValueError(f"ramp needs at least two characters, got {ramp!r}")
    finite = np.isfinite(x)
    if not finite.all():  # +inf draws as the brightest finite value, NaN and -inf as the darkest
        lo, hi = (x[finite].min(), x[finite].max()) if finite.any() else (0.0, 0.0)
        x = np.where(np.isposinf(x), hi, np.where(finite, x, lo))
    if x.shape[0] % 2:  # pad to an even height, then average each pair of rows
        x = np.vstack([x, x[-1:]])
    x = 0.5 * (x[0::2] + x[1::2])  # (ceil(H/2), W)
    lo, hi = x.min(), x.max()
    scaled = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    idx = np.minimum((scaled * len(ramp)).astype(np.int64), len(ramp) - 1)
    chars = np.asarray(list(ramp))[idx]
    return "\n".join("".join(row) for row in chars)


def save_predictions(images, labels, prob, classes, path, top: int = 3, title=None):
    """Draw images with their true label and the model's top classes as a grid PNG.

    Args:
        images: ``(N, H, W)`` grayscale pixels (any range; each panel uses the images' range).
        labels: ``(N,)`` true class indices (``None`` entries, or ``None`` for all, when unknown).
        prob: ``(N, C)`` class probabilities.
        classes: the C class names.
        path: the PNG to write (atomically); returned.
        top: how many classes to list under each image.

    Example:
        >>> import os, tempfile, numpy as np
        >>> p = save_predictions(np.zeros((2, 28, 28)), [0, 1], np.array([[0.9, 0.1], [0.3, 0.7]]),
        ...                      ["cat", "dog"], os.path.join(tempfile.mkdtemp(), "p.png"))
        >>> p.suffix
        '.png'
    """
    from ._figure import new_figure, save_png  # noqa: PLC0415

    images = np.asarray(images, dtype=np.float64)
    prob = np.asarray(prob, dtype=np.float64)
    if images.ndim != 3 or prob.ndim != 2 or len(images) != len(prob) or len(images) == 0:
        raise ValueError(f"save_predictions needs images (N, H, W) and prob (N, C) with the same N >= 1, "
                         f"got {images.shape} and {prob.shape}")
    n = len(images)
    labels = [None] * n if labels is None else list(labels)
    if len(labels) != n:  # zip() would silently drop the images past the last label
        raise ValueError(f"save_predictions got {len(labels)} labels for {n} images; give one per image "
                         f"(None where unknown) or labels=None")
    if len(classes) != prob.shape[1]:
        raise ValueError(f"save_predictions got {len(classes)} class names for {prob.shape[1]} columns of prob")
    cols = min(n, 6)
    rows = -(-n // cols)
    fig = new_figure(2.0 * cols, 2.5 * rows + (0.4 if title else 0.0))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    lo, hi = float(images.min()), float(images.max())
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax, img, y, p in zip(axes, images, labels, prob):
        ax.imshow(img, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1)
        order = np.argsort(-p, kind="stable")[:top]
        head = f"label {classes[int(y)]}" if y is not None else ""
        ax.set_title(head, fontsize=8, color="black" if y is None or order[0] == int(y) else "crimson")
        ax.set_xlabel("\n".join(f"{classes[i]} {100 * p[i]:.1f}%" for i in order), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_png(fig, path)
