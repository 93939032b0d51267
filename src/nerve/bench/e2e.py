"""E1: one full MNIST epoch of the ``nerve train`` configuration, data pipeline included.

nerve runs its own pipeline: the in-memory MNIST arrays, a shuffling DataLoader that takes
one fancy-index per batch, the 1-pixel random shift applied to whole batches, the seed
network with ELU hidden units, Adam at 6e-3 and the Trainer loop. PyTorch runs the same
work written the way PyTorch is usually written: a ``Dataset`` whose ``__getitem__``
shifts one image, ``torch.utils.data.DataLoader`` collating batches of 128, and the usual
zero_grad/backward/step loop. Same data, model, optimizer and augmentation; the ratio is
epochs per second.
"""
from __future__ import annotations

import numpy as np

MEAN, STD = 0.1307, 0.3081
BATCH, LR, VAL_FRACTION = 128, 6e-3, 0.05


def _mnist(limit=None):
    from nerve.data.datasets import MNIST  # noqa: PLC0415

    ds = MNIST(train=True)
    x = ((np.asarray(ds.data, dtype=np.float32) - MEAN) / STD).astype(np.float32)  # (N, 1, 28, 28)
    y = np.asarray(ds.targets, dtype=np.int64)
    order = np.random.default_rng(0).permutation(len(y))
    keep = order[int(round(VAL_FRACTION * len(y))):][:limit]
    return np.ascontiguousarray(x[keep]), y[keep]


def _nerve_epoch(x, y):
    import nerve as nv  # noqa: PLC0415
    from nerve import models, nn, optim  # noqa: PLC0415
    from nerve.data import ArrayDataset, DataLoader  # noqa: PLC0415
    from nerve.data.augment import RandomShift  # noqa: PLC0415
    from nerve.train import Trainer  # noqa: PLC0415

    class Shifted(ArrayDataset):
        def __init__(self):
            self.data, self.targets = x, y
            self._set_transforms(RandomShift(1, fill=-MEAN / STD, seed=0), None)

    nv.manual_seed(0)
    loader = DataLoader(Shifted(), batch_size=BATCH, shuffle=True, seed=0)
    model = models.get_model("seed-mlp", activation="elu")
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=LR), nn.CrossEntropyLoss(), metrics=())

    def epoch():
        trainer.fit(loader, 1)

    return epoch


def _torch_epoch(x, y):
    import torch  # noqa: PLC0415
    from torch.utils.data import DataLoader, Dataset  # noqa: PLC0415

    bg = -MEAN / STD

    class Shifted(Dataset):
        def __init__(self):
            self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            img = self.x[i]
            dx, dy = torch.randint(-1, 2, (2,)).tolist()
            out = torch.full_like(img, bg)
            H, W = img.shape[-2:]
            out[:, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
                img[:, max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
            return out, self.y[i]

    torch.manual_seed(0)
    loader = DataLoader(Shifted(), batch_size=BATCH, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.ELU(),
                                torch.nn.Linear(16, 16), torch.nn.ELU(), torch.nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return epoch


def mnist_epoch(limit=None):
    """The E1 builder; ``limit`` trains on only the first samples (the smoke test)."""
    cache = {}

    def prepare():
        if "data" not in cache:
            cache["data"] = _mnist(limit)
        return cache["data"]

    def build(fw):
        x, y = prepare()
        step = _nerve_epoch(x, y) if fw == "nerve" else _torch_epoch(x, y)
        n = len(y)
        # multiply-adds of the dense layers, forward and backward (first layer: no input grad)
        flops = n * (6 * (784 * 16 + 16 * 16 + 16 * 10) - 2 * 784 * 16)
        return step, {"samples": n, "flops": flops}

    build.prepare = prepare  # the dataset is shared input, made before the memory baseline
    return build
