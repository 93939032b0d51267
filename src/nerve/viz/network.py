"""Node-link pictures of a graph, nodes coloured by class (true or predicted)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..metrics._checks import to_numpy
from ._figure import new_figure, save_png

__all__ = ["graph_layout", "plot_graph"]

_PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]


def graph_layout(edge_index, num_nodes, seed=0):
    """Node positions (N, 2) from networkx's spring layout (Fruchterman-Reingold), seeded.

    The same edges and seed always give the same picture.
    """
    try:
        import networkx as nx  # noqa: PLC0415
    except ImportError:
        raise ImportError("graph_layout uses networkx's spring layout; install it with: "
                          "pip install 'nerve[graph]'") from None
    G = nx.Graph()
    G.add_nodes_from(range(num_nodes))
    e = np.asarray(edge_index)
    G.add_edges_from(zip(e[0].tolist(), e[1].tolist()))
    pos = nx.spring_layout(G, seed=seed)
    return np.array([pos[i] for i in range(num_nodes)])


def plot_graph(graph, path, labels=None, true_labels=None, class_names=None, highlight=None,
               seed=0, title=None) -> Path:
    """Draw ``graph`` (a :class:`nerve.data.Graph`) as a node-link diagram and save a PNG.

    Args:
        graph: the graph; its ``edge_index`` gives the lines.
        path: where to write the PNG.
        labels: (N,) class per node used for the fill colour (e.g. the model's predictions);
            default ``graph.y``.
        true_labels: (N,) ground truth; nodes whose ``labels`` differ get a red outline and the
            title reports the accuracy.
        class_names: legend names, one per class.
        highlight: node indices drawn larger with a black ring (e.g. the labelled training
            nodes).
        seed: seeds the spring layout.
        title: the figure title.

    Returns:
        The path written.
    """
    n = graph.num_nodes
    labels = to_numpy(graph.y if labels is None else labels).astype(np.int64)
    if labels.shape != (n,):
        raise ValueError(f"plot_graph: labels must have one class per node ({n},), got shape {labels.shape}")
    pos = graph_layout(graph.edge_index, n, seed)
    fig = new_figure(6.4, 5.6)
    ax = fig.add_subplot(1, 1, 1)
    e = graph.edge_index
    from matplotlib.collections import LineCollection  # noqa: PLC0415

    ax.add_collection(LineCollection(np.stack([pos[e[0]], pos[e[1]]], axis=1), colors="#999999",
                                     linewidths=0.8, alpha=0.6, zorder=1))
    colors = np.array([_PALETTE[c % len(_PALETTE)] for c in labels])
    size = np.full(n, 260.0)
    ring = np.full(n, "white", dtype=object)
    width = np.full(n, 1.0)
    if highlight is not None:
        h = np.asarray(highlight, dtype=np.int64)
        size[h], ring[h], width[h] = 480.0, "black", 2.5
    wrong = np.zeros(n, dtype=bool)
    if true_labels is not None:
        wrong = to_numpy(true_labels).astype(np.int64) != labels
        ring[wrong], width[wrong] = "red", 3.0
    ax.scatter(pos[:, 0], pos[:, 1], s=size, c=colors, edgecolors=list(ring), linewidths=width, zorder=2)
    for i in range(n):   # one text label per node (drawing, not arithmetic)
        ax.text(pos[i, 0], pos[i, 1], str(i), ha="center", va="center", fontsize=7, color="white",
                zorder=3)
    names = class_names if class_names is not None else [f"class {c}" for c in range(labels.max() + 1)]
    for c, name in enumerate(names):
        ax.scatter([], [], s=120, c=_PALETTE[c % len(_PALETTE)], label=str(name))
    if wrong.any():
        ax.scatter([], [], s=120, c="white", edgecolors="red", linewidths=2.5, label="misclassified")
    if highlight is not None:
        ax.scatter([], [], s=120, c="white", edgecolors="black", linewidths=2.5, label="labelled")
    ax.legend(loc="best", fontsize=8, frameon=False)
    if title is None and true_labels is not None:
        title = f"accuracy {np.mean(~wrong):.1%} ({int((~wrong).sum())}/{n} nodes)"
    if title:
        ax.set_title(title, fontsize=11)
    ax.set_axis_off()
    ax.autoscale_view()
    return save_png(fig, path)
