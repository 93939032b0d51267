"""Arrays on disk in the safetensors format: a JSON header plus raw little-endian bytes.

Safetensors cannot execute code when loaded (unlike pickle), is memory-mappable and is read
by every major framework, so a nerve weight file opens in PyTorch or JAX as well.
"""
from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np

from .atomic import write_bytes

# Key order is kept in the header metadata so a loaded dict lists layers as they were saved
# (safetensors itself sorts the entries).
_ORDER_KEY = "nerve.order"
# A digest of the arrays, so that damaged bytes are an error instead of different numbers.
_DIGEST_KEY = "nerve.sha256"
_MAX_HEADER = 100 * 1024 * 1024


def _import_safetensors():
    try:
        import safetensors.numpy as st_numpy  # noqa: PLC0415
        from safetensors import safe_open  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading and writing weight files needs the safetensors package: "
                          "pip install 'nerve[io]' (or 'nerve[train]')") from e
    return st_numpy, safe_open


def array_digest(arrays: dict) -> str:
    """SHA-256 over every entry's name, dtype, shape and little-endian bytes.

    Entries are taken in name order ("0", "1", ... "10" counted as numbers). A flipped bit
    inside an array leaves a well-formed safetensors file that would load as silently
    different numbers; readers compare this digest and say so instead."""
    h = hashlib.sha256()
    for key in sorted(arrays, key=lambda k: (len(k), k)):
        a = np.asarray(arrays[key])
        if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and sys.byteorder == "big"):
            a = a.astype(a.dtype.newbyteorder("<"))
        h.update(f"{key}|{a.dtype.str.lstrip('<>=|')}|{a.shape}|".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def to_numpy(value, name: str = "value") -> np.ndarray:
    """A C-contiguous NumPy array from an array, a Tensor/Parameter or a number."""
    from ..autograd import Tensor  # noqa: PLC0415

    data = value.numpy() if isinstance(value, Tensor) else value
    if not isinstance(data, np.ndarray) and hasattr(data, "get") and hasattr(data, "shape"):
        data = data.get()  # a CuPy array: bring it to the host
    if not isinstance(data, np.ndarray):
        if isinstance(data, (np.generic, int, float, bool)):
            data = np.asarray(data)
        else:
            raise TypeError(f"{name!r} must be a NumPy array or a Tensor, got {type(value).__name__}"
                            + ("; nested state (an optimizer's state_dict, a checkpoint dict) is "
                               "saved with nerve.save" if isinstance(value, (dict, list, tuple)) else ""))
    if data.dtype.kind not in "biuf" and data.dtype != np.complex64 and data.dtype.name != "bfloat16":
        # (the safetensors package would raise its own error type, naming no tensor)
        raise TypeError(f"{name!r} has dtype {data.dtype}, which safetensors cannot store; convert it "
                        "to a bool, integer or floating-point array first")
    # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    return data if data.flags.c_contiguous else np.array(data, order="C")


def save_safetensors(tensors: dict, path, metadata: dict | None = None) -> Path:
    """Write a dict of arrays (or Tensors) to a ``.safetensors`` file, atomically.

    Args:
        tensors: ``name -> array or Tensor``; names must be strings.
        path: the file to write (its folder must exist).
        metadata: optional ``str -> str`` pairs stored in the header.

    Returns the path written. The header also records the saved order and a SHA-256 of the
    arrays (``nerve.sha256``), which :func:`load_safetensors` checks.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.safetensors"
        >>> _ = save_safetensors({"w": np.eye(2, dtype=np.float32)}, p, {"note": "demo"})
        >>> arrays, meta = load_safetensors(p)
        >>> arrays["w"].tolist(), meta["note"]
        ([[1.0, 0.0], [0.0, 1.0]], 'demo')
    """
    st_numpy, _ = _import_safetensors()
    if not isinstance(tensors, dict):
        raise TypeError(f"save_safetensors expects a dict of name -> array, got {type(tensors).__name__}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be strings, got {name!r} ({type(name).__name__})")
        arrays[name] = to_numpy(value, name)
    meta = {}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"safetensors metadata must map str to str, got {k!r}: {v!r}; "
                            "encode other values with json.dumps first")
        meta[k] = v
    meta[_ORDER_KEY] = json.dumps(list(arrays))
    meta[_DIGEST_KEY] = array_digest(arrays)
    path = Path(path)
    write_bytes(path, st_numpy.save(arrays, metadata=meta))
    return path


