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


_inference = False


def is_inference_mode_enabled() -> bool:
    """True inside an active ``inference_mode()`` block."""
    return _inference


class inference_mode:
    """Run without recording the graph, for pure inference: ``no_grad``'s semantics, plus
    ``is_inference_mode_enabled()`` reporting True. ``inference_mode(False)`` switches it
    off again and re-enables recording, as in PyTorch. Works as a context manager and as a decorator
    (``@inference_mode()`` or bare ``@inference_mode``).

    Example:
        >>> import nerve as nv
        >>> w = nv.ones(2, requires_grad=True)
        >>> with nv.inference_mode():
        ...     y = w * 2
        >>> y.requires_grad, nv.is_inference_mode_enabled()
        (False, False)
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        global _enabled, _inference
        self.prev = (_enabled, _inference)
        # As torch's InferenceMode guard: grad mode is the opposite of inference mode,
        # so inference_mode(False) re-enables recording.
        _inference = self.mode
        _enabled = not self.mode
        return self

    def __exit__(self, *exc):
        global _enabled, _inference
        _enabled, _inference = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper

    def clone(self):
        return inference_mode(self.mode)
