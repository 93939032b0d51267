"""Data loading: datasets, samplers, the DataLoader, array transforms and dataset readers.

Mirrors ``torch.utils.data`` (and the MNIST readers of ``torchvision.datasets``)::

    import nerve as nv
    from nerve.data import DataLoader
    from nerve.data.datasets import MNIST

    train = MNIST(train=True)                        # (60000, 1, 28, 28) float32 in [0, 1]
    loader = DataLoader(train, batch_size=64, shuffle=True, seed=0)
    for images, labels in loader:                    # Tensors (64, 1, 28, 28) and (64,) int64
        ...

Datasets that hold whole arrays serve each batch with one fancy-index (see
:mod:`nerve.data.dataset`); the loader's shuffling state can be saved with
``loader.state_dict()`` for exact resume. Also here: array transforms
(:mod:`~nerve.data.transforms`), seeded batch augmentation (:mod:`~nerve.data.augment`),
fit-on-train tabular preprocessing (:mod:`~nerve.data.preprocessing`) and label / split
helpers (:mod:`~nerve.data.utils`).
"""
from . import augment, datasets, grid, preprocessing, transforms, utils  # noqa: F401
from .augment import (GaussianNoise, RandomAffine, RandomCrop, RandomHorizontalFlip,
                      RandomResizedCrop, RandomRotation, RandomShift, RandomVerticalFlip)
from .dataloader import DataLoader, default_collate, default_convert
from .grid import make_grid, save_image
from .dataset import ArrayDataset, ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import IMAGENET_MEAN, IMAGENET_STD, MNIST, Digits, Digits28, FashionMNIST, ImageFolder
from .preprocessing import ColumnTransformer, MinMaxScaler, OneHotEncoder, Pipeline, StandardScaler
from .dataset import ChainDataset, IterableDataset  # streams (torch.utils.data's IterableDataset)
from .sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .transforms import CenterCrop, Compose, Flatten, Lambda, Normalize, OneHot, Resize, Scale01, ToTensor
from .utils import class_weights, make_imbalanced, one_hot, train_test_split
from .graph import Graph
from .timeseries import sliding_windows
from .toy2d import PLAYGROUND_SETS, make_playground

__all__ = [
    # datasets and splits
    "Dataset", "TensorDataset", "ArrayDataset", "Subset", "ConcatDataset", "random_split", "train_test_split",
    "make_imbalanced",
    "Graph",  # a graph's arrays for nerve.nn's graph layers
    # loading
    "DataLoader", "default_collate", "default_convert", "Sampler", "SequentialSampler",
    "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "DistributedSampler",
    "BatchSampler",
    # image grids
    "make_grid", "save_image",
    # array transforms and augmentation
    "Scale01", "ToTensor", "Resize", "CenterCrop", "Normalize", "OneHot", "Flatten", "Compose",
    "Lambda", "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomRotation",
    "RandomResizedCrop", "RandomAffine", "RandomShift", "GaussianNoise",
    # tabular preprocessing and labels
    "StandardScaler", "MinMaxScaler", "OneHotEncoder", "ColumnTransformer", "Pipeline",
    "class_weights", "one_hot",
    # time series
    "sliding_windows",
    # readers
    "MNIST", "FashionMNIST", "Digits", "Digits28", "ImageFolder", "IMAGENET_MEAN", "IMAGENET_STD",
    # 2-D toy sets (TensorFlow-Playground style)
    "make_playground", "PLAYGROUND_SETS",
    # submodules
    "augment", "datasets", "preprocessing", "transforms", "utils",
    # stream-style datasets
    "IterableDataset", "ChainDataset",
]
