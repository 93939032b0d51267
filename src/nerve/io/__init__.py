"""Files that cannot hurt: safetensors for arrays, JSON for everything else, atomic writes.

Nothing here uses pickle, so loading a file never runs code. Every write goes to a
temporary file that is renamed into place, so an interrupted save leaves the previous
file intact.
"""
from .atomic import atomic_path, atomic_write, write_bytes, write_text  # noqa: F401
from .jsonfile import load_json, save_json  # noqa: F401
from .state import (StateDictError, check_state_dict, load_state_dict, load_weights,  # noqa: F401
                    save_state_dict)
from .tensors import load_safetensors, save_safetensors  # noqa: F401

__all__ = ["atomic_path", "atomic_write", "write_bytes", "write_text", "save_json", "load_json",
           "save_safetensors", "load_safetensors", "save_state_dict", "load_state_dict",
           "load_weights", "check_state_dict", "StateDictError"]
