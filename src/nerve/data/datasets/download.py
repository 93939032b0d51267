"""Finding, downloading and verifying dataset files.

A dataset names its files and their SHA-256 checksums; :func:`locate` finds each one by
looking, in order, in

1. the explicit ``root`` passed to the dataset,
2. the directory in the ``NERVE_DATA_DIR`` environment variable,
3. the user cache, ``$XDG_CACHE_HOME/nerve`` (or ``~/.cache/nerve``),
4. the place where an earlier call verified it (recorded in ``<cache>/sources.json``),

and otherwise downloads it from the dataset's mirrors into the user cache. The first time a
file is verified in a root or ``NERVE_DATA_DIR``, its path is recorded in the cache's
``sources.json``, so later commands and Python sessions find it with no environment variable
(the recorded file is hashed again on every use, like any other). Inside a root or
``NERVE_DATA_DIR`` a file may sit in the dataset's sub-folder (``<dir>/mnist/<file>``), in
torchvision's layout (``<dir>/MNIST/raw/<file>``) or directly in ``<dir>``; in the cache
it always lives at ``<cache>/<dataset folder>/<file>``.

Every file is checked against its SHA-256 before use. A mismatch is never ignored: a bad
file in the cache is downloaded again (when downloads are allowed), a bad file in a
directory the user chose is an error that names the path and both hashes. Downloads go
to a temporary file in the cache directory, are verified, flushed to disk and only then
renamed into place, so an interrupted or corrupted transfer never leaves a file behind.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT_S = 20.0  # per network operation (connect, each read)
_CHUNK = 1 << 16


class DatasetFileError(RuntimeError):
    """A dataset file is missing, corrupt or could not be fetched.

    A "not found" error carries ``searched`` (the paths looked at, in order), ``tried`` (the
    download attempts) and ``fix`` (the one command that repairs it), so a command line can
    put them on one line.
    """

    def __init__(self, message: str, searched=(), tried=(), fix: str | None = None):
        super().__init__(message)
        self.searched, self.tried, self.fix = list(searched), list(tried), fix

    def one_line(self) -> str:
        """The message on one line: the first line, the places searched and the fix."""
        first = str(self).strip().splitlines()[0] if str(self).strip() else "dataset file error"
        if not self.searched:
            return first
        text = f"{first} Searched: {', '.join(str(p) for p in self.searched)}"
        if self.tried:
            text += f"; downloads failed: {'; '.join(self.tried)}"
        return text + (f". Fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, SHA-256 and size in bytes."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Source:
    """Where a dataset's files live: sub-folder names, mirror base URLs and the file list.

    ``mirrors_env`` names an environment variable that, when set, replaces ``mirrors`` with
    its comma-separated base URLs (tests point it at a local server).
    """

    name: str                      # human name used in messages, e.g. "MNIST"
    folder: str                    # sub-folder inside a data directory, e.g. "mnist"
    torch_folder: str              # torchvision's sub-folder, e.g. "MNIST" (files in <root>/MNIST/raw)
    mirrors: tuple                 # base URLs, tried in order
    mirrors_env: str
    files: dict = field(default_factory=dict)   # file name -> RemoteFile

    def mirror_list(self) -> list:
        env = os.environ.get(self.mirrors_env, "").strip()
        bases = [b.strip() for b in env.split(",") if b.strip()] if env else list(self.mirrors)
        return [b if b.endswith("/") else b + "/" for b in bases]


def cache_dir() -> Path:
    """The user cache for nerve's downloads: ``$XDG_CACHE_HOME/nerve`` or ``~/.cache/nerve``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path(os.path.expanduser("~")) / ".cache"
    return base / "nerve"


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _candidates(directory: Path, source: Source, filename: str, user_chosen: bool = True) -> list:
    if not user_chosen:  # the cache has one canonical place per file (and may delete it if corrupt)
        return [directory / source.folder / filename]
    return [directory / source.folder / filename,
            directory / source.torch_folder / "raw" / filename,
            directory / filename]


def _search_dirs(root) -> list:
    """(label, directory, user_chosen) in lookup order."""
    dirs = []
    if root is not None:
        dirs.append(("root", Path(os.path.expanduser(os.fspath(root))), True))
    env = os.environ.get("NERVE_DATA_DIR", "").strip()
    if env:
        dirs.append(("NERVE_DATA_DIR", Path(os.path.expanduser(env)), True))
    dirs.append(("cache", cache_dir(), False))
    return dirs


SOURCES_FILE = "sources.json"


