"""Class imbalance: a rare digit, and two ways to stop the network from ignoring it.

We keep the digits 0–4 of MNIST (or of the bundled Digits28 when the MNIST files are
missing) and throw away all but 2 % of one class, the *minority* class (digit 2 by
default). A network trained on that skewed set sees the minority class so rarely that
predicting it seldom pays, so its recall on a balanced test set collapses, while
accuracy over all samples still looks fine. Two standard remedies:

* **class weights**: ``CrossEntropyLoss(weight=w)`` with ``w[c] = N / (K · count[c])``
  (``data.utils.class_weights``), so every class contributes the same total weight to the
  loss;
* **re-sampling**: a ``WeightedRandomSampler`` draws each sample with probability
  ∝ ``w[its class]``, so batches are balanced on average (minority samples repeat).

The same Flatten → 784-16-16-K network (the seed's MLP with K = 5 outputs) is trained
the three ways with Adam, and the recall of every class (``metrics.recall`` with
``average=None``) is measured on the untouched, balanced test set.

    python examples/imbalance.py [--fraction 0.02] [--minority 2] [--epochs 5]
"""
from __future__ import annotations

import argparse

import numpy as np

import nerve as nv
from nerve import metrics, models, nn, optim
from nerve.data import DataLoader, TensorDataset, WeightedRandomSampler, class_weights, make_imbalanced
from nerve.train import Trainer

CLASSES = (0, 1, 2, 3, 4)


def load(classes=CLASSES, n_per_class=None, seed=0):
    """Train and test images of ``classes``, standardized with the training statistics.

    ``n_per_class`` caps how many training images each class keeps (for a quick run).
    Labels are renumbered 0..K-1 in the order of ``classes``. Returns
    ``(x_train, y_train, x_test, y_test, source)``.
    """
    from nerve.data.datasets import MNIST, DatasetFileError, Digits28

    try:
        train, test, source = MNIST(train=True), MNIST(train=False), "MNIST"
    except (DatasetFileError, OSError):
        train, test, source = Digits28(train=True), Digits28(train=False), "Digits28"
    rng = np.random.default_rng(seed)

    def pick(ds, cap):
        y = np.asarray(ds.targets)
        idx = []
        for c in classes:
            members = np.flatnonzero(y == c)
            idx.append(members if cap is None else rng.permutation(members)[:cap])
        idx = np.sort(np.concatenate(idx))
        relabel = np.full(10, -1, np.int64)
        relabel[list(classes)] = np.arange(len(classes))
        return ds.data[idx], relabel[y[idx]]

    x_tr, y_tr = pick(train, n_per_class)
    x_te, y_te = pick(test, None)
    mean, std = x_tr.mean(), x_tr.std()
    return (((x_tr - mean) / std).astype(np.float32), y_tr,
            ((x_te - mean) / std).astype(np.float32), y_te, source)


def imbalance(x, y, minority, fraction, seed=0):
    """Keep ``fraction`` of class ``minority`` (all of the others); returns arrays."""
    sub = make_imbalanced(TensorDataset(x, y), {minority: fraction}, seed=seed)
    idx = np.asarray(sub.indices)
    return x[idx], y[idx]


def train_one(method, x, y, num_classes, epochs, batch_size=64, lr=3e-3, seed=0):
    """Train a fresh Flatten → 784-16-16-K MLP with ``method`` in ('plain', 'weighted', 'sampler')."""
    nv.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), models.mlp([x[0].size, 16, 16, num_classes]))
    ds = TensorDataset(x, y)
    w = class_weights(y, num_classes).astype(np.float32)   # N / (K · count[c])
    if method == "plain":
        loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
        loss = nn.CrossEntropyLoss()
    elif method == "weighted":
        loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
        loss = nn.CrossEntropyLoss(weight=nv.tensor(w))
    elif method == "sampler":
        # one draw per training sample per epoch, with P(sample) ∝ w[its class]
        sampler = WeightedRandomSampler(w[y], num_samples=len(y), seed=seed)
        loader = DataLoader(ds, batch_size=batch_size, sampler=sampler)
        loss = nn.CrossEntropyLoss()
    else:
        raise ValueError(f"method must be 'plain', 'weighted' or 'sampler', got {method!r}")
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=lr), loss, metrics=())
    trainer.fit(loader, epochs=epochs)
    return trainer


def run(minority=2, fraction=0.02, epochs=5, n_per_class=None, seed=0, verbose=False):
    """Train the three ways and measure each class's recall on the balanced test set.

    Returns ``{"counts": training samples per class, "source": data set name,
    "minority": index of the minority class, method: {"recall": per-class recall array,
    "minority_recall": float, "accuracy": float}}``.
    """
    if minority not in CLASSES:
        raise ValueError(f"minority must be one of the kept digits {CLASSES}, got {minority}")
    x_tr, y_tr, x_te, y_te, source = load(CLASSES, n_per_class, seed)
    m = CLASSES.index(minority)
    x_tr, y_tr = imbalance(x_tr, y_tr, m, fraction, seed)
    k = len(CLASSES)
    result = {"counts": np.bincount(y_tr, minlength=k).tolist(), "source": source, "minority": m}
    if verbose:
        print(f"{source}, digits {CLASSES}: training samples per class {result['counts']} "
              f"(digit {minority} kept at {fraction:.0%}); test samples per class "
              f"{np.bincount(y_te, minlength=k).tolist()}")
        print("balanced class weights N / (K·count): "
              + " ".join(f"{w:.3g}" for w in class_weights(y_tr, k)))
    for method in ("plain", "weighted", "sampler"):
        trainer = train_one(method, x_tr, y_tr, k, epochs, seed=seed)
        pred = trainer.predict(x_te).argmax(1)
        rec = np.asarray(metrics.recall(y_te, pred, labels=list(range(k)), average=None))
        result[method] = {"recall": rec, "minority_recall": float(rec[m]),
                          "accuracy": float(np.mean(pred == y_te))}
        if verbose:
            print(f"{method:9s} minority (digit {minority}) recall {rec[m]:.3f}   per-class recall "
                  + " ".join(f"{r:.3f}" for r in rec) + f"   accuracy {result[method]['accuracy']:.3f}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minority", type=int, default=2, help="the digit kept at --fraction")
    parser.add_argument("--fraction", type=float, default=0.02)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--per-class", type=int, default=None,
                        help="cap on training images per class before imbalancing (quick runs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return run(args.minority, args.fraction, args.epochs, args.per_class, args.seed, verbose=True)


if __name__ == "__main__":
    main()
