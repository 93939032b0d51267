"""Switches for recording the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
from __future__ import annotations

import functools

_enabled = True  # read directly by Function.apply on the hot path


def is_grad_enabled() -> bool:
    return _enabled


class set_grad_enabled:
    """Turn graph recording on or off, as a call, a context manager or a decorator."""

    def __init__(self, mode: bool):
        global _enabled
        self.prev = _enabled
        self.mode = bool(mode)
        _enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.prev
        return False


class _GradModeContext:
    mode = True

    def __enter__(self):
        global _enabled
        self.prev = _enabled
        _enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Run without recording the graph: results have ``requires_grad=False``.

    Use it for evaluation and for in-place parameter updates::

        with nv.no_grad():
            p -= lr * p.grad
    """

    mode = False


class enable_grad(_GradModeContext):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True
