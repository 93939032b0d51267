"""Offline digits: scikit-learn's bundled 8x8 handwritten digits, at 8x8 or resized to 28x28.

No download and no files needed: scikit-learn ships these 1,797 images. ``Digits28``
resizes them to MNIST's 28x28 so models written for MNIST (784 inputs) run on them.
"""
from __future__ import annotations

import numpy as np

from ..dataset import ArrayDataset
from ..transforms import resize_bilinear


def _load_sklearn_digits():
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415
    except ImportError:
        raise ImportError("the Digits datasets read scikit-learn's bundled digits; install it with "
                          "pip install 'nerve[digits]'") from None
    d = load_digits()
    return d.images, d.target


def stratified_split(labels, test_fraction: float, seed: int):
    """Indices ``(train, test)``: each class contributes ``round(test_fraction * count)`` samples
    to the test part, chosen by a generator seeded with ``seed``; both parts sorted."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = int(round(test_fraction * len(members)))
        test.append(rng.permutation(members)[:k])
    test = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    mask = np.ones(len(labels), dtype=bool)
    mask[test] = False
    return np.flatnonzero(mask), test


class Digits(ArrayDataset):
    """scikit-learn's 8x8 handwritten digits (1,797 images, labels 0-9), offline, split by class.

    Args:
        train: the training part (about 80 %) or the test part.
        test_fraction: share of each class held out for the test part (stratified).
        seed: seeds the split; the same seed always gives the same split, and the train and
            test parts of one seed are disjoint and cover all 1,797 images.
        transform / target_transform: as for :class:`~nerve.data.datasets.MNIST`.

    Attributes:
        data: ``(N, 1, 8, 8)`` float32 in [0, 1] (the original 0..16 values divided by 16).
        targets: ``(N,)`` int64.

    Example:
        >>> from nerve.data.datasets import Digits
        >>> tr, te = Digits(train=True), Digits(train=False)
        >>> len(tr) + len(te), tr.data.shape[1:]
        (1797, (1, 8, 8))
    """

    size = 8
    classes = [str(d) for d in range(10)]

    def __init__(self, train=True, test_fraction=0.2, seed=0, transform=None, target_transform=None):
        images, target = _load_sklearn_digits()
        x = (images.astype(np.float32) / np.float32(16.0))[:, None]  # (1797, 1, 8, 8)
        if self.size != 8:
            x = np.clip(resize_bilinear(x, (self.size, self.size)), 0.0, 1.0)
        train_idx, test_idx = stratified_split(target, float(test_fraction), int(seed))
        idx = train_idx if train else test_idx
        self.train, self.test_fraction, self.seed = bool(train), float(test_fraction), int(seed)
        self.indices = idx
        self.data = np.ascontiguousarray(x[idx])
        self.targets = target[idx].astype(np.int64)
        self._set_transforms(transform, target_transform)


class Digits28(Digits):
    """:class:`Digits` resized to 28x28 (bilinear) for models built for MNIST's 784 inputs.

    Attributes:
        data: ``(N, 1, 28, 28)`` float32 in [0, 1].

    Example:
        >>> from nerve.data.datasets import Digits28
        >>> ds = Digits28(train=True)
        >>> ds.data.shape[1:], float(ds.data.min()) >= 0.0, float(ds.data.max()) <= 1.0
        ((1, 28, 28), True, True)
    """

    size = 28
