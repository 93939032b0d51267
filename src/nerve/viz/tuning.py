"""Plots for tuning: the LR range test, a capacity sweep, per-layer linear probes, a sweep."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._figure import new_figure, save_png, style

__all__ = ["plot_lr_range", "plot_capacity", "plot_probes", "plot_search"]


def plot_lr_range(result, path, title="LR range test") -> Path:
    """Loss against learning rate (log axis) for an ``LRRangeResult``: the raw losses faint, the
    smoothed curve bold, the suggested lr and the divergence point as vertical lines."""
    lrs = np.asarray(result.lrs, dtype=np.float64)
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    finite = np.isfinite(result.losses)
    ax.plot(lrs[finite], np.asarray(result.losses)[finite], color="0.7", lw=1, label="loss")
    sm = np.asarray(result.smoothed, dtype=np.float64)
    ok = np.isfinite(sm)
    ax.plot(lrs[ok], sm[ok], color="tab:blue", lw=2, label="smoothed loss")
    ax.axvline(result.suggested_lr, color="tab:green", ls="--", label=f"suggested lr {result.suggested_lr:.3g}")
    if result.diverged_lr is not None:
        ax.axvline(result.diverged_lr, color="tab:red", ls=":", label=f"diverged at {result.diverged_lr:.3g}")
    ax.set_xscale("log")
    top = np.nanmax(sm[ok]) if ok.any() else None
    if top is not None and np.isfinite(top) and np.nanmin(sm[ok]) > 0:
        ax.set_yscale("log")
    style(ax, title, "learning rate", "loss")
    ax.legend(fontsize=8)
    return save_png(fig, path)


def plot_capacity(result, path, title="Capacity sweep") -> Path:
    """A ``CapacityResult``: final training and validation MSE against width (left) and the
    training (solid) and validation (dashed) curves of each width (right)."""
    fig = new_figure(11.0, 4.2)
    ax = fig.add_subplot(1, 2, 1)
    ax.plot(result.widths, result.train_loss, "o-", label="training MSE")
    ax.plot(result.widths, result.val_loss, "s--", label="validation MSE")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    style(ax, title, "hidden width", "MSE")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    colors = [f"C{i % 10}" for i in range(len(result.widths))]
    for w, c in zip(result.widths, colors):
        cur = result.curves[w]
        ax.plot(cur["train_loss"], color=c, lw=1.2, label=f"width {w}")
        ax.plot(cur["val_loss"], color=c, lw=1.2, ls="--")
    ax.set_yscale("log")
    style(ax, "training (solid) and validation (dashed)", "epoch", "MSE")
    ax.legend(fontsize=7, ncol=2)
    return save_png(fig, path)


def plot_probes(accuracies, path, title="Linear probe accuracy per layer") -> Path:
    """A bar chart of ``{layer name: accuracy}`` (fractions in [0, 1], drawn as percentages) in
    the order given (raw input first, say)."""
    names = list(accuracies)
    if not names:
        raise ValueError("plot_probes got no accuracies; pass {layer name: accuracy}, e.g. from "
                         "tune.layer_probes")
    bad = {n: accuracies[n] for n in names if not 0.0 <= float(accuracies[n]) <= 1.0}
    if bad:  # a percentage (95.0) would be drawn as 9500 % above the axis
        raise ValueError(f"plot_probes takes accuracies as fractions in [0, 1], got {bad}; divide "
                         f"percentages by 100")
    values = [100 * float(accuracies[n]) for n in names]
    fig = new_figure(max(5.0, 0.9 * len(names) + 2), 4.0)
    ax = fig.add_subplot(1, 1, 1)
    bars = ax.bar(range(len(names)), values, color="tab:blue")
    for b, v in zip(bars, values):
        ax.text(b.get_x() + b.get_width() / 2, v + 0.5, f"{v:.1f}", ha="center", fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    lo = min(values)
    ax.set_ylim(max(0.0, lo - 10), 100.5)
    style(ax, title, "layer", "test accuracy (%)")
    return save_png(fig, path)


def plot_search(result, path, x=None, title=None) -> Path:
    """A ``SearchResult``: its metric per trial, or against hyperparameter ``x`` (log axis when
    all values are positive numbers spanning more than a factor of 10), one line per value of
    the other hyperparameters. The best trial is circled (none when no trial has a finite
    metric, as after a sweep where every run diverged)."""
    metric = result.metric
    best = result._best_or_none()  # None when every trial diverged: draw them, circle nothing
    fig = new_figure(6.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    if x is None:
        ax.plot(result.column("trial"), result.column(metric), "o-")
        xlabel = "trial"
        bx = None if best is None else result.rows[best]["trial"]
    else:
        others = [p for p in result.params if p != x]
        groups = {}  # keyed by repr: a hyperparameter value may be a list (hidden sizes, say)
        for r in result.rows:
            key = tuple(r[p] for p in others)
            groups.setdefault(repr(key), (key, []))[1].append(r)
        for key, rows in groups.values():
            rows = sorted(rows, key=lambda r: r[x])
            label = ", ".join(f"{p}={v}" for p, v in zip(others, key)) or None
            ax.plot([r[x] for r in rows], [r[metric] for r in rows], "o-", label=label)
        xs = [r[x] for r in result.rows]
        if all(isinstance(v, (int, float)) and v > 0 for v in xs) and max(xs) / min(xs) > 10:
            ax.set_xscale("log")
        if len(groups) > 1:
            ax.legend(fontsize=8)
        xlabel = x
        bx = None if best is None else result.rows[best][x]
    if best is not None:
        ax.plot([bx], [result.rows[best][metric]], "o", ms=14, mfc="none", mec="tab:red", mew=2)
    style(ax, title or f"{metric} ({'lower' if result.mode == 'min' else 'higher'} is better)", xlabel, metric)
    return save_png(fig, path)
