"""Pictures as text, for a terminal: a grayscale image drawn with a ramp of ASCII characters.

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

__all__ = ["ascii_image", "RAMP"]


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