def recorded_sources() -> dict:
    """``{dataset folder: {file name: absolute path}}`` from ``<cache>/sources.json``.

    The paths where files were verified before; a missing or unreadable record is empty.
    """
    import json  # noqa: PLC0415

    try:
        data = json.loads((cache_dir() / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    datasets = data.get("datasets") if isinstance(data, dict) else None
    if not isinstance(datasets, dict):
        return {}
    return {k: {f: p for f, p in v.items() if isinstance(f, str) and isinstance(p, str)}
            for k, v in datasets.items() if isinstance(v, dict)}


def recorded_path(source: Source, filename: str):
    """Where ``filename`` of ``source`` was verified before, or None."""
    p = recorded_sources().get(source.folder, {}).get(filename)
    return Path(p) if p else None


def record_source(source: Source, filename: str, path) -> bool:
    """Remember in the user cache that ``path`` is a verified copy of ``filename``.

    Written atomically (read, update, rename); returns True when the record changed. A cache
    that cannot be written is no error: the file was found, only the memory of it is lost.
    """
    from ...io.atomic import write_text  # noqa: PLC0415
    from ...io.jsonfile import dumps  # noqa: PLC0415

    path = str(Path(path).resolve())
    records = recorded_sources()
    if records.get(source.folder, {}).get(filename) == path:
        return False
    records.setdefault(source.folder, {})[filename] = path
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        write_text(cache_dir() / SOURCES_FILE, dumps({"version": 1, "datasets": records}))
    except OSError:
        return False
    return True


def _places(source: Source, filename: str, root) -> list:
    """``(label, directory, path, user_chosen)`` for every place ``filename`` may be, in order."""
    places = [(label, directory, path, user_chosen) for label, directory, user_chosen in _search_dirs(root)
              for path in _candidates(directory, source, filename, user_chosen)]
    recorded = recorded_path(source, filename)
    if recorded is not None and all(recorded != p for _, _, p, _ in places):
        places.append(("recorded", recorded.parent, recorded, False))
    return places


def fix_command(source: Source) -> str:
    """The one command that puts a verified copy of ``source`` where every reader finds it."""
    return (f"run 'nerve data fetch {source.folder}' (downloads and verifies it; add --from DIR to "
            "use a folder that already holds the official files)")


def _mismatch_hint(source: Source, actual: str, known: dict) -> str:
    for (ds, fname), digest in known.items():
        if digest == actual and ds != source.name:
            return f" (it is {ds}'s {fname}, not {source.name}'s: keep each dataset in its own sub-folder)"
    return ""


def locate(source: Source, filename: str, root=None, download: bool = True,
           known_hashes: dict | None = None) -> Path:
    """Return the path of a verified copy of ``filename``, downloading it if needed.

    Args:
        source: the dataset's :class:`Source`.
        filename: one of ``source.files``.
        root: an explicit directory searched first (``None`` to skip).
        download: fetch into the user cache when no copy is found.
        known_hashes: ``{(dataset name, file name): sha256}`` of other datasets, used only
            to explain a mismatch (e.g. a Fashion-MNIST file found where MNIST was expected).

    Raises:
        DatasetFileError: the file is corrupt in a user-chosen directory, or missing and
            could not be downloaded; the message lists the places searched and URLs tried.
    """
    rf = source.files[filename]
    searched = []
    for label, directory, path, user_chosen in _places(source, filename, root):
        searched.append(path)
        if not path.is_file():
            continue
        actual = sha256_of(path)
        if actual == rf.sha256:
            if user_chosen:  # remember it, so the next session finds it without root or env
                record_source(source, filename, path)
            return path
        if label == "recorded":  # a file that changed since it was recorded: never used
            continue
        hint = _mismatch_hint(source, actual, known_hashes or {})
        detail = (f"{path} does not match the official {source.name} {filename}: SHA-256 is "
                  f"{actual}, expected {rf.sha256} ({path.stat().st_size:,} bytes, expected "
                  f"{rf.size:,}){hint}")
        if user_chosen:
            raise DatasetFileError(
                f"corrupt or wrong dataset file: {detail}. It is in a directory you chose "
                f"({'root=' if label == 'root' else 'NERVE_DATA_DIR='}{directory}), so it is not "
                "replaced automatically: delete it or replace it with the official file.")
        if not download:
            raise DatasetFileError(f"corrupt cached file: {detail}. Delete it, or pass "
                                   f"download=True (or run 'nerve data fetch {source.folder}') to fetch "
                                   "a fresh copy.")
        _print(f"nerve: cached {filename} is corrupt (SHA-256 {actual[:12]}...), downloading it again")
        path.unlink(missing_ok=True)
    target = cache_dir() / source.folder / filename
    tried = []
    if download:
        import http.client  # noqa: PLC0415  (network modules load only when a download is needed)
        import urllib.error  # noqa: PLC0415

        errors = []
        for base in source.mirror_list():
            url = base + filename
            tried.append(url)
            try:
                return fetch(url, target, rf.sha256, size=rf.size)
            except DatasetFileError as e:
                errors.append(str(e))
            except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError) as e:
                errors.append(f"{url}: {getattr(e, 'reason', None) or e}")
        tried = errors
    where = "\n  ".join(str(p) for p in searched)
    if not os.environ.get("NERVE_DATA_DIR", "").strip():
        where += "\n  (NERVE_DATA_DIR is not set" + (" and no root was given)" if root is None else ")")
    tried_text = ("\n  ".join(tried) if tried else "(none: download=False)")
    fix = fix_command(source)
    raise DatasetFileError(
        f"{source.name} file {filename} not found.\nSearched:\n  {where}\nDownloads tried:\n  {tried_text}\n"
        f"Fix: {fix}; or put the official {filename} (SHA-256 {rf.sha256}) in "
        f"{cache_dir() / source.folder}, or in <dir>/{source.folder}/ and set NERVE_DATA_DIR=<dir> "
        f"(or pass root=<dir>); to use other mirrors set {source.mirrors_env} to comma-separated "
        "base URLs.", searched=searched, tried=tried, fix=fix)


SIZE_MARGIN = 1 << 16  # bytes beyond the expected size before a download is cut off


def _same_host_opener(url: str):
    """A urllib opener that follows redirects only within ``url``'s host (and never to plain http
    from https): a mirror that sends us elsewhere is refused, not trusted."""
    import urllib.parse  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    origin = urllib.parse.urlsplit(url)

    class SameHostRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            new = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl))
            if new.hostname != origin.hostname or (origin.scheme == "https" and new.scheme != "https"):
                raise DatasetFileError(
                    f"{url}: the server redirected to {new.scheme}://{new.netloc}/, another host; nerve "
                    "follows redirects only within a mirror's own host. If you trust that host, put it "
                    "in the mirror variable (e.g. NERVE_MNIST_MIRRORS)")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(SameHostRedirect)


