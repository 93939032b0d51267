"""Capacity: underfitting at the linear floor, universal approximation, overfitting and its
remedies, the capacity sweep, and degradation of deep plain networks (spec rows 44, 51, 65,
A20, A34)."""
import os

import numpy as np
import pytest

import nerve as nv
from nerve import data, nn, optim, tune
from nerve.train import Trainer

FLOOR = 0.5 - 3 / np.pi ** 2  # the best straight line through sin on [-π, π] leaves this MSE


def _plot_dirs(tmp_path):
    """Where a test draws: its tmp folder, and $NERVE_TUNE_PLOTS too when set (to look at them)."""
    extra = os.environ.get("NERVE_TUNE_PLOTS")
    return [tmp_path] + ([extra] if extra else [])


def test_a_linear_model_sits_at_the_best_linear_fit_floor():
    x, y = tune.make_sine_data(2000, seed=0)
    xv, yv = tune.make_sine_data(2000, seed=1)
    h = tune.fit_regression(nn.Linear(1, 1).double(), x, y, xv, yv, epochs=300, lr=0.05)
    train, val = h["train_loss"][-1], h["val_loss"][-1]
    # measured: train 0.1992, val 0.1952 against the floor 0.1960
    print(f"linear on sin: train {train:.4f} val {val:.4f} floor {FLOOR:.4f}")
    assert abs(train / FLOOR - 1) < 0.05 and abs(val / FLOOR - 1) < 0.05
    assert abs(train - val) < 0.05 * FLOOR  # underfitting: no gap


def test_32_tanh_units_fit_sin_and_identity_units_equal_least_squares():
    x, y = tune.make_sine_data(200, seed=0)
    xv, yv = tune.make_sine_data(200, seed=1)
    net = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1)).double()
    h = tune.fit_regression(net, x, y, xv, yv, epochs=1500, lr=0.01)
    print(f"32 tanh: train {h['train_loss'][-1]:.2e} val {h['val_loss'][-1]:.2e}")
    assert h["train_loss"][-1] < 1e-3 and h["val_loss"][-1] < 1e-3  # measured 1.5e-5 / 1.6e-5
    # the same width without a non-linearity is a linear model: it cannot beat lstsq
    lin = nn.Sequential(nn.Linear(1, 32), nn.Identity(), nn.Linear(32, 1)).double()
    h = tune.fit_regression(lin, x, y, epochs=2000, lr=0.01)
    A = np.hstack([x, np.ones_like(x)])
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    best = float(np.mean((A @ coef - y) ** 2))
    print(f"identity: {h['train_loss'][-1]:.10f} lstsq {best:.10f}")
    assert abs(h["train_loss"][-1] - best) < 1e-6  # measured 5e-9
    assert best == pytest.approx(FLOOR, rel=0.05)


def _overfit(weight_decay=0.0, dropout=0.0, patience=None):
    x, y = tune.make_sine_data(30, noise=0.3, seed=0)
    xv, yv = tune.make_sine_data(200, noise=0.3, seed=100)
    nv.manual_seed(0)
    drop = [nn.Dropout(dropout)] if dropout else []
    net = nn.Sequential(nn.Linear(1, 128), nn.ReLU(), *drop, nn.Linear(128, 128), nn.ReLU(), *drop,
                        nn.Linear(128, 1)).double()
    h = tune.fit_regression(net, x, y, xv, yv, epochs=1500, lr=0.01, weight_decay=weight_decay,
                            patience=patience)
    return h


