"""Embedding and EmbeddingBag against PyTorch: values, gradients (repeated ids add up,
the padding row gets none), max_norm's in-place renormalisation, from_pretrained."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

IDS = np.array([[1, 3, 1, 0], [4, 1, 2, 3]])


def _pair(V=6, D=3, dtype=np.float32, **kw):
    ours = nn.Embedding(V, D, dtype=dtype, **kw)
    theirs = torch.nn.Embedding(V, D, dtype=getattr(torch, np.dtype(dtype).name), **kw)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.numpy().copy()))
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 1}, {"padding_idx": -2}, {"scale_grad_by_freq": True},
                                {"padding_idx": 3, "scale_grad_by_freq": True}])
def test_embedding_matches_torch_values_and_gradients(dtype, kw):
    ours, theirs = _pair(dtype=dtype, **kw)
    g = np.random.default_rng(0).standard_normal(IDS.shape + (3,)).astype(dtype)
    out = ours(nv.tensor(IDS))
    tout = theirs(torch.from_numpy(IDS))
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    out.backward(nv.tensor(g))
    tout.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_repeated_ids_accumulate_and_padding_row_gets_nothing():
    emb = nn.Embedding(5, 2, padding_idx=0, dtype=np.float64)
    assert np.all(emb.weight.numpy()[0] == 0)  # the padding row starts at zero
    emb(nv.tensor([2, 2, 2, 0, 0])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[2], [3.0, 3.0])
    np.testing.assert_array_equal(emb.weight.grad.numpy()[0], [0.0, 0.0])


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_max_norm_renormalises_the_looked_up_rows_in_place_like_torch(norm_type):
    ours, theirs = _pair(V=6, D=4, dtype=np.float64, max_norm=1.0, norm_type=norm_type)
    ids = np.array([0, 2, 2, 5])
    before = ours.weight.numpy().copy()
    out = ours(nv.tensor(ids))
    tout = theirs(torch.from_numpy(ids))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
    norms = np.linalg.norm(ours.weight.numpy()[ids], ord=norm_type, axis=1)
    assert np.all(norms <= 1.0 + 1e-9)
    untouched = [1, 3, 4]  # rows not looked up keep their values
    np.testing.assert_array_equal(ours.weight.numpy()[untouched], before[untouched])
    g = np.ones((4, 4))
    out.backward(nv.tensor(g))
    tout.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


def test_from_pretrained_copies_and_freezes():
    W = np.arange(12.0).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(nv.tensor(W))
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(nv.tensor([3, 1])).numpy(), W[[3, 1]])
    emb2 = nn.Embedding.from_pretrained(W, freeze=False, padding_idx=2)
    assert emb2.weight.requires_grad and emb2.padding_idx == 2
    W[0, 0] = 99.0
    assert emb2.weight.numpy()[0, 0] == 0.0  # a copy, not a view
    tw = torch.nn.Embedding.from_pretrained(torch.arange(12.0).reshape(4, 3))
    assert set(tw.state_dict()) == set(emb.state_dict())


def test_errors_name_the_problem():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match="out of range"):
        emb(nv.tensor([4]))
    with pytest.raises(TypeError, match="integer ids"):
        emb(nv.tensor([1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)


def test_second_order_through_the_lookup():
    W = nv.tensor(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=True)
    ids = nv.tensor(IDS)
    assert gradcheck(lambda w: nv.nn.functional.embedding(ids, w) ** 2, [W])
    assert gradgradcheck(lambda w: nv.nn.functional.embedding(ids, w) ** 2, [W])


FLAT = np.array([1, 3, 1, 0, 4, 1, 2, 3, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("offsets,last", [([0, 3, 3, 7], False), ([0, 2, 5, 9], True), ([0, 4], False)])
@pytest.mark.parametrize("pad", [None, 1])
def test_embedding_bag_matches_torch(dtype, mode, offsets, last, pad):
    rng = np.random.default_rng(2)
    W = rng.standard_normal((5, 3)).astype(dtype)
    ours = nn.EmbeddingBag.from_pretrained(nv.tensor(W), freeze=False, mode=mode,
                                           include_last_offset=last, padding_idx=pad)
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(W.copy()), freeze=False, mode=mode,
                                                   include_last_offset=last, padding_idx=pad)
    off = np.array(offsets)
    out = ours(nv.tensor(FLAT), nv.tensor(off))
    tout = theirs(torch.from_numpy(FLAT), torch.from_numpy(off))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-7)
    g = rng.standard_normal(out.shape).astype(dtype)
    out.backward(nv.tensor(g))
    tout.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_embedding_bag_2d_and_per_sample_weights():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((5, 3))
    psw = rng.standard_normal(FLAT.shape)
    ours = nn.EmbeddingBag.from_pretrained(nv.tensor(W), freeze=False, mode="sum")
    theirs = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(W.copy()), freeze=False, mode="sum")
    p = nv.tensor(psw, requires_grad=True)
    tp = torch.tensor(psw, requires_grad=True)
    out = ours(nv.tensor(FLAT), nv.tensor([0, 4]), per_sample_weights=p)
    tout = theirs(torch.from_numpy(FLAT), torch.tensor([0, 4]), per_sample_weights=tp)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    for mode in ("sum", "mean", "max"):
        o = nn.EmbeddingBag.from_pretrained(nv.tensor(W), mode=mode)(nv.tensor(IDS))
        t = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(W), mode=mode)(torch.from_numpy(IDS))
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12)


def test_state_dict_keys_match_torch():
    assert set(nn.Embedding(4, 2).state_dict()) == set(torch.nn.Embedding(4, 2).state_dict())
    assert set(nn.EmbeddingBag(4, 2).state_dict()) == set(torch.nn.EmbeddingBag(4, 2).state_dict())
