"""torchvision's entry points on nerve: rename ``torchvision`` to ``nerve.vision`` and the usual
imports work.

* :mod:`~nerve.vision.datasets`: MNIST, FashionMNIST, CIFAR10, CIFAR100, FakeData, ImageFolder,
  with items ``(PIL image, int class)``;
* :mod:`~nerve.vision.transforms`: ToTensor, Normalize, Compose, Resize, CenterCrop, RandomCrop,
  RandomResizedCrop, Pad, RandomHorizontalFlip/VerticalFlip, RandomRotation, ColorJitter,
  Grayscale, Lambda, PILToTensor, ToPILImage;
* :mod:`~nerve.vision.ops`: box_convert, box_area, box_iou, nms, batched_nms and box geometry;
* :mod:`~nerve.vision.utils`: make_grid, save_image.

These are adapters over :mod:`nerve.data` (its readers, checksums, caches, array transforms and
image grids), never second copies. The torchvision models live in :mod:`nerve.models`
(``resnet18`` ...), a layer above this package.

    >>> from nerve.vision import transforms
    >>> import numpy as np
    >>> transforms.ToTensor()(np.zeros((28, 28), np.uint8)).shape
    (1, 28, 28)
"""
from . import datasets, ops, transforms, utils

__all__ = ["datasets", "ops", "transforms", "utils"]
