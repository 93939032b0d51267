"""nn.RNN / LSTM / GRU and their cells against PyTorch with copied weights: outputs, final
states and every gradient, for each layer type × num_layers × bidirectional × batch_first ×
dtype; packed sequences; the layers' errors. Sizes are tiny so the file runs in seconds."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

T, N, D, H = 4, 3, 3, 5
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _twins(kind, dtype, **kw):
    """The same layer in torch and nerve, nerve's weights loaded from torch's state_dict."""
    torch.manual_seed(0)
    tl = getattr(torch.nn, kind)(**kw)
    tl = tl.double() if dtype == np.float64 else tl
    nl = getattr(nn, kind)(**kw, dtype=dtype)
    missing = nl.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    assert set(nl.state_dict()) == set(tl.state_dict())
    assert missing is None or not any(missing)
    for k, v in tl.state_dict().items():
        assert tuple(nl.state_dict()[k].shape) == tuple(v.shape), k
    return tl, nl


def _pair(arr, requires=True):
    return nv.tensor(arr, requires_grad=requires), torch.tensor(arr, requires_grad=requires)


def _weighted(outs, seed):
    """Σ (out ⊙ w) over every output, with the same random w for both frameworks."""
    rng = np.random.default_rng(seed)
    tot_n = tot_t = 0
    for o_n, o_t in outs:
        w = rng.standard_normal(tuple(o_t.shape)).astype(o_n.dtype)
        tot_n = tot_n + (o_n * nv.tensor(w)).sum()
        tot_t = tot_t + (o_t * torch.tensor(w)).sum()
    return tot_n, tot_t


def _close(a, b, dtype, what):
    assert a is not None and b is not None, what
    np.testing.assert_allclose(a._data, b.detach().numpy(), err_msg=what, **TOL[dtype])


def _compare_grads(nl, tl, pairs, dtype):
    for name, p in tl.named_parameters():
        _close(nl.get_parameter(name).grad, p.grad, dtype, f"grad of {name}")
    for i, (a, b) in enumerate(pairs):
        _close(a.grad, b.grad, dtype, f"grad of input {i}")


def _check_outputs_then_grads(nl, tl, outs, pairs, dtype, seed):
    """Every (nerve, torch) output pair equal, then the gradients of one random weighting of
    them equal for every parameter and every input pair."""
    for i, (a, b) in enumerate(outs):
        _close(a, b, dtype, f"output {i}")
    ln, lt = _weighted(outs, seed=seed)
    ln.backward()
    lt.backward()
    _compare_grads(nl, tl, pairs, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tnd", "bf"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, dtype):
    tl, nl = _twins(kind, dtype, input_size=D, hidden_size=H, num_layers=num_layers,
                    bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(1)
    L = num_layers * (2 if bidirectional else 1)
    x_shape = (N, T, D) if batch_first else (T, N, D)
    xn, xt = _pair(rng.standard_normal(x_shape).astype(dtype))
    hn0, ht0 = _pair(0.5 * rng.standard_normal((L, N, H)).astype(dtype))
    pairs = [(xn, xt), (hn0, ht0)]
    if kind == "LSTM":
        cn0, ct0 = _pair(0.5 * rng.standard_normal((L, N, H)).astype(dtype))
        pairs.append((cn0, ct0))
        on, (hn, cn) = nl(xn, (hn0, cn0))
        ot, (ht, ct) = tl(xt, (ht0, ct0))
        outs = [(on, ot), (hn, ht), (cn, ct)]
    else:
        on, hn = nl(xn, hn0)
        ot, ht = tl(xt, ht0)
        outs = [(on, ot), (hn, ht)]
    for i, (a, b) in enumerate(outs):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == dtype
        _close(a, b, dtype, f"output {i}")
    ln, lt = _weighted(outs, seed=2)
    ln.backward()
    lt.backward()
    _compare_grads(nl, tl, pairs, dtype)


@pytest.mark.parametrize("kw", [dict(nonlinearity="relu", num_layers=2, bidirectional=True),
                                dict(bias=False, num_layers=2),
                                dict(proj_size=2, num_layers=2, bidirectional=True)],
                         ids=["rnn-relu", "no-bias", "lstm-proj"])
def test_variants_match_torch(kw):
    kind = "LSTM" if "proj_size" in kw else ("GRU" if "bias" in kw else "RNN")
    dtype = np.float64
    tl, nl = _twins(kind, dtype, input_size=D, hidden_size=H, **kw)
    xn, xt = _pair(np.random.default_rng(3).standard_normal((T, N, D)))
    on, hn = nl(xn)
    ot, ht = tl(xt)
    outs = [(on, ot)] + ([(hn[0], ht[0]), (hn[1], ht[1])] if kind == "LSTM" else [(hn, ht)])
    _check_outputs_then_grads(nl, tl, outs, [(xn, xt)], dtype, seed=4)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_sequences_match_torch_and_each_sequence_alone(kind):
    dtype = np.float64
    tl, nl = _twins(kind, dtype, input_size=D, hidden_size=H, num_layers=2, bidirectional=True)
    lengths = [2, 4, 1]                                      # unsorted: exercises sorted_indices
    rng = np.random.default_rng(5)
    x = rng.standard_normal((T, 3, D))
    xn, xt = _pair(x)
    pn = pack_padded_sequence(xn, lengths, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False)
    for f in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(pn, f).numpy(), getattr(pt, f).numpy())
    _close(pn.data, pt.data, dtype, "packed data")
    on, hn = nl(pn)
    ot, ht = tl(pt)
    if kind == "LSTM":
        (hn, cn), (ht, ct) = hn, ht
    np.testing.assert_array_equal(on.batch_sizes.numpy(), ot.batch_sizes.numpy())
    outs = [(on.data, ot.data), (hn, ht)] + ([(cn, ct)] if kind == "LSTM" else [])
    for i, (a, b) in enumerate(outs):
        _close(a, b, dtype, f"packed output {i}")
    pad_n, len_n = pad_packed_sequence(on, batch_first=True)
    pad_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    _close(pad_n, pad_t, dtype, "padded output")
    np.testing.assert_array_equal(len_n.numpy(), len_t.numpy())
    ln, lt = _weighted(outs, seed=6)
    ln.backward()
    lt.backward()
    _compare_grads(nl, tl, [(xn, xt)], dtype)
    # each sequence alone, unpadded, gives the same rows and final states
    for b, n in enumerate(lengths):
        alone = nl(nv.tensor(x[:n, b:b + 1]))
        o1, h1 = alone[0], (alone[1][0] if kind == "LSTM" else alone[1])
        np.testing.assert_allclose(pad_n.numpy()[b, :n], o1.numpy()[:, 0], rtol=1e-12, atol=1e-13)
        assert np.all(pad_n.numpy()[b, n:] == 0)
        h_all = hn.numpy()
        np.testing.assert_allclose(h_all[:, b], h1.numpy()[:, 0], rtol=1e-12, atol=1e-13)


def test_pad_sequence_and_pack_sequence_match_torch():
    seqs = [np.arange(6.0).reshape(3, 2), np.ones((1, 2)), np.full((2, 2), 7.0)]
    for bf in (False, True):
        for side in ("right", "left"):
            a = pad_sequence([nv.tensor(s) for s in seqs], batch_first=bf, padding_value=-1.0,
                             padding_side=side)
            b = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first=bf,
                                                padding_value=-1.0, padding_side=side)
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    pn = pack_sequence([nv.tensor(s) for s in seqs], enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(pn.data.numpy(), pt.data.numpy())
    padded, lengths = pad_packed_sequence(pn, total_length=5)
    assert padded.shape == (5, 3, 2) and lengths.tolist() == [3, 1, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_torch(kind, dtype):
    tl, nl = _twins(kind, dtype, input_size=D, hidden_size=H)
    rng = np.random.default_rng(7)
    xn, xt = _pair(rng.standard_normal((N, D)).astype(dtype))
    hn0, ht0 = _pair(rng.standard_normal((N, H)).astype(dtype))
    pairs = [(xn, xt), (hn0, ht0)]
    if kind == "LSTMCell":
        cn0, ct0 = _pair(rng.standard_normal((N, H)).astype(dtype))
        pairs.append((cn0, ct0))
        (hn, cn), (ht, ct) = nl(xn, (hn0, cn0)), tl(xt, (ht0, ct0))
        outs = [(hn, ht), (cn, ct)]
    else:
        outs = [(nl(xn, hn0), tl(xt, ht0))]
    for i, (a, b) in enumerate(outs):
        _close(a, b, dtype, f"cell output {i}")
    ln, lt = _weighted(outs, seed=8)
    ln.backward()
    lt.backward()
    _compare_grads(nl, tl, pairs, dtype)
    # unbatched input and default zero state
    one = nl(nv.tensor(rng.standard_normal(D).astype(dtype)))
    assert (one[0] if kind == "LSTMCell" else one).shape == (H,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_default_zero_state_matches_torch_both_directions(kind, dtype):
    """No hx: the fused ops see h0 = 0 and skip its share of the first step's GEMM (and of
    ∂Wₕₕ); outputs, final states and every gradient still equal PyTorch's, forward and reverse."""
    tl, nl = _twins(kind, dtype, input_size=D, hidden_size=H, num_layers=2, bidirectional=True)
    xn, xt = _pair(np.random.default_rng(4).standard_normal((T, N, D)).astype(dtype))
    on, sn = nl(xn)
    ot, st = tl(xt)
    sn, st = (sn if kind == "LSTM" else (sn,)), (st if kind == "LSTM" else (st,))
    outs = [(on, ot)] + list(zip(sn, st))
    _check_outputs_then_grads(nl, tl, outs, [(xn, xt)], dtype, seed=5)