def fetch(url: str, target, sha256: str, size: int | None = None) -> Path:
    """Download ``url`` to ``target`` atomically, verifying its SHA-256 before it lands.

    The bytes stream into a temporary file in ``target``'s directory while being hashed;
    on a match the file is fsynced and ``os.replace``-d into place, otherwise it is
    deleted and :class:`DatasetFileError` names the URL and both hashes. Redirects to another
    host are refused; with ``size`` (the expected byte count), a response that declares or
    sends more than ``size + SIZE_MARGIN`` bytes is cut off at once instead of read to its end.
    """
    from ...io.atomic import atomic_write  # noqa: PLC0415

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    limit = None if size is None else int(size) + SIZE_MARGIN
    h = hashlib.sha256()
    # Raising inside the block discards the temporary file: a bad download never lands.
    with atomic_write(target, "wb") as out, _same_host_opener(url).open(url, timeout=TIMEOUT_S) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        if limit is not None and total is not None and total > limit:
            raise DatasetFileError(f"{url}: the server announces {total:,} bytes, but the file has "
                                   f"{size:,}; not downloading it")
        done = 0
        with _Progress(url, total) as bar:
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if limit is not None and done > limit:
                    raise DatasetFileError(f"{url}: the server sent more than {limit:,} bytes for a file of "
                                           f"{size:,}; stopped reading and discarded it")
                out.write(chunk)
                h.update(chunk)
                bar.advance(len(chunk))
        actual = h.hexdigest()
        if actual != sha256:
            raise DatasetFileError(f"{url}: downloaded file is corrupt or truncated: SHA-256 {actual}, "
                                   f"expected {sha256}; it was discarded")
    return target


def _print(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _Progress:
    """A download progress bar: rich when installed and stderr is a terminal, else one line."""

    def __init__(self, url: str, total):
        self.url, self.total, self.done, self._rich, self._t0 = url, total, 0, None, time.perf_counter()

    def __enter__(self):
        if sys.stderr.isatty():
            try:
                from rich.progress import (BarColumn, DownloadColumn, Progress,  # noqa: PLC0415
                                           TransferSpeedColumn)
            except ImportError:
                pass
            else:
                self._rich = Progress("[progress.description]{task.description}", BarColumn(),
                                      DownloadColumn(), TransferSpeedColumn(), transient=False)
                self._rich.start()
                self._task = self._rich.add_task(f"downloading {self.url.rsplit('/', 1)[-1]}",
                                                 total=self.total)
                return self
        size = f" ({self.total / 1e6:.1f} MB)" if self.total else ""
        print(f"nerve: downloading {self.url}{size} ...", end="", file=sys.stderr, flush=True)
        return self

    def advance(self, n: int) -> None:
        self.done += n
        if self._rich is not None:
            self._rich.update(self._task, advance=n)

    def __exit__(self, exc_type, exc, tb):
        if self._rich is not None:
            self._rich.stop()
        else:
            status = "failed" if exc_type else f"done in {time.perf_counter() - self._t0:.1f} s"
            print(f" {status}", file=sys.stderr, flush=True)
        return False
