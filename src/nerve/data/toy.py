"""Small generated distributions for generative models, and how well samples cover them.

``gaussian_ring(n)`` draws from a mixture of ``modes`` Gaussians (σ = ``sigma``) spaced
evenly on a circle of ``radius`` (the 8-mode ring benchmark of Metz et al. 2017);
``mode_coverage(samples, centers, sigma)`` counts the modes a sample hits and the share of
points within 3σ of some mode: a GAN that collapses onto a few modes hits few, a blurry one
puts few points near any mode.

    >>> x, k = gaussian_ring(1000, seed=0)
    >>> x.shape, sorted(set(k.tolist())) == list(range(8))
    ((1000, 2), True)
    >>> stats = mode_coverage(x, ring_centers(), 0.02)
    >>> stats["modes_hit"], stats["fraction_near"] > 0.98
    (8, True)
"""
from __future__ import annotations

import numpy as np

__all__ = ["gaussian_ring", "ring_centers", "mode_coverage"]


def ring_centers(modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The ``modes`` centres on the circle, shape (modes, 2), the first at (radius, 0)."""
    a = 2 * np.pi * np.arange(modes) / modes
    return radius * np.stack([np.cos(a), np.sin(a)], 1)


def gaussian_ring(n: int, modes: int = 8, radius: float = 2.0, sigma: float = 0.02, seed: int = 0):
    """``(x, mode)``: ``n`` float32 points (n, 2) and the mode each was drawn from (n,)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 1:
        # (2.5 modes would draw labels 0..1 around three centres)
        raise ValueError(f"modes must be a positive integer, got {modes!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma!r}")
    rng = np.random.default_rng(seed)
    k = rng.integers(0, modes, int(n))
    x = ring_centers(modes, radius)[k] + sigma * rng.standard_normal((int(n), 2))
    return x.astype(np.float32), k


def mode_coverage(samples, centers, sigma: float, radius_in_sigmas: float = 3.0) -> dict:
    """``{"modes_hit", "fraction_near", "per_mode"}`` for ``samples`` (N, D) around ``centers`` (K, D).

    A sample is near a mode when it lies within ``radius_in_sigmas``·σ of its closest centre;
    a mode is hit when at least one sample is near it. ``per_mode`` counts the near samples
    of each mode.
    """
    s = np.asarray(samples, np.float64)
    c = np.asarray(centers, np.float64)
    if s.ndim != 2 or c.ndim != 2 or s.shape[1] != c.shape[1]:
        raise ValueError(f"samples (N, D) and centers (K, D) must share D, got {s.shape} and {c.shape}")
    d = np.linalg.norm(s[:, None, :] - c[None, :, :], axis=2)         # (N, K)
    near = d.min(1) < radius_in_sigmas * sigma
    per_mode = np.bincount(d.argmin(1)[near], minlength=len(c))
    return {"modes_hit": int((per_mode > 0).sum()), "fraction_near": float(near.mean()) if len(s) else 0.0,
            "per_mode": per_mode.tolist()}
