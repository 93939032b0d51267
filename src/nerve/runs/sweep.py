"""A hyperparameter sweep over ``nerve train`` settings: one run folder per trial.

``sweep(settings, grid, out)`` trains every combination of ``grid`` (or ``trials`` of them,
drawn at random) with ``nerve.tune``, each into ``out/trial-NNN`` as ``nerve train`` would,
and writes ``out/results.csv`` (one row per trial, the best by validation loss marked in
the printed table) and ``out/summary.png``. Every trial starts from the same seed, so a
second sweep with the same settings reproduces every number bit for bit on the CPU.
"""
from __future__ import annotations

import io
from contextlib import redirect_stderr
from pathlib import Path

from . import RunError

__all__ = ["sweep", "GRID_KEYS"]

# sweepable name -> where it goes in the settings of `nerve train`
GRID_KEYS = {"lr": "lr", "hidden": "model_kwargs.hidden", "batch_size": "batch_size", "epochs": "epochs",
             "optimizer": "optimizer", "activation": "model_kwargs.activation"}


def _apply(settings, config, default_lr=None):
    s = dict(settings)
    s["model_kwargs"] = dict(settings["model_kwargs"])
    if default_lr and "optimizer" in config and "lr" not in config:
        # each optimizer gets its own default rate, not the one of the first in the list
        s["lr"] = default_lr[config["optimizer"]]
    for name, value in config.items():
        where = GRID_KEYS[name]
        if where.startswith("model_kwargs."):
            s["model_kwargs"][where.split(".", 1)[1]] = value
        else:
            s[where] = value
    return s


def sweep(settings, grid, out, trials=None, seed=0, quiet=True, plot=True, default_lr=None):
    """Train one run per configuration; returns the ``nerve.tune.SearchResult``.

    Args:
        settings: the ``nerve train`` settings shared by every trial (see
            ``nerve.runs.training.SETTINGS``); ``val_fraction`` must be above 0.
        grid: name -> list of values, names from ``GRID_KEYS`` (lr, hidden, batch_size,
            epochs, optimizer, activation).
        out: the sweep folder; must not hold files yet.
        trials: train this many configurations drawn from the grid without repetition
            (None: all of them).
        seed: the seed of that draw (each trial itself uses ``settings['seed']``).
        quiet: hide each trial's progress output.
        plot: write summary.png when matplotlib is installed.
        default_lr: optimizer name -> learning rate, for a grid that lists optimizers but no
            lr: each trial then takes its optimizer's rate instead of ``settings['lr']``.
    """
    import numpy as np  # noqa: PLC0415

    from ..tune import parameter_grid, run_trials  # noqa: PLC0415
    from . import Run, training  # noqa: PLC0415

    unknown = sorted(set(grid) - set(GRID_KEYS))
    if unknown:
        raise ValueError(f"cannot sweep {unknown}; sweepable settings are {sorted(GRID_KEYS)}")
    if not settings.get("val_fraction"):
        raise ValueError("a sweep picks the best trial by validation loss, so val_fraction must be above 0")
    out = Path(out)
    Run.check_target(out)
    configs = parameter_grid(grid)
    if trials is not None:
        if trials < 1:
            raise ValueError(f"trials must be a positive integer, got {trials!r}")
        pick = np.random.default_rng(seed).permutation(len(configs))[:trials]
        configs = [configs[i] for i in sorted(pick)]
    numbered = iter(range(len(configs)))

    def train_one(config):
        i = next(numbered)
        s = _apply(settings, config, default_lr)
        prep = training.prepare(s)
        run_config = training.run_config(s, prep)
        run = Run.create(out / f"trial-{i:03d}", run_config)
        try:
            if quiet:
                with redirect_stderr(io.StringIO()):
                    result = training.fit(run, s, prep, run_config, quiet=True)
            else:
                result = training.fit(run, s, prep, run_config)
        except FloatingPointError:  # a diverged trial is a result (it never wins), not a crash
            nan = float("nan")
            return {"train_loss": nan, "val_loss": nan, "val_accuracy": nan, "test_accuracy": nan,
                    "run": run.path.name}
        res = run_config["results"]
        return {"train_loss": res["final_train_loss"], "val_loss": res["final_val_loss"],
                "val_accuracy": res["final_val_accuracy"], "test_accuracy": result["test_accuracy"],
                "run": run.path.name}

    # every trial starts from settings['seed'] (prepare() seeds the weights and the shuffling)
    result = run_trials(train_one, configs, seed=settings["seed"])
    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / "results.csv")
    if plot:
        try:
            import matplotlib  # noqa: F401, PLC0415
        except ImportError:
            plot = False
    if plot:
        from ..viz import plot_search  # noqa: PLC0415

        x = "lr" if "lr" in result.params else (result.params[0] if result.params else None)
        plot_search(result, out / "summary.png", x=x, title="nerve sweep: validation loss")
    return result
