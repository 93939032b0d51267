"""Positional encodings: the sinusoid table's closed form, learned positions take
gradients, RoPE preserves norms and makes q·k a function of the position difference."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.autograd import gradcheck, gradgradcheck


def test_sinusoidal_table_matches_the_formula_and_is_added():
    pe = nn.SinusoidalPositionalEncoding(6, max_len=20, dtype=np.float64)
    p, i = 7, 2  # feature pair i
    ang = p / 10000 ** (2 * i / 6)
    np.testing.assert_allclose(pe.pe.numpy()[p, 2 * i], np.sin(ang), rtol=1e-14)
    np.testing.assert_allclose(pe.pe.numpy()[p, 2 * i + 1], np.cos(ang), rtol=1e-14)
    x = np.random.default_rng(0).standard_normal((5, 2, 6))            # (L, N, d)
    np.testing.assert_allclose(pe(nv.tensor(x)).numpy(), x + pe.pe.numpy()[:5, None], rtol=1e-14)
    np.testing.assert_allclose(pe(nv.tensor(x), offset=3).numpy(), x + pe.pe.numpy()[3:8, None])
    assert "pe" not in pe.state_dict()
    odd = nn.SinusoidalPositionalEncoding(5, max_len=4)
    assert odd.pe.shape == (4, 5)
    with pytest.raises(ValueError, match="max_len"):
        pe(nv.zeros(21, 1, 6))


def test_learned_positions_get_gradients_only_where_used():
    pos = nn.LearnedPositionalEmbedding(10, 3, batch_first=True, dtype=np.float64)
    x = nv.tensor(np.zeros((2, 4, 3)), requires_grad=True)
    pos(x, offset=2).sum().backward()
    g = pos.weight.grad.numpy()
    assert np.all(g[2:6] == 2.0) and np.all(g[:2] == 0) and np.all(g[6:] == 0)
    assert list(pos.state_dict()) == ["weight"]
    assert 0.005 < pos.weight.numpy().std() < 0.05


def test_rope_preserves_norms_and_depends_on_relative_position_only():
    rope = nn.RotaryEmbedding(8, max_len=64, dtype=np.float64)
    r = np.random.default_rng(1)
    q, k = r.standard_normal(8), r.standard_normal(8)
    def rot(v, p):  # noqa: E306
        return rope(nv.tensor(v[None, :]), offset=p).numpy()[0]
    np.testing.assert_allclose(np.linalg.norm(rot(q, 13)), np.linalg.norm(q), rtol=1e-13)
    d1 = rot(q, 10) @ rot(k, 7)
    d2 = rot(q, 33) @ rot(k, 30)
    np.testing.assert_allclose(d1, d2, rtol=1e-12)
    assert not np.isclose(d1, rot(q, 10) @ rot(k, 9))
    np.testing.assert_allclose(rot(q, 0), q)  # position 0: no rotation


def test_rope_matches_a_torch_rotate_half_and_is_differentiable():
    torch = pytest.importorskip("torch")
    rope = nn.RotaryEmbedding(4, max_len=16, base=100.0, dtype=np.float64)
    x = np.random.default_rng(2).standard_normal((2, 2, 5, 4))
    t = torch.from_numpy(x)
    theta = 100.0 ** (-torch.arange(0, 4, 2, dtype=torch.float64) / 4)
    ang = torch.arange(5, dtype=torch.float64)[:, None] * theta
    ang = torch.cat([ang, ang], -1)
    ref = t * ang.cos() + torch.cat([-t[..., 2:], t[..., :2]], -1) * ang.sin()
    np.testing.assert_allclose(rope(nv.tensor(x)).numpy(), ref.numpy(), rtol=1e-13)
    xt = nv.tensor(x, requires_grad=True)
    assert gradcheck(lambda a: rope(a), [xt])
    assert gradgradcheck(lambda a: rope(a) ** 2, [xt])
    with pytest.raises(ValueError, match="even"):
        nn.RotaryEmbedding(5)


def test_docstring_examples():
    import doctest

    import nerve.nn.positional as M

    res = doctest.testmod(M, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
