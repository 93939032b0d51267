"""nerve against PyTorch on the same workloads, in one process: ``nerve bench`` or
``python -m nerve.bench`` (``python -m benchmarks`` in a source checkout).

The suite ships with the package, so it runs from an installed wheel. PyTorch is optional
for nerve and only needed here; without it the entry point says how to install it.
Importing this package does not import torch.
"""
from .main import main
from .workloads import QUICK, WORKLOADS

__all__ = ["main", "QUICK", "WORKLOADS"]
