"""torchvision.datasets, on nerve: MNIST, FashionMNIST, CIFAR10, CIFAR100, FakeData, ImageFolder.

Items follow torchvision's contract: ``ds[i]`` is ``(PIL image, int class)``, with
``transform`` applied to the image and ``target_transform`` to the class, so a torchvision
pipeline (``transforms.ToTensor()``, ``Normalize`` ...) works unchanged::

    from nerve.vision import datasets, transforms
    ds = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
    x, y = ds[0]                       # Tensor (1, 28, 28) float32 in [0, 1], int

The files are found, downloaded and verified by :mod:`nerve.data.datasets` (SHA-256 of the
official archives, the same search path: ``root``, ``$NERVE_DATA_DIR``, the user cache;
downloads land in the user cache). MNIST and Fashion-MNIST are read by nerve.data's IDX
reader; the CIFAR archives (Python-pickled batches) are parsed by a restricted unpickler
that builds only dicts, lists, strings, numbers and plain numeric arrays and refuses every
other class, so a tampered file cannot run code.
"""
from __future__ import annotations

import io
import operator
import pickle
import tarfile

import numpy as np

from ..autograd import Tensor
from ..data import Dataset
from ..data import ImageFolder as _ArrayImageFolder
from ..data.datasets import FashionMNIST as _FashionMNIST
from ..data.datasets import MNIST as _MNIST
from ..data.datasets.download import DatasetFileError, RemoteFile, Source, locate
from ..data.datasets.folder import IMG_EXTENSIONS, pil_loader

__all__ = ["VisionDataset", "MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "FakeData", "ImageFolder",
           "restricted_loads"]


def _pil():
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError:
        raise ImportError("nerve.vision.datasets returns PIL images and needs Pillow: pip install pillow") from None
    return Image


def _as_index(index, name):
    """``index`` as a Python int; only integers are accepted (``int(1.9)`` would quietly give item 1)."""
    try:
        return operator.index(index)
    except TypeError:
        raise TypeError(f"{name} indices must be integers, got {index!r} of type {type(index).__name__}; "
                        f"index one sample at a time with an int (use a DataLoader or a Subset for "
                        f"several)") from None


class VisionDataset(Dataset):
    """Base of the image datasets: ``root``, ``transform``, ``target_transform`` and a readable repr."""

    def __init__(self, root=None, transform=None, target_transform=None):
        for f, name in ((transform, "transform"), (target_transform, "target_transform")):
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable, got {type(f).__name__}")
        self.root, self.transform, self.target_transform = root, transform, target_transform

    def _finish(self, img, target):
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _check_index(self, index):
        n = len(self)
        index = _as_index(index, type(self).__name__)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} with {n} samples")
        return index % n

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}"]
        if hasattr(self, "train"):
            lines.append(f"    Split: {'Train' if self.train else 'Test'}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- MNIST family

class MNIST(VisionDataset):
    """MNIST digits, items ``(PIL 'L' image 28x28, int label)``, as ``torchvision.datasets.MNIST``.

    Args:
        root: a directory searched first (``root/MNIST/raw/<file>``, ``root/mnist/<file>`` or
            ``root/<file>``), then ``$NERVE_DATA_DIR`` and nerve's user cache.
        train: the 60,000 training images, else the 10,000 test images.
        transform, target_transform: applied to each image / label.
        download: fetch the verified files into nerve's user cache when missing.

    Attributes:
        data: ``(N, 28, 28)`` uint8 Tensor; targets: ``(N,)`` int64 Tensor; classes; class_to_idx.

    Example:
        >>> ds = MNIST(train=False)
        >>> img, label = ds[0]
        >>> img.size, img.mode, label
        ((28, 28), 'L', 7)
    """

    _reader = _MNIST

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        src = self._reader(root=root, train=self.train, download=download, dtype="uint8")
        self.files = src.files
        self.classes = list(src.classes)
        self.data = Tensor(np.ascontiguousarray(src.data.reshape(-1, 28, 28)))
        self.targets = Tensor(src.targets)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        i = self._check_index(index)
        img = _pil().fromarray(self.data._data[i], mode="L")
        return self._finish(img, int(self.targets._data[i]))


class FashionMNIST(MNIST):
    """Fashion-MNIST clothing images, the same contract as :class:`MNIST`.

    Example:
        >>> FashionMNIST(train=False).classes[9]
        'Ankle boot'
    """

    _reader = _FashionMNIST


# ----------------------------------------------------------------------------- restricted unpickling

class _Dtype:
    """Stands in for ``numpy.dtype`` while unpickling: only plain numeric types are accepted."""

    _ALLOWED = {"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f4", "f8", "b1"}

    def __init__(self, name, align=False, copy=True):
        if not isinstance(name, str) or name not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing a pickled array of dtype {name!r}; only plain numeric "
                                         f"dtypes {sorted(self._ALLOWED)} are accepted")
        self.name, self.order = name, "|"

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) >= 2 and state[1] in ("<", ">", "|", "=")):
            raise pickle.UnpicklingError(f"unexpected dtype state {state!r} in a pickled array")
        self.order = state[1]

    def numpy(self):
        order = "<" if self.order in ("|", "=") else self.order
        return np.dtype(order + self.name)