def test_unbatched_input_and_default_states_match_torch():
    tl, nl = _twins("GRU", np.float64, input_size=D, hidden_size=H, num_layers=2)
    x = np.random.default_rng(9).standard_normal((T, D))
    on, hn = nl(nv.tensor(x))
    ot, ht = tl(torch.tensor(x))
    assert on.shape == (T, H) and hn.shape == (2, H)
    _close(on, ot, np.float64, "unbatched output")
    _close(hn, ht, np.float64, "unbatched h_n")


def test_parameters_init_and_names_follow_pytorch():
    nv.manual_seed(0)
    lstm = nn.LSTM(3, 16, num_layers=2, bidirectional=True, proj_size=4)
    names = [n for n, _ in lstm.named_parameters()]
    tnames = [n for n, _ in torch.nn.LSTM(3, 16, num_layers=2, bidirectional=True,
                                          proj_size=4).named_parameters()]
    assert names == tnames
    assert lstm.weight_ih_l1.shape == (64, 8) and lstm.weight_hr_l0_reverse.shape == (4, 16)
    assert [len(w) for w in lstm.all_weights] == [5] * 4            # per layer and direction
    assert lstm.all_weights[3][0] is lstm.weight_ih_l1_reverse
    for p in lstm.parameters():
        assert p.dtype == np.float32
        assert np.abs(p.numpy()).max() <= 0.25 and np.abs(p.numpy()).max() > 0.2   # U(±1/√16)
    assert repr(nn.RNN(2, 3, nonlinearity="relu", batch_first=True)) == \
        "RNN(2, 3, nonlinearity='relu', batch_first=True)"


