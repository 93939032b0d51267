"""Small models and data shared by the training-loop tests (each test runs in well under a second)."""
import numpy as np


def get_loss():
    from nerve import nn

    return nn.CrossEntropyLoss()


def blobs(n=240, features=6, classes=3, seed=0):
    """Three Gaussian clusters: learnable to ~100 % in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    centers = rng.normal(scale=3.0, size=(classes, features))
    X = (centers[y] + rng.normal(size=(n, features))).astype(np.float32)
    return X, y.astype(np.int64)


def loader(X, y, batch_size=16, shuffle=True, **kw):
    from nerve.data import DataLoader, TensorDataset

    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, **kw)


def mlp(features=6, hidden=16, classes=3):
    from nerve import nn

    return nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, classes))
