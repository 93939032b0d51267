"""Graph layers: a ``MessagePassing`` base, ``GCNConv`` (Kipf & Welling 2017) and ``SAGEConv``.

A graph with N nodes is given as node features ``x`` (N, F) and ``edge_index``, an integer
(2, E) array whose column e is one directed edge ``source → target``
(``edge_index[0]`` = sources j, ``edge_index[1]`` = targets i; an undirected edge is listed
once in each direction). One message-passing step is

    m_e   = message(x_j, ...)                   for every edge e = (j → i)   (gathered rows)
    a_i   = aggregate{m_e : target(e) = i}      sum, mean, max or min      (one scatter)
    out_i = update(a_i, ...)

All three steps are whole-array ops (a gather, ``F.scatter_aggregate``, elementwise), so a
layer costs the same few NumPy passes whatever the graph looks like. The container that
carries a graph's arrays is :class:`nerve.data.Graph`; these layers take the arrays
themselves, so they sit below ``data`` in the layering.
"""
from __future__ import annotations


import numpy as np

from ..autograd.tensor import Tensor, _wrap
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MessagePassing", "GCNConv", "SAGEConv", "add_self_loops", "gcn_norm"]


def _edges(edge_index, num_nodes, who):
    e = edge_index._data if isinstance(edge_index, Tensor) else np.asarray(edge_index)
    if e.ndim != 2 or e.shape[0] != 2 or e.dtype.kind not in "iu":
        raise ValueError(f"{who}: edge_index must be an integer array of shape (2, E) (row 0 "
                         f"sources, row 1 targets), got dtype {e.dtype} and shape {tuple(e.shape)}")
    if e.size and (int(e.min()) < 0 or int(e.max()) >= num_nodes):
        bad = int(e.min()) if int(e.min()) < 0 else int(e.max())
        raise ValueError(f"{who}: edge_index names node {bad}, but the graph has {num_nodes} nodes "
                         f"(valid: 0..{num_nodes - 1})")
    return e.astype(np.int64, copy=False)


def add_self_loops(edge_index, num_nodes, edge_weight=None, fill_value=1.0):
    """``edge_index`` with every existing self-loop dropped and one loop ``i → i`` added per node.

    The adjacency becomes A + I (the loops carry ``fill_value``) even where the input already
    had some loops; the added loops come last, in node order.

    Returns:
        ``(edge_index, edge_weight)``: (2, E' + N) int64 and (E' + N,) float64, or weight None
        when none was given.
    """
    e = _edges(edge_index, num_nodes, "add_self_loops")
    keep = e[0] != e[1]
    loops = np.arange(num_nodes, dtype=np.int64)
    out = np.concatenate([e[:, keep], np.stack([loops, loops])], axis=1)
    if edge_weight is None:
        return out, None
    w = np.asarray(edge_weight._data if isinstance(edge_weight, Tensor) else edge_weight, dtype=np.float64)
    return out, np.concatenate([w[keep], np.full(num_nodes, float(fill_value))])


def gcn_norm(edge_index, num_nodes, edge_weight=None, self_loops=True):
    """The symmetric GCN normalisation: each edge j → i weighted ``w_ji / sqrt(deg_i · deg_j)``.

    ``deg_i`` is the weighted in-degree of i after adding self-loops, so aggregating with these
    weights is multiplying by ``D^-1/2 (A + I) D^-1/2``. Nodes of degree 0 get weight 0.

    Returns:
        ``(edge_index, norm)``: (2, E') int64 and (E',) float64.
    """
    if self_loops:
        e, w = add_self_loops(edge_index, num_nodes, edge_weight)
    else:
        e = _edges(edge_index, num_nodes, "gcn_norm")
        w = None if edge_weight is None else np.asarray(edge_weight, dtype=np.float64)
    if w is None:
        w = np.ones(e.shape[1])
    deg = np.bincount(e[1], weights=w, minlength=num_nodes)
    with np.errstate(divide="ignore"):
        dinv = np.where(deg > 0, 1.0 / np.sqrt(deg), 0.0)
    return e, dinv[e[0]] * w * dinv[e[1]]


def _gcn_norm_tensor(edge_index, num_nodes, weight, self_loops):
    """:func:`gcn_norm` for an edge-weight Tensor that needs its gradient: the same numbers,
    computed with differentiable ops (the degrees depend on the weights too)."""
    e = _edges(edge_index, num_nodes, "GCNConv")
    if tuple(weight.shape) != (e.shape[1],):
        raise ValueError(f"GCNConv: edge_weight must hold one weight per edge, shape ({e.shape[1]},), got "
                         f"{tuple(weight.shape)}")
    if self_loops:
        keep = np.flatnonzero(e[0] != e[1])
        loops = np.arange(num_nodes, dtype=np.int64)
        e = np.concatenate([e[:, keep], np.stack([loops, loops])], axis=1)
        weight = F.cat([weight[keep], _wrap(np.ones(num_nodes, dtype=weight.dtype))])
    deg = F.scatter_aggregate(weight.reshape(-1, 1), e[1], num_nodes, "sum").reshape(-1)
    pos = deg.data > 0
    dinv = F.where(pos, F.where(pos, deg, 1.0) ** -0.5, 0.0)
    return e, dinv[e[0]] * weight * dinv[e[1]]


