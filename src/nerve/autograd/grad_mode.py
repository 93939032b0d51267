"""Switches for recording the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``."""
from __future__ import annotations

import functools
import inspect

_enabled = True  # record the graph? read directly by Function.apply on the hot path
_grad = True      # the grad mode is_grad_enabled() reports (no_grad/enable_grad/set_grad_enabled)
_inference = False


def _set(grad, inference):
    """Set the grad mode and inference mode; recording needs the first without the second (an
    enable_grad() inside inference_mode() reports grad enabled but records nothing, as torch)."""
    global _enabled, _grad, _inference
    _grad, _inference = grad, inference
    _enabled = grad and not inference


def is_grad_enabled() -> bool:
    return _grad


def _decorate(make_ctx, fn):
    """``fn`` run under a fresh ``make_ctx()``; a generator function gets the mode at every
    resume (each ``next``/``send``/``throw``), not only while it is created, as in torch."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with make_ctx():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with make_ctx():
                            gen.close()
                        raise
                    except BaseException as exc:  # noqa: BLE001 - handed on to the generator
                        with make_ctx():
                            response = gen.throw(exc)
                    else:
                        with make_ctx():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_ctx():
            return fn(*args, **kwargs)

    return wrapper


class set_grad_enabled:
    """Turn graph recording on or off, as a call, a context manager or a decorator.

    As in torch, the mode changes as soon as the object is made (so a plain call works); used
    as a decorator, the mode is put back at once and applies only while the function runs.
    """

    def __init__(self, mode: bool):
        self.prev = _grad
        self.mode = bool(mode)
        _set(self.mode, _inference)

    def __enter__(self):
        _set(self.mode, _inference)
        return self

    def __exit__(self, *exc):
        _set(self.prev, _inference)
        return False

    def __call__(self, fn):
        _set(self.prev, _inference)  # decorating must not leave the mode switched
        mode = self.mode
        return _decorate(lambda: set_grad_enabled(mode), fn)

    def clone(self):
        return self.__class__(self.mode)


class _GradModeContext:
    mode = True

    def __new__(cls, orig_func=None):
        if orig_func is not None:  # bare @no_grad / @enable_grad, as torch allows
            if not callable(orig_func):
                raise TypeError(f"{cls.__name__}() takes no arguments (or a function to decorate), "
                                f"got {type(orig_func).__name__}")
            return _decorate(cls, orig_func)
        return super().__new__(cls)

    def __enter__(self):
        self.prev = _grad
        _set(self.mode, _inference)
        return self

    def __exit__(self, *exc):
        _set(self.prev, _inference)
        return False

    def __call__(self, fn):
        return _decorate(self.__class__, fn)

    def clone(self):
        return self.__class__()


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
        self.prev = (_grad, _inference)
        # As torch's InferenceMode guard: grad mode is the opposite of inference mode,
        # so inference_mode(False) re-enables recording.
        _set(not self.mode, self.mode)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False

    def __call__(self, fn):
        mode = self.mode
        return _decorate(lambda: inference_mode(mode), fn)

    def clone(self):
        return inference_mode(self.mode)
