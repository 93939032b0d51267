"""The fused recurrent sequence ops against the cell-by-cell reference, finite differences
(first and second order) and their error messages. Sizes are tiny: every check runs in float64
on a 3-step sequence."""
import numpy as np
import pytest

import nerve as nv
import nerve.functional as F
from nerve.autograd import gradcheck, gradgradcheck
from nerve.functional.recurrent import _layer_by_cells

T, N, D, H = 3, 3, 2, 2
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
MODES = list(GATES)


def _inputs(mode, seed=0, proj=None, bias=True, dtype=np.float64):
    """Tensors (x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr) for one layer; c0/W_hr None when unused."""
    rng = np.random.default_rng(seed)
    g = GATES[mode]
    hp = proj or H

    def t(*s):
        return nv.tensor((0.6 * rng.standard_normal(s)).astype(dtype), requires_grad=True)

    c0 = t(N, H) if mode == "LSTM" else None
    W_hr = t(proj, H) if proj else None
    b = (t(g * H), t(g * H)) if bias else (None, None)
    return [t(T, N, D), t(N, hp), c0, t(g * H, D), t(g * H, hp), *b, W_hr]


def _fused(mode, x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, reverse=False, batch_sizes=None):
    """The fused op with the reference's (output, h_n, c_n) return shape."""
    if mode == "LSTM":
        return F.lstm_layer(x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, reverse, batch_sizes)
    if mode == "GRU":
        return (*F.gru_layer(x, h0, W_ih, W_hh, b_ih, b_hh, reverse, batch_sizes), None)
    nl = "relu" if mode == "RNN_RELU" else "tanh"
    return (*F.rnn_layer(x, h0, W_ih, W_hh, b_ih, b_hh, nl, reverse, batch_sizes), None)


def _loss(outs, seed=1):
    """A weighted sum of every output, so each one's gradient path is exercised."""
    rng = np.random.default_rng(seed)
    total = 0
    for o in outs:
        if o is not None:
            total = total + (o * nv.tensor(rng.standard_normal(o.shape))).sum()
    return total


VARIANTS = [dict(), dict(reverse=True), dict(batch_sizes=[3, 2, 1]),
            dict(reverse=True, batch_sizes=[3, 3, 1])]
