"""What NumPy's BLAS is, and how to cut a matrix product so that it runs fastest there.

Recurrent layers multiply by the same weight matrix once per time step: a (4H, D + H) by
(D + H, N) product for an LSTM step, with N the batch. OpenBLAS serves such a call either with
its general kernel, which first copies both operands into packed panels, or, on cores that have
them (the AVX-512 ones: SkylakeX, Cooper Lake, Sapphire Rapids, and AMD Zen 4/5, which
OpenBLAS runs as SkylakeX), with "small-matrix" kernels that read the operands where they are.
OpenBLAS takes the small kernels only when M·N·K is at most 100³ (its ``gemm_small_kernel_permit``),
so a 512 × 192 × 32 LSTM step (3.1 M) goes through the packing path and pays for re-packing the
whole weight matrix every step.

:func:`row_blocks` says how to split the rows of the left operand into a few blocks that each
fit under that limit. Measured on a Zen 4 core with one BLAS thread: the LSTM step above takes
59 µs in four 128-row blocks against 68 µs whole, its backward product (128 × 512 × 32) 40 against
47 µs; a (2048 × 512) by (512 × 2) product 65 against 226 µs. With more than one BLAS thread the
whole product is faster (OpenBLAS spreads it over the threads, the small kernels run on one),
so blocks are only proposed when the BLAS runs on one thread.

The blocks change which kernel computes each entry, not what is computed: each output row
still sums the same products, in an order that can differ from the packed kernel's only when
K is larger than the packed kernel's K blocking (the last bits of float32 results may then
differ, as they do between any two BLAS builds).
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

__all__ = ["blas_info", "row_blocks", "col_blocks", "linear_plan", "blas_threads_now"]

SMALL_KERNEL_MNK = 100 ** 3     # OpenBLAS's small-matrix limit on M·N·K
MIN_BLOCK_ROWS = 16             # below this the calls cost more than the packing they save
# OpenBLAS cores whose kernel set includes the small-matrix GEMM kernels (KERNEL.SKYLAKEX and
# the cores built on it); compared in lower case
SMALL_KERNEL_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})

_NAMES = {
    "corename": ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                 "openblas_get_corename64_", "openblas_get_corename"),
    "threads": ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                "openblas_get_num_threads64_", "openblas_get_num_threads"),
}

TN_SMALL_MN = 1200               # the small kernel for a transposed left operand (OpenBLAS's "TN"):
TN_SMALL_MIN_K = 32              # at most this many outputs per call, and at least this K

_info = None          # filled once by blas_info()
_threads_fn = None    # OpenBLAS's get_num_threads, when found
_plans = {}           # (n, most) -> the balanced blocks of _balanced


def _numpy_blas_name() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        return str(cfg["Build Dependencies"]["blas"]["name"]).lower()
    except Exception:  # noqa: BLE001  (an old NumPy or an unusual build: unknown)
        return ""


def _candidate_libraries():
    """Paths that may hold NumPy's OpenBLAS: the copy its wheels bundle first, then any
    OpenBLAS this process has loaded (a conda or system NumPy links a shared one)."""
    here = os.path.dirname(np.__file__)
    paths = sorted(glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas*")))
    paths += sorted(glob.glob(os.path.join(here, ".dylibs", "*openblas*")))
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:  # not Linux
        pass
    return paths


def _load():
    """Find NumPy's OpenBLAS and its corename / get_num_threads entry points."""
    global _threads_fn
    if "openblas" not in _numpy_blas_name():
        return {"library": None, "core": None}
    for path in _candidate_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        found = {}
        for key, names in _NAMES.items():
            for name in names:
                fn = getattr(lib, name, None)
                if fn is not None:
                    found[key] = fn
                    break
        if "corename" in found and "threads" in found:
            found["corename"].restype = ctypes.c_char_p
            found["threads"].restype = ctypes.c_int
            core = found["corename"]()
            _threads_fn = found["threads"]
            return {"library": path, "core": core.decode() if core else None}
    return {"library": None, "core": None}


def blas_info() -> dict:
    """``{"library": path or None, "core": OpenBLAS core name or None}`` for NumPy's BLAS."""
    global _info
    if _info is None:
        try:
            _info = _load()
        except Exception:  # noqa: BLE001  (a BLAS we cannot inspect: plan nothing)
            _info = {"library": None, "core": None}
    return _info


