"""``torch.backends.cudnn``'s flags; nerve uses no cuDNN, so they are recorded and change nothing."""

__all__ = ["is_available", "version", "enabled", "benchmark", "deterministic", "allow_tf32"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: nerve never calls cuDNN."""
    return False


def version():
    """None, as PyTorch answers when cuDNN is not available."""
    return None
