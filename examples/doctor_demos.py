"""The training doctor on runs that go wrong on purpose, and on one that goes right.

Each function sets up one situation, lets ``TrainingDoctor`` watch it and returns the
numbers and the doctor, so the tests in ``tests/train/test_doctor.py`` can check them:

* ``gradient_flow``: a 20-layer, width-64 network at initialization. With sigmoid and
  Xavier init the first layer's gradient is about 1e-13 times the last one's (each sigmoid
  layer multiplies the backward signal by at most σ′ ≤ 0.25); with ReLU and He init the
  ratio stays near 1.
* ``relu_zero_fraction``: how often ReLU outputs 0 depends on where its inputs sit: half
  of the time for N(0, 1), but only Φ(−1) ≈ 15.9 % for N(1, 1).
* ``overfitting``: a large network on 200 digit images memorizes them.
* ``diverging``: SGD with learning rate 10.
* ``underfitting``: a learning rate so small that the loss never leaves ln(10).
* ``dead_relu``: a hidden layer whose biases start at −10.
* ``nonfinite``: a layer that takes the log of negative numbers.
* ``healthy``: the 784-16-16-10 seed network with Adam for 3 epochs: no findings.

    python examples/doctor_demos.py
"""
from __future__ import annotations

import functools
import math

import numpy as np

import nerve as nv
from nerve import models, nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.diagnostics import activation_stats, find_nonfinite, gradient_norms
from nerve.train import Trainer
from nerve.train.doctor import TrainingDoctor


# ------------------------------------------------------------------------------ data
@functools.lru_cache(maxsize=1)
def _training_images():
    from nerve.data.datasets import MNIST, DatasetFileError, Digits28

    try:
        ds = MNIST(train=True)
    except (DatasetFileError, OSError):
        ds = Digits28(train=True)
    return ds.data, np.asarray(ds.targets)


def load_digits(n_train, n_val, seed=0):
    """``n_train`` and ``n_val`` MNIST images (Digits28 without the MNIST files), standardized
    with the training part's mean and std, as float32 (N, 1, 28, 28) arrays and int64 labels."""
    x, y = _training_images()
    if n_train + n_val > len(y):
        raise ValueError(f"asked for {n_train} + {n_val} images but the data set has {len(y)}")
    order = np.random.default_rng(seed).permutation(len(y))
    tr, va = order[:n_train], order[n_train:n_train + n_val]
    mean, std = x[tr].mean(), x[tr].std()
    return (((x[tr] - mean) / std).astype(np.float32), y[tr].astype(np.int64),
            ((x[va] - mean) / std).astype(np.float32), y[va].astype(np.int64))


def _fit(model, optimizer, data, epochs, batch_size=64, doctor=None, seed=0):
    x_tr, y_tr, x_va, y_va = data
    doctor = doctor or TrainingDoctor()
    train = DataLoader(TensorDataset(x_tr, y_tr), batch_size=batch_size, shuffle=True, seed=seed)
    val = DataLoader(TensorDataset(x_va, y_va), batch_size=1000) if x_va is not None else None
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), callbacks=[doctor])
    try:
        trainer.fit(train, epochs=epochs, val_loader=val)
    except FloatingPointError:
        pass  # the loop stops at a NaN/Inf loss; the doctor's findings say where it came from
    return trainer, doctor


# ------------------------------------------------------------------- 1. gradient flow
def deep_mlp(activation, depth=20, width=64, seed=0):
    """``depth`` bias-free Linear(width→width) layers with ``activation`` between them,
    initialized for that activation: Xavier (normal) for sigmoid/tanh, He (normal) for ReLU."""
    nv.manual_seed(seed)
    net = models.mlp([width] * (depth + 1), activation=activation, bias=False)
    for m in net.modules():
        if isinstance(m, nn.Linear):
            if activation == "relu":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(m.weight)
    return net


def gradient_flow(activation="sigmoid", seed=0, depth=20, width=64, batch=128):
    """First-to-last gradient-norm ratio of ``deep_mlp`` at initialization, and the doctor.

    The loss is the MSE against random targets on a batch of N(0, 1) inputs. Returns
    ``(ratio, doctor)``; ``doctor.kinds`` lists what the checkup found.
    """
    net = deep_mlp(activation, depth, width, seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, width)).astype(np.float32)
    target = rng.normal(size=(batch, width)).astype(np.float32)
    doctor = TrainingDoctor()
    doctor.checkup(net, x, target, nn.MSELoss())
    # the same number straight from the pure function
    nn.MSELoss()(net(nv.tensor(x)), nv.tensor(target)).backward()
    ratio = gradient_norms(net).ratio
    net.zero_grad()
    return ratio, doctor


