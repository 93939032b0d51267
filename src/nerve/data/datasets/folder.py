"""``ImageFolder``: an image classification dataset read from one sub-folder per class.

::

    root/cat/001.png
    root/cat/002.png
    root/dog/xyz.jpg

Classes are the sub-folder names in sorted order (``class_to_idx``); samples are every file
with an image extension, walked in sorted order, as torchvision's ``ImageFolder`` lists
them. Nothing is downloaded. Reading images needs Pillow (``pip install pillow``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..dataset import Dataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

# Per-channel RGB statistics of the ImageNet (ILSVRC-2012) training set, the values
# every ImageNet-pretrained model expects its input normalized with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pil_loader(path):
    """Open an image file as an RGB ``PIL.Image``."""
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError:
        raise ImportError("reading image files needs Pillow: pip install pillow") from None
    with open(path, "rb") as f:
        try:
            img = Image.open(f)
            return img.convert("RGB")
        except OSError as e:
            # Pillow's "image file is truncated" does not say which file; name it and the fix
            raise type(e)(f"{os.fspath(path)}: cannot be read as an image ({e}); the file is damaged "
                          "or not an image: replace or remove it") from e


def find_classes(directory):
    """``(classes, class_to_idx)``: the sorted sub-folder names of ``directory`` and their indices."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"ImageFolder root {directory} is not a directory")
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise FileNotFoundError(f"ImageFolder found no class sub-folders in {directory}; expected "
                                "root/<class name>/<image files>")
    return classes, {c: i for i, c in enumerate(classes)}


class ImageFolder(Dataset):
    """Images in ``root/<class>/...`` with the class index as label.

    Args:
        root: the directory holding one sub-folder per class.
        transform: applied to each image. It receives the ``PIL.Image`` (so torchvision-style
            pipelines such as ``Compose([Resize(256), CenterCrop(224), ToTensor(),
            Normalize(IMAGENET_MEAN, IMAGENET_STD)])`` work); without a transform an item's
            image is an ``(H, W, 3)`` uint8 array.
        target_transform: applied to the class index.
        extensions: accepted file suffixes (case-insensitive).
        loader: path -> image (default: Pillow, converted to RGB).

    Attributes:
        classes: the class (sub-folder) names, sorted.
        class_to_idx: class name -> class index.
        samples: ``[(path, class_index), ...]``, one per image file.
        targets: the class index of each sample.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for c in ("dog", "cat"):
        ...     (root / c).mkdir()
        ...     Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(root / c / "a.png")
        >>> ds = ImageFolder(root)
        >>> ds.class_to_idx, len(ds), ds[0][0].shape, ds[0][1]
        ({'cat': 0, 'dog': 1}, 2, (4, 5, 3), 0)
    """

    def __init__(self, root, transform=None, target_transform=None, extensions=IMG_EXTENSIONS,
                 loader=pil_loader):
        self.root = Path(root)
        self.classes, self.class_to_idx = find_classes(self.root)
        exts = tuple(e.lower() for e in extensions)
        samples = []
        for cls in self.classes:
            for dirpath, _, fnames in sorted(os.walk(self.root / cls, followlinks=True)):
                for fname in sorted(fnames):
                    if fname.lower().endswith(exts):
                        samples.append((os.path.join(dirpath, fname), self.class_to_idx[cls]))
        if not samples:
            raise FileNotFoundError(f"ImageFolder found no files with extensions {exts} under {self.root}")
        self.samples = samples
        self.targets = np.array([t for _, t in samples], dtype=np.int64)
        self.transform, self.target_transform, self.loader = transform, target_transform, loader

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        img = self.loader(path)
        img = self.transform(img) if self.transform is not None else np.asarray(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
