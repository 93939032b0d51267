"""Embedding losses on hand-worked pairs, their module twins, and their errors.

Forward, gradient and PyTorch parity of every reduction live in the op table
(tests/functional/ops_embedding.py)."""
import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve import nn


def test_contrastive_loss_on_hand_worked_pairs():
    # y = 1 (similar) at distance 5: ½·25. y = 0 (dissimilar) at distance 0.5, margin 2: ½·1.5².
    # y = 0 beyond the margin (distance 5): 0.
    a = nv.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    b = nv.tensor([[3.0, 4.0], [0.3, 0.4], [4.0, 5.0]])
    y = nv.tensor([1, 0, 0])
    out = F.contrastive_loss(a, b, y, margin=2.0, eps=0.0, reduction="none").numpy()
    np.testing.assert_allclose(out, [12.5, 1.125, 0.0], rtol=1e-12)
    assert F.contrastive_loss(a, b, y, margin=2.0, eps=0.0).item() == pytest.approx(13.625 / 3)
    mod = nn.ContrastiveLoss(margin=2.0, eps=0.0, reduction="sum")
    assert mod(a, b, y).item() == pytest.approx(13.625)


def test_contrastive_loss_gradient_pulls_similar_and_pushes_dissimilar():
    a = nv.tensor([[0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    b = nv.tensor([[1.0, 0.0], [1.0, 0.0]])
    F.contrastive_loss(a, b, nv.tensor([1.0, 0.0]), margin=2.0, eps=0.0, reduction="sum").backward()
    g = a.grad.numpy()
    assert g[0, 0] < 0          # similar: moving a towards b (+x) lowers the loss
    assert g[1, 0] > 0          # dissimilar inside the margin: moving away (−x) lowers it
    np.testing.assert_allclose(g[:, 0], [-1.0, 1.0], rtol=1e-12)   # d(½d²) = d; d(½(2−d)²) = −(2−d)


def test_triplet_and_cosine_on_hand_worked_values():
    a, p, n = nv.tensor([[0.0, 0.0]]), nv.tensor([[0.0, 1.0]]), nv.tensor([[1.5, 0.0]])
    assert F.triplet_margin_loss(a, p, n, eps=0.0).item() == pytest.approx(0.5)
    # swap: d(p, n) = sqrt(1 + 2.25) ≈ 1.803 > d(a, n) = 1.5, so nothing changes
    assert F.triplet_margin_loss(a, p, n, eps=0.0, swap=True).item() == pytest.approx(0.5)
    n2 = nv.tensor([[0.0, 1.2]])   # d(a, n) = 1.2 but d(p, n) = 0.2: the swap makes it harder
    assert F.triplet_margin_loss(a, p, n2, eps=0.0, swap=True).item() == pytest.approx(1.8)
    x1, x2 = nv.tensor([[1.0, 0.0], [1.0, 0.0]]), nv.tensor([[0.0, 1.0], [1.0, 1.0]])
    out = nn.CosineEmbeddingLoss(margin=0.5, reduction="none")(x1, x2, nv.tensor([1, -1])).numpy()
    np.testing.assert_allclose(out, [1.0, np.sqrt(0.5) - 0.5], rtol=1e-7)


def test_pairwise_distance_module_and_zero_rows():
    d = nn.PairwiseDistance()(nv.tensor([[1.0, 1.0]]), nv.tensor([[1.0, 1.0]]))
    np.testing.assert_allclose(d.numpy(), [np.sqrt(2) * 1e-6], rtol=1e-6)   # eps keeps it non-zero
    x = nv.tensor([[1.0, 1.0]], requires_grad=True)
    F.pairwise_distance(x, nv.tensor([[1.0, 1.0]])).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


@pytest.mark.parametrize("call,match", [
    (lambda: F.contrastive_loss(nv.ones(2, 3), nv.ones(2, 3), nv.tensor([1, 2])), "1 \\(similar\\)"),
    (lambda: F.contrastive_loss(nv.ones(2, 3), nv.ones(3, 3), nv.tensor([1, 0])), "same shape"),
    (lambda: F.contrastive_loss(nv.ones(2, 3), nv.ones(2, 3), nv.tensor([1, 0, 1])), "shape \\(2,\\)"),
    (lambda: F.cosine_embedding_loss(nv.ones(2, 3), nv.ones(2, 3), nv.tensor([1, 0])), "2 \\* y - 1"),
    (lambda: F.triplet_margin_loss(nv.ones(2, 3), nv.ones(2, 3), nv.ones(2, 4)), "negative"),
    (lambda: F.triplet_margin_loss(nv.ones(2, 3), nv.ones(2, 3), nv.ones(2, 3), reduction="avg"),
     "reduction"),
])
def test_errors_name_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()
