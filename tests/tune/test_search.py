"""nerve.tune.grid_search / random_search: order, best trial, table, bit-for-bit reproducibility."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim, tune


def _tiny_training(config):
    """A real (small) training run whose result depends on the global seed and the config."""
    rng = np.random.default_rng(123)
    x = rng.normal(size=(64, 3))
    y = (x @ np.array([[1.0], [-2.0], [0.5]])) + 0.1 * rng.normal(size=(64, 1))
    model = nn.Sequential(nn.Linear(3, config["hidden"]), nn.Tanh(), nn.Linear(config["hidden"], 1)).double()
    h = tune.fit_regression(model, x[:48], y[:48], x[48:], y[48:], epochs=30, lr=config["lr"])
    return {"train_loss": h["train_loss"][-1], "val_loss": h["val_loss"][-1]}


def test_grid_order_matches_sklearn_parameter_grid():
    sk = pytest.importorskip("sklearn.model_selection")
    grid = {"lr": [1e-3, 1e-2, 1e-1], "hidden": [16, 32, 64], "act": ["relu", "tanh"]}
    assert tune.parameter_grid(grid) == list(sk.ParameterGrid(grid))


def test_grid_search_table_best_and_csv(tmp_path, capsys):
    r = tune.grid_search(_tiny_training, {"lr": [1e-3, 1e-2, 1e-1], "hidden": [4, 8]}, seed=0,
                         verbose=True, csv_path=tmp_path / "results.csv")
    assert len(r.rows) == 6 and r.columns[:3] == ["trial", "hidden", "lr"]
    vals = r.column("val_loss")
    assert r.best["val_loss"] == min(vals) and r.best_params == {k: r.best[k] for k in ("hidden", "lr")}
    printed = capsys.readouterr().out
    assert printed == r.table() + "\n"
    best_line = [ln for ln in printed.splitlines() if ln.startswith("* ")]
    assert len(best_line) == 1 and best_line[0].split()[1] == str(r.best["trial"])
    lines = (tmp_path / "results.csv").read_text().splitlines()
    assert lines[0] == "trial,hidden,lr,train_loss,val_loss" and len(lines) == 7
    # the CSV keeps every digit (repr), so it reads back to the same floats
    assert [float(ln.split(",")[4]) for ln in lines[1:]] == vals


def test_same_seed_reproduces_every_number_bit_for_bit():
    grid = {"lr": [1e-2, 1e-1], "hidden": [4, 8]}
    a = tune.grid_search(_tiny_training, grid, seed=3)
    b = tune.grid_search(_tiny_training, grid, seed=3)
    c = tune.grid_search(_tiny_training, grid, seed=4)
    assert a.rows == b.rows and a.to_csv() == b.to_csv()
    assert a.rows != c.rows  # the seed is really used (weights differ)


def test_random_search_draws_reproducibly_within_the_space():
    space = {"lr": tune.loguniform(1e-4, 1e-1), "hidden": [4, 8, 16], "drop": tune.uniform(0.0, 0.5), "k": 7}
    seen = []

    def fn(cfg):
        seen.append(cfg)
        return {"val_loss": abs(math.log10(cfg["lr"]) + 2) + cfg["drop"]}

    r1 = tune.random_search(fn, space, n_trials=12, seed=5)
    r2 = tune.random_search(fn, space, n_trials=12, seed=5)
    assert r1.rows == r2.rows
    assert all(1e-4 <= c["lr"] < 1e-1 and c["hidden"] in (4, 8, 16) and 0 <= c["drop"] < 0.5 and c["k"] == 7
               for c in seen)
    assert len({c["lr"] for c in seen[:12]}) == 12
    assert r1.best["val_loss"] == min(r1.column("val_loss"))
    assert tune.random_search(fn, space, n_trials=12, seed=6).rows != r1.rows


def test_diverged_trials_never_win_and_errors_are_clear():
    r = tune.grid_search(lambda c: {"val_loss": float("nan") if c["x"] == 0 else c["x"]}, {"x": [0, 2, 1]})
    assert r.best["x"] == 1
    r = tune.grid_search(lambda c: {"acc": c["x"]}, {"x": [1, 3, 2]}, metric="acc", mode="max")
    assert r.best["x"] == 3
    with pytest.raises(KeyError, match="val_loss"):
        tune.grid_search(lambda c: {"loss": 1.0}, {"x": [1]})
    with pytest.raises(TypeError, match=r"list of values.*\[0.1\]"):
        tune.grid_search(lambda c: {"val_loss": 1.0}, {"lr": 0.1})
    with pytest.raises(ValueError, match="n_trials"):
        tune.random_search(lambda c: {"val_loss": 1.0}, {"x": [1]}, n_trials=0)
    with pytest.raises(ValueError, match="loguniform"):
        tune.loguniform(0.0, 1.0)
    with pytest.raises(ValueError, match="no trial reported a finite"):
        tune.grid_search(lambda c: {"val_loss": float("inf")}, {"x": [1]}).best  # noqa: B018


def test_plot_search(tmp_path):
    pytest.importorskip("matplotlib")
    r = tune.grid_search(lambda c: {"val_loss": (math.log10(c["lr"]) + 2) ** 2 + c["h"] / 100},
                         {"lr": [1e-3, 1e-2, 1e-1], "h": [16, 32]})
    out = nv.viz.plot_search(r, tmp_path / "sweep.png", x="lr")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    nv.viz.plot_search(r, tmp_path / "trials.png")


def test_optimizer_hyperparameters_are_what_a_trial_changes():
    # the search passes the config through untouched: a trial's lr reaches the optimizer
    lrs = []

    def fn(cfg):
        model = nn.Linear(2, 1)
        opt = optim.SGD(model.parameters(), lr=cfg["lr"])
        lrs.append(opt.param_groups[0]["lr"])
        return {"val_loss": 0.0}

    tune.grid_search(fn, {"lr": [0.5, 0.25]})
    assert lrs == [0.5, 0.25]
