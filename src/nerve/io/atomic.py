"""Crash-safe writes: every file nerve writes goes through ``atomic_write``.

The bytes go to a hidden temporary file in the destination's own folder (so the final
rename never crosses a file system), are flushed and fsynced, and only then renamed over
the destination with ``os.replace``. A reader therefore sees either the complete old file
or the complete new one; a writer killed half-way leaves the old file untouched and at
most a stray ``.<name>.<random>.tmp`` beside it, which no loader opens.
"""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temp_path_for(path) -> Path:
    """The hidden temporary name used while ``path`` is being written."""
    path = Path(path)
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable. Some platforms (Windows) cannot open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary file name next to ``path``; on a clean exit it replaces ``path``.

    For writers that need a file name rather than a file object (an external program, a
    library that opens the file itself). The temporary file is fsynced, renamed over
    ``path`` with ``os.replace`` and the folder fsynced; if the block raises, the temporary
    file is removed and ``path`` is left as it was.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("made by a tool that wants a path")
        >>> target.read_text()
        'made by a tool that wants a path'
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary file for {path}")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", encoding: str | None = None):
    """Open a temporary file for writing; on a clean exit it replaces ``path`` atomically.

    Args:
        path: the destination file. Its folder must exist.
        mode: ``"wb"`` (default) or ``"w"`` for text.
        encoding: text encoding for ``"w"`` (default UTF-8).

    If the block raises, the temporary file is removed and ``path`` is left as it was.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
        >>> with atomic_write(target, "w") as f:
        ...     _ = f.write("hello")
        >>> target.read_text()
        'hello'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write supports mode 'w' or 'wb', got {mode!r}")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp:
        with (open(tmp, mode, encoding=encoding) if mode == "w" else open(tmp, mode)) as f:
            yield f


def write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)