class MessagePassing(Module):
    """Base class for graph layers: ``propagate`` runs message → aggregate → update.

    A subclass overrides ``message`` (default: the source node's features ``x_j``) and
    optionally ``update`` (default: the aggregate itself), and calls
    ``self.propagate(edge_index, x=..., **kwargs)`` in ``forward``. Keyword arguments that are
    per-edge arrays (an edge weight) reach ``message`` as they are; ``x_j`` / ``x_i`` are the
    source / target rows of ``x`` gathered for every edge.

    Args:
        aggr: ``'sum'`` (alias ``'add'``), ``'mean'``, ``'max'`` or ``'min'``.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> mp = nn.MessagePassing(aggr="sum")      # plain neighbour sum
        >>> x = nv.tensor([[1.0], [2.0], [4.0]])
        >>> mp.propagate([[0, 1, 2], [2, 2, 0]], x=x).tolist()
        [[4.0], [0.0], [3.0]]
    """

    def __init__(self, aggr="sum"):
        super().__init__()
        aggr = "sum" if aggr == "add" else aggr
        if aggr not in ("sum", "mean", "max", "min"):
            raise ValueError(f"{type(self).__name__}: aggr must be 'sum', 'mean', 'max' or 'min', got "
                             f"{aggr!r}")
        self.aggr = aggr

    def message(self, x_j, **kwargs):
        """The message along each edge, (E, F); default the source's features."""
        return x_j

    def aggregate(self, messages, target, num_nodes):
        """Reduce the messages into their target nodes with ``self.aggr``."""
        return F.scatter_aggregate(messages, target, num_nodes, self.aggr)

    def update(self, aggregated, **kwargs):
        """The new node features from the aggregate; default the aggregate itself."""
        return aggregated

    def propagate(self, edge_index, x, num_nodes=None, **kwargs):
        """One round of message passing over ``edge_index`` (2, E) for node features ``x`` (N, F)."""
        if not isinstance(x, Tensor):
            x = _wrap(np.asarray(x))
        n = x.shape[0] if num_nodes is None else int(num_nodes)
        e = _edges(edge_index, n, type(self).__name__)
        msg = self.message(x_j=x[e[0]], x_i=x[e[1]], **kwargs)
        return self.update(self.aggregate(msg, e[1], n), x=x, **kwargs)

    def extra_repr(self):
        return f"aggr={self.aggr!r}"


class GCNConv(MessagePassing):
    """Graph convolution of Kipf & Welling (2017): ``X' = D^-1/2 (A + I) D^-1/2 X W + b``.

    Each node averages its own and its neighbours' transformed features, weighted by
    ``1 / sqrt(deg_i · deg_j)`` (degrees counted with the self-loop). Existing self-loops
    are replaced by one of weight 1, so the matrix is exactly A + I for a loop-free A.

    Args:
        in_channels, out_channels: feature sizes.
        bias: add a learned bias after aggregation (default True, zero-initialised).
        self_loops: add the identity (default True).

    Attributes:
        lin: ``Linear(in_channels, out_channels, bias=False)`` with Glorot-uniform weights, so
            W above is ``lin.weight.T``.

    Shapes: x (N, in_channels), edge_index (2, E), edge_weight (E,) optional → (N, out_channels).
    An ``edge_weight`` Tensor that requires grad is learnable: its gradient flows through the
    normalisation (degrees included).

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> conv = nn.GCNConv(3, 2)
        >>> conv(nv.ones(4, 3), [[0, 1, 1, 2], [1, 0, 2, 1]]).shape
        (4, 2)
    """

    def __init__(self, in_channels, out_channels, bias=True, self_loops=True):
        super().__init__(aggr="sum")
        self.in_channels, self.out_channels, self.self_loops = in_channels, out_channels, self_loops
        self.lin = Linear(in_channels, out_channels, bias=False)
        self.bias = Parameter(np.zeros(out_channels, dtype=self.lin.weight.dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def message(self, x_j, norm=None, **kwargs):
        return x_j * norm.reshape(-1, 1)

    def forward(self, x, edge_index, edge_weight=None):
        n = x.shape[0]
        h = self.lin(x)
        if isinstance(edge_weight, Tensor) and edge_weight.requires_grad:
            # learnable edge weights: the normalisation must stay in the graph (gcn_norm works
            # on NumPy arrays, which used to drop their gradient without a word)
            e, norm = _gcn_norm_tensor(edge_index, n, edge_weight, self.self_loops)
            norm = norm.to(h.dtype) if norm.dtype != h.dtype else norm
        else:
            e, norm = gcn_norm(edge_index, n, edge_weight, self.self_loops)
            norm = norm.astype(h.dtype)
        out = self.propagate(e, x=h, num_nodes=n, norm=norm)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}"


class SAGEConv(MessagePassing):
    """GraphSAGE layer (Hamilton et al. 2017): ``x'_i = W_1 x_i + W_2 · aggr_{j→i} x_j + b``.

    The neighbourhood is aggregated with ``aggr`` (``'mean'`` by default, the paper's mean
    aggregator) and transformed separately from the node's own features; a node with no
    in-edges gets only its own term. With ``normalize=True`` each output row is scaled to unit
    L2 norm.

    Attributes:
        lin_neigh: Linear(in → out) on the aggregated neighbours (carries the bias).
        lin_self: Linear(in → out, bias=False) on the node itself.

    Example:
        >>> import nerve as nv
        >>> from nerve import nn
        >>> nn.SAGEConv(3, 5)(nv.ones(4, 3), [[0, 1, 2], [1, 2, 3]]).shape
        (4, 5)
    """

    def __init__(self, in_channels, out_channels, aggr="mean", bias=True, normalize=False):
        super().__init__(aggr=aggr)
        self.in_channels, self.out_channels, self.normalize = in_channels, out_channels, normalize
        self.lin_neigh = Linear(in_channels, out_channels, bias=bias)
        self.lin_self = Linear(in_channels, out_channels, bias=False)

    def forward(self, x, edge_index):
        out = self.lin_neigh(self.propagate(edge_index, x=x)) + self.lin_self(x)
        if self.normalize:
            out = out / F.clamp(F.norm(out, 2, dim=-1, keepdim=True), min=1e-12)
        return out

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}"


