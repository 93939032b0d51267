"""ZeroPad1d/2d/3d, ConstantPad1d/2d/3d and AdaptiveMaxPool1d against their torch twins."""
import doctest

import numpy as np
import pytest

import nerve as nv

torch = pytest.importorskip("torch")


def _both(ours, theirs, shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    x = nv.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    y = y[0] if isinstance(y, tuple) else y
    ty = ty[0] if isinstance(ty, tuple) else ty
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12)
    g = np.random.default_rng(seed + 1).standard_normal(y.shape)
    y.backward(nv.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,args,shape", [
    ("ZeroPad2d", (1,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 0, 2, 3),), (3, 4, 5)),
    ("ZeroPad2d", ((-1, 2, 0, -1),), (1, 2, 4, 4)),
    ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ZeroPad1d", ((0, 3),), (3, 4)),
    ("ConstantPad1d", ((1, 2), 3.5), (2, 3, 4)),
    ("ConstantPad2d", (1, -2.0), (2, 3, 4, 5)),
    ("ZeroPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 2, 3, 2)),
    ("ConstantPad3d", (1, 0.5), (2, 2, 3, 2)),
])
def test_padding_layers_match_torch(name, args, shape):
    _both(getattr(nv.nn, name)(*args), getattr(torch.nn, name)(*args), shape)


def test_padding_layer_errors_and_repr():
    with pytest.raises(ValueError, match=r"ZeroPad2d: padding must be an int or a tuple of 4 ints"):
        nv.nn.ZeroPad2d((1, 2))
    with pytest.raises(RuntimeError, match=r"ZeroPad2d\(1, 1, 1, 1\) expects an input with at least 3"):
        nv.nn.ZeroPad2d(1)(nv.ones(4))
    assert repr(nv.nn.ZeroPad2d(1)) == "ZeroPad2d(padding=(1, 1, 1, 1))"


@pytest.mark.parametrize("L,Lo", [(7, 3), (8, 4), (3, 5), (10, 1), (5, 5)])
def test_adaptive_max_pool1d_matches_torch_with_indices(L, Lo):
    a = np.random.default_rng(L * 10 + Lo).standard_normal((2, 3, L))
    v, i = nv.nn.AdaptiveMaxPool1d(Lo, return_indices=True)(nv.tensor(a))
    tv, ti = torch.nn.AdaptiveMaxPool1d(Lo, return_indices=True)(torch.tensor(a))
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    assert i.dtype == nv.int64 and i.tolist() == ti.tolist()
    _both(nv.nn.AdaptiveMaxPool1d(Lo), torch.nn.AdaptiveMaxPool1d(Lo), (3, L))


def test_adaptive_max_pool1d_ties_pick_the_first_like_torch():
    a = np.array([[[1.0, 3.0, 3.0, 2.0, 2.0, 0.0]]])
    _, i = nv.functional.adaptive_max_pool1d(nv.tensor(a), 2, return_indices=True)
    _, ti = torch.nn.functional.adaptive_max_pool1d(torch.tensor(a), 2, return_indices=True)
    assert i.tolist() == ti.tolist()
    with pytest.raises(RuntimeError, match=r"adaptive_max_pool1d: expected \(N, C, L\) or \(C, L\)"):
        nv.functional.adaptive_max_pool1d(nv.ones(4), 2)


@pytest.mark.parametrize("name", ["nerve.nn.padding", "nerve.nn.pooling", "nerve.functional.normalization",
                                  "nerve.functional.pooling"])
def test_docstring_examples(name):
    import importlib

    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
