"""Files that cannot hurt: safetensors for arrays, JSON for everything else, atomic writes.

Nothing here uses pickle to write, and loading a file never runs code: ``save``/``load``
(``nerve.save``/``nerve.load``) keep whole checkpoints as safetensors plus a JSON structure,
and ``load_torch`` reads PyTorch's ``.pt`` pickles through an allow-list. Every write goes to a
temporary file that is renamed into place, so an interrupted save leaves the previous
file intact.
"""
from .atomic import atomic_path, atomic_write, write_bytes, write_text  # noqa: F401
from .jsonfile import load_json, save_json  # noqa: F401
from .state import (StateDictError, check_state_dict, load_state_dict, load_weights,  # noqa: F401
                    save_state_dict)
from .tensors import load_safetensors, save_safetensors  # noqa: F401
from .serialize import load, save  # noqa: F401
from .torchfile import UnsafePickleError, load_torch  # noqa: F401

__all__ = ["atomic_path", "atomic_write", "write_bytes", "write_text", "save_json", "load_json",
           "save_safetensors", "load_safetensors", "save_state_dict", "load_state_dict",
           "load_weights", "check_state_dict", "StateDictError", "save", "load", "load_torch",
           "UnsafePickleError"]
