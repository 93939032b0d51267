"""JSON files for configs, histories and the scalar half of checkpoints."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .atomic import write_text


def _default(obj):
    # NumPy scalars and small arrays show up in logs and configs; write them as plain JSON.
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON ({obj!r}); "
                    "convert it to numbers, strings, lists or dicts first")


def _strict(obj):
    """``obj`` with every non-finite float (NaN, +-Inf) replaced by None: JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.ndarray) and obj.dtype.kind == "f":
        return _strict(obj.tolist())
    if isinstance(obj, dict):
        # a NumPy key (np.int64 class ids from np.unique, ...) is written as the number it holds
        return {(k.item() if isinstance(k, np.generic) else k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    return obj


def dumps(obj, indent: int | None = 2) -> str:
    """Strict JSON text: NaN and Infinity (which JSON does not have) are written as ``null``.

        >>> dumps({"loss": float("nan"), "lr": 0.1}, indent=None)
        '{"loss": null, "lr": 0.1}\\n'
    """
    return json.dumps(_strict(obj), indent=indent, default=_default, allow_nan=False) + "\n"


def save_json(obj, path, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (NumPy scalars/arrays become numbers/lists).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "config.json"
        >>> _ = save_json({"lr": 0.003, "epochs": 5}, p)
        >>> load_json(p)["epochs"]
        5
    """
    path = Path(path)
    write_text(path, dumps(obj, indent))
    return path


def load_json(path):
    """Read a JSON file, with an error that names the file and the position of a syntax error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not a JSON file (it is not UTF-8 text)") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e