class _ArrayMarker:
    """Stands in for ``numpy.ndarray`` (only as the first argument of ``_reconstruct``)."""


class _Array:
    """Stands in for a pickled ndarray until its raw bytes arrive (the BUILD opcode)."""

    def __init__(self):
        self.value = None

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("unexpected ndarray state in a pickled array")
        _, shape, dtype, fortran, raw = state
        if not (isinstance(shape, tuple) and all(isinstance(s, int) and s >= 0 for s in shape)
                and isinstance(dtype, _Dtype)):
            raise pickle.UnpicklingError("a pickled array has a malformed shape or dtype")
        if isinstance(raw, str):
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("a pickled array's data is not raw bytes (object arrays are refused)")
        dt = dtype.numpy()
        count = int(np.prod(shape)) if shape else 1
        if len(raw) != count * dt.itemsize:
            raise pickle.UnpicklingError(f"a pickled array of shape {shape} and dtype {dt} needs "
                                         f"{count * dt.itemsize} bytes, got {len(raw)}")
        arr = np.frombuffer(bytes(raw), dtype=dt).reshape(shape, order="F" if fortran else "C")
        self.value = arr.astype(dt.newbyteorder("="), copy=True)


def _reconstruct(cls, shape, typecode):
    if cls is not _ArrayMarker:
        raise pickle.UnpicklingError("numpy _reconstruct may only build plain ndarrays")
    return _Array()


def _encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding.lower().replace("-", "") != "latin1":
        raise pickle.UnpicklingError("only latin-1 text-to-bytes conversion is allowed in a pickled batch")
    return text.encode("latin1")


_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _ArrayMarker,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        found = _SAFE_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} from a pickled dataset file: only dicts, lists, "
                "strings, numbers and plain numeric arrays are allowed (the file may be tampered with)")
        return found


