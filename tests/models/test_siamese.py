"""SiameseNet on the 8x8 digits: embedding distances separate same-class from different-class
held-out pairs (glossary row 83: ROC AUC >= 0.95)."""
import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.data.datasets import Digits
from nerve.metrics import roc_auc_score


def test_make_pairs_balance_and_labels():
    labels = np.repeat(np.arange(5), 20)
    i, j, same = models.make_pairs(labels, 1001, seed=3)
    assert len(i) == 1001 and same.sum() == 500
    np.testing.assert_array_equal(labels[i] == labels[j], same == 1)
    with pytest.raises(ValueError, match="two classes"):
        models.make_pairs(np.zeros(4, int), 10)


def train_siamese(seed=0, steps=300):
    """Contrastive training (margin 2) on pairs of training digits; returns the held-out AUC."""
    nv.manual_seed(seed)
    tr, te = Digits(train=True), Digits(train=False)
    net = models.get_model("siamese-net")
    opt = nv.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.ContrastiveLoss(margin=2.0)
    for step in range(steps):
        i, j, same = models.make_pairs(tr.targets, 128, seed=seed * 1000 + step)
        e1, e2 = net(nv.tensor(tr.data[i]), nv.tensor(tr.data[j]))
        loss = loss_fn(e1, e2, nv.tensor(same.astype(np.float32)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    i, j, same = models.make_pairs(te.targets, 4000, seed=12345)   # pairs of held-out digits
    with nv.no_grad():
        d = net.distance(nv.tensor(te.data[i]), nv.tensor(te.data[j])).numpy()
    return roc_auc_score(same, -d)


def test_siamese_digits_pair_auc():
    auc = train_siamese(seed=0)
    print(f"Siamese digits held-out pair ROC AUC: {auc:.4f}")
    assert auc >= 0.95
