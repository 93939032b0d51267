"""A stand-in GPU array library for CPU tests of the device path (no CUDA here).

``fake_cupy()`` installs a module named ``cupy`` whose arrays are a NumPy subclass,
``DeviceArray``, and counts what would cost a real GPU its speed:

* ``syncs``: a device value read by the host (``bool()``, ``int()``, ``float()``, ``.item()``,
  ``.tolist()``): on CUDA each waits for the device to finish;
* ``to_host``: ``.get()`` copies to host memory; ``to_device``: ``asarray`` of a host array;
* ``device_draws``: random numbers made by the device generator.

It runs every operation with NumPy, so results are NumPy's: what it checks is the dispatch (the
code picks the device namespace for device arrays, keeps results on the device) and the absence
of hidden host round trips, the part of the GPU path that can be tested without a GPU.
"""
from __future__ import annotations

import contextlib
import sys
import types

import numpy as np

COUNTS = {"syncs": 0, "to_host": 0, "to_device": 0, "device_draws": 0}


class DeviceArray(np.ndarray):
    def __array_wrap__(self, arr, context=None, return_scalar=False):
        return np.asarray(arr).view(DeviceArray)          # results stay on the device

    def get(self):
        COUNTS["to_host"] += 1
        return np.array(self.view(np.ndarray))

    def _sync(self):
        COUNTS["syncs"] += 1
        return self.view(np.ndarray)

    def __bool__(self):
        return bool(self._sync())

    def __int__(self):
        return int(self._sync())

    def __float__(self):
        return float(self._sync())

    def __index__(self):
        return self._sync().__index__()

    def item(self, *a):
        return self._sync().item(*a)

    def tolist(self):
        return self._sync().tolist()


def _dev(r):
    if type(r) is np.ndarray:
        return r.view(DeviceArray)
    if isinstance(r, np.generic):
        return np.asarray(r).view(DeviceArray)
    if isinstance(r, tuple):
        return tuple(_dev(v) for v in r)
    if isinstance(r, list):
        return [_dev(v) for v in r]
    return r


def _wrap(fn):
    def f(*a, **k):
        return _dev(fn(*a, **k))

    f.__name__ = getattr(fn, "__name__", "f")
    return f


def _asarray(a, dtype=None, **k):
    if not isinstance(a, DeviceArray):
        COUNTS["to_device"] += 1
    return np.asarray(a, dtype=dtype).view(DeviceArray)


class _Gen:
    def __init__(self, seed):
        self.g = np.random.default_rng(seed)

    def random(self, size=None, dtype=np.float64):
        COUNTS["device_draws"] += 1
        return _dev(self.g.random(size, dtype=dtype))

    def standard_normal(self, size=None, dtype=np.float64):
        COUNTS["device_draws"] += 1
        return _dev(self.g.standard_normal(size, dtype=dtype))


def _module():
    m = types.ModuleType("cupy")
    for k in dir(np):
        if k.startswith("_") or k in ("random", "linalg", "fft", "ndarray"):
            continue
        v = getattr(np, k)
        setattr(m, k, _wrap(v) if callable(v) and not isinstance(v, type) else v)
    m.ndarray = DeviceArray
    m.asarray = m.array = _asarray
    m.asnumpy = lambda a: a.get() if isinstance(a, DeviceArray) else np.asarray(a)
    m.random = types.SimpleNamespace(default_rng=_Gen)
    m.linalg = types.SimpleNamespace(**{k: _wrap(getattr(np.linalg, k)) for k in dir(np.linalg)
                                        if not k.startswith("_") and callable(getattr(np.linalg, k))})
    m.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    DeviceArray.__module__ = "cupy._core.core"   # what real CuPy arrays report
    return m


@contextlib.contextmanager
def fake_cupy():
    """Install the fake as ``cupy`` with nerve's backend reset, and restore both afterwards."""
    from nerve import backend

    saved = (sys.modules.get("cupy"), backend._cupy, backend._cupy_checked)
    m = _module()
    sys.modules["cupy"] = m
    backend._cupy, backend._cupy_checked = None, False
    for k in COUNTS:
        COUNTS[k] = 0
    try:
        yield m
    finally:
        if saved[0] is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = saved[0]
        backend._cupy, backend._cupy_checked = saved[1], saved[2]
        from nerve.autograd import namespace
        namespace._cache.pop(m, None)