def check_safetensors_file(path) -> Path:
    """Raise a clear error unless ``path`` is an existing file with a safetensors header."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a .safetensors file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
    ok = len(head) == 9
    if ok:
        (n,) = struct.unpack("<Q", head[:8])
        ok = 2 <= n <= min(size - 8, _MAX_HEADER) and head[8:9] == b"{"
    if not ok:
        raise ValueError(f"{path} is not a safetensors file (its first bytes are not a safetensors "
                         "header); nerve stores weights as .safetensors and never loads pickles")
    return path


_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
           "I8": "i1", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def _load_widening_bfloat16(path) -> tuple[dict, dict]:
    """Read a safetensors file holding bfloat16 entries (which NumPy cannot represent): those
    are widened to float32 exactly (a bfloat16 is the top half of a float32)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{path} is not a valid safetensors file (its header is not JSON)") from e
    meta = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    arrays = {}
    # The format's rule (what the reference reader checks too): the entries tile the data
    # section exactly, in offset order, with no gap, overlap or trailing byte.
    spans = sorted((tuple(info["data_offsets"]), name) for name, info in header.items())
    covered = 0
    for (begin, end), name in spans:
        if begin != covered or end < begin:
            raise ValueError(f"{path}: tensor {name!r} has data offsets [{begin}, {end}] that overlap another "
                             f"tensor or leave a gap (expected to start at {covered}); the file is damaged")
        covered = end
    if covered != len(body):
        raise ValueError(f"{path}: its tensors cover {covered} of {len(body)} data bytes; the file is "
                         "truncated or damaged")
    for name, info in header.items():
        begin, end = info["data_offsets"]
        shape, kind = tuple(info["shape"]), info["dtype"]
        raw = body[begin:end]
        size = 2 if kind == "BF16" else np.dtype(_DTYPES[kind]).itemsize if kind in _DTYPES else 1
        if len(raw) % size:
            raise ValueError(f"{path}: tensor {name!r} has {len(raw)} bytes, not a whole number of {kind} "
                             "elements; the file is damaged")
        if kind == "BF16":
            arr = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif kind in _DTYPES:
            arr = np.frombuffer(raw, _DTYPES[kind]).astype(np.dtype(_DTYPES[kind]).newbyteorder("="))
        else:
            raise ValueError(f"{path}: tensor {name!r} has dtype {kind}, which nerve cannot read")
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name!r} has {arr.size} elements for shape {shape}")
        arrays[name] = arr.reshape(shape)
    return dict(sorted(arrays.items())), meta


def _name_unreadable_dtype(path, error):
    """Raise a clear error if ``path`` is well formed but holds a dtype NumPy has no type for
    (float8, ...); return quietly otherwise."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        odd = [(k, v["dtype"]) for k, v in header.items()
               if k != "__metadata__" and v["dtype"] not in _DTYPES and v["dtype"] != "BF16"]
    except Exception:  # noqa: BLE001 - a damaged header: the caller reports that
        return
    if odd:
        name, kind = odd[0]
        raise ValueError(f"{path}: tensor {name!r} has dtype {kind}, which nerve cannot read (NumPy has no "
                         "such type); convert it to float32 or float16 before saving") from error


def load_safetensors(path) -> tuple[dict, dict]:
    """Read a ``.safetensors`` file into ``(dict of NumPy arrays, metadata dict)``.

    Arrays come back in the order they were saved; bfloat16 entries (from PyTorch or JAX)
    are widened to float32, exactly. Raises ``FileNotFoundError`` for a missing
    file and ``ValueError`` for a file that is not (or no longer) valid safetensors, or whose
    arrays no longer match the SHA-256 that :func:`save_safetensors` recorded.
    """
    _, safe_open = _import_safetensors()
    path = check_safetensors_file(path)
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error type for damaged files
        if "bfloat16" not in str(e).lower():
            _name_unreadable_dtype(path, e)
            raise ValueError(f"{path} is not a valid safetensors file ({e})") from e
        arrays, meta = _load_widening_bfloat16(path)
        meta.pop(_DIGEST_KEY, None)  # the digest covers the bfloat16 bytes, which are gone now
    want = meta.pop(_DIGEST_KEY, None)  # files from other writers (or older nerve) have none
    if want is not None and array_digest(arrays) != want:  # checked on the arrays as stored
        raise ValueError(f"{path} is damaged: its arrays no longer match the SHA-256 recorded when it "
                         "was saved; use another copy")
    # With ml_dtypes loaded (onnx and JAX import it), NumPy does have a bfloat16 type and
    # safetensors returns it; nerve computes in float32/64, so widen those too (exact).
    arrays = {k: (a.astype(np.float32) if a.dtype.name == "bfloat16" else a) for k, a in arrays.items()}
    order = meta.pop(_ORDER_KEY, None)
    if order is not None:
        try:
            names = json.loads(order)
        except ValueError:
            names = []
        if sorted(names) == sorted(arrays):
            arrays = {k: arrays[k] for k in names}
    return arrays, meta
