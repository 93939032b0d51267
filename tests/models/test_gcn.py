"""A 2-layer GCN on Zachary's karate club with one labelled node per faction (glossary row 28:
>= 85 % of all nodes), and the picture of its predictions."""
import builtins

import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve import models, viz
from nerve.data.datasets import karate_club

pytest.importorskip("networkx")


def train_karate_gcn(seed=0, epochs=200):
    """Semi-supervised: the loss sees nodes 0 ('Mr. Hi') and 33 ('Officer') only."""
    g = karate_club()
    nv.manual_seed(seed)
    net = models.get_model("gcn", in_channels=g.num_features, hidden=16, num_classes=2)
    opt = nv.optim.Adam(net.parameters(), lr=0.01, weight_decay=5e-4)
    labelled = np.flatnonzero(g.train_mask)
    for _ in range(epochs):
        net.train()
        loss = F.cross_entropy(net(g)[labelled], nv.tensor(g.y[labelled]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with nv.no_grad():
        pred = net(g).numpy().argmax(1)
    return g, pred


def test_karate_club_graph():
    g = karate_club()
    assert (g.num_nodes, g.num_edges, g.num_features) == (34, 156, 34) and g.is_undirected()
    assert g.y[0] == 0 and g.y[33] == 1 and g.y.sum() == 17
    assert g.train_mask.sum() == 2 and g.test_mask.sum() == 32
    assert karate_club("degree").x.numpy()[:, 0].tolist() == g.degree().tolist()


def test_gcn_karate_one_label_per_faction(tmp_path):
    g, pred = train_karate_gcn(seed=0)
    acc = float(np.mean(pred == g.y))
    print(f"GCN karate accuracy (all 34 nodes): {acc:.4f}")
    assert acc >= 0.85
    out = viz.plot_graph(g, tmp_path / "karate.png", labels=pred, true_labels=g.y,
                         class_names=g.factions, highlight=[0, 33])
    from viz.pngcheck import check_png
    check_png(out)


def test_karate_loader_names_the_extra_without_networkx(monkeypatch):
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "networkx":
            raise ImportError("no networkx")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"nerve\[graph\]"):
        karate_club()
