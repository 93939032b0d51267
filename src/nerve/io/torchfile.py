"""Read PyTorch ``.pt``/``.pth`` files without torch, and without running anything in them.

``torch.save`` writes a pickle. A pickle is a small program: it may name any importable
callable (``os.system``, ``builtins.eval`` ...) and call it while loading. This reader
runs the pickle through an allow-list, the same set ``torch.load(weights_only=True)``
accepts: ``collections.OrderedDict`` / ``Counter``, ``torch._utils._rebuild_tensor_v2`` /
``_rebuild_tensor_v3`` (uint16/32/64 on an untyped storage) / ``_rebuild_parameter``, the
typed storages of the standard dtypes, ``torch.Size``,
``torch.device`` (as :class:`nerve.device`), the dtype objects, and the primitives and containers pickle builds by itself (``_codecs.encode``
only for the byte strings protocol 2 writes). Asking for anything else stops the load with
:class:`UnsafePickleError` before the callable is ever looked up, so nothing in the file runs.

Two layouts are read:

* the zip archive ``torch.save`` writes since PyTorch 1.6: ``<name>/data.pkl`` (the
  pickle) and ``<name>/data/<key>`` (the raw little-endian bytes of each storage);
* the older single stream (``_use_new_zipfile_serialization=False``): magic number,
  protocol version and system-info pickles, the object pickle, the list of storage keys,
  then each storage as an int64 element count followed by its bytes.

Tensors are rebuilt from (storage, offset, size, stride) with bounds checked against the
storage, so a crafted stride cannot read outside it; each comes back as a nerve Tensor
with its own contiguous copy of the data (``bfloat16`` is widened to float32, which NumPy
can hold exactly). Quantized, sparse and nested tensors, which ``weights_only`` loads too,
are refused here: nerve has no such tensors.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..autograd.tensor import Tensor
from ..backend import device as _device

__all__ = ["load_torch", "UnsafePickleError"]


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for something outside the allow-list; nothing in it was run."""


class _BFloat16:
    """Marker for bfloat16 storages (NumPy has no such dtype; the data is widened)."""


# The typed storages torch.save names, and the NumPy dtype of their elements.
_STORAGES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": _BFloat16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_, "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
}
_DTYPES = {
    "float64": np.float64, "double": np.float64, "float32": np.float32, "float": np.float32,
    "float16": np.float16, "half": np.float16, "bfloat16": np.float32, "int64": np.int64,
    "long": np.int64, "int32": np.int32, "int": np.int32, "int16": np.int16, "short": np.int16,
    "int8": np.int8, "uint8": np.uint8, "bool": np.bool_, "complex64": np.complex64,
    "complex128": np.complex128, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
}
# torch dtypes NumPy has no type for (torch.save writes them through _rebuild_tensor_v3).
_UNREPRESENTABLE = ("float8", "float4", "complex32", "chalf", "qint", "quint", "bits")


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGES[name]


