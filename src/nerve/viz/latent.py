"""Looking into a latent space: scatter plots of 2-D codes, interpolation, image grids.

* ``latent_scatter(z2d, labels, path)``: codes as points coloured by class (a legend of
  class names), the picture that shows whether an encoder separates the classes;
* ``interpolate_codes(z0, z1, steps, mode)`` / ``interpolate(model, z0, z1, steps, mode)``:
  evenly spaced codes between two codes, along the straight line (``"linear"``) or the great
  circle (``"spherical"``, slerp: keeps the norm of Gaussian codes typical), decoded by
  ``model.decode``;
* ``save_samples(model, path, n)`` and ``save_reconstructions(model, x, path)``: 8-column
  grids of ``model.sample(n)`` and of inputs above their reconstructions
  (``nerve.data.save_image``).
"""
from __future__ import annotations

import numpy as np

from ._figure import new_figure, save_png, style

__all__ = ["latent_scatter", "interpolate_codes", "interpolate", "save_samples", "save_reconstructions"]


def _array(x, name):
    from ..autograd import Tensor  # noqa: PLC0415

    arr = np.asarray(x.detach()._data if isinstance(x, Tensor) else x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def latent_scatter(z2d, labels, path, class_names=None, title="latent space", max_points: int = 5000,
                   seed: int = 0):
    """Scatter 2-D codes ``z2d`` (N, 2) coloured by integer ``labels`` (N,) into a PNG at ``path``.

    At most ``max_points`` points are drawn (a seeded random subset), so a whole test set
    stays readable. Returns the path written.
    """
    z = _array(z2d, "z2d").astype(np.float64)
    y = _array(labels, "labels")
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"latent_scatter draws 2-D codes of shape (N, 2), got {z.shape}; project "
                         "higher-dimensional codes first (e.g. PCA) or train with latent_dim=2")
    if y.shape != (len(z),):
        raise ValueError(f"labels must have shape ({len(z)},), one per code, got {y.shape}")
    if not np.isfinite(z).all():
        raise ValueError("z2d holds NaN or Inf")
    if len(z) > max_points:
        keep = np.random.default_rng(seed).choice(len(z), max_points, replace=False)
        z, y = z[keep], y[keep]
    classes = np.unique(y)
    if class_names is not None and (classes.min() < 0 or classes.max() >= len(class_names)):
        raise ValueError(f"latent_scatter got labels from {classes.min()} to {classes.max()} but "
                         f"{len(class_names)} class_names; give one name per class index")
    fig = new_figure(6.4, 5.6)
    ax = fig.add_subplot(1, 1, 1)
    cmap = __import__("matplotlib").colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for i, c in enumerate(classes):
        m = y == c
        name = class_names[int(c)] if class_names is not None else str(c)
        ax.scatter(z[m, 0], z[m, 1], s=5, alpha=0.6, color=cmap(i % cmap.N), label=name, linewidths=0)
    ax.legend(markerscale=3, fontsize=8, loc="best", frameon=False, ncol=1 if len(classes) <= 10 else 2)
    style(ax, title, "z₁", "z₂")
    return save_png(fig, path)


def interpolate_codes(z0, z1, steps: int = 8, mode: str = "linear") -> np.ndarray:
    """``steps`` codes from ``z0`` to ``z1`` (both included), shape (steps, *z0.shape).

    ``"linear"``: (1 − t)·z0 + t·z1. ``"spherical"``: slerp,
    sin((1 − t)Ω)/sin Ω·z0 + sin(tΩ)/sin Ω·z1 with Ω the angle between the codes (linear
    when they are parallel). The first and last codes are exactly z0 and z1.
    """
    a, b = _array(z0, "z0").astype(np.float64), _array(z1, "z1").astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {a.shape} and {b.shape}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(f"steps must be an integer of at least 2 (the two ends), got {steps!r}")
    if mode not in ("linear", "spherical"):
        raise ValueError(f"mode must be 'linear' or 'spherical', got {mode!r}")
    t = np.linspace(0.0, 1.0, int(steps)).reshape(-1, *([1] * a.ndim))
    wa, wb = 1 - t, t
    if mode == "spherical":
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        cos = float(np.clip((a.ravel() @ b.ravel()) / max(na * nb, 1e-300), -1.0, 1.0))
        omega = np.arccos(cos)
        if na > 0 and nb > 0 and np.sin(omega) > 1e-7:
            wa, wb = np.sin((1 - t) * omega) / np.sin(omega), np.sin(t * omega) / np.sin(omega)
    out = wa * a + wb * b
    out[0], out[-1] = a, b  # exact ends, whatever the rounding
    return out.astype(np.result_type(_array(z0, "z0").dtype, np.float32))


def interpolate(model, z0, z1, steps: int = 8, mode: str = "linear"):
    """``model.decode`` of :func:`interpolate_codes` (without a graph, the codes in the model's
    float dtype), shape (steps, ...)."""
    from ..autograd import no_grad  # noqa: PLC0415
    from ..diagnostics.activations import as_model_input  # noqa: PLC0415

    codes = interpolate_codes(z0, z1, steps, mode)
    with no_grad():  # float64 codes (np.random.randn) into a float32 decoder: take its dtype
        return model.decode(as_model_input(model, codes))


def save_samples(model, path, n: int = 64, nrow: int = 8, generator=None, value_range=None):
    """Write a grid of ``model.sample(n)`` to ``path`` (PNG); ``value_range=(-1, 1)`` for tanh outputs."""
    from ..data import save_image  # noqa: PLC0415

    images = model.sample(n, generator=generator)
    kwargs = {"normalize": True, "value_range": value_range} if value_range is not None else {}
    return save_image(images, path, nrow=nrow, **kwargs)


def save_reconstructions(model, x, path, nrow: int = 8, value_range=None):
    """Write inputs ``x`` and ``model.reconstruct(x)`` as alternating rows of ``nrow`` to ``path``."""
    from ..autograd import no_grad  # noqa: PLC0415
    from ..data import save_image  # noqa: PLC0415
    from ..diagnostics.activations import as_model_input  # noqa: PLC0415

    xs = _array(x, "x").astype(np.float32)
    with no_grad():  # the model's own float dtype (a float64 model was handed float32)
        rec = _array(model.reconstruct(as_model_input(model, xs)), "reconstruction")
    rows = []
    for i in range(0, len(xs), nrow):
        a, b = xs[i:i + nrow], rec[i:i + nrow].reshape(xs[i:i + nrow].shape)
        if len(a) < nrow:  # pad the last pair of rows so originals and reconstructions line up
            pad = np.zeros((nrow - len(a), *a.shape[1:]), np.float32)
            a, b = np.concatenate([a, pad]), np.concatenate([b, pad])
        rows += [a, b]
    kwargs = {"normalize": True, "value_range": value_range} if value_range is not None else {}
    return save_image(np.concatenate(rows), path, nrow=nrow, **kwargs)
