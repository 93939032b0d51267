"""``torch.backends.mps``: Apple's Metal backend, which nerve does not have."""

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: nerve runs on NumPy (CPU) or CuPy (CUDA), never Metal."""
    return False


def is_built() -> bool:
    """False: nerve has no Metal code to build."""
    return False
