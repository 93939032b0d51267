"""Capsules (glossary rows 76 and 86): squash, dynamic routing against a line-by-line
transcription of Sabour et al.'s Procedure 1, routing on agreeing predictions, margin loss."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn


def test_squash_keeps_direction_and_maps_length_exactly():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((5, 7, 8)) * rng.uniform(0.01, 10, (5, 7, 1))
    v = nn.squash(nv.tensor(s)).numpy()
    n = np.linalg.norm(s, axis=-1)
    np.testing.assert_allclose(np.linalg.norm(v, axis=-1), n ** 2 / (1 + n ** 2), rtol=1e-13)
    np.testing.assert_allclose(v / np.linalg.norm(v, axis=-1, keepdims=True),
                               s / n[..., None], rtol=1e-13, atol=1e-15)
    assert nn.squash(nv.zeros(2, 3, dtype=nv.float64)).tolist() == [[0.0] * 3] * 2


def test_squash_gradient_including_at_zero():
    rng = np.random.default_rng(1)
    x = nv.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert nv.autograd.gradcheck(nn.squash, [x])
    z = nv.zeros(1, 3, dtype=nv.float64, requires_grad=True)
    nn.squash(z).sum().backward()
    assert np.all(np.isfinite(z.grad.numpy()))


def paper_procedure_1(u_hat, r):
    """Procedure 1 of Sabour, Frosst & Hinton (2017), one sample, written loop by loop.

    u_hat[i, j] is the prediction û_{j|i} of child i (layer l) for parent j (layer l + 1).
    """
    n_in, n_out, d = u_hat.shape
    b = np.zeros((n_in, n_out))                                   # 2: b_ij ← 0
    for _ in range(r):                                            # 3: for r iterations do
        c = np.zeros((n_in, n_out))
        for i in range(n_in):                                     # 4: c_i ← softmax(b_i)
            e = np.exp(b[i] - b[i].max())
            c[i] = e / e.sum()
        s = np.zeros((n_out, d))
        for j in range(n_out):                                    # 5: s_j ← Σ_i c_ij û_{j|i}
            for i in range(n_in):
                s[j] += c[i, j] * u_hat[i, j]
        v = np.zeros((n_out, d))
        for j in range(n_out):                                    # 6: v_j ← squash(s_j)
            sq = s[j] @ s[j]
            v[j] = sq / (1 + sq) * s[j] / np.sqrt(sq)
        for i in range(n_in):                                     # 7: b_ij ← b_ij + û_{j|i}·v_j
            for j in range(n_out):
                b[i, j] = b[i, j] + u_hat[i, j] @ v[j]
    return v, c                                                   # 8: return v_j


@pytest.mark.parametrize("iters", [1, 2, 3, 5])
def test_dynamic_routing_equals_the_paper_transcription(iters):
    rng = np.random.default_rng(iters)
    u_hat = rng.standard_normal((3, 12, 5, 4))
    v, c = nn.dynamic_routing(nv.tensor(u_hat), iters, return_couplings=True)
    for n in range(3):
        v_ref, c_ref = paper_procedure_1(u_hat[n], iters)
        np.testing.assert_allclose(v.numpy()[n], v_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(c.numpy()[n], c_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c.numpy().sum(-1), 1.0, atol=1e-12)   # couplings sum to 1 over parents


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_routing_couples_children_to_the_parent_they_agree_on(seed):
    """All 32 children predict the same length-3 vector for parent 3; their predictions for
    the other 9 parents are N(0, 0.3²) noise. After 3 iterations every child sends >= 0.9 of
    its output to parent 3 (uniform routing would give 0.1)."""
    rng = np.random.default_rng(seed)
    N, n_in, n_out, d = 4, 32, 10, 16
    u_hat = rng.standard_normal((N, n_in, n_out, d)) * 0.3
    direction = rng.standard_normal((N, 1, d))
    u_hat[:, :, 3] = 3.0 * direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    _, c = nn.dynamic_routing(nv.tensor(u_hat), iters=3, return_couplings=True)
    c = c.numpy()
    np.testing.assert_allclose(c.sum(-1), 1.0, atol=1e-12)
    print(f"seed {seed}: smallest coupling to the agreed parent {c[:, :, 3].min():.4f}")
    assert c[:, :, 3].min() >= 0.9
    _, c1 = nn.dynamic_routing(nv.tensor(u_hat), iters=1, return_couplings=True)
    np.testing.assert_allclose(c1.numpy(), 0.1)


def test_routing_gradients_pass_gradcheck():
    rng = np.random.default_rng(3)
    u = nv.tensor(rng.standard_normal((2, 4, 3, 2)), requires_grad=True)
    assert nv.autograd.gradcheck(lambda t: nn.dynamic_routing(t, 3), [u])


def test_margin_loss_equals_its_formula():
    lengths = np.array([[0.95, 0.3, 0.05], [0.5, 0.2, 0.12], [0.0, 1.0, 0.7]])
    y = np.array([0, 2, 1])
    T = np.eye(3)[y]
    ref = (T * np.maximum(0, 0.9 - lengths) ** 2
           + 0.5 * (1 - T) * np.maximum(0, lengths - 0.1) ** 2).sum(1)
    out = nn.margin_loss(nv.tensor(lengths), nv.tensor(y), reduction="none").numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-14)
    # by hand, row 0: present 0.95 ≥ 0.9 → 0; absent 0.5·(0.2² + 0) = 0.02
    assert out[0] == pytest.approx(0.02, abs=1e-15)
    assert nn.MarginLoss()(nv.tensor(lengths), nv.tensor(y)).item() == pytest.approx(ref.mean(), rel=1e-14)
    with pytest.raises(ValueError, match="integer classes"):
        nn.margin_loss(nv.tensor(lengths), nv.tensor([0.0, 1.0, 2.0]))


def test_capsule_layer_shapes_and_errors():
    caps = nn.PrimaryCaps(8, num_capsules=4, capsule_dim=6, kernel_size=3, stride=1)
    u = caps(nv.randn(2, 8, 5, 5))
    assert u.shape == (2, 4 * 3 * 3, 6)
    assert np.all(np.linalg.norm(u.numpy(), axis=-1) < 1)
    dc = nn.DigitCaps(36, 6, 10, 16)
    assert dc(u).shape == (2, 10, 16)
    with pytest.raises(ValueError, match=r"expected \(N, 36, 6\)"):
        dc(nv.randn(2, 35, 6))
