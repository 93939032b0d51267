"""Checks at the door of ``nv.tensor``: only numbers become tensors, with a message that says why not.

``check_numeric(arr, data)`` takes the array NumPy made of the user's ``data`` and returns it if
it holds numbers (bool, integer, float, complex); otherwise it raises an error naming the dtype
and the fix: strings and bytes (``TypeError``), dates and durations (``TypeError``), structured
records (``TypeError``), object arrays (``TypeError`` naming the first non-number found), and
integers too large for int64, which NumPy stores as objects or as uint64 (``OverflowError``).
``as_numeric_array(data)`` does the ``np.asarray`` too and explains ragged lists.

NOTE: meant to be called from ``autograd/tensor.py``'s ``_infer_array`` (wired in separately).

    >>> import numpy as np
    >>> check_numeric(np.asarray([1, 2]), [1, 2]).dtype.kind
    'i'
    >>> check_numeric(np.asarray(["a"]), ["a"])
    Traceback (most recent call last):
    ...
    TypeError: cannot build a tensor from strings (dtype <U1): a tensor holds numbers; convert the text first (e.g. float(s), or a vocabulary that maps tokens to indices)
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_numeric", "as_numeric_array"]

_INT64 = np.iinfo(np.int64)


def _first_bad(data, test, path=()):
    """(index path, value) of the first element of nested ``data`` for which ``test`` is true."""
    if isinstance(data, (list, tuple)):
        for i, item in enumerate(data):
            found = _first_bad(item, test, path + (i,))
            if found is not None:
                return found
        return None
    if isinstance(data, np.ndarray) and data.dtype == object:
        for idx, item in np.ndenumerate(data):
            if test(item):
                return path + idx, item
        return None
    return (path, data) if test(data) else None


def _where(path) -> str:
    return f" at index {list(path)}" if path else ""


def _too_big(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and \
        not (_INT64.min <= int(v) <= _INT64.max)


def _overflow(value, path) -> OverflowError:
    return OverflowError(
        f"integer {int(value)}{_where(path)} does not fit in int64 (range {_INT64.min} to {_INT64.max}), "
        "the widest integer a tensor holds; pass it as a float (e.g. float(x), or dtype=nv.float64) if an "
        "approximate value will do")


def check_numeric(arr: np.ndarray, data=None) -> np.ndarray:
    """Return ``arr`` if it holds numbers; otherwise raise an error that names the problem.

    Args:
        arr: ``np.asarray(data)``.
        data: what the user passed (used to find the offending element of an object array).
    """
    kind = arr.dtype.kind
    if kind in "biufc":
        if kind == "u" and arr.dtype.itemsize == 8 and arr.size and int(arr.max()) > _INT64.max:
            if not isinstance(data, np.ndarray):  # Python ints NumPy could only store as uint64
                found = _first_bad(data, _too_big)
                raise _overflow(found[1] if found else arr.max(), found[0] if found else ())
        return arr
    if kind in "US":
        what = "strings" if kind == "U" else "bytes"
        raise TypeError(f"cannot build a tensor from {what} (dtype {arr.dtype}): a tensor holds numbers; "
                        "convert the text first (e.g. float(s), or a vocabulary that maps tokens to indices)")
    if kind in "mM":
        what = "dates/times" if kind == "M" else "time differences"
        raise TypeError(f"cannot build a tensor from {what} (dtype {arr.dtype}); convert them to numbers "
                        f"first, e.g. arr.astype('int64') for counts of the unit in {arr.dtype} or "
                        "(arr - arr.min()) / np.timedelta64(1, 's') for seconds")
    if kind == "V":
        raise TypeError(f"cannot build a tensor from structured records (dtype {arr.dtype}); take one "
                        "numeric field (arr['name']) or stack the fields into a plain array first")
    # kind "O": Python objects. Say which element is not a plain number.
    source = data if data is not None else arr
    found = _first_bad(source, _too_big)
    if found is not None:
        raise _overflow(found[1], found[0])
    found = _first_bad(source, lambda v: not isinstance(v, (numbers.Number, np.generic)) or isinstance(v, np.str_))
    if found is not None:
        path, value = found
        raise TypeError(f"cannot build a tensor from dtype object: element{_where(path)} is "
                        f"{type(value).__name__} {value!r:.60}, not a number; give a rectangular list "
                        "of numbers")
    raise TypeError(f"cannot build a tensor from dtype object (numbers of mixed Python types such as "
                    f"{sorted({type(v).__name__ for v in np.asarray(arr, object).ravel()})}); convert "
                    "them to float or int first")


def as_numeric_array(data) -> np.ndarray:
    """``np.asarray(data)`` checked by :func:`check_numeric`, with ragged lists explained."""
    try:
        arr = np.asarray(data)
    except ValueError as e:
        if "inhomogeneous" in str(e) or "sequence" in str(e):
            raise ValueError(f"cannot build a tensor from ragged nested lists (rows of different lengths: "
                             f"{str(e).splitlines()[0]}); pad the rows to one length first") from None
        raise
    except OverflowError:
        found = _first_bad(data, _too_big)
        if found is None:
            raise
        raise _overflow(found[1], found[0]) from None
    return check_numeric(arr, data)