def _finish_value(obj, depth=0):
    """Swap the array stand-ins for arrays and check that only plain types remain."""
    if depth > 50:
        raise pickle.UnpicklingError("a pickled dataset file is nested too deeply")
    if isinstance(obj, _Array):
        if obj.value is None:
            raise pickle.UnpicklingError("a pickled array has no data")
        return obj.value
    if isinstance(obj, dict):
        return {_finish_value(k, depth + 1): _finish_value(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finish_value(v, depth + 1) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_finish_value(v, depth + 1) for v in obj)
    if obj is None or isinstance(obj, (bytes, str, int, float, bool)):
        return obj
    raise pickle.UnpicklingError(f"a pickled dataset file holds a {type(obj).__name__}, which is not allowed")


def restricted_loads(data: bytes):
    """Unpickle ``data`` allowing only dicts, lists, tuples, bytes, strings, numbers and plain numeric
    NumPy arrays (rebuilt from their raw bytes, never through NumPy's own unpickling).

    Python 2 strings come back as ``bytes`` (so a CIFAR batch's keys are ``b'data'`` ...).

    Raises:
        pickle.UnpicklingError: the stream names any other class or function.

    Example:
        >>> import pickle, numpy as np
        >>> restricted_loads(pickle.dumps({"x": np.arange(3, dtype=np.uint8)}, protocol=2))["x"].tolist()
        [0, 1, 2]
    """
    obj = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    return _finish_value(obj)


# ----------------------------------------------------------------------------- CIFAR

def _key(d, name):
    """``d[name]`` for a dict whose keys may be bytes (Python 2 pickles) or str."""
    for k in (name.encode(), name):
        if k in d:
            return d[k]
    raise DatasetFileError(f"a CIFAR batch has no {name!r} entry (keys: {sorted(map(repr, d))})")


def _text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


class CIFAR10(VisionDataset):
    """CIFAR-10: 32x32 colour images in 10 classes (50,000 training, 10,000 test), torchvision's contract.

    Args:
        root: a directory searched first for ``cifar-10-python.tar.gz`` (``root/<file>`` or
            ``root/cifar-10/<file>``), then ``$NERVE_DATA_DIR`` and nerve's user cache.
        train, transform, target_transform, download: as in :class:`MNIST`. The archive is
            verified by SHA-256 before it is read; mirrors can be overridden with
            ``NERVE_CIFAR10_MIRRORS``.

    Attributes:
        data: ``(N, 32, 32, 3)`` uint8 NumPy array (height, width, channel), as torchvision's.
        targets: a list of ints. classes, class_to_idx.

    Items are ``(PIL RGB image, int class)``.
    """

    source = Source(name="CIFAR-10", folder="cifar-10", torch_folder="cifar-10", mirrors=(
        "https://www.cs.toronto.edu/~kriz/",), mirrors_env="NERVE_CIFAR10_MIRRORS", files={
        "cifar-10-python.tar.gz": RemoteFile(
            "cifar-10-python.tar.gz", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            170498071)})
    archive = "cifar-10-python.tar.gz"
    base_folder = "cifar-10-batches-py"
    train_list = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    test_list = ["test_batch"]
    meta = ("batches.meta", "label_names")
    label_key = "labels"

    def __init__(self, root=None, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = bool(train)
        path = locate(self.source, self.archive, root, download)
        self.files = (path,)
        images, labels = [], []
        with tarfile.open(path, "r:gz") as tar:
            for name in self.train_list if self.train else self.test_list:
                batch = self._read(tar, name)
                data = np.asarray(_key(batch, "data"))
                lab = _key(batch, self.label_key)
                if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or \
                        len(lab) != data.shape[0]:
                    raise DatasetFileError(f"{path}: batch {name} holds data {data.dtype} {data.shape} and "
                                           f"{len(lab)} labels; expected uint8 (n, 3072) and n labels")
                images.append(data)
                labels.extend(int(v) for v in lab)
            meta = self._read(tar, self.meta[0])
            self.classes = [_text(c) for c in _key(meta, self.meta[1])]
        # Rows hold the red plane, then green, then blue: (N, 3, 32, 32) -> (N, 32, 32, 3).
        self.data = np.ascontiguousarray(np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.targets = labels
        if labels and not 0 <= min(labels) <= max(labels) < len(self.classes):
            raise DatasetFileError(f"{path}: labels range over {min(labels)}..{max(labels)} but there are "
                                   f"{len(self.classes)} classes")

    def _read(self, tar, name):
        member = f"{self.base_folder}/{name}"
        try:
            f = tar.extractfile(member)
        except KeyError:
            f = None
        if f is None:
            raise DatasetFileError(f"{self.files[0]} has no member {member}; is it the official "
                                   f"{self.source.name} python archive?")
        try:
            out = restricted_loads(f.read())
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise DatasetFileError(f"{self.files[0]}: {member} could not be read safely: {e}") from None
        if not isinstance(out, dict):
            raise DatasetFileError(f"{self.files[0]}: {member} is not a dict of arrays")
        return out

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        i = self._check_index(index)
        return self._finish(_pil().fromarray(self.data[i]), self.targets[i])


class CIFAR100(CIFAR10):
    """CIFAR-100: like :class:`CIFAR10` with 100 fine classes (``targets`` are the fine labels);
    mirrors can be overridden with ``NERVE_CIFAR100_MIRRORS``."""

    source = Source(name="CIFAR-100", folder="cifar-100", torch_folder="cifar-100", mirrors=(
        "https://www.cs.toronto.edu/~kriz/",), mirrors_env="NERVE_CIFAR100_MIRRORS", files={
        "cifar-100-python.tar.gz": RemoteFile(
            "cifar-100-python.tar.gz", "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
            169001437)})
    archive = "cifar-100-python.tar.gz"
    base_folder = "cifar-100-python"
    train_list = ["train"]
    test_list = ["test"]
    meta = ("meta", "fine_label_names")
    label_key = "fine_labels"


# ----------------------------------------------------------------------------- generated and local

class FakeData(VisionDataset):
    """Random images with random labels, the same for the same index every time.

    Args:
        size: number of samples.
        image_size: ``(C, H, W)`` (C of 1, 3 or 4).
        num_classes: labels are drawn from ``0 .. num_classes - 1``.
        transform, target_transform: as usual.
        random_offset: added to the index to seed each sample's generator, so two FakeData
            with different offsets hold different images.

    Sample ``i`` is drawn from its own generator seeded with ``i + random_offset`` (nerve's
    global generator is untouched): pixel values uniform in [0, 1), turned into a PIL image as
    ``ToPILImage`` does. The pixels differ from torchvision's (which draws from torch's stream).

    Example:
        >>> ds = FakeData(size=4, image_size=(3, 8, 8), num_classes=5)
        >>> img, y = ds[1]
        >>> img.size, img.mode, 0 <= y < 5, ds[1][1] == y
        ((8, 8), 'RGB', True, True)
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(None, transform, target_transform)
        image_size = tuple(int(s) for s in image_size)
        if int(size) < 0 or len(image_size) != 3 or image_size[0] not in (1, 3, 4) or min(image_size) < 1:
            raise ValueError(f"FakeData needs size >= 0 and image_size (C, H, W) with C in 1, 3, 4; got "
                             f"size={size}, image_size={image_size}")
        if int(num_classes) < 1:
            raise ValueError(f"FakeData: num_classes must be at least 1, got {num_classes}")
        self.size, self.image_size = int(size), image_size
        self.num_classes, self.random_offset = int(num_classes), int(random_offset)

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        index = _as_index(index, type(self).__name__)
        if not 0 <= index < self.size:
            raise IndexError(f"{type(self).__name__} index {index} is out of range for size {self.size}")
        rng = np.random.default_rng(index + self.random_offset)
        pixels = rng.random(self.image_size, dtype=np.float32)
        target = int(rng.integers(0, self.num_classes))
        from .transforms import ToPILImage  # noqa: PLC0415

        return self._finish(ToPILImage()(Tensor(pixels)), target)


class ImageFolder(_ArrayImageFolder):
    """Images in ``root/<class>/...``; items ``(PIL RGB image, class index)`` as torchvision's.

    The listing (sorted class folders, sorted files, ``classes``, ``class_to_idx``,
    ``samples``, ``targets``) is :class:`nerve.data.ImageFolder`'s; ``is_valid_file`` (a
    function of the path) replaces the extension check, and ``imgs`` is ``samples``.

    A class folder without a single accepted image is an error, as in torchvision (it would
    still count as a class, so a model sized by ``len(classes)`` would get an output that no
    sample ever trains); ``allow_empty=True`` keeps such classes.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=pil_loader, is_valid_file=None,
                 allow_empty=False):
        if is_valid_file is None:
            super().__init__(root, transform, target_transform, IMG_EXTENSIONS, loader)
        else:
            super().__init__(root, transform, target_transform, ("",), loader)
            self.samples = [(p, t) for p, t in self.samples if is_valid_file(p)]
            if not self.samples:
                raise FileNotFoundError(f"ImageFolder: is_valid_file accepted no file under {root}")
            self.targets = np.array([t for _, t in self.samples], dtype=np.int64)
        present = set(self.targets.tolist())
        empty = [c for c in self.classes if self.class_to_idx[c] not in present]
        if empty and not allow_empty:
            accepted = "accepted by is_valid_file" if is_valid_file is not None else \
                f"with an image extension ({', '.join(IMG_EXTENSIONS)})"
            raise FileNotFoundError(f"ImageFolder: the class folder(s) {', '.join(map(repr, empty))} under {root} "
                                    f"hold no file {accepted}; add images, remove the folder(s), or pass "
                                    f"allow_empty=True to keep them as classes without samples")
        self.imgs = self.samples

    def __getitem__(self, index):
        path, target = self.samples[index]
        img = self.loader(path)
        if self.transform is not None:
            img = self.transform(img)
        target = int(target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
