"""Whether training runs data-parallel: asked through ``nerve.backend.world``, which
``nerve.distributed.init()`` fills in. When more than one rank trains, the Trainer reduces its
sums over ranks and only rank 0 writes files or prints progress.
"""
from __future__ import annotations

from ..backend.world import world as active


def is_main_process() -> bool:
    """True on rank 0 (and whenever training is not distributed): the one process that writes."""
    w = active()
    return w is None or w.rank() == 0


def sum_over_ranks(values):
    """Element-wise sums of a list of numbers over all ranks (the list itself when not distributed)."""
    w = active()
    return list(values) if w is None else w.sum(list(values))
