"""Which array library does the math.

``xp`` is NumPy unless the arrays live on a GPU, in which case it is CuPy. This is the
only package in nerve that knows CuPy exists; everything above it asks
:func:`get_array_module` for the namespace of the arrays it holds.
"""
from __future__ import annotations

import numpy as np

__all__ = ["np", "tune_allocator", "blas_threads", "limit_blas_threads", "get_array_module", "cupy_available", "parse_device", "to_device",
           "device_of", "info", "SUPPORTED_DEVICES"]

SUPPORTED_DEVICES = ("cpu", "cuda")

_allocator_tuned = False


def tune_allocator() -> bool:
    """Keep large NumPy buffers in the C heap instead of fresh ``mmap`` pages (glibc only).

    By default glibc serves every allocation above a threshold with a new ``mmap`` and
    returns it to the kernel on free, so a training step that allocates the same few
    megabyte-sized arrays each time pays thousands of page faults per step (measured:
    ~3,200 per LeNet-5 step, about 40 % of its time). Raising the mmap and trim
    thresholds lets freed buffers be reused. The cost: up to 512 MiB of freed memory may
    stay with the process instead of going back to the OS. Called once when nerve is
    imported; set ``NERVE_MALLOC_TUNING=0`` to leave the allocator alone. Returns True
    when the thresholds were set.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if os.environ.get("NERVE_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok = libc.mallopt(M_MMAP_THRESHOLD, 256 << 20) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 512 << 20) == 1
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
    _allocator_tuned = ok
    return ok

_cupy = None
_cupy_checked = False


def _load_cupy():
    """Import CuPy once, lazily; return the module or None when no GPU is usable."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # noqa: PLC0415

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # ImportError, or CUDA present without a device
            _cupy = None
    return _cupy


def blas_threads() -> int:
    """How many threads NumPy's BLAS uses (via threadpoolctl when installed, else the core count)."""
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415  (ships with scikit-learn)

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                return int(pool["num_threads"])
    except Exception:  # threadpoolctl missing, or a BLAS it cannot inspect
        pass
    import os  # noqa: PLC0415

    return os.cpu_count() or 1


def limit_blas_threads(n: int):
    """A context manager that caps NumPy's BLAS at ``n`` threads (a no-op without threadpoolctl).

    Small networks multiply small matrices; there, extra BLAS threads cost more in
    synchronisation than they gain, and on a busy machine they can make training several
    times slower.
    """
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:
        import contextlib  # noqa: PLC0415

        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return _load_cupy() is not None


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``.

    Works before anything else has loaded CuPy: an array whose type comes from the ``cupy``
    package loads it on the spot (otherwise such an array would be treated as NumPy's).
    """
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
    elif not _cupy_checked:
        for a in arrays:
            if type(a) is not np.ndarray and type(a).__module__.partition(".")[0] == "cupy":
                cp = _load_cupy()
                if cp is not None and isinstance(a, cp.ndarray):
                    return cp
    return np


def parse_device(device) -> str:
    """Normalise a device spec to ``'cpu'`` or ``'cuda'`` (``'cuda:0'`` is accepted).

    Raises a clear error for devices nerve does not have (``'tpu'``, ``'mps'``, typos).
    """
    if device is None:
        return "cpu"
    name = str(device).lower()
    kind = name.split(":", 1)[0]
    if kind == "cpu":
        return "cpu"
    if kind in ("cuda", "gpu"):
        if not cupy_available():
            raise RuntimeError(
                f"device {device!r} was requested but CuPy with a CUDA GPU is not available; "
                "install the 'gpu' extra (pip install 'nerve[gpu]') on a machine with an NVIDIA GPU, "
                "or use device='cpu'")
        return "cuda"
    if kind == "tpu":
        raise NotImplementedError(
            "nerve has no TPU backend: TPUs need XLA, which nerve does not use. "
            f"Supported devices are {', '.join(SUPPORTED_DEVICES)}.")
    raise ValueError(f"unknown device {device!r}; supported devices are {', '.join(SUPPORTED_DEVICES)}")


def device_of(array) -> str:
    return "cuda" if get_array_module(array) is not np else "cpu"


def to_device(array, device: str):
    """Move an array to ``device`` ('cpu' or 'cuda'); a no-op when it is already there."""
    device = parse_device(device)
    if device == "cpu":
        if get_array_module(array) is np:
            return array
        return array.get()
    cp = _load_cupy()
    if isinstance(array, cp.ndarray):
        return array
    return cp.asarray(array)


def info() -> dict:
    """Report the array libraries in use, and which BLAS NumPy is linked against."""
    blas = "unknown"
    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        b = deps.get("blas", {})
        blas = f"{b.get('name', '?')} {b.get('version', '')}".strip()
    except Exception:  # older NumPy without mode="dicts"
        pass
    out = {"numpy": np.__version__, "blas": blas, "cupy": None, "cuda_devices": 0}
    cp = _load_cupy()
    if cp is not None:
        out["cupy"] = cp.__version__
        out["cuda_devices"] = cp.cuda.runtime.getDeviceCount()
    return out