@pytest.mark.slow
def test_a_wide_net_overfits_30_points_and_each_regulariser_narrows_the_gap(tmp_path):
    h = _overfit()
    train, val = h["train_loss"][-1], h["val_loss"][-1]
    assert train < 0.1 * val  # measured 0.0129 vs 0.1728
    gap = val - train
    print(f"overfit: train {train:.4f} val {val:.4f} gap {gap:.4f}")
    for kwargs in ({"weight_decay": 1e-2}, {"dropout": 0.3}, {"patience": 50}):
        r = _overfit(**kwargs)
        print(f"  {kwargs}: train {r['train_loss'][-1]:.4f} val {r['val_loss'][-1]:.4f} "
              f"gap {r['val_loss'][-1] - r['train_loss'][-1]:.4f}")
        assert r["val_loss"][-1] - r["train_loss"][-1] < 0.8 * gap, kwargs
        assert r["val_loss"][-1] < val, kwargs  # and generalises better
    pytest.importorskip("matplotlib")
    nv.viz.plot_history({"loss": h["train_loss"], "val_loss": h["val_loss"]},
                                tmp_path / "overfit.png", title="30 noisy points, 2×128 ReLU")


def test_capacity_sweep_training_loss_does_not_rise_with_width(tmp_path):
    x, y = tune.make_sine_data(60, noise=0.1, seed=0)
    xv, yv = tune.make_sine_data(200, noise=0.1, seed=1)
    widths = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    r = tune.capacity_sweep(widths, x, y, xv, yv, epochs=400, lr=0.01, seed=0)
    assert r.widths == widths and set(r.curves) == set(widths)
    t = r.train_loss
    assert all(t[i] <= 1.05 * min(t[:i]) + 1e-3 for i in range(1, len(t)))  # within noise
    assert t[-1] < 0.1 * t[0]  # width 1 underfits (measured 0.216 → 0.0084)
    assert "width" in r.table()
    print(r.table())
    pytest.importorskip("matplotlib")
    for folder in _plot_dirs(tmp_path):
        out = nv.viz.plot_capacity(r, f"{folder}/capacity_sweep.png",
                                   title="sin(x) + noise, 60 points: width 1 → 256")
        assert out.read_bytes()[:4] == b"\x89PNG"


class _Block(nn.Module):
    """conv 3×3 → batch norm → ReLU, with the input added before the ReLU when residual."""

    def __init__(self, channels, residual):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.residual = residual

    def forward(self, x):
        h = self.bn(self.conv(x))
        return nv.functional.relu(h + x if self.residual else h)


def _deep_cnn(residual, depth=18, channels=8):
    # stem + 18 blocks + classifier = 20 weighted layers
    return nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                         *[_Block(channels, residual) for _ in range(depth)],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))


@pytest.mark.slow
def test_degradation_a_deep_plain_cnn_trains_worse_than_its_residual_twin():
    pytest.importorskip("sklearn")
    ds = data.Digits(train=True)
    x, y = ds.data[:480], ds.targets[:480]
    final, first_grad = {}, {}
    for residual in (False, True):
        nv.manual_seed(0)
        model = _deep_cnn(residual)
        trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9), nn.CrossEntropyLoss(),
                          metrics=())
        h = trainer.fit(data.DataLoader(data.TensorDataset(x, y), batch_size=32, shuffle=True, seed=0), 3)
        final[residual] = h["loss"][-1]
        model.zero_grad()
        nv.functional.cross_entropy(model(nv.tensor(x[:200])), nv.tensor(y[:200])).backward()
        first_grad[residual] = (float(np.linalg.norm(model[0].weight.grad.numpy())),
                                float(np.linalg.norm(model[-1].weight.grad.numpy())))
    print(f"degradation: final training loss plain {final[False]:.3f}, residual {final[True]:.3f}; "
          f"plain first/last layer gradient norms {first_grad[False][0]:.3f}/{first_grad[False][1]:.3f}")
    # measured: on the first 480 digits plain 1.81-1.83, residual 1.00-1.23
    assert final[False] > final[True] + 0.3
    # the plain net's first layer still gets a gradient of the same order as its last one
    # (0.10 against 0.26): it is hard to optimise, not starved of gradient
    g_first, g_last = first_grad[False]
    assert g_first > 0.1 * g_last
