"""nerve: a deep learning framework built from first principles on NumPy.

    >>> import nerve as nv
    >>> x = nv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x ** 2).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
"""
from __future__ import annotations

import numpy as _np

from . import autograd, backend, functional  # noqa: F401  (functional installs Tensor methods)

backend.tune_allocator()  # fewer page faults per training step; NERVE_MALLOC_TUNING=0 disables
from .autograd import (Function, Tensor, enable_grad, get_default_dtype, no_grad,  # noqa: F401
                       set_default_dtype, set_grad_enabled, is_grad_enabled, inference_mode,
                       is_inference_mode_enabled)
from .creation import *  # noqa: F401,F403
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state  # noqa: F401
from .random import initial_seed  # noqa: F401
from .backend import device, get_default_device, set_default_device  # noqa: F401
from .backend import get_num_threads, set_num_threads  # noqa: F401

__version__ = "0.1.0"

float16 = half = _np.dtype(_np.float16)
float32 = float = _np.dtype(_np.float32)  # noqa: A001
float64 = double = _np.dtype(_np.float64)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
int16 = _np.dtype(_np.int16)
int32 = _np.dtype(_np.int32)
int64 = long = _np.dtype(_np.int64)
bool = _np.dtype(_np.bool_)  # noqa: A001


# Loaded on first use; tests/test_public_names.py checks that each one imports.
_SUBPACKAGES = {"nn", "optim", "data", "metrics", "train", "models", "viz", "io", "cli", "runs",
                "classic", "diagnostics", "bench", "linalg", "text",
                "backends",
                "vision", "onnx", "keras",
                "utils",
                "tune",
                "distributed",
                "distributions",
                "serve",
                "glossary"}


def __getattr__(name):
    # Subpackages load on first use (nv.nn, nv.optim ...), and every functional op is
    # reachable at the top level too (nv.exp, nv.matmul, nv.cat ...), as in PyTorch.
    import importlib  # noqa: PLC0415

    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("cuda", "accelerator"):  # torch.cuda / torch.accelerator: questions about the GPU
        return importlib.import_module(f"{__name__}.{name}")
    if name in ("save", "load"):  # nerve.save / nerve.load: torch.save-shaped, never pickle
        return getattr(importlib.import_module(f"{__name__}.io"), name)
    if name in ("load_run", "Run"):  # nerve.load_run(path): a run folder as an object
        return getattr(importlib.import_module(f"{__name__}.runs"), name)
    if not name.startswith("_") and hasattr(functional, name):
        return getattr(functional, name)
    raise AttributeError(f"module 'nerve' has no attribute {name!r}")


def is_tensor(obj) -> bool:
    """True when ``obj`` is a nerve Tensor (``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(input) -> int:  # noqa: A002  (PyTorch's parameter name)
    """The number of elements of a tensor (``torch.numel``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"numel expects a Tensor, got {type(input).__name__}")
    return input.numel()
