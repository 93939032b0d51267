"""Two-dimensional toy classification sets in the style of the TensorFlow Playground.

Four two-class problems whose points lie in the square [-1, 1]² (before noise):

* ``"circle"``: class 0 inside a disc of radius 0.5, class 1 on a ring from 0.7 to 1.0;
* ``"xor"``: the class is whether x and y have different signs (points keep a small margin
  away from the axes, as in the Playground);
* ``"gaussians"``: two round Gaussian clouds centred at (−0.5, −0.5) and (0.5, 0.5);
* ``"spiral"``: two interleaved spiral arms, one per class.

``noise`` (0 to 1) adds Gaussian jitter with standard deviation ``noise × 0.5`` to every
coordinate (for the Gaussians it widens the clouds instead), so labels stay those of the
clean point and 0 means perfectly separable data. Half the points are in each class.
The same arguments always give the same points.

    >>> x, y = make_playground("xor", 200, noise=0.0, seed=0)
    >>> x.shape, x.dtype.name, y.shape, y.dtype.name, int(y.sum())
    ((200, 2), 'float32', (200,), 'int64', 100)
    >>> bool(((x[:, 0] * x[:, 1] < 0) == (y == 1)).all())
    True
"""
from __future__ import annotations

import numpy as np

__all__ = ["make_playground", "PLAYGROUND_SETS"]

PLAYGROUND_SETS = ("circle", "xor", "gaussians", "spiral")


def _circle(rng, labels):
    n = len(labels)
    radius = np.where(labels == 0, rng.uniform(0.0, 0.5, n), rng.uniform(0.7, 1.0, n))
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def _xor(rng, labels):
    n = len(labels)
    # |x|, |y| in [0.05, 1]: the Playground keeps points off the axes so the classes don't touch
    mag = rng.uniform(0.05, 1.0, (n, 2))
    sx = rng.choice([-1.0, 1.0], n)
    sy = np.where(labels == 1, -sx, sx)          # different signs → class 1
    return mag * np.stack([sx, sy], axis=1)


def _gaussians(rng, labels, noise):
    centre = np.where(labels[:, None] == 0, -0.5, 0.5)
    return centre + rng.normal(0.0, 0.15 + 0.35 * noise, (len(labels), 2))


def _spiral(rng, labels):
    n = len(labels)
    t = rng.uniform(0.0, 1.0, n)
    radius = 0.05 + 0.95 * t
    angle = 1.75 * 2 * np.pi * t + np.pi * labels    # the second arm is the first turned by 180°
    return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)


def make_playground(name: str, n: int = 400, noise: float = 0.0, seed: int = 0):
    """Points ``x`` (n, 2) float32 and labels ``y`` (n,) int64 of a Playground-style set.

    Args:
        name: one of :data:`PLAYGROUND_SETS` ("circle", "xor", "gaussians", "spiral").
        n: number of points, at least 2 (half of each class; class 1 gets the odd one).
        noise: 0 to 1; how far points are jittered (see the module docstring).
        seed: seed of the generator.
    """
    if name not in PLAYGROUND_SETS:
        raise ValueError(f"unknown 2-D data set {name!r}; choose one of {', '.join(PLAYGROUND_SETS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be a number from 0 to 1, got {noise!r}")
    rng = np.random.default_rng(seed)
    labels = np.zeros(int(n), dtype=np.int64)
    labels[int(n) // 2:] = 1
    labels = labels[rng.permutation(int(n))]
    if name == "gaussians":
        x = _gaussians(rng, labels, float(noise))
    else:
        x = {"circle": _circle, "xor": _xor, "spiral": _spiral}[name](rng, labels)
        if noise > 0:
            x = x + rng.normal(0.0, 0.5 * float(noise), x.shape)
    return x.astype(np.float32), labels
