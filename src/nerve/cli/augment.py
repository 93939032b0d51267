"""``nerve train``'s random pixel shifts: the dataset lives in :mod:`nerve.data.shift` (one object,
imported here too)."""
from ..data.shift import RandomShiftDataset  # noqa: F401

__all__ = ["RandomShiftDataset"]
