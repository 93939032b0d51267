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
    """Accepts ``torch.cuda.manual_seed(seed)`` and changes nothing.

    nerve draws every random number on the host from the one global generator, also for
    tensors that live on the GPU, so there is no separate CUDA stream to seed:
    ``nerve.manual_seed(seed)`` already makes GPU runs reproducible. As in PyTorch, calling it
    without a GPU is not an error. The seed is still checked.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"nerve.cuda.manual_seed: seed must be a non-negative integer, got {seed!r}")


def manual_seed_all(seed: int) -> None:
    """``torch.cuda.manual_seed_all``: the same as :func:`manual_seed` (one host generator for all GPUs)."""
    manual_seed(seed)