# --------------------------------------------------------------- 2. ReLU zero fraction
def relu_zero_fraction(shift=0.0, n=200_000, seed=0):
    """Share of ReLU outputs that are 0 for inputs drawn from N(shift, 1): Φ(−shift)."""
    x = np.random.default_rng(seed).normal(loc=shift, size=(n, 1)).astype(np.float32)
    return activation_stats(nn.ReLU(), x)[""].sparsity


# ----------------------------------------------------------------------- 3. overfitting
def overfitting(n_train=200, n_val=500, epochs=12, width=256, seed=0):
    """A 784-256-256-10 ReLU network (270k parameters) trained with Adam on ``n_train`` images."""
    nv.manual_seed(seed)
    data = load_digits(n_train, n_val, seed)
    model = nn.Sequential(nn.Flatten(), models.mlp([784, width, width, 10]))
    return _fit(model, optim.Adam(model.parameters(), lr=1e-3), data, epochs, batch_size=32, seed=seed)[1]


# ------------------------------------------------------------------------ 4. diverging
def diverging(lr=10.0, n_train=2000, epochs=3, every=10, seed=0):
    """The seed network with plain SGD at learning rate ``lr``.

    The first few steps blow the loss up to ~1e7; after that most ReLUs are dead and the
    loss sits near ln(10). ``every=1`` lets the doctor see the gradient spike as well.
    """
    nv.manual_seed(seed)
    data = load_digits(n_train, 500, seed)
    model = models.get_model("seed-mlp")
    return _fit(model, optim.SGD(model.parameters(), lr=lr), data, epochs, seed=seed,
                doctor=TrainingDoctor(every=every))[1]


# ---------------------------------------------------------------------- 5. underfitting
def underfitting(lr=1e-5, n_train=2000, epochs=4, seed=0):
    """The seed network with SGD at a learning rate far too small to move the loss."""
    nv.manual_seed(seed)
    data = load_digits(n_train, 500, seed)
    model = models.get_model("seed-mlp")
    return _fit(model, optim.SGD(model.parameters(), lr=lr), data, epochs, seed=seed)[1]


# ------------------------------------------------------------------------ 6. dead ReLU
def dead_relu(bias=-10.0, n_train=1000, epochs=1, seed=0):
    """The seed network whose first hidden layer starts with every bias at ``bias``.

    With standardized inputs the pre-activations sit far below 0, so the 16 ReLU units of
    that layer output 0 for every image and their weights get no gradient.
    """
    nv.manual_seed(seed)
    data = load_digits(n_train, 300, seed)
    model = models.get_model("seed-mlp")
    nn.init.constant_(model[1].bias, bias)
    return _fit(model, optim.SGD(model.parameters(), lr=0.05), data, epochs, seed=seed)[1]


# ------------------------------------------------------------------------- 7. NaN / Inf
class Log(nn.Module):
    """log(x): NaN for negative inputs, -inf at 0 (a stand-in for a careless custom layer)."""

    def forward(self, x):
        return x.log()


def nonfinite(seed=0):
    """Where does the NaN come from in Linear → Log → Linear? Returns the ``NonFinite`` report."""
    nv.manual_seed(seed)
    net = nn.Sequential(nn.Linear(8, 8), Log(), nn.Linear(8, 2))
    x = np.random.default_rng(seed).normal(size=(16, 8)).astype(np.float32)
    return find_nonfinite(net, x)


# --------------------------------------------------------------------------- 8. healthy
def healthy(n_train=4000, n_val=1000, epochs=3, seed=0):
    """The 784-16-16-10 seed network with Adam (lr 3e-3) on a few thousand digits."""
    nv.manual_seed(seed)
    data = load_digits(n_train, n_val, seed)
    model = models.get_model("seed-mlp")
    return _fit(model, optim.Adam(model.parameters(), lr=3e-3), data, epochs, seed=seed)[1]


def main():
    for act in ("sigmoid", "relu"):
        ratios = [gradient_flow(act, seed=s)[0] for s in range(3)]
        kinds = gradient_flow(act)[1].kinds
        print(f"20 layers, {act:7s}: first/last gradient ratio "
              + ", ".join(f"{r:.3g}" for r in ratios) + f" (seeds 0-2); doctor: {kinds or 'nothing'}")
    print(f"ReLU zero fraction: N(0,1) {relu_zero_fraction(0.0):.4f}, N(1,1) {relu_zero_fraction(1.0):.4f} "
          f"(Φ(−1) = {0.5 * math.erfc(1 / math.sqrt(2)):.4f})")
    print(f"non-finite: {nonfinite().describe()}")
    for name, demo in (("overfitting", overfitting), ("diverging (lr 10)", diverging),
                       ("underfitting (lr 1e-5)", underfitting), ("dead ReLU (bias -10)", dead_relu),
                       ("healthy", healthy)):
        print(f"\n== {name}\n{demo().report()}")


if __name__ == "__main__":
    main()
