"""Label and split helpers on plain NumPy arrays: one-hot encoding, balanced class weights,
train/test splitting and making a dataset imbalanced on purpose."""
from __future__ import annotations

import numpy as np


def _int_labels(labels, what):
    y = np.asarray(labels.data if hasattr(labels, "requires_grad") else labels)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"{what} needs integer class labels, got dtype {y.dtype}")
    return y.astype(np.int64, copy=False)


def one_hot(labels, num_classes=None, dtype=np.float32):
    """Encode integer labels as one-hot rows.

    Args:
        labels: integer array of any shape ``S`` with values in ``[0, num_classes)``.
        num_classes: number of classes; default ``labels.max() + 1``.
        dtype: output dtype (float32 by default; ``torch.nn.functional.one_hot`` gives int64).

    Returns:
        array of shape ``S + (num_classes,)``; every row sums to 1 and ``argmax`` inverts it.

    Example:
        >>> one_hot([1, 0, 2]).tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    y = _int_labels(labels, "one_hot")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(y.max()) + 1
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        raise ValueError(f"one_hot: label {bad} is outside [0, {num_classes}); check num_classes")
    out = np.zeros(y.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def class_weights(labels, num_classes=None):
    """Per-class weights that balance a skewed label distribution.

    ``w[c] = N / (K * count[c])``: a class seen half as often weighs twice as much, and the
    weighted count of every class equals ``N / K``. Same as scikit-learn's
    ``compute_class_weight('balanced', ...)`` for labels ``0..K-1``.

    Args:
        labels: integer labels ``(N,)`` in ``[0, num_classes)``.
        num_classes: ``K``; default ``labels.max() + 1``. Every class must occur.

    Returns:
        float64 array ``(K,)``, e.g. for a weighted cross-entropy or a WeightedRandomSampler
        (``weights=class_weights(y)[y]``).

    Example:
        >>> class_weights([0, 0, 0, 1]).tolist()
        [0.6666666666666666, 2.0]
    """
    y = _int_labels(labels, "class_weights").reshape(-1)
    if y.size == 0:
        raise ValueError("class_weights: labels are empty")
    if y.min() < 0:
        raise ValueError(f"class_weights: labels must be >= 0, got {int(y.min())}")
    k = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.max() >= k:
        raise ValueError(f"class_weights: label {int(y.max())} is outside [0, {k}); check num_classes")
    counts = np.bincount(y, minlength=k)
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        raise ValueError(f"class_weights: classes {missing.tolist()} never occur in the labels, so "
                         "their balanced weight is undefined; pass the right num_classes or drop them")
    return y.size / (k * counts.astype(np.float64))


def train_test_split(*arrays, test_size=None, train_size=None, seed=None, shuffle=True, stratify=None):
    """Split arrays into random train and test parts, row-aligned (scikit-learn's function).

    Args:
        *arrays: NumPy arrays or Tensors with the same first dimension ``N``.
        test_size: a fraction in (0, 1) (test gets ``ceil(test_size * N)``) or a count;
            default 0.25 (or the complement of ``train_size``).
        train_size: a fraction (``floor(train_size * N)``) or a count; default the rest.
        seed: seeds the shuffle (the same seed gives the same split); ``None`` draws the
            seed from nerve's global generator.
        shuffle: ``False`` keeps the order (the test part is the tail).
        stratify: labels ``(N,)``; the test part then keeps each class's share (each class
            gives ``round(share)`` of its samples, remainders settled to hit ``n_test``).

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``, NumPy arrays.

    Example:
        >>> import numpy as np
        >>> X_tr, X_te, y_tr, y_te = train_test_split(np.arange(10).reshape(5, 2), np.arange(5), seed=0)
        >>> X_tr.shape, X_te.shape, sorted(np.concatenate([y_tr, y_te]).tolist())
        ((3, 2), (2, 2), [0, 1, 2, 3, 4])
    """
    import math  # noqa: PLC0415

    from .dataset import _resolve_generator  # noqa: PLC0415

    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrs = [np.asarray(a.data if hasattr(a, "requires_grad") else a) for a in arrays]
    n = len(arrs[0])
    if any(len(a) != n for a in arrs):
        raise ValueError(f"train_test_split: arrays have different lengths {[len(a) for a in arrs]}")

    def count(size, rounding):
        if size is None:
            return None
        if isinstance(size, float):
            if not 0.0 < size < 1.0:
                raise ValueError(f"a fractional size must be in (0, 1), got {size}")
            return rounding(size * n)
        if not 0 < int(size) < n:
            raise ValueError(f"a size given as a count must be in [1, {n - 1}], got {size}")
        return int(size)

    n_test, n_train = count(test_size, math.ceil), count(train_size, math.floor)
    if n_test is None and n_train is None:
        n_test = math.ceil(0.25 * n)
    n_test = n - n_train if n_test is None else n_test
    n_train = n - n_test if n_train is None else n_train
    if n_train + n_test > n or n_train <= 0 or n_test <= 0:
        raise ValueError(f"train_test_split: {n_train} train + {n_test} test samples do not fit in {n}; "
                         "lower test_size or train_size")
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratify needs shuffle=True")
        train_idx, test_idx = np.arange(n_train), np.arange(n - n_test, n)
    else:
        rng = _resolve_generator(None, seed)
        if stratify is None:
            perm = rng.permutation(n)
            test_idx, train_idx = perm[:n_test], perm[n_test:n_test + n_train]
        else:
            y = np.asarray(stratify.data if hasattr(stratify, "requires_grad") else stratify)
            if y.ndim == 0 or len(y) != n:  # shorter labels would leave the rows past them out
                raise ValueError(f"train_test_split: stratify has {y.size if y.ndim == 0 else len(y)} "
                                 f"labels for {n} samples; give one label per row")
            classes, y_idx = np.unique(y, return_inverse=True)
            counts = np.bincount(y_idx)
            want = counts * (n_test / n)
            take = np.floor(want).astype(np.int64)
            # hand out the remaining test slots to the classes with the largest remainders
            order = np.argsort(-(want - take), kind="stable")
            take[order[: n_test - take.sum()]] += 1
            test_parts, train_parts = [], []
            for c in range(len(classes)):
                members = rng.permutation(np.flatnonzero(y_idx == c))
                test_parts.append(members[: take[c]])
                train_parts.append(members[take[c]:])
            test_idx = rng.permutation(np.concatenate(test_parts))
            train_idx = rng.permutation(np.concatenate(train_parts))[:n_train]
    out = []
    for a in arrs:
        out += [a[train_idx], a[test_idx]]
    return out


def _dataset_labels(dataset) -> np.ndarray:
    for attr in ("targets", "labels"):
        if hasattr(dataset, attr):
            return np.asarray(getattr(dataset, attr))
    if hasattr(dataset, "dataset") and hasattr(dataset, "indices"):  # Subset
        return _dataset_labels(dataset.dataset)[np.asarray(dataset.indices)]
    if hasattr(dataset, "arrays") and len(dataset.arrays) > 1:  # TensorDataset(x, y)
        return np.asarray(dataset.arrays[1])
    raise TypeError(f"cannot find the labels of a {type(dataset).__name__}: give it a .targets array "
                    "(or use TensorDataset(x, y))")


def make_imbalanced(dataset, ratios, seed=0):
    """Keep only a fraction of each class: a seeded, reproducible imbalanced :class:`Subset`.

    Args:
        dataset: a dataset with labels (``.targets``, or ``TensorDataset(x, y)``).
        ratios: ``{class: fraction kept}`` (classes not listed keep everything), or a
            sequence with one fraction per class.
        seed: chooses which samples are kept.

    Example:
        >>> import numpy as np
        >>> from nerve.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((200, 2)), np.repeat([0, 1], 100))
        >>> sub = make_imbalanced(ds, {1: 0.1})
        >>> np.bincount(ds.arrays[1][sub.indices]).tolist()
        [100, 10]
    """
    from .dataset import Subset  # noqa: PLC0415

    y = _dataset_labels(dataset).reshape(len(dataset), -1)[:, 0] if len(dataset) else np.zeros(0)
    if isinstance(ratios, dict):
        known = set(np.unique(y).tolist())
        stray = [k for k in ratios if (k.item() if isinstance(k, np.generic) else k) not in known]
        if stray:  # a key such as "1" for the class 1 would silently keep every sample
            raise ValueError(f"make_imbalanced: ratios name {stray[0]!r}, which is not a class of the "
                             f"labels (classes: {sorted(known)})")
        ratios = {(k.item() if isinstance(k, np.generic) else k): v for k, v in ratios.items()}
    else:
        ratios = dict(enumerate(ratios))
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        r = float(ratios.get(c.item(), 1.0))
        if not 0.0 <= r <= 1.0:
            raise ValueError(f"make_imbalanced: the fraction for class {c.item()} must be in [0, 1], got {r}")
        k = int(round(r * len(members)))
        keep.append(np.sort(rng.permutation(members)[:k]))
    return Subset(dataset, np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64))
