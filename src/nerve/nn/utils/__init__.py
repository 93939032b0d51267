"""Helpers that work on a model's parameters as a whole.

* ``clip_grad_norm_`` / ``clip_grad_value_``: gradient clipping (``nerve.optim``
  re-exports them); ``get_total_norm`` / ``clip_grads_with_norm_``: its two halves.
* ``parameters_to_vector`` / ``vector_to_parameters``: flatten parameters into one
  vector and back (for line searches, second-order methods, weight averaging).
* ``grad_norm``: the total gradient norm, without clipping.
* ``spectral_norm`` / ``remove_spectral_norm``: from ``nerve.nn.normalization``.
* ``receptive_field`` / ``receptive_field_probe``: what one output pixel sees, from the
  architecture and measured with autograd.
* ``functional_call``: run a module with other tensors standing in for its parameters.
* ``rnn``: variable-length sequences (``pad_sequence``, ``pack_padded_sequence`` ...).
"""
from __future__ import annotations

from . import rnn  # noqa: F401
from .clip import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert import grad_norm, parameters_to_vector, vector_to_parameters
from .receptive import receptive_field, receptive_field_probe
from .stateless import functional_call

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "grad_norm", "spectral_norm", "remove_spectral_norm",
           "receptive_field", "receptive_field_probe", "functional_call", "get_total_norm",
           "clip_grads_with_norm_"]

# name -> the module that implements it (imported on first use)
_ELSEWHERE = {"spectral_norm": "nerve.nn.normalization",
              "remove_spectral_norm": "nerve.nn.normalization"}


def __getattr__(name):
    if name in _ELSEWHERE:
        import importlib  # noqa: PLC0415

        fn = getattr(importlib.import_module(_ELSEWHERE[name]), name)
        globals()[name] = fn  # later lookups skip this function
        return fn
    raise AttributeError(f"module 'nerve.nn.utils' has no attribute {name!r}")
