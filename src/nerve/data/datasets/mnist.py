"""MNIST and Fashion-MNIST: 28x28 grayscale images in 10 classes, read from IDX files.

Both come as four gzip-compressed IDX files (train/test x images/labels). Files are found
or downloaded by :mod:`nerve.data.datasets.download` and verified against the SHA-256 of
the official releases before they are parsed.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..dataset import ArrayDataset
from ..transforms import _scale01
from .download import RemoteFile, Source, cache_dir, locate
from .idx import IDXFormatError, read_idx

_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": RemoteFile(
        "train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
    "train-labels-idx1-ubyte.gz": RemoteFile(
        "train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    "t10k-images-idx3-ubyte.gz": RemoteFile(
        "t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
    "t10k-labels-idx1-ubyte.gz": RemoteFile(
        "t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
}
_FASHION_FILES = {
    "train-images-idx3-ubyte.gz": RemoteFile(
        "train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
    "train-labels-idx1-ubyte.gz": RemoteFile(
        "train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
    "t10k-images-idx3-ubyte.gz": RemoteFile(
        "t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
    "t10k-labels-idx1-ubyte.gz": RemoteFile(
        "t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
}

MNIST_SOURCE = Source(
    name="MNIST", folder="mnist", torch_folder="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    mirrors_env="NERVE_MNIST_MIRRORS", files=_MNIST_FILES)
FASHION_MNIST_SOURCE = Source(
    name="Fashion-MNIST", folder="fashion-mnist", torch_folder="FashionMNIST",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    mirrors_env="NERVE_FASHION_MNIST_MIRRORS", files=_FASHION_FILES)

_KNOWN_HASHES = {**{(MNIST_SOURCE.name, f): r.sha256 for f, r in _MNIST_FILES.items()},
                 **{(FASHION_MNIST_SOURCE.name, f): r.sha256 for f, r in _FASHION_FILES.items()}}


def _decode(path: Path, expect_shape, source: Source) -> np.ndarray:
    """Parse a verified IDX .gz file; in the user cache, reuse or write a decoded .npy beside it.

    The .npy is trusted only when its sidecar ``<name>.npy.json`` names the SHA-256 of the
    verified .gz it came from and the .npy's own SHA-256 still matches: both are checked on
    every load, and any mismatch (a flipped byte, a copy from another file) decodes the .gz
    again and rewrites both.
    """
    in_cache = path.parent.resolve() == (cache_dir() / source.folder).resolve()
    npy = path.with_name(path.name[:-3] + ".npy") if path.name.endswith(".gz") else None
    source_sha = source.files[path.name].sha256 if path.name in source.files else None
    if in_cache and npy is not None and source_sha is not None:
        arr = _load_verified_npy(npy, source_sha, expect_shape)
        if arr is not None:
            return arr
    try:
        arr = read_idx(path, expect_shape=expect_shape, expect_dtype=np.uint8)
    except IDXFormatError as e:
        raise IDXFormatError(f"{e} (a {source.name} file that passed its checksum should never fail "
                             "here; please report it)") from None
    if in_cache and npy is not None and source_sha is not None:
        _atomic_save_npy(npy, arr, source_sha)
    return arr


def _npy_meta(npy: Path) -> Path:
    return npy.with_name(npy.name + ".json")


def _load_verified_npy(npy: Path, source_sha: str, expect_shape):
    """The cached array if its sidecar and both hashes check out, else None."""
    import json  # noqa: PLC0415

    from .download import sha256_of  # noqa: PLC0415

    try:
        meta = json.loads(_npy_meta(npy).read_text(encoding="utf-8"))
        if not (isinstance(meta, dict) and meta.get("source_sha256") == source_sha
                and meta.get("sha256") == sha256_of(npy)):
            return None
        arr = np.load(npy, allow_pickle=False)
    except (OSError, ValueError):
        return None  # missing, unreadable or not verified: decode the .gz again
    if arr.dtype != np.uint8 or arr.shape != expect_shape:
        return None
    return arr


def _atomic_save_npy(path: Path, arr: np.ndarray, source_sha: str) -> None:
    import hashlib  # noqa: PLC0415
    import io  # noqa: PLC0415

    from ...io.atomic import write_bytes  # noqa: PLC0415
    from ...io.jsonfile import dumps  # noqa: PLC0415

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    data = buf.getvalue()
    try:
        write_bytes(path, data)  # the array first: a sidecar never vouches for a missing .npy
        meta = {"source": path.name[:-4] + ".gz", "source_sha256": source_sha,
                "sha256": hashlib.sha256(data).hexdigest(), "shape": list(arr.shape), "dtype": str(arr.dtype)}
        write_bytes(_npy_meta(path), dumps(meta).encode())
    except OSError:
        pass  # the decoded cache is an optimisation; never fail a load over it


class MNIST(ArrayDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28, labels 0-9.

    Args:
        root: a directory searched first for the files (``<root>/mnist/<file>``,
            ``<root>/MNIST/raw/<file>`` or ``<root>/<file>``). Then ``$NERVE_DATA_DIR``, then
            the user cache ``$XDG_CACHE_HOME/nerve`` (``~/.cache/nerve``).
        train: the training split (60,000) or the test split (10,000).
        download: if no copy is found, download from the public mirrors (overridable with
            ``NERVE_MNIST_MIRRORS``) into the user cache, verified by SHA-256.
        dtype: ``'float32'`` (default, pixels scaled to [0, 1]) or ``'uint8'`` (raw 0..255).
        transform: applied to the images. If it is deterministic (see
            :mod:`nerve.data.transforms`), it runs once over the whole stored array at load
            and ``.data`` holds the result; random parts run on every fetched batch or sample
            (always on an array with a leading sample axis).
        target_transform: the same for the labels (e.g. ``OneHot(10)``).

    Attributes:
        data: images, ``(N, 1, 28, 28)`` float32 in [0, 1] (or uint8), after the load-time transform.
        targets: labels, ``(N,)`` int64.
        classes: the class names.

    Items are ``(image (1, 28, 28), label int)``; with the DataLoader each batch is one
    fancy-index into ``data`` and ``targets``.

    Example:
        >>> from nerve.data.datasets import MNIST
        >>> ds = MNIST(train=False)
        >>> ds.data.shape, ds.data.dtype.name, ds.targets[:3].tolist()
        ((10000, 1, 28, 28), 'float32', [7, 2, 1])
    """

    source = MNIST_SOURCE
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, download=True, dtype="float32", transform=None,
                 target_transform=None):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.uint8):
            raise ValueError(f"{type(self).__name__}: dtype must be 'float32' (scaled to [0, 1]) or "
                             f"'uint8' (raw pixels), got {dtype}")
        self.root, self.train = root, bool(train)
        split = "train" if self.train else "t10k"
        n = 60000 if self.train else 10000
        t0 = time.perf_counter()
        img_path = locate(self.source, f"{split}-images-idx3-ubyte.gz", root, download, _KNOWN_HASHES)
        lbl_path = locate(self.source, f"{split}-labels-idx1-ubyte.gz", root, download, _KNOWN_HASHES)
        images = _decode(img_path, (n, 28, 28), self.source)
        labels = _decode(lbl_path, (n,), self.source)
        if labels.max() > 9:
            raise IDXFormatError(f"{lbl_path}: label {int(labels.max())} is outside 0..9")
        images = images.reshape(n, 1, 28, 28)
        # (N, 1, 28, 28); the uint8 copy makes the array writable and independent of the
        # decoded bytes.
        self.data = _scale01(images) if dtype == np.float32 else images.copy()
        self.targets = labels.astype(np.int64)
        self.files = (img_path, lbl_path)
        self._set_transforms(transform, target_transform)
        self.load_seconds = time.perf_counter() - t0

    def __repr__(self):
        return (f"{type(self).__name__}(split={'train' if self.train else 'test'}, {len(self)} samples, "
                f"data {self.data.shape} {self.data.dtype}, files in {self.files[0].parent})")


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): 28x28 grayscale clothing images, the same format and sizes as MNIST.

    Arguments, attributes and layout are those of :class:`MNIST`; the files live in a
    ``fashion-mnist`` sub-folder (``FashionMNIST/raw`` in torchvision's layout) and the
    mirrors can be overridden with ``NERVE_FASHION_MNIST_MIRRORS``.

    Example:
        >>> from nerve.data.datasets import FashionMNIST
        >>> ds = FashionMNIST(train=False)
        >>> ds.classes[int(ds.targets[0])]
        'Ankle boot'
    """

    source = FASHION_MNIST_SOURCE
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
