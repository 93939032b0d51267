"""``torch.accelerator``: the one accelerator nerve can use, if any (a CUDA GPU through CuPy).

    >>> import nerve as nv
    >>> acc = nv.accelerator.current_accelerator()
    >>> acc is None or acc.type == "cuda"
    True
"""
from __future__ import annotations

from . import backend

__all__ = ["current_accelerator", "is_available", "device_count"]


def is_available() -> bool:
    """True when a CUDA GPU is usable (never raises)."""
    return backend.cupy_available()


def current_accelerator(check_available: bool = False):
    """``device('cuda')`` when a GPU is usable, else ``None`` (nerve then runs on the CPU)."""
    return backend.device("cuda") if backend.cupy_available() else None


def device_count() -> int:
    """The number of accelerator devices (0 when there is none)."""
    return backend.cuda_device_count()
