"""A strict reader (and a small writer) for the IDX format that MNIST ships in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
values in row-major order::

    byte 0-1   0x00 0x00            always zero
    byte 2     type code            0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                    0x0D float32, 0x0E float64 (multi-byte values big-endian)
    byte 3     number of dimensions
    then       ndim x uint32        the size of each dimension
    then       the data             exactly prod(dims) * itemsize bytes

The reader refuses anything that does not follow this layout exactly (wrong magic,
a payload too short or too long) and names the file in the error, so a damaged
download can never turn silently into a wrong array.
"""
from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from ...io.atomic import write_bytes

# type code -> big-endian dtype of the payload
IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("=") if dt.itemsize > 1 else dt: code for code, dt in IDX_DTYPES.items()}


class IDXFormatError(ValueError):
    """Raised when a file is not a well-formed IDX file (or not a readable gzip of one)."""


def _read_bytes(source, name: str) -> bytes:
    """The raw IDX bytes of ``source`` (a path, ``.gz`` or not, or bytes), gunzipped if needed."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    else:
        with open(source, "rb") as f:
            raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic
        try:
            # NOTE: zlib with wbits=31 reads one gzip member without gzip.py's Python-level loop.
            d = zlib.decompressobj(wbits=31)
            out = d.decompress(raw)
            if not d.eof:
                raise IDXFormatError(f"{name}: the gzip stream is truncated (the file ended before "
                                     "the compressed data did); delete it and fetch it again")
            if d.unused_data:  # concatenated members are legal gzip; fall back to the full reader
                out = gzip.decompress(raw)
        except (zlib.error, EOFError, gzip.BadGzipFile) as e:
            raise IDXFormatError(f"{name}: not a valid gzip file ({e}); delete it and fetch it "
                                 "again") from None
        return out
    return raw


def parse_idx(raw: bytes, name: str = "<bytes>", expect_shape=None, expect_dtype=None) -> np.ndarray:
    """Decode IDX bytes (already decompressed) into a NumPy array, checking every field.

    Args:
        raw: the file content.
        name: how to call the source in error messages (usually the path).
        expect_shape: optional tuple; ``None`` entries match any size (e.g. ``(None, 28, 28)``).
        expect_dtype: optional dtype the file must hold (e.g. ``np.uint8``).

    Returns:
        A read-only array in native byte order, shape ``dims``, sharing memory with ``raw``
        for single-byte types.
    """
    if len(raw) < 4:
        raise IDXFormatError(f"{name}: only {len(raw)} bytes, too short for an IDX header (4 bytes)")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00":
        raise IDXFormatError(f"{name}: bad magic number 0x{raw[:4].hex()}; an IDX file starts with "
                             "two zero bytes (is this really an IDX file?)")
    if code not in IDX_DTYPES:
        raise IDXFormatError(f"{name}: unknown IDX type code 0x{code:02x} (magic 0x{raw[:4].hex()}); "
                             f"known codes are {', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}")
    if ndim == 0:
        raise IDXFormatError(f"{name}: the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{name}: truncated header: {ndim} dimensions need {header} bytes, "
                             f"the file has {len(raw)}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize   # Python ints: a forged header cannot wrap to 0
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise IDXFormatError(f"{name}: payload {what}: dims {dims} of {dtype.name} need {expected:,} "
                             f"bytes after the header, the file has {got:,}")
    if expect_dtype is not None and dtype.newbyteorder("=") != np.dtype(expect_dtype):
        raise IDXFormatError(f"{name}: holds {dtype.name} values (type code 0x{code:02x}), "
                             f"expected {np.dtype(expect_dtype).name}")
    if expect_shape is not None:
        ok = len(expect_shape) == len(dims) and all(e is None or e == d for e, d in zip(expect_shape, dims))
        if not ok:
            want = tuple("any" if e is None else e for e in expect_shape)
            raise IDXFormatError(f"{name}: has dimensions {dims}, expected {want}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def read_idx(source, expect_shape=None, expect_dtype=None) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a NumPy array.

    Args:
        source: a path (``.gz`` detected from the content, not the name) or the file's bytes.
        expect_shape: optional shape to enforce; ``None`` entries match any size.
        expect_dtype: optional dtype to enforce.

    Returns:
        array of shape ``dims`` (for MNIST images ``(N, 28, 28)`` uint8).

    Raises:
        IDXFormatError: naming the file and what is wrong with it.

    Example:
        >>> import numpy as np, io
        >>> from nerve.data.datasets.idx import read_idx, idx_bytes
        >>> read_idx(idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    name = "<bytes>" if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    return parse_idx(_read_bytes(source, name), name, expect_shape, expect_dtype)


def idx_bytes(array) -> bytes:
    """Encode an array as IDX bytes (uint8, int8, int16, int32, float32 or float64).

    Example:
        >>> import numpy as np
        >>> idx_bytes(np.zeros((2, 2), np.uint8))[:4].hex()
        '00000802'
    """
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=") if a.dtype.itemsize > 1 else a.dtype
    if key not in _CODES:
        raise TypeError(f"IDX cannot store dtype {a.dtype}; use one of uint8, int8, int16, int32, "
                        "float32, float64")
    if a.ndim == 0 or a.ndim > 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got an array of shape {a.shape}")
    code = _CODES[key]
    head = bytes([0, 0, code, a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    return head + np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()


def write_idx(path, array, compress=None) -> None:
    """Write ``array`` as an IDX file; gzip-compressed when ``compress`` or the name ends in .gz."""
    data = idx_bytes(array)
    path = os.fspath(path)
    if compress or (compress is None and path.endswith(".gz")):
        data = gzip.compress(data, mtime=0)
    # to a temporary name, renamed into place: an interrupted write keeps the old file whole
    write_bytes(path, data)
