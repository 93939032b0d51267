"""Which array library does the math.

``xp`` is NumPy unless the arrays live on a GPU, in which case it is CuPy. This is the
only package in nerve that knows CuPy exists; everything above it asks
:func:`get_array_module` for the namespace of the arrays it holds.
"""
from __future__ import annotations

import numpy as np

__all__ = ["np", "device", "set_default_device", "get_default_device", "cuda_device_count",
           "synchronize", "tune_allocator", "blas_threads", "limit_blas_threads", "set_num_threads", "get_num_threads", "get_array_module", "cupy_available", "parse_device", "to_device",
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


_thread_limit = None  # the threadpoolctl limiter set_num_threads installed, kept alive


def set_num_threads(n: int) -> None:
    """Cap NumPy's BLAS at ``n`` threads from now on (``torch.set_num_threads``).

    It needs threadpoolctl (it ships with scikit-learn; ``pip install threadpoolctl``); without
    it the thread count can only be chosen before Python starts, through OPENBLAS_NUM_THREADS.
    """
    global _thread_limit
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, got {n!r}")
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:
        raise RuntimeError("set_num_threads needs threadpoolctl (pip install threadpoolctl); or set "
                           "OPENBLAS_NUM_THREADS before starting Python") from None
    if _thread_limit is not None:
        _thread_limit.restore_original_limits()
    _thread_limit = threadpool_limits(limits=int(n), user_api="blas")


def get_num_threads() -> int:
    """How many threads NumPy's BLAS uses now (``torch.get_num_threads``)."""
    return blas_threads()


def cupy_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device (never raises)."""
    try:
        return _load_cupy() is not None
    except Exception:  # noqa: BLE001  (a broken CUDA install counts as no GPU)
        return False


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


class device(str):  # noqa: N801  (torch.device's spelling)
    """Where a tensor's data lives, as ``torch.device``: ``device("cpu")``, ``device("cuda")``,
    ``device("cuda:0")`` or ``device("cuda", 0)``.

    It is a string (``device("cpu") == "cpu"``), so every nerve function that takes
    ``device="cpu"`` takes a device too, with ``.type`` (``"cpu"`` or ``"cuda"``) and
    ``.index`` (an int, or None). Making one never needs a GPU; moving data to
    ``"cuda"`` needs CuPy and a CUDA device (see :func:`cupy_available`).

    Example:
        >>> d = device("cuda:0")
        >>> d.type, d.index, str(d), device("cpu") == "cpu"
        ('cuda', 0, 'cuda:0', True)
    """

    def __new__(cls, type, index=None):  # noqa: A002  (torch's argument name)
        if isinstance(type, device) and index is None:
            return type
        if not isinstance(type, str):
            raise TypeError(f"device() takes a string such as 'cpu', 'cuda' or 'cuda:0', got "
                            f"{type!r} ({builtin_type(type).__name__})")
        kind, _, idx = type.strip().lower().partition(":")
        if kind not in SUPPORTED_DEVICES:
            raise ValueError(f"unknown device type {type!r}; nerve supports {', '.join(SUPPORTED_DEVICES)} "
                             "(as 'cuda:0' for a numbered GPU)")
        if idx:
            if index is not None:
                raise ValueError(f"device({type!r}, {index!r}): give the index once, either in the "
                                 "string or as the second argument")
            if not idx.isdigit():
                raise ValueError(f"device index must be a non-negative integer, got {idx!r} in {type!r}")
            index = int(idx)
        if index is not None:
            if not isinstance(index, (int, np.integer)) or isinstance(index, bool) or index < 0:
                raise ValueError(f"device index must be a non-negative integer, got {index!r}")
            index = int(index)
            if kind == "cpu" and index != 0:
                raise ValueError(f"the cpu device has index 0 only, got {index}")
        self = super().__new__(cls, kind if index is None else f"{kind}:{index}")
        self.type, self.index = kind, index
        return self

    def __repr__(self):
        return f"device(type={self.type!r}" + ("" if self.index is None else f", index={self.index}") + ")"

    def __reduce__(self):
        return device, (str(self),)


builtin_type = type
_default_device = device("cpu")


def set_default_device(dev) -> None:
    """Make the tensor factories (``zeros``, ``randn``, ``tensor`` ...) allocate on ``dev``.

    ``None`` or ``"cpu"`` restores the default. A CUDA device needs CuPy with a GPU; without
    one this raises ``RuntimeError`` and leaves the default as it was.
    """
    global _default_device
    if dev is None:
        _default_device = device("cpu")
        return
    dev = device(dev)
    parse_device(dev)  # raises a clear error when the device is not usable here
    _default_device = dev


def get_default_device() -> device:
    """The device the tensor factories allocate on (``device('cpu')`` unless changed)."""
    return _default_device


def cuda_device_count() -> int:
    """How many CUDA GPUs CuPy sees (0 without CuPy or without a GPU; never raises)."""
    cp = _load_cupy()
    if cp is None:
        return 0
    try:
        return int(cp.cuda.runtime.getDeviceCount())
    except Exception:  # a driver error counts as no usable GPU
        return 0


def synchronize() -> None:
    """Wait for all queued GPU work to finish (CuPy); a clear error without a GPU."""
    cp = _load_cupy()
    if cp is None:
        raise RuntimeError("cannot synchronize: no CUDA GPU is available to nerve (CuPy with a CUDA "
                           "device is needed; install the 'gpu' extra on a machine with an NVIDIA GPU)")
    cp.cuda.Device().synchronize()


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
