"""GCN: the two-layer graph convolutional network of Kipf & Welling (2017) for node classification.

    x (N, in)  → GCNConv(in → hidden) → ReLU → Dropout(p) → GCNConv(hidden → classes) → logits (N, classes)

Each layer mixes a node with its neighbours (``D^-1/2 (A + I) D^-1/2``), so after two layers
a node's logits depend on its 2-hop neighbourhood; that is what lets a handful of labelled
nodes classify the rest (semi-supervised: the loss sees only the labelled nodes).

Parameters: in·hidden + hidden + hidden·classes + classes
(karate club, identity features: 34·16 + 16 + 16·2 + 2 = 594).

    >>> from nerve import models
    >>> net = models.get_model("gcn", in_channels=34, hidden=16, num_classes=2)
    >>> net.num_parameters()
    594
"""
from __future__ import annotations

from .. import nn
from . import register_model

__all__ = ["GCN", "gcn"]


class GCN(nn.Module):
    """Two ``GCNConv`` layers with ReLU and dropout between them.

    Args:
        in_channels: node feature size.
        hidden: width of the hidden layer (Kipf & Welling used 16).
        num_classes: number of node classes (the output size).
        dropout: dropout probability on the hidden features (training mode only).

    Call as ``net(x, edge_index)`` (or ``net(graph)`` with a :class:`nerve.data.Graph`) →
    (N, num_classes) logits.
    """

    def __init__(self, in_channels, hidden=16, num_classes=2, dropout=0.5):
        super().__init__()
        self.conv1 = nn.GCNConv(in_channels, hidden)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.GCNConv(hidden, num_classes)

    def embed(self, x, edge_index, edge_weight=None):
        """The hidden node representation (N, hidden), after ReLU."""
        return self.act(self.conv1(x, edge_index, edge_weight))

    def forward(self, x, edge_index=None, edge_weight=None):
        if edge_index is None:                      # a Graph object
            if not all(hasattr(x, a) for a in ("x", "edge_index", "edge_weight")):
                raise TypeError(f"GCN needs the graph: call net(x, edge_index) with a (2, E) edge_index, or "
                                f"net(graph) with a nerve.data.Graph; got a {type(x).__name__} and no edge_index")
            x, edge_index, edge_weight = x.x, x.edge_index, x.edge_weight
        h = self.drop(self.embed(x, edge_index, edge_weight))
        return self.conv2(h, edge_index, edge_weight)


@register_model("gcn")
def gcn(in_channels=34, hidden=16, num_classes=2, dropout=0.5):
    """``GCN(...)``: the two-layer GCN (594 parameters for the karate club defaults)."""
    return GCN(in_channels, hidden, num_classes, dropout)