class _Storage:
    """A storage's bytes, viewed as a flat array of its element type."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


class _Loaded:
    """A tensor rebuilt from the pickle, before it becomes a nerve Tensor."""

    __slots__ = ("array", "requires_grad")

    def __init__(self, array, requires_grad=False):
        self.array, self.requires_grad = array, bool(requires_grad)

    def __setstate__(self, state):
        raise UnsafePickleError("the pickle tries to set attributes on a tensor (BUILD), which "
                                "torch.save never writes; refusing the file")


class _Size(tuple):
    """torch.Size: a tuple of ints."""


def _strided(storage, offset, size, stride, where="tensor"):
    if not isinstance(storage, _Storage):
        raise UnsafePickleError(f"{where}: expected a storage, got {type(storage).__name__}")
    arr = storage.array
    size, stride = tuple(size), tuple(stride)
    ints = (offset, *size, *stride)
    if any(not isinstance(v, int) or isinstance(v, bool) for v in ints) or len(size) != len(stride):
        raise UnsafePickleError(f"{where}: malformed size {size}, stride {stride} or offset {offset!r}")
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise UnsafePickleError(f"{where}: negative size, stride or offset ({size}, {stride}, {offset})")
    n = int(np.prod(size, dtype=np.int64)) if size else 1
    if n == 0:
        return np.zeros(size, dtype=arr.dtype)
    if n > max(64 * arr.size, 1 << 24):
        # zero strides may repeat a small storage into a huge tensor: refuse a memory bomb
        raise UnsafePickleError(f"{where}: size {size} would expand a storage of {arr.size} elements "
                                f"into {n} elements; refusing to allocate that much")
    last = offset + sum((s - 1) * st for s, st in zip(size, stride))
    if last >= arr.size:
        raise UnsafePickleError(f"{where}: size {size}, stride {stride} and offset {offset} reach "
                                f"element {last}, past the end of its storage of {arr.size} elements")
    item = arr.itemsize
    view = np.lib.stride_tricks.as_strided(arr[offset:], shape=size,
                                           strides=tuple(st * item for st in stride), writeable=False)
    return np.array(view, order="C")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    return _Loaded(_strided(storage, storage_offset, size, stride), requires_grad)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _Loaded(_strided(storage, storage_offset, size, stride))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    # Used by torch.save for dtypes without a typed storage (uint16/32/64 ...): the storage is
    # untyped (its bytes), and offset, size and stride count elements of ``dtype``.
    if not isinstance(storage, _Storage) or storage.array.dtype != np.uint8:
        raise UnsafePickleError(f"_rebuild_tensor_v3 expects an untyped storage, got {type(storage).__name__}")
    if not isinstance(dtype, np.dtype):
        raise UnsafePickleError(f"_rebuild_tensor_v3 expects a dtype, got {type(dtype).__name__}")
    raw = storage.array
    if raw.size % dtype.itemsize:
        raise ValueError(f"a storage of {raw.size} bytes cannot hold {dtype} elements; the file is damaged")
    typed = raw.view(dtype.newbyteorder("<")).astype(dtype, copy=False)
    return _Loaded(_strided(_Storage(typed), storage_offset, size, stride), requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks, *state):
    if not isinstance(data, _Loaded):
        raise UnsafePickleError(f"_rebuild_parameter expects a tensor, got {type(data).__name__}")
    return _Loaded(data.array, requires_grad)


def _codecs_encode(text, encoding="utf-8"):
    # Protocol 2 writes a bytes object as _codecs.encode(latin-1 text, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"_codecs.encode is only allowed for latin1 byte strings, got "
                                f"encoding {encoding!r}")
    return text.encode("latin1")


def _ordered_dict(*args):
    if args and not (len(args) == 1 and isinstance(args[0], (list, tuple))):
        raise UnsafePickleError("collections.OrderedDict called with unexpected arguments")
    return collections.OrderedDict(*args)


def _torch_device(kind, index=None):
    return _device(str(kind), index)


def _counter(*args):
    if args and not (len(args) == 1 and isinstance(args[0], dict)):
        raise UnsafePickleError("collections.Counter called with unexpected arguments")
    return collections.Counter(*args)


_ALLOWED = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("collections", "Counter"): _counter,
    ("torch", "device"): _torch_device,
    ("builtins", "bytearray"): bytearray,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch.storage", "UntypedStorage"): np.dtype(np.uint8),  # the raw bytes of a storage
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch", "Size"): _Size,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, load_storage, where):
        super().__init__(file)
        self._load_storage = load_storage
        self._where = where

    def find_class(self, module, name):
        if module == "__builtin__":  # protocol 2 spells Python 2's name (pickle's fix_imports)
            module = "builtins"
        found = _ALLOWED.get((module, name))
        if found is not None:
            return found
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        if module == "torch" and name in _DTYPES:
            return np.dtype(_DTYPES[name])
        if module == "torch" and name.startswith(_UNREPRESENTABLE):
            raise ValueError(f"{self._where} holds torch.{name} tensors, which nerve cannot represent "
                             "(NumPy has no such type); convert them with .float() before torch.save")
        raise UnsafePickleError(
            f"{self._where}: refusing to load: the pickle asks for {module}.{name}, which is not on "
            "the allow-list of tensor data (what torch.load(weights_only=True) accepts: tensors, "
            "state dicts, numbers, strings and containers). Nothing in the file was run; if you "
            "trust it, re-save its tensors with nerve.save or safetensors")

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise UnsafePickleError(f"{self._where}: unexpected persistent id {str(pid)[:80]!r}")
        storage_type, key, _location, numel = pid[1:5]
        if isinstance(storage_type, np.dtype):  # newer files may name the dtype directly
            dtype = storage_type.type
        elif isinstance(storage_type, _StorageType):
            dtype = storage_type.dtype
        else:
            raise UnsafePickleError(f"{self._where}: unexpected storage type {storage_type!r}")
        if len(pid) > 5 and pid[5] is not None:
            raise UnsafePickleError(f"{self._where}: storage views of the pre-1.0 format are not "
                                    "supported; re-save the file with a recent PyTorch")
        if not isinstance(numel, int) or numel < 0:
            raise UnsafePickleError(f"{self._where}: bad storage size {numel!r}")
        return _Storage(self._load_storage(str(key), dtype, numel))


def _decode(raw, dtype, numel, where):
    item = 2 if dtype is _BFloat16 else np.dtype(dtype).itemsize
    if len(raw) < numel * item:
        raise ValueError(f"{where}: storage has {len(raw)} bytes, expected {numel * item}; the file "
                         "is truncated or damaged")
    raw = raw[:numel * item]
    if dtype is _BFloat16:  # the top half of a float32: widen exactly
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype, copy=False)


def _same_mapping(obj, fn):
    """A dict, OrderedDict or Counter of the same kind as ``obj`` with ``fn`` applied to each value."""
    out = type(obj)() if type(obj) in (collections.OrderedDict, collections.Counter) else {}
    for k, v in obj.items():
        out[k] = fn(v)
    return out


def _to_nerve(obj):
    if isinstance(obj, _Loaded):
        arr = obj.array
        if arr.dtype.kind not in "fc":
            return Tensor(arr)
        return Tensor(arr, requires_grad=obj.requires_grad)
    if isinstance(obj, _Size):
        return tuple(obj)
    if isinstance(obj, dict):
        return _same_mapping(obj, _to_nerve)
    if isinstance(obj, list):
        return [_to_nerve(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_to_nerve(v) for v in obj)
    if isinstance(obj, _Storage):
        return Tensor(obj.array)
    if isinstance(obj, (_StorageType,)):
        raise UnsafePickleError("the file holds a bare storage type, which is not tensor data")
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("data.pkl")]
        if len(pkl) != 1:
            raise ValueError(f"{path} is a zip but not a torch.save archive (expected one data.pkl, "
                             f"found {len(pkl)})")
        prefix = pkl[0][:-len("data.pkl")]
        order = prefix + "byteorder"
        if order in names and z.read(order).strip() not in (b"little",):
            raise ValueError(f"{path} was written on a big-endian machine, which is not supported")
        cache = {}

        def load_storage(key, dtype, numel):
            if key not in cache:
                name = f"{prefix}data/{key}"
                if name not in names:
                    raise ValueError(f"{path}: storage {key!r} is missing from the archive")
                cache[key] = _decode(z.read(name), dtype, numel, f"{path} storage {key}")
            return cache[key]

        return _Unpickler(io.BytesIO(z.read(pkl[0])), load_storage, str(path)).load()


_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _load_legacy(path):
    data = Path(path).read_bytes()
    f = io.BytesIO(data)
    where = str(path)

    def no_storage(*_):
        raise UnsafePickleError(f"{where}: a storage reference outside the object pickle")

    def small_pickle():
        return _Unpickler(f, no_storage, where).load()

    if small_pickle() != _LEGACY_MAGIC:
        raise ValueError(f"{path} is neither a torch.save zip archive nor a legacy torch file "
                         "(wrong magic number)")
    small_pickle()  # protocol version
    info = small_pickle()
    if isinstance(info, dict) and info.get("little_endian") is False:
        raise ValueError(f"{path} was written on a big-endian machine, which is not supported")
    pending = {}

    def defer(key, dtype, numel):
        # the storage bytes follow the pickle: remember what to read, resolve afterwards
        pending.setdefault(key, (dtype, numel))
        return _Deferred(key)

    obj = _LegacyUnpickler(f, defer, where).load()
    keys = small_pickle()
    if not isinstance(keys, list):
        raise ValueError(f"{path}: damaged legacy file (no storage key list)")
    arrays = {}
    for key in keys:
        if key not in pending:
            raise ValueError(f"{path}: storage {key!r} is listed but never used")
        dtype, numel = pending[key]
        (count,) = struct.unpack("<q", f.read(8))
        item = 2 if dtype is _BFloat16 else np.dtype(dtype).itemsize
        if count != numel:
            raise ValueError(f"{path}: storage {key!r} holds {count} elements, expected {numel}")
        arrays[key] = _decode(f.read(count * item), dtype, count, f"{path} storage {key}")
    return _resolve_deferred(obj, arrays)


class _Deferred:
    """A legacy storage whose bytes come after the pickle."""

    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key


class _LazyLoaded:
    __slots__ = ("key", "offset", "size", "stride", "requires_grad", "dtype")

    def __init__(self, key, offset, size, stride, requires_grad=False, dtype=None):
        self.key, self.offset, self.size, self.stride = key, offset, size, stride
        self.requires_grad, self.dtype = requires_grad, dtype   # dtype: set for an untyped storage


class _LegacyUnpickler(_Unpickler):
    """Legacy files rebuild tensors before the storage bytes are read: record the views."""

    def find_class(self, module, name):
        found = super().find_class(module, name)
        if found is _rebuild_tensor_v2:
            return _lazy_rebuild_v2
        if found is _rebuild_tensor:
            return _lazy_rebuild
        if found is _rebuild_tensor_v3:
            return _lazy_rebuild_v3
        if found is _rebuild_parameter:
            return _lazy_parameter
        return found

    def persistent_load(self, pid):
        return super().persistent_load(pid).array  # a _Deferred


def _lazy_rebuild_v2(storage, storage_offset, size, stride, requires_grad=False,
                     backward_hooks=None, metadata=None):
    if not isinstance(storage, _Deferred):
        raise UnsafePickleError(f"expected a storage, got {type(storage).__name__}")
    return _LazyLoaded(storage.key, storage_offset, size, stride, requires_grad)


def _lazy_rebuild_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                     metadata=None):
    if not isinstance(dtype, np.dtype):
        raise UnsafePickleError(f"_rebuild_tensor_v3 expects a dtype, got {type(dtype).__name__}")
    loaded = _lazy_rebuild_v2(storage, storage_offset, size, stride, requires_grad)
    loaded.dtype = dtype
    return loaded


def _lazy_rebuild(storage, storage_offset, size, stride):
    return _lazy_rebuild_v2(storage, storage_offset, size, stride)


def _lazy_parameter(data, requires_grad, backward_hooks, *state):
    if not isinstance(data, _LazyLoaded):
        raise UnsafePickleError(f"_rebuild_parameter expects a tensor, got {type(data).__name__}")
    data.requires_grad = requires_grad
    return data


def _resolve_deferred(obj, arrays):
    if isinstance(obj, _LazyLoaded):
        if obj.dtype is not None:
            return _rebuild_tensor_v3(_Storage(arrays[obj.key]), obj.offset, obj.size, obj.stride,
                                      obj.requires_grad, None, obj.dtype)
        return _Loaded(_strided(_Storage(arrays[obj.key]), obj.offset, obj.size, obj.stride),
                       obj.requires_grad)
    if isinstance(obj, _Deferred):
        return _Storage(arrays[obj.key])
    if isinstance(obj, dict):
        return _same_mapping(obj, lambda v: _resolve_deferred(v, arrays))
    if isinstance(obj, list):
        return [_resolve_deferred(v, arrays) for v in obj]
    if isinstance(obj, _Size):
        return obj
    if isinstance(obj, tuple):
        return tuple(_resolve_deferred(v, arrays) for v in obj)
    return obj


def load_torch(path):
    """Load a file written by ``torch.save``, accepting only tensor data (see module docs).

    Args:
        path: a ``.pt`` / ``.pth`` file (zip archive or the legacy stream).

    Returns the saved object with every tensor as a nerve Tensor (``nn.Parameter`` as a
    Tensor with ``requires_grad=True``), ``torch.Size`` as a tuple and dtypes as NumPy
    dtypes. Pass a loaded ``state_dict`` to ``model.load_state_dict``.

    Raises :class:`UnsafePickleError` (a ``ValueError``) for anything else the pickle asks
    for, before it is run; ``ValueError`` for damaged files.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, "rb") as fh:
        head = fh.read(9)
    try:
        if head[:2] == b"PK":
            return _to_nerve(_load_zip(path))
        if head[:1] == b"\x80" and head[8:9] != b"{":  # a pickle, not a safetensors header
            return _to_nerve(_load_legacy(path))
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, struct.error, zipfile.BadZipFile, TypeError, KeyError,
            IndexError, AttributeError) as e:
        raise ValueError(f"{path} is not a readable torch file ({type(e).__name__}: {e})") from e
    raise ValueError(f"{path} is not a torch.save file (it is neither a zip archive nor a pickle)")
