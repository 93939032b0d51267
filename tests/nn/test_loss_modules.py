"""Loss modules: twins of F.* and of torch.nn losses, weights as buffers, argument checks."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn

rng = np.random.default_rng(0)
X = rng.standard_normal((6, 4))
Y_REAL = rng.standard_normal((6, 4))
Y_CLASS = np.array([0, 3, 1, 1, 2, 0])
Y_BIN = (rng.random((6, 4)) > 0.5).astype(np.float64)
P = 1 / (1 + np.exp(-X))
LOGP = X - np.log(np.exp(X).sum(1, keepdims=True))
Q = np.exp(Y_REAL) / np.exp(Y_REAL).sum(1, keepdims=True)
W = np.array([1.0, 2.0, 0.5, 1.5])

# (ours, torch name, kwargs, input, target, tensor kwargs)
CASES = [
    ("MSELoss", {}, X, Y_REAL), ("MSELoss", {"reduction": "sum"}, X, Y_REAL),
    ("L1Loss", {"reduction": "none"}, X, Y_REAL), ("SmoothL1Loss", {"beta": 0.5}, X, Y_REAL),
    ("HuberLoss", {"delta": 0.7}, X, Y_REAL),
    ("CrossEntropyLoss", {}, X, Y_CLASS), ("CrossEntropyLoss", {"weight": W, "label_smoothing": 0.1}, X, Y_CLASS),
    ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "sum"}, X, Y_CLASS),
    ("NLLLoss", {"weight": W}, LOGP, Y_CLASS), ("BCELoss", {}, P, Y_BIN),
    ("BCEWithLogitsLoss", {"pos_weight": W}, X, Y_BIN), ("KLDivLoss", {"reduction": "batchmean"}, LOGP, Q),
]


def _kw(kw, make):
    return {k: (make(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}


@pytest.mark.torch
@pytest.mark.parametrize("name,kw,x,t", CASES, ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
def test_matches_torch(name, kw, x, t):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, name)(**_kw(kw, lambda a: nv.tensor(a, dtype=nv.float64)))
    theirs = getattr(torch.nn, name)(**_kw(kw, torch.tensor))
    xi = nv.tensor(x, requires_grad=True)
    out = ours(xi, nv.tensor(t))
    xt = torch.tensor(x, requires_grad=True)
    ot = theirs(xt, torch.tensor(t))
    np.testing.assert_allclose(out.data, ot.detach().numpy(), atol=1e-10, rtol=1e-8)
    out.sum().backward()
    ot.sum().backward()
    np.testing.assert_allclose(xi.grad.data, xt.grad.numpy(), atol=1e-10, rtol=1e-8)
    assert repr(ours).startswith(name + "(")   # ours also shows a non-default reduction


def test_reduction_is_checked():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="average")


def test_weights_are_buffers_and_follow_dtype():
    ce = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])
    assert list(ce.state_dict()) == ["weight"] and ce.weight.dtype == np.float32
    ce.double()
    assert ce.weight.dtype == np.float64
    assert list(nn.MSELoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=[2.0]).state_dict()) == ["pos_weight"]


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    x = nv.tensor(X, requires_grad=True)
    nn.CrossEntropyLoss()(x, nv.tensor(Y_CLASS)).backward()
    p = np.exp(X) / np.exp(X).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, (p - np.eye(4)[Y_CLASS]) / 6, atol=1e-14)


def test_log_softmax_plus_nll_equals_cross_entropy():
    x = nv.randn(5, 7)
    y = nv.randint(0, 7, size=(5,))
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), y)
    b = nn.CrossEntropyLoss()(x, y)
    assert abs(a.item() - b.item()) < 1e-6
    assert a.dtype == np.float32
