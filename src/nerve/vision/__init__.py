"""torchvision's entry points on nerve: rename ``torchvision`` to ``nerve.vision`` and the usual
imports work.

* :mod:`~nerve.vision.datasets`: MNIST, FashionMNIST, CIFAR10, CIFAR100, FakeData, ImageFolder,
  with items ``(PIL image, int class)``;
* :mod:`~nerve.vision.transforms`: ToTensor, Normalize, Compose, Resize, CenterCrop, RandomCrop,
  RandomResizedCrop, Pad, RandomHorizontalFlip/VerticalFlip, RandomRotation, ColorJitter,
  Grayscale, Lambda, PILToTensor, ToPILImage;
* :mod:`~nerve.vision.ops`: box_convert, box_area, box_iou, nms, batched_nms and box geometry;
* :mod:`~nerve.vision.utils`: make_grid, save_image;
* :mod:`~nerve.vision.models`: resnet18/34/50/101/152 (nerve.models' builders, torchvision's
  ``weights=None`` keyword).

These are adapters over :mod:`nerve.data` (its readers, checksums, caches, array transforms and
image grids) and :mod:`nerve.models`, never second copies; the package sits one layer
above models so that ``nerve.vision.models`` can re-export the zoo's ResNets.

    >>> from nerve.vision import transforms
    >>> import numpy as np
    >>> transforms.ToTensor()(np.zeros((28, 28), np.uint8)).shape
    (1, 28, 28)
"""
from . import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
