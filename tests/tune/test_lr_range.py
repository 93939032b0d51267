"""The LR range test: loss against a growing lr, a suggestion below the divergence point."""
import os

import numpy as np
import pytest

import nerve as nv
from nerve import data, nn, optim, tune


def _plot_dirs(tmp_path):
    """Where a test draws: its tmp folder, and $NERVE_TUNE_PLOTS too when set (to look at them)."""
    extra = os.environ.get("NERVE_TUNE_PLOTS")
    return [tmp_path] + ([extra] if extra else [])


class Quadratic(nn.Module):
    """f(x, y) = ½(x² + 100y²) from (1, 1): GD is stable for lr < 2/L = 0.02 (spec row 26)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(nv.tensor([1.0, 1.0], dtype=nv.float64))

    def loss(self):
        return 0.5 * (self.w[0] ** 2 + 100 * self.w[1] ** 2)


def test_quadratic_suggestion_lies_below_the_divergence_bound(tmp_path):
    model = Quadratic()
    opt = optim.SGD(model.parameters(), lr=1e-3)
    r = tune.lr_range_test(model, opt, lambda m: m.loss(), None, start_lr=1e-4, end_lr=1.0, num_steps=200)
    # the loss blows up only once lr has passed 2/L = 0.02 (a few steps later: y is tiny by
    # then, and an unstable step multiplies it by |1 - 100 lr| only) ...
    assert r.diverged_lr is not None and 0.02 < r.diverged_lr < 0.5
    # ... and the suggestion is a stable lr, below that bound
    assert 1e-4 < r.suggested_lr < 0.02
    # the test is a probe: the weights and the optimizer are put back
    assert model.w.tolist() == [1.0, 1.0] and opt.param_groups[0]["lr"] == 1e-3
    assert r.lrs[0] == pytest.approx(1e-4) and np.all(np.diff(r.lrs) > 0)
    pytest.importorskip("matplotlib")
    for folder in _plot_dirs(tmp_path):
        out = nv.viz.plot_lr_range(r, f"{folder}/lr_range_quadratic.png", title="LR range test on ½(x² + 100y²)")
        assert out.read_bytes()[:4] == b"\x89PNG"


def test_classifier_on_digits_with_a_loader(tmp_path):
    pytest.importorskip("sklearn")
    ds = data.Digits(train=True)
    x = ds.data.reshape(len(ds.data), -1).astype(np.float32)
    loader = data.DataLoader(data.TensorDataset(x, ds.targets), batch_size=64, shuffle=True, seed=0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    opt = optim.Adam(model.parameters(), lr=0.1)
    # a dead ReLU net sits at a finite loss (log 10 ≈ 2.3), so call 3× the best a blow-up
    r = tune.lr_range_test(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-4, end_lr=10.0,
                           num_steps=150, diverge_factor=3.0)
    assert r.diverged_lr is not None and 1e-3 < r.suggested_lr < r.diverged_lr / 10
    assert min(r.smoothed[:-1]) < 0.4 * r.smoothed[0]  # the loss did fall before it blew up
    assert all(np.array_equal(before[k], v.numpy()) for k, v in model.state_dict().items())
    pytest.importorskip("matplotlib")
    nv.viz.plot_lr_range(r, tmp_path / "lr_range_digits.png", title="LR range test, MLP on digits")


def test_bad_arguments():
    model = Quadratic()
    opt = optim.SGD(model.parameters(), lr=1e-3)
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        tune.lr_range_test(model, opt, lambda m: m.loss(), None, start_lr=1.0, end_lr=0.1)
    with pytest.raises(ValueError, match="num_steps"):
        tune.lr_range_test(model, opt, lambda m: m.loss(), None, num_steps=1)
