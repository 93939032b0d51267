"""Zachary's karate club (1977): 34 members, 78 friendships, and the club's split in two.

The graph ships with networkx (``pip install 'nerve[graph]'``); nothing is downloaded. Each
member's ``club`` attribute records the faction they joined after the split: ``'Mr. Hi'``
(the instructor, node 0) or ``'Officer'`` (the administrator, node 33).
"""
from __future__ import annotations

import numpy as np

from ..graph import Graph

__all__ = ["karate_club", "KARATE_FACTIONS"]

KARATE_FACTIONS = ("Mr. Hi", "Officer")


def karate_club(features="identity", dtype=np.float32):
    """Zachary's karate club as a :class:`~nerve.data.Graph`, labelled by faction.

    Args:
        features: ``'identity'`` (one-hot node ids, (34, 34): the featureless setting of Kipf
            & Welling's karate example) or ``'degree'`` ((34, 1) node degrees).
        dtype: dtype of ``x``.

    Returns:
        A ``Graph`` with 156 directed edges (each of the 78 friendships both ways),
        ``y`` = 0 for ``'Mr. Hi'`` and 1 for ``'Officer'`` (17 members each), and
        ``train_mask`` True only at nodes 0 and 33, one labelled member per faction; the
        other 32 nodes are in ``test_mask``. ``g.factions`` names the classes.

    Raises:
        ImportError: when networkx is missing (install the ``graph`` extra).

    Example:
        >>> from nerve.data.datasets import karate_club
        >>> g = karate_club()
        >>> g.num_nodes, g.num_edges, int(g.y.sum()), g.train_mask.nonzero()[0].tolist()
        (34, 156, 17, [0, 33])
    """
    try:
        import networkx as nx  # noqa: PLC0415
    except ImportError:
        raise ImportError("karate_club reads the graph bundled with networkx, which is not installed; "
                          "install it with: pip install 'nerve[graph]'") from None
    G = nx.karate_club_graph()
    n = G.number_of_nodes()
    und = np.array(sorted(G.edges()), dtype=np.int64).T                 # (2, 78)
    edge_index = np.concatenate([und, und[::-1]], axis=1)               # both directions
    y = np.array([KARATE_FACTIONS.index(G.nodes[i]["club"]) for i in range(n)], dtype=np.int64)
    if features == "identity":
        x = np.eye(n, dtype=dtype)
    elif features == "degree":
        x = np.bincount(edge_index[1], minlength=n).astype(dtype)[:, None]
    else:
        raise ValueError(f"karate_club: features must be 'identity' or 'degree', got {features!r}")
    train = np.zeros(n, dtype=bool)
    train[[0, n - 1]] = True
    return Graph(x, edge_index, y=y, train_mask=train, test_mask=~train, factions=KARATE_FACTIONS)
