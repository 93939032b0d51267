"""``torch.utils.data``'s names, as the very objects of :mod:`nerve.data` (aliases, not copies).

    >>> import numpy as np
    >>> import nerve as nv
    >>> from nerve.utils.data import DataLoader, TensorDataset, random_split
    >>> DataLoader is nv.data.DataLoader
    True
    >>> ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
    >>> train, val = random_split(ds, [0.6, 0.4], generator=nv.Generator().manual_seed(0))
    >>> [len(train), len(val)]
    [3, 2]
    >>> [tuple(x.shape) for x, y in DataLoader(train, batch_size=2)]
    [(2, 2), (1, 2)]
"""
from ..data.dataloader import DataLoader, default_collate, default_convert
from ..data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                            TensorDataset, random_split)
from ..data.sampler import (BatchSampler, DistributedSampler, RandomSampler, Sampler,
                            SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset", "Subset",
           "random_split", "DataLoader", "default_collate", "default_convert", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler"]
