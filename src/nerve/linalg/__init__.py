"""``nerve.linalg``: the linear-algebra namespace, as ``torch.linalg``.

The ops live in ``nerve.functional.linalg``; this module only gives them their
PyTorch names (``nv.linalg.norm``, ``nv.linalg.vector_norm``, ``nv.linalg.matrix_norm``).
"""
from ..functional.linalg import linalg_norm as norm  # noqa: F401
from ..functional.linalg import matmul, matrix_norm, vector_norm  # noqa: F401

__all__ = ["norm", "vector_norm", "matrix_norm", "matmul"]
