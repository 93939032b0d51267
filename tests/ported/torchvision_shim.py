"""A stand-in for ``torchvision`` under the real-PyTorch run (torchvision is not installed here).

Only what the ported programs use:

* ``datasets`` is nerve.vision.datasets: its items are ``(PIL image, int)``, plain Pillow
  objects that belong to no framework, so both runs see the same pixels;
* ``transforms`` (Compose, ToTensor, Normalize) and ``utils`` (make_grid, save_image) are
  written here directly in PyTorch, from torchvision's documented behaviour, so nerve's own
  versions are checked against an independent implementation rather than against themselves.
"""
import math
import sys
import types

import numpy as np
import torch

from nerve.vision import datasets


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class ToTensor:
    """PIL image (H, W) or (H, W, C) of uint8 -> float32 tensor (C, H, W) in [0, 1]."""

    def __call__(self, img):
        a = np.array(img)  # a writable copy
        if a.ndim == 2:
            a = a[:, :, None]
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).to(torch.float32).div(255)


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, x):
        return (x - self.mean) / self.std


transforms = types.ModuleType("torchvision.transforms")
transforms.Compose, transforms.ToTensor, transforms.Normalize = Compose, ToTensor, Normalize


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0):
    """Images (B, C, H, W) tiled row by row, ``nrow`` per row, ``padding`` pixels apart, in a
    (3 or C, rows, cols) image; one-channel images become three; ``normalize`` maps the batch's
    [min, max] (or ``value_range``) to [0, 1]."""
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    if tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize:
        tensor = tensor.clone()

        def norm(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        if scale_each:
            for t in tensor:
                norm(t, *(value_range or (float(t.min()), float(t.max()))))
        else:
            norm(tensor, *(value_range or (float(tensor.min()), float(tensor.max()))))
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(nmaps / xmaps))
    height, width = tensor.size(2) + padding, tensor.size(3) + padding
    grid = tensor.new_full((tensor.size(1), height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = tensor[k]
            k += 1
    return grid


def save_image(tensor, fp, **kwargs):
    """make_grid(tensor, **kwargs) written as an 8-bit PNG (values x 255, rounded, clipped)."""
    from PIL import Image  # noqa: PLC0415

    grid = make_grid(tensor, **kwargs)
    ndarr = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()
    Image.fromarray(ndarr).save(fp)


utils = types.ModuleType("torchvision.utils")
utils.make_grid, utils.save_image = make_grid, save_image


def modules():
    """The ``sys.modules`` entries that make ``import torchvision`` find this shim."""
    root = types.ModuleType("torchvision")
    root.datasets, root.transforms, root.utils = datasets, transforms, utils
    return {"torchvision": root, "torchvision.datasets": datasets, "torchvision.transforms": transforms,
            "torchvision.utils": utils}


if __name__ == "__main__":
    sys.exit("import this module; it is not a program")
