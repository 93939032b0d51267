"""Checkpoints that resume exactly: arrays in safetensors, everything else in JSON.

A checkpoint is a folder with three files:

``model.safetensors``
    the model's ``state_dict`` (the same file ``nerve.io.load_state_dict`` reads).
``state.safetensors``
    every array found in the optimizer, scheduler, data loader and callback states
    (Adam's moments, for instance).
``checkpoint.json``
    the rest: epoch, hyperparameters and scalar optimizer/scheduler state, the RNG states of
    ``nerve.random`` and of each DataLoader, the history and any ``extra`` values. Arrays are
    referenced by name (``{"__array__": "optimizer.state.0.exp_avg"}``).

Each file is written atomically and ``checkpoint.json`` goes last. All three carry the
same random token, so a folder whose save was interrupted between files is detected on
load instead of silently mixing two epochs.
"""
from __future__ import annotations

import math
import os
import secrets
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from ..io import load_json, load_safetensors, load_weights, save_json, save_safetensors
from ..io.state import check_state_dict

FORMAT = "nerve.checkpoint"
VERSION = 1
MODEL_FILE = "model.safetensors"
STATE_FILE = "state.safetensors"
META_FILE = "checkpoint.json"
_TOKEN = "nerve.checkpoint_token"


# ---------------------------------------------------------------- state trees <-> JSON
def encode_state(obj, arrays: dict, key: str = "state"):
    """Turn a nested state (dicts, lists, numbers, arrays) into JSON plus named arrays.

    Arrays and NumPy scalars move into ``arrays`` under a dotted key; JSON keeps a reference.
    Non-string dict keys (PyTorch-style ``{0: {...}}`` optimizer state), tuples and
    non-finite floats are tagged so that ``decode_state`` gives back exactly the same values
    and types.
    """
    from ..autograd import Tensor  # noqa: PLC0415

    if isinstance(obj, Tensor):
        obj = obj.numpy()
    if isinstance(obj, (np.ndarray, np.generic)):  # first: np.float64 is also a float
        name = key
        i = 1
        while name in arrays:
            i += 1
            name = f"{key}#{i}"
        arrays[name] = np.asarray(obj)
        return {"__array__" if isinstance(obj, np.ndarray) else "__scalar__": name}
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: encode_state(v, arrays, f"{key}.{k}") for k, v in obj.items()}
        return {"__items__": [[encode_state(k, arrays, f"{key}.key"), encode_state(v, arrays, f"{key}.{k}")]
                              for k, v in obj.items()]}
    if isinstance(obj, list):
        return [encode_state(v, arrays, f"{key}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [encode_state(v, arrays, f"{key}.{i}") for i, v in enumerate(obj)]}
    raise TypeError(f"cannot store {key} in a checkpoint: {type(obj).__name__} is not a number, "
                    "string, list, dict or array; make its state_dict() return plain values")


def decode_state(obj, arrays: dict):
    """Inverse of ``encode_state``."""
    if isinstance(obj, list):
        return [decode_state(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, value), = obj.items()
        if tag == "__array__":
            return arrays[value]
        if tag == "__scalar__":
            return arrays[value][()]
        if tag == "__float__":
            return float(value)
        if tag == "__tuple__":
            return tuple(decode_state(v, arrays) for v in value)
        if tag == "__items__":
            return {decode_state(k, arrays): decode_state(v, arrays) for k, v in value}
    return {k: decode_state(v, arrays) for k, v in obj.items()}


def _state_or_none(obj):
    if obj is None:
        return None
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    return obj


# ----------------------------------------------------------------------- save / load
def save_checkpoint(directory, model, optimizer=None, scheduler=None, epoch: int = 0,
                    loaders: dict | None = None, history=None, extra: dict | None = None) -> Path:
    """Save everything needed to continue training exactly where it stopped.

    Args:
        directory: the checkpoint folder (created if needed; files inside are replaced).
        model: the module whose ``state_dict()`` is saved.
        optimizer, scheduler: anything with ``state_dict()`` (or ``None``).
        epoch: the number of completed epochs.
        loaders: ``{"train": loader, ...}``; each loader's ``state_dict()`` (its shuffling
            generator) is saved when it has one.
        history: a ``History`` callback or a plain dict of per-epoch lists.
        extra: any further JSON-compatible values (arrays allowed), returned by
            ``load_checkpoint``.

    Returns the folder.
    """
    from ..random import get_rng_state  # noqa: PLC0415

    directory = Path(directory)
    token = secrets.token_hex(8)
    # A folder that holds only a checkpoint is replaced whole: the new one is written beside it
    # and renamed into place, so a crash (or a launcher killing this process) at any moment
    # leaves the previous checkpoint complete. A folder with other files is written into.
    swap = not directory.exists() or (directory.is_dir() and _only_checkpoint_files(directory))
    final, directory = directory, (directory.parent / f".{directory.name}.partial-{token}" if swap else directory)
    if swap:
        for stale in final.parent.glob(f".{final.name}.partial-*"):  # left by an earlier crash
            shutil.rmtree(stale, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    state = {
        "optimizer": _state_or_none(optimizer),
        "scheduler": _state_or_none(scheduler),
        "loaders": {name: loader.state_dict() for name, loader in (loaders or {}).items()
                    if loader is not None and hasattr(loader, "state_dict")},
        "rng": {"nerve": get_rng_state()},
        "history": _state_or_none(history),
        "extra": extra,
    }
    arrays: dict = {}
    encoded = encode_state(state, arrays)
    # In a folder shared with other files (no swap) the three files are first written under
    # temporary names and only renamed over the old ones once all are complete, so a save
    # that fails half-way (disk full) leaves the previous checkpoint whole.
    where = {name: directory / (name if swap else f".{name}.{token}.tmp") for name in _OWN_FILES}
    try:
        save_safetensors(model.state_dict(), where[MODEL_FILE], {_TOKEN: token})
        save_safetensors(arrays, where[STATE_FILE], {_TOKEN: token})
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "token": token,
            "epoch": int(epoch),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model_class": type(model).__name__,
            "optimizer_class": type(optimizer).__name__ if optimizer is not None else None,
            "scheduler_class": type(scheduler).__name__ if scheduler is not None else None,
            "state": encoded,
            # (A flipped bit inside an array is caught on load by the SHA-256 of the arrays
            # that save_safetensors records in each file.)
        }
        save_json(meta, where[META_FILE])
    except BaseException:
        if not swap:
            for path in where.values():
                path.unlink(missing_ok=True)
        raise
    if not swap:
        for name in (MODEL_FILE, STATE_FILE, META_FILE):  # checkpoint.json last, as always
            os.replace(where[name], directory / name)
    if swap:
        _swap_into_place(directory, final, token)
    return final


_OWN_FILES = {MODEL_FILE, STATE_FILE, META_FILE}


def _only_checkpoint_files(directory: Path) -> bool:
    return all(p.name in _OWN_FILES or p.name.endswith(".tmp") for p in directory.iterdir())


def _swap_into_place(new: Path, final: Path, token: str) -> None:
    """Rename the finished ``new`` folder to ``final``; the old one is kept aside until then."""
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{token}"
        os.rename(final, old)
    os.rename(new, final)
    try:  # make the renames durable
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _previous(directory: Path):
    """A complete checkpoint set aside while ``directory`` was being replaced (a crash between
    the two renames), or None."""
    olds = sorted(directory.parent.glob(f".{directory.name}.old-*"), key=lambda p: p.stat().st_mtime)
    olds = [p for p in olds if (p / META_FILE).is_file()]
    return olds[-1] if olds else None


def recover_interrupted_save(directory) -> bool:
    """Finish undoing a save stopped between its two renames; True if ``directory`` was restored.

    ``save_checkpoint`` sets the previous checkpoint aside (``.<name>.old-<token>``) and then
    renames the new one into place. A process killed between the two leaves no folder under
    the real name; code that only looks there would take the run for one with no checkpoint
    and start it over. This puts the previous checkpoint back under ``directory``.
    """
    directory = Path(directory)
    if directory.exists():
        return False
    previous = _previous(directory)
    if previous is None:
        return False
    os.rename(previous, directory)
    return True


def is_checkpoint(directory) -> bool:
    return (Path(directory) / META_FILE).is_file()


def read_checkpoint(directory) -> tuple[dict, dict, dict]:
    """Read and verify a checkpoint folder: ``(meta, decoded state, model arrays)``."""
    directory = Path(directory)
    if not is_checkpoint(directory) and _previous(directory) is not None:
        warnings.warn(f"{directory} was being replaced when its writer stopped; reading the previous "
                      f"checkpoint kept beside it", stacklevel=2)
        directory = _previous(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no checkpoint folder at {directory}")
    if not is_checkpoint(directory):
        raise ValueError(f"{directory} is not a nerve checkpoint (no {META_FILE} inside)")
    meta = load_json(directory / META_FILE)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{directory / META_FILE} is not a nerve checkpoint file")
    if meta.get("version", 0) > VERSION:
        raise ValueError(f"{directory} was written by a newer nerve (checkpoint version "
                         f"{meta['version']}, this one reads up to {VERSION}); upgrade nerve")
    model_arrays, model_meta = load_safetensors(directory / MODEL_FILE)
    state_arrays, state_meta = load_safetensors(directory / STATE_FILE)
    for name, m in ((MODEL_FILE, model_meta), (STATE_FILE, state_meta)):
        if m.get(_TOKEN) != meta["token"]:
            raise ValueError(f"checkpoint {directory} is inconsistent: {name} belongs to a different "
                             f"save than {META_FILE} (an interrupted write?); use an earlier checkpoint")
    state = decode_state(meta["state"], state_arrays)
    return meta, state, model_arrays


def load_checkpoint(directory, model=None, optimizer=None, scheduler=None, loaders: dict | None = None,
                    history=None, restore_rng: bool = True) -> dict:
    """Restore a checkpoint written by ``save_checkpoint`` into the given objects.

    Every object passed is restored in place (model weights, optimizer and scheduler state,
    each named loader's generator, the history); the global ``nerve.random`` state is
    restored too unless ``restore_rng=False``. Returns a dict with ``epoch``, ``history``
    (the saved value), ``extra`` and ``meta``.
    """
    from ..random import set_rng_state  # noqa: PLC0415

    meta, state, model_arrays = read_checkpoint(directory)
    # Every check first, so that a refused checkpoint leaves the given objects untouched.
    if model is not None:  # here so that the error names the file (load_weights sees a dict)
        check_state_dict(model, model_arrays, source=str(Path(directory) / MODEL_FILE))
    for label, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is None:
            continue
        if state[label] is None:
            raise ValueError(f"checkpoint {directory} has no {label} state, but a {label} "
                             f"({type(obj).__name__}) was given to restore")
        saved_class = meta.get(f"{label}_class")
        if saved_class is not None and saved_class != type(obj).__name__:
            # Another rule's state would load without complaint and then fail on a missing
            # hyperparameter, or (StepLR into CosineAnnealingLR) run on with mixed settings.
            raise ValueError(f"checkpoint {directory} holds {label} state of {saved_class}, but the "
                             f"{label} given to restore it into is {type(obj).__name__}; resume with "
                             f"{saved_class}, or load only the model weights to start a new {label}")
    if model is not None:
        load_weights(model, model_arrays)
    for label, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None:
            obj.load_state_dict(state[label])
    for name, loader in (loaders or {}).items():
        if loader is None or not hasattr(loader, "load_state_dict"):
            continue
        if name not in state["loaders"]:
            # e.g. a validation loader added on resume: its order does not affect training.
            warnings.warn(f"checkpoint {directory} has no state for the {name!r} loader (it has: "
                          f"{sorted(state['loaders']) or 'none'}); that loader keeps its own state",
                          stacklevel=2)
            continue
        loader.load_state_dict(state["loaders"][name])
    if history is not None and state["history"] is not None and hasattr(history, "load_state_dict"):
        history.load_state_dict(state["history"])
    if restore_rng:
        set_rng_state(state["rng"]["nerve"])
    return {"epoch": meta["epoch"], "history": state["history"], "extra": state["extra"], "meta": meta}
