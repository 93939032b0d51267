"""The datasets nerve knows by name: one strict registry, where each is found, and fetching.

* :func:`resolve_dataset` turns a user's name into the canonical one (case-insensitive,
  ``_`` and ``-`` alike, a few aliases) and refuses anything else with the valid choices;
* :func:`load_split` loads one split as arrays, from the folder a run recorded when given;
* :func:`dataset_status` says where each file of a dataset is found, its size and whether its
  SHA-256 matches the official release, without downloading anything;
* :func:`fetch_dataset` finds (or downloads) and verifies every file of a dataset, which also
  records the place in the user cache, so later sessions find it with no environment variable.

    >>> resolve_dataset("MNIST"), resolve_dataset("Fashion_MNIST")
    ('mnist', 'fashion-mnist')
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .download import DatasetFileError, Source, _places, locate, sha256_of

# canonical name -> what it is; the readers are imported when used.
DATASETS = {
    "mnist": "MNIST handwritten digits (LeCun, Cortes, Burges), 70,000 28x28 images, 10 classes",
    "fashion-mnist": "Fashion-MNIST (Zalando), 70,000 28x28 clothing images, 10 classes",
    "digits": "scikit-learn's bundled 8x8 digits resized to 28x28 (1,797 images), no download",
}
_ALIASES = {"fashionmnist": "fashion-mnist", "fmnist": "fashion-mnist", "digits28": "digits"}


def resolve_dataset(name) -> str:
    """The canonical name of a dataset (``'MNIST'`` -> ``'mnist'``); ValueError for any other."""
    if not isinstance(name, str):
        raise ValueError(f"a dataset name must be a string, got {type(name).__name__} {name!r}; "
                         f"choose from {', '.join(DATASETS)}")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key.replace("-", ""), key) if key not in DATASETS else key
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return key


def _reader(name: str):
    from . import digits, mnist  # noqa: PLC0415

    return {"mnist": mnist.MNIST, "fashion-mnist": mnist.FashionMNIST, "digits": digits.Digits28}[name]


def dataset_source(name) -> Source | None:
    """The :class:`Source` (files, checksums, mirrors) of a file-backed dataset; None for digits."""
    return getattr(_reader(resolve_dataset(name)), "source", None)


def load_split(name, train: bool, root=None):
    """One split as arrays: ``(images (N, 1, 28, 28) float32 in [0, 1], labels (N,) int64,
    class names, folder)``; ``folder`` is where the files were found (None for digits).

    ``root`` is searched first (a run passes the folder it recorded); the usual order follows.
    """
    name = resolve_dataset(name)
    cls = _reader(name)
    if name == "digits":
        ds = cls(train=train)
        return ds.data, ds.targets, [str(c) for c in ds.classes], None
    ds = cls(root=root, train=train)
    return ds.data, ds.targets, [str(c) for c in ds.classes], str(Path(ds.files[0]).resolve().parent)


@dataclass(frozen=True)
class FileStatus:
    """One file of a dataset: where it was found (None if nowhere), its size and checksum status."""

    name: str
    path: Path | None
    size: int | None
    status: str          # 'verified', 'corrupt' (SHA-256 differs) or 'missing'
    where: str | None    # 'root', 'NERVE_DATA_DIR', 'cache' or 'recorded'


def dataset_status(name, root=None, verify: bool = True) -> list:
    """:class:`FileStatus` of every file of ``name``, looked up in :func:`locate`'s order.

    Nothing is downloaded or recorded. With ``verify=False`` the files are only found, not
    hashed (status 'found'). The bundled digits have no files: the list is empty.
    """
    source = dataset_source(name)
    if source is None:
        return []
    out = []
    for filename, remote in source.files.items():
        for label, _, path, _ in _places(source, filename, root):
            if path.is_file():
                status = "found" if not verify else (
                    "verified" if sha256_of(path) == remote.sha256 else "corrupt")
                out.append(FileStatus(filename, path, path.stat().st_size, status, label))
                break
        else:
            out.append(FileStatus(filename, None, None, "missing", None))
    return out


def fetch_dataset(name, root=None) -> list:
    """Find or download every file of ``name``, verify each by SHA-256 and return the paths.

    Files verified in ``root`` (or ``NERVE_DATA_DIR``) are recorded in the user cache; downloads
    land in it. Raises :class:`~nerve.data.datasets.DatasetFileError` when a file cannot be had.
    """
    name = resolve_dataset(name)
    source = dataset_source(name)
    if source is None:
        _reader(name)(train=False)  # the bundled digits: loading them is the check
        return []
    from .mnist import _KNOWN_HASHES  # noqa: PLC0415

    paths, errors = [], []
    for f in source.files:  # every file that can be had is verified (and recorded) before any error
        try:
            paths.append(locate(source, f, root, True, _KNOWN_HASHES))
        except DatasetFileError as e:
            errors.append(e)
    if errors:
        raise errors[0]
    return paths
