"""Error messages shared by the op families.

Each helper *builds* an exception (it does not raise it), so the caller writes
``raise broadcast_error("add", x.shape, y.shape) from None`` and the traceback points at
the op that failed rather than at this module.
"""
from __future__ import annotations

import numpy as np


def fmt_shape(shape) -> str:
    """``(2, 3)`` for a shape, ``()`` for a scalar, ``(5,)`` for a vector."""
    return str(tuple(int(s) for s in shape))


def _first_clash(shapes):
    """(dimension counted from the right as a negative number, sizes) of the first
    dimension where the shapes cannot broadcast, or None when they can."""
    nd = max(len(s) for s in shapes)
    for k in range(1, nd + 1):
        sizes = [int(s[-k]) if k <= len(s) else 1 for s in shapes]
        big = {v for v in sizes if v != 1}
        if len(big) > 1:
            return -k, sizes
    return None


def broadcast_error(op, *shapes) -> RuntimeError:
    """The error for operands whose shapes cannot broadcast together.

    Names the op, every shape, the first dimension that clashes, and the usual fixes.

    Example:
        >>> print(broadcast_error("add", (2, 3), (4,)))  # doctest: +ELLIPSIS
        add: cannot broadcast shapes (2, 3) and (4,) together: dimension -1 has size 3 in operand 0 ...
        Shapes are aligned from the right; ...
    """
    shapes = [tuple(getattr(s, "shape", s)) for s in shapes]
    listed = " and ".join(fmt_shape(s) for s in shapes)
    clash = _first_clash(shapes)
    where = ""
    if clash is not None:
        k, sizes = clash
        parts = [f"{v} in operand {i}" for i, v in enumerate(sizes) if v != 1]
        where = f" dimension {k} has size " + " and ".join(parts) + "."
    return RuntimeError(
        f"{op}: cannot broadcast shapes {listed} together:{where}\n"
        "Shapes are aligned from the right; each pair of sizes must be equal or one of them 1. "
        "Reshape, unsqueeze() or transpose an operand so the matching dimensions line up.")


def check_broadcast(op, *shapes):
    """Return the broadcast shape of ``shapes``, or raise :func:`broadcast_error`."""
    shapes = [tuple(getattr(s, "shape", s)) for s in shapes]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise broadcast_error(op, *shapes) from None


def index_dtype_error(op, dtype) -> TypeError:
    """The error for an index tensor that does not hold integers."""
    return TypeError(f"{op}: the index must hold integers (int64), got dtype {dtype}; "
                     "convert it with .long()")


__all__ = ["fmt_shape", "broadcast_error", "check_broadcast", "index_dtype_error"]
