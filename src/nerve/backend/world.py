"""The process group as the lower layers see it, without importing MPI.

``nerve.distributed.init()`` registers the running job here; the Trainer and its callbacks
(which sit beside ``distributed`` in the layering and so cannot import it) ask this module
whether more than one rank trains, which rank this is, and sum numbers over ranks through it.
"""
from __future__ import annotations

_WORLD = None


def set_world(world) -> None:
    """Register the job (an object with ``rank()``, ``world_size()`` and ``sum(list) -> list``),
    or ``None`` to forget it."""
    global _WORLD
    _WORLD = world


def world():
    """The registered job when it has more than one rank, else None."""
    w = _WORLD
    return w if w is not None and w.world_size() > 1 else None
