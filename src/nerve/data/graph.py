"""``Graph``: the arrays of one graph (node features, edges, labels, split masks) in one object.

The graph layers in :mod:`nerve.nn.graph` take ``(x, edge_index)`` directly; this container
keeps a dataset's pieces together and checks that they agree::

    >>> import numpy as np
    >>> from nerve.data import Graph
    >>> g = Graph(x=np.eye(3), edge_index=[[0, 1, 1, 2], [1, 0, 2, 1]], y=[0, 0, 1])
    >>> g
    Graph(num_nodes=3, num_edges=4, num_features=3, y, undirected)
    >>> g.adjacency().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
"""
from __future__ import annotations

import numpy as np

from ..autograd.tensor import Tensor
from ..creation import as_tensor

__all__ = ["Graph"]


def _array(v):
    return v.numpy() if isinstance(v, Tensor) else np.asarray(v)


class Graph:
    """One graph: ``x`` (N, F) node features, ``edge_index`` (2, E) edges ``source → target``.

    Args:
        x: node features, stored as a float Tensor (float32 unless given as float64).
        edge_index: (2, E) integers; column e is the edge ``edge_index[0, e] → edge_index[1, e]``.
            List an undirected edge in both directions.
        y: optional (N,) node labels (int64) or targets.
        edge_weight: optional (E,) edge weights.
        train_mask, val_mask, test_mask: optional (N,) boolean masks of the nodes whose labels
            each split may use.
        **extra: further per-graph attributes (names, a layout ...), kept as given.

    Raises:
        ValueError: when a shape disagrees with the number of nodes or edges, or an edge names a
            node that does not exist.
    """

    def __init__(self, x, edge_index, y=None, edge_weight=None, train_mask=None, val_mask=None,
                 test_mask=None, **extra):
        x = x if isinstance(x, Tensor) else as_tensor(np.asarray(x))
        if x.dtype.kind != "f":
            x = x.float()
        if x.ndim != 2:
            raise ValueError(f"Graph: x must be (num_nodes, num_features), got shape {tuple(x.shape)}")
        n = x.shape[0]
        e = _array(edge_index)
        if e.ndim != 2 or e.shape[0] != 2 or (e.size and e.dtype.kind not in "iu"):
            raise ValueError(f"Graph: edge_index must be an integer array of shape (2, E), got dtype "
                             f"{e.dtype} and shape {e.shape}")
        e = e.astype(np.int64)
        if e.size and (e.min() < 0 or e.max() >= n):
            bad = int(e.min()) if e.min() < 0 else int(e.max())
            raise ValueError(f"Graph: edge_index names node {bad}, but x has {n} rows (nodes 0..{n - 1})")
        self.x, self.edge_index = x, e
        self.y = None if y is None else self._per(y, n, "y")
        self.edge_weight = None if edge_weight is None else self._per(edge_weight, e.shape[1],
                                                                      "edge_weight", float)
        for name, m in (("train_mask", train_mask), ("val_mask", val_mask), ("test_mask", test_mask)):
            setattr(self, name, None if m is None else self._per(m, n, name, bool))
        self.extra = dict(extra)

    @staticmethod
    def _per(v, n, name, kind=None):
        a = _array(v)
        if a.shape[:1] != (n,):
            raise ValueError(f"Graph: {name} must have {n} entries along its first axis, got shape {a.shape}")
        if kind is bool:
            return a.astype(bool)
        if kind is float:
            return a.astype(np.float64)
        return a.astype(np.int64) if a.dtype.kind in "biu" else a

    def __getattr__(self, name):
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"Graph has no attribute {name!r}")

    @property
    def num_nodes(self):
        return self.x.shape[0]

    @property
    def num_edges(self):
        """The number of directed edges (an undirected edge counts twice)."""
        return self.edge_index.shape[1]

    @property
    def num_features(self):
        return self.x.shape[1]

    def adjacency(self):
        """The dense (N, N) adjacency, ``A[target, source] = weight`` (1 without weights)."""
        a = np.zeros((self.num_nodes, self.num_nodes))
        w = np.ones(self.num_edges) if self.edge_weight is None else self.edge_weight
        np.add.at(a, (self.edge_index[1], self.edge_index[0]), w)
        return a

    def degree(self):
        """The in-degree of every node (N,), unweighted."""
        return np.bincount(self.edge_index[1], minlength=self.num_nodes)

    def is_undirected(self):
        """True when every edge j → i has its reverse i → j (with the same weight)."""
        a = self.adjacency()
        return bool(np.array_equal(a, a.T))

    def permute(self, perm):
        """The same graph with node ``perm[k]`` renamed k: rows of x, y and the masks reordered and
        edges relabelled (``new x = x[perm]``)."""
        perm = np.asarray(perm, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(self.num_nodes)):
            raise ValueError(f"Graph.permute: perm must be a permutation of 0..{self.num_nodes - 1}")
        inv = np.empty_like(perm)
        inv[perm] = np.arange(perm.size)
        pick = lambda v: None if v is None else v[perm]  # noqa: E731
        return Graph(self.x[perm], inv[self.edge_index], y=pick(self.y), edge_weight=self.edge_weight,
                     train_mask=pick(self.train_mask), val_mask=pick(self.val_mask),
                     test_mask=pick(self.test_mask), **self.extra)

    def __repr__(self):
        parts = [f"num_nodes={self.num_nodes}", f"num_edges={self.num_edges}",
                 f"num_features={self.num_features}"]
        parts += [n for n in ("y", "edge_weight", "train_mask", "val_mask", "test_mask")
                  if getattr(self, n) is not None]
        if self.is_undirected():
            parts.append("undirected")
        return f"Graph({', '.join(parts)})"
