"""Random pixel shifts of in-memory images: cheap augmentation that lifts the small MLP's test accuracy.

Moving each training image by up to one pixel in each direction (a fresh draw every time it
is served) shows the network the small offsets handwriting has, and narrows the gap
between training and test accuracy of the 784-16-16-10 network.

The shifting itself is :class:`nerve.data.augment.RandomShift` (one fancy-index per batch);
this module only binds it to in-memory training arrays (``nerve train`` uses it).
"""
from __future__ import annotations

import numpy as np

from .augment import RandomShift
from .dataset import ArrayDataset


class RandomShiftDataset(ArrayDataset):
    """Images ``(N, C, H, W)`` and labels, each image moved by a random whole-pixel offset.

    Offsets ``(dx, dy)`` are drawn uniformly from ``[-max_shift, max_shift]²`` per image,
    afresh each time a batch is served; uncovered pixels take ``fill`` (the background
    value, after normalization). Batches come from ``get_batch``, so the DataLoader fetches
    them with one fancy-index and shifts the whole batch at once.

    Args:
        images: ``(N, C, H, W)`` array.
        labels: ``(N,)`` array.
        max_shift: the largest offset in pixels (>= 1).
        fill: the value of pixels shifted in from outside.
        seed: seed of the generator drawing the offsets.
    """

    def __init__(self, images, labels, max_shift=1, fill=0.0, seed=0):
        images = np.asarray(getattr(images, "_data", images))
        labels = np.asarray(getattr(labels, "_data", labels))
        if images.ndim != 4:
            raise ValueError(f"RandomShiftDataset expects images of shape (N, C, H, W), got {images.shape}")
        if labels.ndim == 0 or len(labels) != len(images):
            # the length comes from the labels: extra images would be dropped without a word
            raise ValueError(f"RandomShiftDataset: {len(images)} images but labels of shape {labels.shape}; "
                             "give one label per image")
        if not 1 <= max_shift < min(images.shape[2:]):
            raise ValueError(f"max_shift must be between 1 and the image size - 1, got {max_shift}")
        self.data, self.targets = images, labels
        self.max_shift = int(max_shift)
        self.transform = RandomShift(self.max_shift, fill=np.asarray(fill, dtype=images.dtype).item(),
                                     seed=seed)
