"""nerve vs PyTorch on the same workloads, in one process. Run ``python -m benchmarks``."""
