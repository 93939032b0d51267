"""``nerve.save`` / ``nerve.load``: ``torch.save``-shaped checkpoints that never use pickle.

The file format (one file, an ordinary ``.safetensors``):

* every array leaf (a Tensor or a NumPy array, including NumPy scalars) is one safetensors
  entry named ``"0"``, ``"1"``, ... in the order the leaves are met; the same Tensor object
  met twice is stored once;
* like every safetensors file nerve writes, it carries a SHA-256 of its arrays that loading
  checks (see :func:`nerve.io.tensors.save_safetensors`);
* the structure around the leaves is JSON in the header metadata under ``"nerve.object"``,
  next to ``"nerve.format": "object-v1"``. JSON ``null``, booleans, integers, finite floats
  and strings stand for themselves; everything else is an object with a ``"type"`` tag:

  - ``{"type": "tensor", "key": "3", "requires_grad": false}``: a nerve Tensor (a Parameter
    loads as a Tensor with ``requires_grad=True``);
  - ``{"type": "ndarray", "key": "4"}`` / ``{"type": "npscalar", "key": "5"}``: a NumPy
    array / scalar;
  - ``{"type": "float", "value": "nan"}``: nan, inf and -inf, which JSON lacks;
  - ``{"type": "dict", "items": [[key, value], ...]}`` (``"odict"`` for an OrderedDict);
  - ``{"type": "list", "items": [...]}`` (``"tuple"`` for a tuple).

  Dict keys are encoded like values, so the integer parameter indices of an optimizer's
  ``state_dict`` come back as integers.

Any other library reading safetensors sees the leaves as plain tensors; loading runs no
code. Writes go through :mod:`nerve.io.atomic`.

:func:`load` also opens PyTorch's ``.pt``/``.pth`` files (the zip written by ``torch.save``,
and the older single-stream format) through the allow-list reader of
:mod:`nerve.io.torchfile`, and plain safetensors files written by other libraries.
"""
from __future__ import annotations

import collections
import json
import math
import zipfile
from numbers import Integral
from pathlib import Path

import numpy as np

from ..autograd.tensor import Tensor
from .tensors import check_safetensors_file, load_safetensors, save_safetensors

__all__ = ["save", "load", "OBJECT_KEY", "FORMAT"]

OBJECT_KEY = "nerve.object"
FORMAT_KEY = "nerve.format"
FORMAT = "object-v1"

_SUPPORTED = ("Tensor, NumPy array or scalar, dict, OrderedDict, list, tuple, int, float, bool, str "
              "or None")


def _where(path):
    return "obj" + "".join(path)


class _Encoder:
    def __init__(self):
        self.arrays = {}
        self.seen = {}  # id(Tensor) -> key, so one tensor stored twice is one entry

    def _leaf(self, arr):
        key = str(len(self.arrays))
        self.arrays[key] = arr
        return key

    def encode(self, obj, path):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Integral) and not isinstance(obj, np.generic):
            return int(obj)
        if isinstance(obj, float) and not isinstance(obj, np.generic):
            return obj if math.isfinite(obj) else {"type": "float", "value": repr(obj)}
        if isinstance(obj, Tensor):
            key = self.seen.get(id(obj))
            if key is None:
                key = self.seen[id(obj)] = self._leaf(self._array(obj.detach().numpy(), path))
            return {"type": "tensor", "key": key, "requires_grad": bool(obj.requires_grad)}
        if isinstance(obj, np.ndarray):
            return {"type": "ndarray", "key": self._leaf(self._array(obj, path))}
        if isinstance(obj, np.generic):
            return {"type": "npscalar", "key": self._leaf(self._array(np.asarray(obj), path))}
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            if type(obj) not in (dict, collections.OrderedDict):
                raise TypeError(f"nerve.save cannot store {_where(path)}: a {type(obj).__name__} "
                                "(a dict subclass); convert it with dict(...) first")
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, str, Integral, float, tuple))) \
                        or isinstance(k, np.generic):
                    raise TypeError(f"nerve.save cannot store the key {k!r} ({type(k).__name__}) of "
                                    f"{_where(path)}; dict keys must be str, int, float, bool, None "
                                    "or tuples of those")
                items.append([self.encode(k, path + [f"<key {k!r}>"]),
                              self.encode(v, path + [f"[{k!r}]"])])
            return {"type": kind, "items": items}
        if type(obj) in (list, tuple):
            return {"type": type(obj).__name__,
                    "items": [self.encode(v, path + [f"[{i}]"]) for i, v in enumerate(obj)]}
        raise TypeError(f"nerve.save cannot store {_where(path)}: a {type(obj).__module__}."
                        f"{type(obj).__qualname__}. It stores {_SUPPORTED} (no pickle); save "
                        "module.state_dict() / optimizer.state_dict() rather than the objects")

    @staticmethod
    def _array(arr, path):
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"nerve.save cannot store {_where(path)}: an array of dtype {arr.dtype}; "
                            "only bool, integer and floating-point arrays fit in safetensors")
        if not hasattr(arr, "__array_interface__"):  # a CuPy array: bring it to the host
            arr = arr.get()
        if arr.dtype.byteorder == ">":  # safetensors is little-endian
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        return np.ascontiguousarray(arr) if arr.ndim else np.array(arr)


