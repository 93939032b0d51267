"""Diagnostic plots: learning curves, ROC and precision-recall curves, confusion matrices.

Every function draws one PNG, writes it atomically to ``path`` and returns ``path`` as a
``pathlib.Path``. Inputs are plain arrays, lists or Tensors (the outputs of
``nerve.metrics``), so a plot can be redrawn from saved numbers without a model.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..metrics import auc as _auc
from ..metrics import roc_curve as _roc_curve
from ..metrics._checks import to_numpy
from ._figure import grid_shape, new_figure, save_png, style

# keys of a history that are bookkeeping, not curves
_INDEX_KEYS = {"epoch", "epochs", "step", "steps", "time", "wall_time"}
# words in a metric's name that mean lower is better (an error of some kind)
_LOWER_WORDS = ("loss", "error", "perplexity")
_LOWER_TOKENS = {"mae", "mse", "rmse", "mape", "nll", "wer", "cer", "ece", "brier", "kl", "distance"}


def _lower_is_better(name: str) -> bool:
    """True for a metric that improves downwards: a loss, an error, MAE/MSE/RMSE, perplexity ..."""
    tokens = [t for t in re.split(r"[^a-z0-9]+", name.lower()) if t]
    return any(w in name.lower() for w in _LOWER_WORDS) or any(t in _LOWER_TOKENS for t in tokens)


def _load_history(history) -> dict:
    if isinstance(history, (str, Path)):
        p = Path(history)
        if not p.is_file():
            raise FileNotFoundError(f"plot_learning_curves: no history file at {p}; pass the "
                                    "path of a history.json or the history dict itself")
        history = json.loads(p.read_text())
    if hasattr(history, "to_dict"):  # a History callback
        history = history.to_dict()
    if isinstance(history, list):  # one dict per epoch
        keys = dict.fromkeys(k for row in history for k in row)
        history = {k: [row.get(k) for row in history] for k in keys}
    if not isinstance(history, dict):
        raise TypeError(f"plot_learning_curves: history should be a dict of lists, a list of "
                        f"per-epoch dicts or a path to history.json, got {type(history).__name__}")
    return history


def _series(values):
    """A list of numbers (None for a missing epoch) as float64 with NaN gaps, or None."""
    if not isinstance(values, (list, tuple, np.ndarray)):
        return None
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def plot_learning_curves(history, path, title: str | None = None) -> Path:
    """Plot each metric of a training history against the epoch, training and validation together.

    One panel per metric: ``loss`` and ``val_loss`` share a panel, as do ``accuracy`` and
    ``val_accuracy``; any other series (a learning rate, say) gets its own. The best
    validation epoch (lowest for losses and errors: names containing "loss", "error" or
    "perplexity", or the word mae, mse, rmse, mape, nll, wer, cer, ece, brier, kl or distance;
    highest otherwise) is marked. Missing values (``None``) leave gaps.

    Args:
        history: ``{"loss": [...], "val_loss": [...], ...}`` (an optional ``"epoch"`` list
            gives the x values), a list of per-epoch dicts, a ``History`` callback, or the
            path of a ``history.json`` written by the trainer.
        path: where to write the PNG.
        title: optional figure title.

    Example:
        >>> import tempfile, os
        >>> out = plot_learning_curves({"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7]},
        ...                            os.path.join(tempfile.mkdtemp(), "curves.png"))
        >>> out.suffix
        '.png'
    """
    fn = "plot_learning_curves"
    hist = _load_history(history)
    curves = {k: s for k, v in hist.items() if k not in _INDEX_KEYS
              and (s := _series(v)) is not None and len(s) and not np.all(np.isnan(s))}
    if not curves:
        raise ValueError(f"{fn}: the history holds no numeric series (keys: {list(hist)}); "
                         "expected lists such as 'loss' and 'val_loss'")
    panels = []  # (name, train key or None, val key or None)
    for k in curves:
        if k.startswith("val_"):
            if k[4:] not in curves:
                panels.append((k[4:], None, k))
        else:
            panels.append((k, k, f"val_{k}" if f"val_{k}" in curves else None))
    rows, cols = grid_shape(len(panels), max_cols=3)
    fig = new_figure(4.2 * cols, 3.2 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, train_key, val_key) in zip(axes, panels):
        for key, label, color in ((train_key, "training", "#1f77b4"),
                                  (val_key, "validation", "#d62728")):
            if key is None:
                continue
            y = curves[key]
            x = _x_values(hist, len(y))
            ax.plot(x, y, marker="o" if len(y) <= 30 else None, markersize=3, color=color,
                    label=label, linewidth=1.6)
            if key == val_key and np.isfinite(y).any():
                lower = _lower_is_better(name)
                best = int(np.nanargmin(y) if lower else np.nanargmax(y))
                ax.scatter([x[best]], [y[best]], s=70, facecolors="none", edgecolors=color,
                           linewidths=1.5, zorder=3)
                ax.annotate(f"best {y[best]:.4g}", (x[best], y[best]), textcoords="offset points",
                            xytext=(6, 6), fontsize=8, color=color)
        style(ax, title=name, xlabel="epoch")
        if name.lower() in ("lr", "learning_rate") and np.nanmin(curves[train_key or val_key]) > 0:
            ax.set_yscale("log")
        ax.legend(fontsize=8, frameon=False)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return save_png(fig, path)


def _x_values(hist, n):
    for key in ("epoch", "epochs"):
        x = _series(hist.get(key))
        if x is not None and len(x) == n:
            return x
    return np.arange(1, n + 1)


def plot_roc(fpr, tpr, auc: float | None = None, path=None, label: str | None = None,
             title: str = "ROC curve") -> Path:
    """Plot one ROC curve (true positive rate against false positive rate) with the chance line.

    Args:
        fpr, tpr: the arrays returned by :func:`nerve.metrics.roc_curve`.
        auc: the area to print in the legend (computed from the points when None).
        path: where to write the PNG.
        label: legend name of the curve.

    Example:
        >>> import tempfile, os
        >>> from nerve.metrics import roc_curve
        >>> fpr, tpr, _ = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> plot_roc(fpr, tpr, None, os.path.join(tempfile.mkdtemp(), "roc.png")).name
        'roc.png'
    """
    if path is None:
        raise ValueError("plot_roc: pass path= (where to write the PNG)")
    fpr = to_numpy(fpr, "fpr", "plot_roc").astype(np.float64)
    tpr = to_numpy(tpr, "tpr", "plot_roc").astype(np.float64)
    if fpr.shape != tpr.shape or fpr.ndim != 1 or len(fpr) < 2:
        raise ValueError(f"plot_roc: fpr and tpr should be 1-D with the same length >= 2, got "
                         f"shapes {fpr.shape} and {tpr.shape}")
    area = _auc(fpr, tpr) if auc is None else float(auc)
    fig = new_figure(4.8, 4.4)
    ax = fig.add_subplot()
    _roc_axes(ax, title)
    ax.plot(fpr, tpr, color="#1f77b4", linewidth=2,
            label=f"{label + ' ' if label else ''}(AUC = {area:.3f})")
    ax.fill_between(fpr, tpr, alpha=0.08, color="#1f77b4")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    return save_png(fig, path)


def _roc_axes(ax, title):
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1, label="chance (AUC = 0.5)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    style(ax, title, "false positive rate", "true positive rate")


def plot_roc_ovr(y_true, y_score, path, class_names=None, title: str = "ROC, one vs rest") -> Path:
    """Plot one ROC curve per class (that class against all others) plus the micro average.

    Args:
        y_true: ``(N,)`` class indices ``0..C-1``.
        y_score: ``(N, C)`` class scores or probabilities.
        path: where to write the PNG.
        class_names: legend names of the C classes (default ``"class 0"``...).

    Example:
        >>> import tempfile, os
        >>> p = [[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.5, 0.3, 0.2]]
        >>> plot_roc_ovr([0, 1, 2, 1], p, os.path.join(tempfile.mkdtemp(), "ovr.png")).name
        'ovr.png'
    """
    fn = "plot_roc_ovr"
    y = to_numpy(y_true, "y_true", fn).reshape(-1)
    s = to_numpy(y_score, "y_score", fn).astype(np.float64)
    if s.ndim != 2 or len(s) != len(y):
        raise ValueError(f"{fn}: y_score should be (N, C) with N = len(y_true) = {len(y)}, got "
                         f"shape {s.shape}")
    C = s.shape[1]
    names = [f"class {c}" for c in range(C)] if class_names is None else list(class_names)
    if len(names) != C:
        raise ValueError(f"{fn}: {len(names)} class_names for {C} score columns")
    onehot = (y[:, None] == np.arange(C)).astype(np.int64)  # (N, C)
    fig = new_figure(5.6, 5.0)
    ax = fig.add_subplot()
    _roc_axes(ax, title)
    colors = _palette(C)
    for c in range(C):
        if onehot[:, c].all() or not onehot[:, c].any():
            continue  # a class absent from y_true (or the only one) has no ROC curve
        fpr, tpr, _ = _roc_curve(onehot[:, c], s[:, c])
        ax.plot(fpr, tpr, color=colors[c], linewidth=1.6,
                label=f"{names[c]} (AUC = {_auc(fpr, tpr):.3f})")
    fpr, tpr, _ = _roc_curve(onehot.ravel(), s.ravel())
    ax.plot(fpr, tpr, color="black", linestyle=":", linewidth=2,
            label=f"micro average (AUC = {_auc(fpr, tpr):.3f})")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return save_png(fig, path)


def _palette(n):
    from matplotlib import colormaps  # matplotlib is present: new_figure checked

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def plot_pr_curve(precision, recall, path, average_precision: float | None = None,
                  prevalence: float | None = None, title: str = "Precision-recall curve") -> Path:
    """Plot precision against recall as a step curve.

    Args:
        precision, recall: the arrays returned by :func:`nerve.metrics.precision_recall_curve`.
        path: where to write the PNG.
        average_precision: printed in the legend when given.
        prevalence: the fraction of positives; drawn as the precision of a random classifier.

    Example:
        >>> import tempfile, os
        >>> from nerve.metrics import precision_recall_curve
        >>> p, r, _ = precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
        >>> plot_pr_curve(p, r, os.path.join(tempfile.mkdtemp(), "pr.png")).name
        'pr.png'
    """
    fn = "plot_pr_curve"
    p = to_numpy(precision, "precision", fn).astype(np.float64)
    r = to_numpy(recall, "recall", fn).astype(np.float64)
    if p.shape != r.shape or p.ndim != 1 or len(p) < 2:
        raise ValueError(f"{fn}: precision and recall should be 1-D with the same length >= 2, "
                         f"got shapes {p.shape} and {r.shape}")
    fig = new_figure(4.8, 4.4)
    ax = fig.add_subplot()
    label = "model" if average_precision is None else f"model (AP = {average_precision:.3f})"
    ax.plot(r, p, drawstyle="steps-post", color="#2ca02c", linewidth=2, label=label)
    if prevalence is not None:
        ax.axhline(prevalence, linestyle="--", color="0.6", linewidth=1,
                   label=f"chance (precision = {prevalence:.2f})")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.05)
    style(ax, title, "recall", "precision")
    ax.legend(loc="lower left", fontsize=9, frameon=False)
    return save_png(fig, path)


def plot_confusion_matrix(cm, class_names=None, path=None, normalize: str | None = None,
                          title: str = "Confusion matrix") -> Path:
    """Draw a confusion matrix as a heatmap with the count written in every cell.

    Rows are true classes and columns predicted classes. With ``normalize`` the colours show
    fractions (``'true'``: of each row, so the diagonal is recall; ``'pred'``: of each
    column, the diagonal is precision; ``'all'``: of the total) and each cell shows the
    count with its fraction beneath.

    Args:
        cm: ``(K, K)`` counts, e.g. from :func:`nerve.metrics.confusion_matrix`.
        class_names: K tick labels (default ``0..K-1``).
        path: where to write the PNG.
        normalize: ``None``, ``'true'``, ``'pred'`` or ``'all'``.

    Example:
        >>> import tempfile, os
        >>> cm = [[5, 1], [2, 7]]
        >>> plot_confusion_matrix(cm, ["cat", "dog"], os.path.join(tempfile.mkdtemp(), "cm.png"),
        ...                       normalize="true").name
        'cm.png'
    """
    from ..metrics.classification import normalize_confusion

    fn = "plot_confusion_matrix"
    if path is None:
        raise ValueError(f"{fn}: pass path= (where to write the PNG)")
    counts = to_numpy(cm, "cm", fn)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"{fn}: cm should be a square (K, K) matrix, got shape {counts.shape}")
    K = counts.shape[0]
    names = [str(i) for i in range(K)] if class_names is None else [str(c) for c in class_names]
    if len(names) != K:
        raise ValueError(f"{fn}: {len(names)} class_names for a {K}x{K} matrix")
    shown = normalize_confusion(counts.astype(np.float64), normalize, fn)
    side = min(2.0 + 0.55 * K, 14.0)
    fig = new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    vmax = 1.0 if normalize else max(float(shown.max()), 1.0)
    im = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=vmax)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                 label="fraction" if normalize else "count")
    if K <= 30:  # beyond that the digits no longer fit in the cells
        fontsize = 10 if K <= 10 else 7
        for i in range(K):
            for j in range(K):
                count = counts[i, j]
                text = f"{count:g}" if normalize is None else f"{count:g}\n{shown[i, j]:.2f}"
                dark = shown[i, j] > 0.55 * vmax
                ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                        color="white" if dark else "black")
    ax.set_xticks(range(K), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right"
                  if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    sub = {None: "", "true": " (rows sum to 1)", "pred": " (columns sum to 1)",
           "all": " (fractions of all)"}[normalize]
    ax.set_title(title + sub, fontsize=11)
    return save_png(fig, path)


def save_evaluation_plots(folder, y_true, prob, class_names, title: str = "") -> list:
    """The three pictures ``nerve evaluate`` writes into ``folder``, returned as paths.

    ``confusion_matrix.png`` (counts), ``roc.png`` (one ROC curve per class, one vs rest) and
    ``pr.png`` (the micro-averaged precision-recall curve over all classes).

    Args:
        folder: an existing folder.
        y_true: ``(N,)`` true class indices.
        prob: ``(N, C)`` class probabilities (or scores).
        class_names: the C names.
        title: appended to each plot's title (e.g. ``"seed-mlp on mnist"``).
    """
    from ..metrics import average_precision_score, confusion_matrix, precision_recall_curve  # noqa: PLC0415

    folder = Path(folder)
    y = np.asarray(y_true)
    prob = np.asarray(prob, dtype=np.float64)
    k = len(class_names)
    suffix = f", {title}" if title else ""
    cm = confusion_matrix(y, prob.argmax(1), labels=list(range(k)))
    written = [plot_confusion_matrix(cm, class_names, folder / "confusion_matrix.png",
                                     title=f"Confusion matrix{suffix}")]
    written.append(plot_roc_ovr(y, prob, folder / "roc.png", class_names=class_names,
                                title=f"ROC one vs rest{suffix}"))
    onehot = (y[:, None] == np.arange(k)).astype(np.int64)  # (N, C)
    precision, recall, _ = precision_recall_curve(onehot.ravel(), prob.ravel())
    written.append(plot_pr_curve(precision, recall, folder / "pr.png",
                                 average_precision=average_precision_score(onehot.ravel(), prob.ravel()),
                                 prevalence=float(onehot.mean()),
                                 title=f"Precision-recall, micro average over {k} classes"))
    return written
