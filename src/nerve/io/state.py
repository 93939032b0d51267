"""Model weights on disk: ``state_dict`` to safetensors and back, with checks that explain."""
from __future__ import annotations

from pathlib import Path

from .tensors import load_safetensors, save_safetensors, to_numpy

FORMAT_KEY = "nerve.format"


class StateDictError(RuntimeError):
    """Weights that do not fit a model: missing, unexpected or wrong-shape entries."""


def _state_of(module_or_dict) -> dict:
    if hasattr(module_or_dict, "state_dict") and callable(module_or_dict.state_dict):
        return dict(module_or_dict.state_dict())
    if isinstance(module_or_dict, dict):
        return module_or_dict
    raise TypeError("expected a Module (anything with .state_dict()) or a dict of name -> array, "
                    f"got {type(module_or_dict).__name__}")


def save_state_dict(module_or_dict, path, metadata: dict | None = None) -> Path:
    """Save a module's ``state_dict()`` (or a plain dict of arrays) as safetensors.

    Example:
        >>> import numpy as np, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
        >>> _ = save_state_dict({"fc.weight": np.ones((2, 3), np.float32)}, p)
        >>> load_state_dict(p)["fc.weight"].shape
        (2, 3)
    """
    meta = {FORMAT_KEY: "state_dict"}
    meta.update(metadata or {})
    return save_safetensors(_state_of(module_or_dict), path, meta)


def load_state_dict(path) -> dict:
    """Read a weight file into a dict of NumPy arrays (pass it to ``model.load_state_dict``).

    A file written by ``nerve.save(model.state_dict(), path)`` is read too; a ``nerve.save``
    checkpoint holding anything else (``{"model": ..., "epoch": ...}``) is an error, since its
    entries are numbered leaves rather than layer names.
    """
    arrays, meta = load_safetensors(path)
    from .serialize import FORMAT, load  # noqa: PLC0415 - serialize builds on this module's files

    if meta.get(FORMAT_KEY) != FORMAT:  # (both formats record themselves under "nerve.format")
        return arrays

    obj = load(path)
    if (isinstance(obj, dict) and obj and all(isinstance(k, str) for k in obj)
            and all(hasattr(v, "shape") for v in obj.values())):
        return {k: to_numpy(v, k) for k, v in obj.items()}
    what = f"a dict with keys {_fmt(map(repr, obj), 5)}" if isinstance(obj, dict) else f"a {type(obj).__name__}"
    raise ValueError(f"{path} is a checkpoint written by nerve.save holding {what}, not a state dict; "
                     "load it with nerve.load(path) and pass its state dict (e.g. ckpt['model'])")


def _fmt(names, limit=8):
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _shared_name_present(model, name, arrays) -> bool:
    """True if ``model``'s tensor called ``name`` also goes by another name found in ``arrays``."""
    try:
        own = model.state_dict(keep_vars=True)
    except (AttributeError, TypeError):
        return False  # a plain dict: no sharing to know of
    tensor = own.get(name)
    return tensor is not None and any(t is tensor and k in arrays for k, t in own.items() if k != name)


def check_state_dict(model, arrays: dict, strict: bool = True, source: str = "the weights") -> None:
    """Raise ``StateDictError`` listing every missing, unexpected or wrong-shape entry."""
    target = _state_of(model)
    # A weight shared by two layers has two names; a file may hold it under one only
    # (safetensors.torch.save_model drops the duplicates), which loads it all the same.
    missing = [k for k in target if k not in arrays and not _shared_name_present(model, k, arrays)]
    unexpected = [k for k in arrays if k not in target]
    # a scalar stored with shape (1,) (older checkpoints) fits a 0-d tensor, as in load_state_dict
    wrong = [f"{k}: {source} has {tuple(arrays[k].shape)}, the model has {tuple(target[k].shape)}"
             for k in target if k in arrays and tuple(arrays[k].shape) != tuple(target[k].shape)
             and not (tuple(target[k].shape) == () and tuple(arrays[k].shape) == (1,))]
    problems = []
    if strict and missing:
        problems.append(f"missing {len(missing)} tensor(s): {_fmt(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected {len(unexpected)} tensor(s): {_fmt(unexpected)}")
    if wrong:
        problems.append(f"wrong shape for {len(wrong)} tensor(s): " + "; ".join(wrong[:8]))
    if problems:
        raise StateDictError(
            f"cannot load {source} into {type(model).__name__}: " + "; ".join(problems)
            + ". Were they saved from a different architecture? Build the model with the same "
              "sizes, or pass strict=False to skip missing and unexpected names.")


def load_weights(model, source, strict: bool = True):
    """Load weights from a ``.safetensors`` path (or a dict of arrays) into ``model``.

    Every problem is checked first and reported together, so nothing is half-loaded.
    Returns the model.
    """
    if isinstance(source, (str, Path)):
        label = str(source)
        arrays = load_state_dict(source)
    else:
        label = "the state dict"
        arrays = {k: to_numpy(v, k) for k, v in dict(source).items()}
    check_state_dict(model, arrays, strict=strict, source=label)
    from ..autograd import Tensor  # noqa: PLC0415

    target = _state_of(model)
    model.load_state_dict({k: Tensor(v) for k, v in arrays.items() if k in target}, strict=False)
    return model
