"""CapsNet on scikit-learn's 8x8 digits (glossary row 76: >= 90 % test accuracy)."""
import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.data.datasets import Digits


def test_capsnet_shapes_and_parameter_count():
    net = models.get_model("capsnet")
    assert net.num_parameters() == 201_408
    out = net(nv.rand(3, 1, 8, 8))
    assert out.shape == (3, 10) and np.all((out.numpy() >= 0) & (out.numpy() < 1))


def train_capsnet(seed=0, epochs=4):
    """Adam (lr 1e-3), batches of 64, margin loss; returns test accuracy on the held-out digits."""
    nv.manual_seed(seed)
    tr, te = Digits(train=True), Digits(train=False)         # 1,437 / 360 images, 8x8
    net = models.CapsNet()
    opt = nv.optim.Adam(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        net.train()
        perm = rng.permutation(len(tr.targets))
        for k in range(0, len(perm), 64):
            b = perm[k:k + 64]
            loss = nn.margin_loss(net(nv.tensor(tr.data[b])), nv.tensor(tr.targets[b]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with nv.no_grad():
        pred = net(nv.tensor(te.data)).numpy().argmax(1)
    return float(np.mean(pred == te.targets))


@pytest.mark.slow
def test_capsnet_digits_accuracy():
    acc = train_capsnet(seed=0)
    print(f"CapsNet 8x8 digits test accuracy: {acc:.4f}")
    assert acc >= 0.90
