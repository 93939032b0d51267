"""PyTorch-shaped doors into nerve: ``nerve.utils.data`` is ``torch.utils.data``.

Nothing here is a second copy: every name is imported from the package that owns it
(:mod:`nerve.data`), so ``nerve.utils.data.DataLoader is nerve.data.DataLoader`` and a
program written for ``torch.utils.data`` runs after renaming its imports.
"""
from . import data  # noqa: F401

__all__ = ["data"]