def test_dropout_between_layers_only_in_training():
    nv.manual_seed(0)
    rnn = nn.LSTM(D, H, num_layers=2, dropout=0.5)
    ref = nn.LSTM(D, H, num_layers=2)
    ref.load_state_dict(rnn.state_dict())
    x = nv.randn(T, N, D)
    rnn.eval()
    np.testing.assert_array_equal(rnn(x)[0].numpy(), ref(x)[0].numpy())
    rnn.train()
    assert not np.allclose(rnn(x)[0].numpy(), ref(x)[0].numpy())
    # a single layer has no "between": dropout changes nothing
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):   # as torch warns
        one = nn.GRU(D, H, dropout=0.5)
    one_ref = nn.GRU(D, H)
    one_ref.load_state_dict(one.state_dict())
    np.testing.assert_array_equal(one(x)[0].numpy(), one_ref(x)[0].numpy())
    # p = 1 zeroes the second layer's input: its output is what a zero input gives
    full = nn.RNN(D, H, num_layers=2, dropout=1.0)
    out = full(x)[0]
    top = nn.RNN(H, H)
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in full.state_dict().items() if "_l1" in k})
    np.testing.assert_allclose(out.numpy(), top(nv.zeros(T, N, H))[0].numpy(), rtol=1e-6, atol=1e-7)


