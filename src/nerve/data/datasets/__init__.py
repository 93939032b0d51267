"""Dataset readers: MNIST and Fashion-MNIST (IDX files, download + checksum + cache) and the
offline scikit-learn digits (``Digits`` 8x8, ``Digits28`` resized for MNIST-shaped models), and
``ImageFolder`` for a local tree of class folders."""
from .catalog import DATASETS, FileStatus, dataset_source, dataset_status, fetch_dataset, load_split, resolve_dataset
from .digits import Digits, Digits28, resize_bilinear
from .download import DatasetFileError, cache_dir
from .folder import IMAGENET_MEAN, IMAGENET_STD, ImageFolder
from .idx import IDXFormatError, read_idx, write_idx
from .karate import KARATE_FACTIONS, karate_club
from .mnist import MNIST, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "Digits", "Digits28", "ImageFolder", "IMAGENET_MEAN", "IMAGENET_STD", "read_idx", "write_idx", "IDXFormatError",
           "DatasetFileError", "cache_dir", "resize_bilinear", "DATASETS", "FileStatus", "dataset_source",
           "dataset_status", "fetch_dataset", "load_split", "resolve_dataset", "karate_club",
           "KARATE_FACTIONS"]