def blas_threads_now() -> int | None:
    """How many threads NumPy's OpenBLAS uses at this moment (None when unknown). Cheap: one
    C call, so it can be asked on every layer call (``threadpoolctl`` can change it any time)."""
    blas_info()
    return int(_threads_fn()) if _threads_fn is not None else None


def _small_kernels() -> bool:
    core = blas_info()["core"]
    return core is not None and core.lower() in SMALL_KERNEL_CORES


def row_blocks(M, N, K, dtype):
    """Row slices that split an (M, K) by (K, N) product into blocks OpenBLAS serves with its
    small-matrix kernels, or None when the whole product is the better call.

    Blocks are proposed only for C-contiguous float32/float64 operands (the callers' layout),
    on a core with those kernels, with the BLAS on one thread, for N ≥ 2 (N = 1 is a GEMV, which
    the split only slows), and when M·N·K is above the limit but a block of at least
    ``MIN_BLOCK_ROWS`` rows fits under it. The blocks are of equal size (the last one shorter).
    """
    dt = np.dtype(dtype)
    if dt.kind != "f" or dt.itemsize not in (4, 8) or N < 2 or M * N * K <= SMALL_KERNEL_MNK:
        return None
    if not _small_kernels() or blas_threads_now() != 1:
        return None
    most = SMALL_KERNEL_MNK // (N * K)
    return _balanced(M, most) if most >= MIN_BLOCK_ROWS else None


def _balanced(n, most):
    """``n`` rows (or columns) in the fewest equal blocks of at most ``most`` (the last one
    shorter), cached."""
    key = (n, most)
    if key not in _plans:
        size = -(-n // -(-n // most))
        _plans[key] = tuple(slice(i, min(i + size, n)) for i in range(0, n, size))
    return _plans[key]


def col_blocks(M, N, K, dtype):
    """Column slices of B for an (M, K) by (K, N) product ``A @ B`` cut into column blocks: the
    same rule as :func:`row_blocks` (the small-kernel limit is on M·N·K whichever side is cut)."""
    return row_blocks(N, M, K, dtype)


def linear_plan(M, O, K, dtype):
    """How to compute a Linear layer's ``x @ Wᵀ`` (x (M, K), W (O, K) C-contiguous) in pieces that
    OpenBLAS serves with its small-matrix kernels, or None for the whole product.

    NumPy hands ``x @ W.T`` to OpenBLAS with W transposed, and OpenBLAS's small kernel for that
    case takes at most ``TN_SMALL_MN`` outputs per call. Two shapes miss it by far and are
    planned (measured on a Zen 4 core, one thread, float32):

    * ``("cols", slices)``: a few rows of x (2 ≤ M ≤ 16, a decoding step or a small batch)
      against many outputs: blocks of W's rows, each under the limit. 8 × 128 by 384 outputs
      (a small batch through a wide layer): 14 µs against 38 whole; 2 × 768 by 3072:
      162 µs against 1420.
    * ``("rows", slices)``: many rows (M ≥ 512) and few outputs (O ≤ 64, a classifier head
      over a big batch): Wᵀ copied once (O·K numbers) and blocks of x's rows multiplied by it,
      each block under the 100³ limit. 10,000 × 784 by 16 outputs: 3.3 ms against 6.4.

    Only with a one-thread BLAS on a core with those kernels, as :func:`row_blocks`.
    """
    if 2 <= M <= 16:
        # measured no faster for 16 rows with K = 64 (8 rows and K = 64: 2-5x faster)
        if M * O <= TN_SMALL_MN or K < (TN_SMALL_MIN_K if M <= 8 else 128):
            return None
        kind, most, n = "cols", min(TN_SMALL_MN // M, SMALL_KERNEL_MNK // (M * K)), O
    elif M >= 512 and O <= 64 and K >= 128:   # K = 32 or 64: measured no faster
        kind, most, n = "rows", SMALL_KERNEL_MNK // (O * K), M
        if n <= most:                         # one block: the copy of Wᵀ buys nothing sure
            return None
    else:
        return None
    dt = np.dtype(dtype)
    if dt.kind != "f" or dt.itemsize not in (4, 8) or most < MIN_BLOCK_ROWS:
        return None
    if not _small_kernels() or blas_threads_now() != 1:
        return None
    return kind, _balanced(n, most)