def save(obj, f) -> Path:
    """Save tensors, state dicts and nested containers to one file, without pickle.

    As ``torch.save(obj, f)``, for what a checkpoint holds: Tensors, NumPy arrays and
    scalars, numbers, strings, bools, ``None`` and dicts / OrderedDicts / lists / tuples of
    those, to any depth (a model's ``state_dict()``, an optimizer's or lr scheduler's
    ``state_dict()``, an epoch counter ...). The file is a safetensors file (the format is
    described in :mod:`nerve.io.serialize`) written atomically: a crash leaves the old file.

    Args:
        obj: what to save.
        f: the file path (its folder must exist).

    Raises ``TypeError`` naming the unsupported object and where it sits in ``obj``.

    Example:
        >>> import tempfile, pathlib, nerve as nv
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "ckpt.pt"
        >>> _ = nv.save({"epoch": 3, "w": nv.ones(2), "betas": (0.9, 0.999)}, p)
        >>> ck = nv.load(p)
        >>> ck["epoch"], ck["w"].tolist(), ck["betas"]
        (3, [1.0, 1.0], (0.9, 0.999))
    """
    if not isinstance(f, (str, Path)):
        raise TypeError(f"nerve.save writes to a file path (str or Path), got {type(f).__name__}")
    enc = _Encoder()
    structure = enc.encode(obj, [])
    meta = {FORMAT_KEY: FORMAT, OBJECT_KEY: json.dumps(structure, allow_nan=False)}
    return save_safetensors(enc.arrays, f, meta)


def _decode(node, arrays, tensors):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list) or not isinstance(node, dict) or "type" not in node:
        raise ValueError(f"damaged nerve checkpoint: unexpected structure node {str(node)[:80]!r}")
    kind = node["type"]
    if kind == "tensor":
        key = node["key"]
        t = tensors.get(key)
        if t is None:
            t = tensors[key] = Tensor(arrays[key], requires_grad=bool(node.get("requires_grad")))
        return t
    if kind in ("ndarray", "npscalar"):
        arr = arrays[node["key"]]
        return arr[()] if kind == "npscalar" else arr
    if kind == "float":
        return float(node["value"])
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, tensors) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("dict", "odict"):
        pairs = [(_key(_decode(k, arrays, tensors)), _decode(v, arrays, tensors)) for k, v in node["items"]]
        return dict(pairs) if kind == "dict" else collections.OrderedDict(pairs)
    raise ValueError(f"damaged nerve checkpoint: unknown node type {kind!r}")


def _key(k):
    return tuple(_key(x) for x in k) if isinstance(k, (list, tuple)) else k


def _rename(arrays, rename):
    if rename is None:
        return arrays
    out = {}
    for k, v in arrays.items():
        new = rename(k) if callable(rename) else rename.get(k, k)
        if new is None:
            continue  # dropped
        if new in out:
            raise ValueError(f"rename maps two tensors to the same name {new!r}; make the mapping "
                             "one-to-one (or map the extra one to None to drop it)")
        out[new] = v
    return out


