"""``torch.cuda``'s questions, answered for nerve's GPU path (CuPy).

    >>> import nerve as nv
    >>> nv.cuda.is_available() in (True, False)   # never raises, GPU or not
    True

Only :mod:`nerve.backend` talks to CuPy; these functions ask it.
"""
from __future__ import annotations

from . import backend

__all__ = ["is_available", "device_count", "current_device", "get_device_name", "synchronize",
           "manual_seed", "manual_seed_all"]


def is_available() -> bool:
    """True when CuPy imports and sees a CUDA GPU; False otherwise (never raises)."""
    return backend.cupy_available()


def device_count() -> int:
    """The number of CUDA GPUs nerve can use (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def _require(what):
    if not is_available():
        raise RuntimeError(f"nerve.cuda.{what}(): no CUDA GPU is available (it needs CuPy and an "
                           "NVIDIA GPU: pip install 'nerve[gpu]'); check nerve.cuda.is_available() first")


def current_device() -> int:
    """The index of the GPU in use (nerve uses CuPy's current device)."""
    _require("current_device")
    import cupy  # noqa: PLC0415  (only reached when backend found CuPy)

    return int(cupy.cuda.Device().id)


def get_device_name(device=None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    _require("get_device_name")
    import cupy  # noqa: PLC0415

    index = backend.device(device).index if device is not None else None
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id if index is None else index)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait until queued GPU work has finished."""
    backend.synchronize()


def manual_seed(seed: int) -> None:
    """Accepts ``torch.cuda.manual_seed(seed)``; it reseeds nothing on its own.

    ``nerve.manual_seed(seed)`` seeds all of nerve's random streams together (the host
    generator and whatever the GPU path draws from), so a program that calls
    ``torch.manual_seed(s)`` and then ``torch.cuda.manual_seed(s)`` is reproducible as in
    PyTorch. Unlike PyTorch, calling only this one does not reseed a GPU stream. As in
    PyTorch, calling it without a GPU is not an error. The seed is still checked.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"nerve.cuda.manual_seed: seed must be a non-negative integer, got {seed!r}")


def manual_seed_all(seed: int) -> None:
    """``torch.cuda.manual_seed_all``: the same as :func:`manual_seed` (``nerve.manual_seed`` seeds every stream)."""
    manual_seed(seed)
