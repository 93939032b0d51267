"""``torch.backends``, for programs that set its flags: ``cudnn`` and ``mps``.

nerve calls neither cuDNN nor Apple's Metal, so ``cudnn.is_available()`` and
``mps.is_available()`` are False, and ``torch.backends.cudnn.benchmark = True`` or
``cudnn.deterministic = True`` are accepted and recorded but change nothing: nerve's results do
not depend on them (its GPU path runs CuPy's kernels, not cuDNN's autotuned ones).

    >>> import nerve as nv
    >>> nv.backends.cudnn.benchmark = True      # as a PyTorch program would write it
    >>> nv.backends.mps.is_available(), nv.backends.cudnn.is_available()
    (False, False)
"""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