IDS = ["forward", "reverse", "packed", "reverse-packed"]


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("mode", MODES + ["LSTM_PROJ", "NO_BIAS"])
def test_fused_equals_cell_by_cell_reference(mode, kw):
    proj, bias, m = None, True, mode
    if mode == "LSTM_PROJ":
        m, proj = "LSTM", 1
    if mode == "NO_BIAS":
        m, bias = "GRU", False
    args = _inputs(m, proj=proj, bias=bias)
    fused = _fused(m, *args, **kw)
    ref = _layer_by_cells(m, *args, **kw)
    for a, b in zip(fused, ref):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-13)
    wrt = [a for a in args if a is not None]
    g_fused = nv.autograd.grad(_loss(fused), wrt)
    g_ref = nv.autograd.grad(_loss(ref), wrt)
    for a, b in zip(g_fused, g_ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("kw", VARIANTS, ids=IDS)
@pytest.mark.parametrize("mode", MODES + ["LSTM_PROJ"])
def test_fused_gradcheck_every_output(mode, kw):
    proj, m = (1, "LSTM") if mode == "LSTM_PROJ" else (None, mode)
    args = _inputs(m, seed=2, proj=proj)
    slots = [i for i, a in enumerate(args) if a is not None]

    def f(*ts):
        full = list(args)
        for i, t_ in zip(slots, ts):
            full[i] = t_
        return _loss(_fused(m, *full, **kw), seed=3)

    assert gradcheck(f, [args[i] for i in slots])


@pytest.mark.parametrize("kw", VARIANTS[:3], ids=IDS[:3])
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_fused_double_backward_is_exact(mode, kw):
    """The backward recomputes its gates under create_graph (xp.reuse), so it differentiates."""
    args = _inputs(mode, seed=4)
    slots = [i for i, a in enumerate(args) if a is not None]

    def f(*ts):
        full = list(args)
        for i, t_ in zip(slots, ts):
            full[i] = t_
        out = _fused(mode, *full, **kw)
        return out[0] if mode != "LSTM" else out[0] + out[2].unsqueeze(0)

    assert gradgradcheck(f, [args[i] for i in slots])


def test_packed_rows_equal_running_each_sequence_alone():
    lengths = [3, 2, 1]
    for mode in MODES:
        for reverse in (False, True):
            args = _inputs(mode, seed=5)
            x, h0, c0 = args[:3]
            out, hn, cn = _fused(mode, *args, reverse=reverse, batch_sizes=[3, 2, 1])
            for b, L in enumerate(lengths):
                one = [x[:L, b:b + 1], h0[b:b + 1], None if c0 is None else c0[b:b + 1]] + args[3:]
                o1, h1, c1 = _fused(mode, *one, reverse=reverse)
                np.testing.assert_allclose(out.numpy()[:L, b:b + 1], o1.numpy(), rtol=1e-12, atol=1e-14)
                assert np.all(out.numpy()[L:, b] == 0)
                np.testing.assert_allclose(hn.numpy()[b:b + 1], h1.numpy(), rtol=1e-12, atol=1e-14)
                if cn is not None:
                    np.testing.assert_allclose(cn.numpy()[b:b + 1], c1.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "create_graph"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("mode", MODES + ["LSTM_PROJ"])
def test_an_empty_sequence_passes_the_states_through(mode, reverse, create_graph):
    """T = 0: no outputs, h_n (and c_n) equal the initial states without sharing their memory,
    the states' gradients go straight back to h0 (and c0), and the weights get zero gradients
    (none under create_graph), for every layer kind and both directions."""
    proj = 1 if mode == "LSTM_PROJ" else None
    m = "LSTM" if proj else mode
    xs = _inputs(m, seed=6, proj=proj)
    xs[0] = nv.tensor(np.zeros((0, N, D)), requires_grad=True)
    out, h, c = _fused(m, *xs, reverse=reverse)
    assert out.shape == (0, N, proj or H)
    states = [(h, xs[1])] + ([(c, xs[2])] if c is not None else [])
    for s, s0 in states:
        np.testing.assert_array_equal(s.numpy(), s0.numpy())
        assert not np.shares_memory(s.numpy(), s0.numpy())
    w = [np.random.default_rng(k).standard_normal(s0.shape) for k, (_, s0) in enumerate(states)]
    loss = sum((s * nv.tensor(wk)).sum() for (s, _), wk in zip(states, w))
    leaves = [t for t in xs if t is not None]
    if create_graph:
        grads = nv.autograd.grad(loss, leaves, create_graph=True, allow_unused=True)
    else:
        loss.backward()
        grads = [t.grad for t in leaves]
    by_leaf = dict(zip(map(id, leaves), grads))
    for (_, s0), wk in zip(states, w):
        np.testing.assert_array_equal(by_leaf.pop(id(s0)).numpy(), wk)
    for g in by_leaf.values():
        assert (g is None) if create_graph else not g.numpy().any()


def test_float32_stays_float32():
    args = _inputs("LSTM", dtype=np.float32)
    out, h, c = _fused("LSTM", *args)
    assert out.dtype == h.dtype == c.dtype == np.float32
    _loss((out, h, c)).backward()
    assert all(a.grad.dtype == np.float32 for a in args if a is not None)


def test_one_node_per_layer_and_inputs_need_no_grad():
    args = _inputs("LSTM")
    out, h, c = _fused("LSTM", *args)
    assert out.grad_fn is h.grad_fn is c.grad_fn
    x = args[0].detach()                        # the first layer's input: no gradient wanted
    out, h, c = _fused("LSTM", x, *args[1:])
    out.sum().backward()
    assert x.grad is None and args[3].grad is not None


def test_errors_name_the_shapes():
    x, h0, c0, Wi, Wh, bi, bh, _ = _inputs("LSTM")
    with pytest.raises(RuntimeError, match=r"time-major \(T, N, input_size\), got shape \(3, 2\)"):
        F.lstm_layer(x[0], h0, c0, Wi, Wh)
    with pytest.raises(RuntimeError, match=r"initial hidden state of shape \(2, 2\), expected \(3, 2\)"):
        F.lstm_layer(x, h0[:2], c0, Wi, Wh)
    with pytest.raises(RuntimeError, match=r"weight_ih of shape \(8, 2\) does not fit input of shape \(3, 3, 5\)"):
        F.lstm_layer(nv.zeros(3, 3, 5, dtype=nv.float64), h0, c0, Wi, Wh)
    with pytest.raises(RuntimeError, match="dtype"):
        F.lstm_layer(x.float(), h0, c0, Wi, Wh)
    with pytest.raises(ValueError, match="non-increasing"):
        F.lstm_layer(x, h0, c0, Wi, Wh, batch_sizes=[1, 2, 3])
    with pytest.raises(ValueError, match="'tanh' or 'relu'"):
        F.rnn_layer(x, h0, Wi[:2], Wh[:2, :2], nonlinearity="sigmoid")


def test_docstring_examples():
    import doctest

    import nerve.functional.recurrent as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