def test_errors_name_the_shapes_and_the_fix():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"LSTM\(input_size=3\) got input whose last dimension is 5"):
        lstm(nv.zeros(6, 2, 5))
    with pytest.raises(RuntimeError, match=r"expected h_0 of shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        lstm(nv.zeros(6, 2, 3), (nv.zeros(1, 2, 4), nv.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match="tuple"):
        lstm(nv.zeros(6, 2, 3), nv.zeros(2, 2, 4))
    with pytest.raises(RuntimeError, match="2 .* or 3 dimensions"):
        lstm(nv.zeros(6, 2, 3, 1))
    with pytest.raises(RuntimeError, match=r"\.float\(\)"):
        lstm(nv.zeros(6, 2, 3, dtype=nv.float64))
    with pytest.raises(ValueError, match="proj_size is only supported by LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"proj_size \(4\) has to be smaller than hidden_size \(4\)"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match=r"GRUCell\(input_size=3\) got input of shape \(2, 4\)"):
        nn.GRUCell(3, 4)(nv.zeros(2, 4))
    with pytest.raises(RuntimeError, match=r"not sorted in decreasing order.*enforce_sorted=False"):
        pack_padded_sequence(nv.zeros(3, 2, 1), [1, 3])


@pytest.mark.parametrize("name", ["nerve.nn.recurrent", "nerve.nn.utils.rnn"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("n, h", [(1, 5), (3, 1), (1, 1), (3, 5)], ids=["N1", "H1", "N1H1", "N3H5"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_state_gradients_that_share_one_array_match_torch(kind, n, h, dtype):
    """A loss on h_n + c_n hands both states one gradient array (add passes its gradient
    to both inputs), and for a batch of one or a hidden size of one, transposing an (N, H)
    array is free, so a backward that transposes a state gradient and then updates it in
    place would write into the other state's gradient (or raise on a read-only one). With
    batch 1 this is the unbatched input every tutorial starts from. Outputs and every
    gradient must still equal PyTorch's."""
    tl, nl = _twins(kind, dtype, input_size=D, hidden_size=h)
    xn, xt = _pair(np.random.default_rng(11).standard_normal((T, n, D)).astype(dtype))
    on, sn = nl(xn)
    ot, st = tl(xt)
    if kind == "LSTM":
        (hn, cn), (ht, ct) = sn, st
        sum_n, sum_t = hn + cn, ht + ct
    else:
        sum_n, sum_t = sn + sn, st + st
    w = np.random.default_rng(12).standard_normal(tuple(st[0].shape if kind == "LSTM" else st.shape))
    wo = np.random.default_rng(13).standard_normal(tuple(ot.shape))
    ((sum_n * nv.tensor(w.astype(dtype))).sum() + (on * nv.tensor(wo.astype(dtype))).sum()).backward()
    ((sum_t * torch.tensor(w.astype(dtype))).sum() + (ot * torch.tensor(wo.astype(dtype))).sum()).backward()
    _compare_grads(nl, tl, [(xn, xt)], dtype)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_backward_leaves_read_only_state_gradients_alone(kind):
    """``(h_n.sum() + c_n.sum())`` hands the layer read-only broadcast gradients; with one
    sequence of one hidden unit their transposes are views, and backward must not write
    into them."""
    tl, nl = _twins(kind, np.float64, input_size=D, hidden_size=1)
    xn, xt = _pair(np.random.default_rng(14).standard_normal((T, 1, D)))
    on, sn = nl(xn)
    ot, st = tl(xt)
    sn, st = (sn if kind == "LSTM" else (sn,)), (st if kind == "LSTM" else (st,))
    sum(s.sum() for s in sn).backward()
    sum(s.sum() for s in st).backward()
    _compare_grads(nl, tl, [(xn, xt)], np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("steps", ["last", "every-other"])
def test_a_loss_on_some_steps_only_matches_torch(steps, bidirectional, dtype):
    """A classifier on the last output (or a loss on every other step) sends exact zeros for
    the other steps, which the LSTM backward skips; gradients must still equal PyTorch's."""
    tl, nl = _twins("LSTM", dtype, input_size=D, hidden_size=H, bidirectional=bidirectional)
    xn, xt = _pair(np.random.default_rng(15).standard_normal((6, N, D)).astype(dtype))
    on, _ = nl(xn)
    ot, _ = tl(xt)
    pick = (lambda o: o[-1]) if steps == "last" else (lambda o: o[::2])
    w = np.random.default_rng(16).standard_normal(tuple(pick(ot).shape)).astype(dtype)
    (pick(on) * nv.tensor(w)).sum().backward()
    (pick(ot) * torch.tensor(w)).sum().backward()
    _compare_grads(nl, tl, [(xn, xt)], dtype)