def is_torch_file(path) -> bool:
    """True for files written by ``torch.save``: a zip holding ``data.pkl``, or the older
    format that starts with a pickle."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as z:
                return any(n.endswith("data.pkl") for n in z.namelist())
        except zipfile.BadZipFile:
            return False
    # A legacy file starts with a pickle (PROTO opcode 0x80); a safetensors file starts with
    # its 8-byte header length, which may begin with 0x80 too, followed by "{".
    return head[:1] == b"\x80" and head[8:9] != b"{"


def load(f, map_location=None, weights_only=True, *, rename=None, **kwargs):
    """Load what :func:`save` wrote, a PyTorch ``.pt``/``.pth`` file, or any safetensors file.

    Args:
        f: the file path.
        map_location: accepted for PyTorch compatibility; ``None``, ``"cpu"`` or a CPU
            device (everything loads to host memory).
        weights_only: must stay True: nerve never unpickles arbitrary objects. PyTorch
            files are read with an allow-list (see :mod:`nerve.io.torchfile`).
        rename: for safetensors files from other libraries (and PyTorch state dicts): a dict
            ``old name -> new name`` (names not in it are kept) or a function of the name
            returning the new name or ``None`` to drop the tensor.

    Returns the saved object; tensors come back as nerve Tensors (NumPy arrays saved as
    such come back as arrays). A safetensors file not written by :func:`save` loads as a
    dict of name -> Tensor in file order.

    Example:
        >>> import tempfile, pathlib, numpy as np, nerve as nv
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "other.safetensors"
        >>> _ = nv.io.save_safetensors({"model.fc.w": np.zeros((2, 3), np.float32)}, p)
        >>> sd = nv.load(p, rename=lambda k: k.removeprefix("model."))
        >>> list(sd), sd["fc.w"].shape
        (['fc.w'], (2, 3))
    """
    if kwargs:
        allowed = {"mmap", "pickle_module"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise TypeError(f"nerve.load got unexpected keyword argument(s) {unknown}")
        if kwargs.get("pickle_module") is not None:
            raise ValueError("nerve.load does not take a pickle_module: it never unpickles arbitrary "
                             "objects")
    if weights_only is not True:
        raise ValueError("nerve.load only loads data (weights_only=True): nerve never runs code "
                         "from a file; re-save the object with nerve.save or as safetensors")
    if map_location is not None and str(map_location).split(":")[0] != "cpu" and not callable(map_location):
        raise ValueError(f"nerve.load loads into host memory; map_location={map_location!r} is not "
                         "supported (load, then call .to(device))")
    path = Path(f)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a checkpoint file")
    if is_torch_file(path):
        from .torchfile import load_torch  # noqa: PLC0415

        obj = load_torch(path)
        if rename is not None:
            if not isinstance(obj, dict):
                raise ValueError(f"rename needs a state dict, but {path} holds a {type(obj).__name__}")
            obj = type(obj)(_rename(obj, rename))
        return obj
    with open(path, "rb") as fh:
        head = fh.read(9)
        if head[:4] == b"PK\x03\x04" and head[8:9] != b"{":  # a zip (torch.save's) zipfile cannot open
            raise ValueError(f"{path} starts like a PyTorch .pt file (a zip archive) but cannot be read "
                             "as one: it is truncated or damaged; use another copy")
    check_safetensors_file(path)
    arrays, meta = load_safetensors(path)
    if meta.get(FORMAT_KEY) == FORMAT and OBJECT_KEY in meta:
        if rename is not None:
            raise ValueError("rename applies to plain safetensors files; this file was written by "
                             "nerve.save and loads with its own structure")
        try:
            structure = json.loads(meta[OBJECT_KEY])
            return _decode(structure, arrays, {})
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path} is a damaged nerve checkpoint ({e})") from e
    return {k: Tensor(v) for k, v in _rename(arrays, rename).items()}
