"""Edge sweep of the sequence and attention layers against PyTorch (copied weights): the
corners the main parity files do not reach, and one regression test per defect the sweep
found (each named in its docstring).

Defects covered: MultiheadAttention dropped the gradient of float masks; mixed batched /
unbatched MHA inputs failed deep inside a reshape; scaled_dot_product_attention silently
promoted mixed q/k/v dtypes and let a float64 mask turn a float32 attention into float64;
a tuple hidden state for GRU/RNN (and the cells) failed with an AttributeError;
pack_padded_sequence flattened a 2-D lengths table, truncated fractional lengths and failed
with an IndexError on 1-D input; recurrent dropout with one layer said nothing."""
import warnings

import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.nn.utils import rnn as nr

from .test_recurrent import _pair, _weighted

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.filterwarnings("ignore::UserWarning")]
tr = torch.nn.utils.rnn
TOL = dict(rtol=1e-9, atol=1e-11)


def _close(a, b, what=""):
    assert a is not None and b is not None, what
    a = a.numpy() if isinstance(a, nv.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, b.detach().numpy(), err_msg=what, **TOL)


def _rnn_twins(kind, **kw):
    torch.manual_seed(0)
    tl = getattr(torch.nn, kind)(**kw).double()
    nl = getattr(nn, kind)(**kw, dtype=np.float64)
    nl.load_state_dict({k: v.detach().numpy().copy() for k, v in tl.state_dict().items()})
    return tl, nl


def _backward_both(outs, seed):
    """Backpropagate the same random weighting of every output in both frameworks."""
    ln, lt = _weighted(outs, seed)
    ln.backward()
    lt.backward()


def _param_grads(nl, tl):
    for name, p in tl.named_parameters():
        _close(nl.get_parameter(name).grad, p.grad, f"grad of {name}")


# ------------------------------------------------------------------------ recurrent layers
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("kind,kw", [
    ("LSTM", dict(proj_size=2, bidirectional=True, num_layers=2, batch_first=True)),
    ("GRU", dict(bidirectional=True, num_layers=2, batch_first=True)),
    ("RNN", dict(num_layers=2, nonlinearity="relu")),
], ids=["lstm-proj-bi-2", "gru-bi-2", "rnn-relu-2"])
def test_initial_states_batch_first_and_unbatched_match_torch(kind, kw, batched):
    """Initial states given, batch_first and unbatched (2-D) input: outputs, final states and
    the gradients of input, states and every weight equal torch's."""
    tl, nl = _rnn_twins(kind, input_size=3, hidden_size=4, **kw)
    rng = np.random.default_rng(0)
    Ld = kw["num_layers"] * (2 if kw.get("bidirectional") else 1)
    Hp = kw.get("proj_size") or 4
    x = rng.standard_normal(((2, 5, 3) if kw.get("batch_first") else (5, 2, 3)) if batched else (5, 3))
    hshape, cshape = ((Ld, 2, Hp), (Ld, 2, 4)) if batched else ((Ld, Hp), (Ld, 4))
    pairs = [_pair(x), _pair(0.5 * rng.standard_normal(hshape))]
    if kind == "LSTM":
        pairs.append(_pair(0.5 * rng.standard_normal(cshape)))
        on, (hn, cn) = nl(pairs[0][0], (pairs[1][0], pairs[2][0]))
        ot, (ht, ct) = tl(pairs[0][1], (pairs[1][1], pairs[2][1]))
        outs = [(on, ot), (hn, ht), (cn, ct)]
    else:
        on, hn = nl(pairs[0][0], pairs[1][0])
        ot, ht = tl(pairs[0][1], pairs[1][1])
        outs = [(on, ot), (hn, ht)]
    for i, (a, b) in enumerate(outs):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b, f"output {i}")
    _backward_both(outs, seed=1)
    for i, (a, b) in enumerate(pairs):
        _close(a.grad, b.grad, f"grad of input {i}")
    _param_grads(nl, tl)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_packed_input_with_initial_state_matches_torch_and_single_runs(kind):
    """Unsorted packed batch with h0 (and c0) in the caller's order: the final states come
    back in the caller's order, equal torch's, gradients too; each sequence alone (length 1
    included) gives its own row."""
    kw = dict(input_size=2, hidden_size=3, num_layers=2, bidirectional=True, batch_first=True)
    kw.update(proj_size=2) if kind == "LSTM" else None
    tl, nl = _rnn_twins(kind, **kw)
    rng = np.random.default_rng(2)
    lengths = [3, 5, 1, 5]
    x = rng.standard_normal((4, 5, 2))
    Hp = 2 if kind == "LSTM" else 3
    (xn, xt), (hn0, ht0), (cn0, ct0) = _pair(x), _pair(rng.standard_normal((4, 4, Hp))), \
        _pair(rng.standard_normal((4, 4, 3)))
    pn = nr.pack_padded_sequence(xn, nv.tensor(np.array(lengths)), batch_first=True, enforce_sorted=False)
    pt = tr.pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
    if kind == "LSTM":
        on, (hn, cn) = nl(pn, (hn0, cn0))
        ot, (ht, ct) = tl(pt, (ht0, ct0))
        outs = [(on.data, ot.data), (hn, ht), (cn, ct)]
    else:
        on, hn = nl(pn, hn0)
        ot, ht = tl(pt, ht0)
        outs = [(on.data, ot.data), (hn, ht)]
    for i, (a, b) in enumerate(outs):
        _close(a, b, f"packed output {i}")
    _backward_both(outs, seed=3)
    for a, b, what in ((xn, xt, "x"), (hn0, ht0, "h0")) + (((cn0, ct0, "c0"),) if kind == "LSTM" else ()):
        _close(a.grad, b.grad, f"grad of {what}")
    _param_grads(nl, tl)
    padded, _ = nr.pad_packed_sequence(on, batch_first=True)
    for b, n in enumerate(lengths):
        state = (hn0[:, b:b + 1], cn0[:, b:b + 1]) if kind == "LSTM" else hn0[:, b:b + 1]
        o1, s1 = nl(nv.tensor(x[b:b + 1, :n]), state)
        np.testing.assert_allclose(padded.numpy()[b, :n], o1.numpy()[0], **TOL)
        h1 = s1[0] if kind == "LSTM" else s1
        np.testing.assert_allclose((hn if kind != "LSTM" else outs[1][0]).numpy()[:, b],
                                   h1.numpy()[:, 0], **TOL)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_length_one_sequences_and_float64_eval_dropout_match_torch(kind):
    tl, nl = _rnn_twins(kind, input_size=3, hidden_size=4, num_layers=3, dropout=0.4,
                        bidirectional=True)
    tl.eval()
    nl.eval()
    x = np.random.default_rng(4).standard_normal((1, 2, 3))
    (on, sn), (ot, st) = nl(nv.tensor(x)), tl(torch.tensor(x))
    assert on.dtype == np.float64
    _close(on, ot, "length-1 output, eval (no dropout)")
    _close(sn[0] if kind == "LSTM" else sn, st[0] if kind == "LSTM" else st, "h_n")


def test_dropout_with_one_layer_warns_as_torch():
    """Regression: dropout > 0 with num_layers=1 does nothing (it acts between layers);
    torch warns, nerve said nothing."""
    for cls in (nn.RNN, nn.LSTM, nn.GRU):
        with pytest.warns(UserWarning, match="no effect with num_layers=1"):
            cls(3, 4, dropout=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 4, num_layers=2, dropout=0.3)
        nn.GRU(3, 4, dropout=0.0)


@pytest.mark.parametrize("kind", ["GRU", "RNN", "GRUCell", "RNNCell"])
def test_tuple_hidden_state_for_gru_rnn_is_a_clear_type_error(kind):
    """Regression: an LSTM-style (h,) tuple given to a GRU/RNN (or cell) failed with
    "'tuple' object has no attribute 'ndim'"."""
    layer = getattr(nn, kind)(3, 4)
    cell = kind.endswith("Cell")
    x = nv.zeros(2, 3) if cell else nv.zeros(5, 2, 3)
    h = nv.zeros(2, 4) if cell else nv.zeros(1, 2, 4)
    with pytest.raises(TypeError, match="only .*LSTM.* takes a tuple"):
        layer(x, (h,))
    layer(x, h)   # the plain tensor works


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_wrong_state_shapes_raise_clearly(kind):
    extra = {"proj_size": 2} if kind == "LSTM" else {}
    layer = getattr(nn, kind)(3, 4, num_layers=2, batch_first=True, **extra)
    Hp = 2 if kind == "LSTM" else 4
    x = nv.zeros(3, 5, 3)

    def call(h, c=None):
        return layer(x, (h, c if c is not None else nv.zeros(2, 3, 4)) if kind == "LSTM" else h)

    with pytest.raises(RuntimeError, match=r"h_0 of shape \(2, 3, %d\).*never batch-first" % Hp):
        call(nv.zeros(3, 2, Hp))                      # batch-first state
    with pytest.raises(RuntimeError, match=r"h_0 of shape"):
        call(nv.zeros(2, Hp))                         # 2-D state for a batched input
    if kind == "LSTM":
        with pytest.raises(RuntimeError, match=r"h_0 of shape \(2, 3, 2\).*proj_size"):
            call(nv.zeros(2, 3, 4))                   # hidden_size instead of proj_size
        with pytest.raises(RuntimeError, match=r"c_0 of shape \(2, 3, 4\)"):
            call(nv.zeros(2, 3, 2), nv.zeros(2, 3, 2))
    with pytest.raises(RuntimeError, match="must be 2-D"):
        h3 = nv.zeros(2, 1, Hp)                       # 3-D state for an unbatched input
        layer(nv.zeros(5, 3), (h3, nv.zeros(2, 1, 4)) if kind == "LSTM" else h3)


def test_cell_unbatched_state_shape_error_names_the_unbatched_shape():
    """Regression: a 2-D state for a 1-D cell input was reported as "expected (1, 4)"."""
    with pytest.raises(RuntimeError, match=r"unbatched input.*expected \(4,\)"):
        nn.GRUCell(3, 4)(nv.zeros(3), nv.zeros(2, 4))
    with pytest.raises(RuntimeError, match=r"input batch 2.*expected \(2, 4\)"):
        nn.LSTMCell(3, 4)(nv.zeros(2, 3), (nv.zeros(4), nv.zeros(4)))
    h = nn.RNNCell(3, 4)(nv.zeros(3), nv.zeros(4))
    assert h.shape == (4,)


# ------------------------------------------------------------------------ packing utilities
@pytest.mark.parametrize("as_", ["list", "tensor", "int64", "int32", "whole-floats"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tn", "bf"])
def test_pack_pad_roundtrip_matches_torch(as_, batch_first):
    """enforce_sorted=False ordering, sorted/unsorted indices, total_length, padding_value,
    batch_first, every lengths container: data, indices, padded values, lengths and the
    gradient through pack → pad equal torch's."""
    lengths = [3, 5, 1, 5]
    L = {"list": lengths, "tensor": nv.tensor(np.array(lengths)), "int64": np.array(lengths),
         "int32": np.array(lengths, np.int32), "whole-floats": [3.0, 5.0, 1.0, 5.0]}[as_]
    x = np.random.default_rng(5).standard_normal((4, 5, 2) if batch_first else (5, 4, 2))
    xn, xt = _pair(x)
    pn = nr.pack_padded_sequence(xn, L, batch_first=batch_first, enforce_sorted=False)
    pt = tr.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
    _close(pn.data, pt.data, "packed data")
    for f in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(pn, f).numpy(), getattr(pt, f).numpy(), err_msg=f)
    an, ln = nr.pad_packed_sequence(pn, batch_first=batch_first, padding_value=-2.5, total_length=7)
    at, lt = tr.pad_packed_sequence(pt, batch_first=batch_first, padding_value=-2.5, total_length=7)
    _close(an, at, "padded")
    np.testing.assert_array_equal(ln.numpy(), lt.numpy())
    _backward_both([(an, at)], seed=6)
    _close(xn.grad, xt.grad, "grad through pack/pad")


@pytest.mark.parametrize("lengths,match", [
    ([[5, 2], [3, 1]], "must be 1-D"),
    ([5.0, 2.5, 3.0, 1.0], "whole numbers"),
    ([5, 0, 3, 1], "between 1 and the padded length 5"),
    ([6, 2, 3, 1], "between 1 and the padded length 5"),
    ([5, 2, 3], "3 lengths for a batch of 4"),
], ids=["2-D", "fractional", "zero", "too-long", "count"])
def test_bad_lengths_raise_clearly(lengths, match):
    """Regression (2-D and fractional): a (2, 2) lengths table was flattened into four
    lengths and 2.5 was truncated to 2 steps, both silently."""
    with pytest.raises(RuntimeError, match=match):
        nr.pack_padded_sequence(nv.zeros(5, 4, 2), lengths, enforce_sorted=False)


def test_pack_padded_sequence_of_1d_input_raises_clearly():
    """Regression: a 1-D input failed with "tuple index out of range", and unpacking a
    plain Tensor with "'Tensor' object has no attribute 'batch_sizes'"."""
    with pytest.raises(RuntimeError, match="at least 2-D"):
        nr.pack_padded_sequence(nv.zeros(5), [5])
    with pytest.raises(TypeError, match="expects a PackedSequence"):
        nr.pad_packed_sequence(nv.zeros(5, 2, 3))


# ------------------------------------------------------------------------ attention
N, L, S, E, H = 2, 3, 4, 8, 2


def _mha_twin(**kw):
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **kw)
    with torch.no_grad():
        for name, p in t.named_parameters():
            if "bias" in name:
                p.normal_()
    ours = nn.MultiheadAttention(E, H, dtype=np.float64, **kw)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return ours, t


MASK_CASES = {
    "attn-2d": lambda r: dict(attn_mask=r.standard_normal((L, S))),
    "attn-3d": lambda r: dict(attn_mask=r.standard_normal((N * H, L, S))),
    "kpm": lambda r: dict(key_padding_mask=r.standard_normal((N, S))),
    "both": lambda r: dict(attn_mask=r.standard_normal((L, S)), key_padding_mask=r.standard_normal((N, S))),
    "float-attn-bool-kpm": lambda r: dict(attn_mask=r.standard_normal((L, S)),
                                          key_padding_mask=np.eye(N, S, dtype=bool)),
    "bool-attn-float-kpm": lambda r: dict(attn_mask=np.eye(L, S, dtype=bool),
                                          key_padding_mask=r.standard_normal((N, S))),
}


@pytest.mark.parametrize("kw", [{}, {"add_bias_kv": True, "add_zero_attn": True},
                                {"kdim": 5, "vdim": 3, "batch_first": True}],
                         ids=["plain", "bias_kv-zero_attn", "kdim-vdim-bf"])
@pytest.mark.parametrize("need_weights", [True, False], ids=["weights", "no-weights"])
@pytest.mark.parametrize("case", list(MASK_CASES))
def test_mha_float_masks_get_gradients_as_torch(case, need_weights, kw):
    """Regression: float attn_mask / key_padding_mask were turned into constants, so a learned
    bias passed as a mask silently got no gradient (torch gives one)."""
    ours, theirs = _mha_twin(**kw)
    r = np.random.default_rng(7)
    bf = kw.get("batch_first", False)
    shp = (lambda n, d: (N, n, d)) if bf else (lambda n, d: (n, N, d))
    (qn, qt), (kn, kt), (vn, vt) = (_pair(r.standard_normal(shp(n, d)))
                                    for n, d in ((L, E), (S, kw.get("kdim", E)), (S, kw.get("vdim", E))))
    masks = MASK_CASES[case](r)
    mn = {k: nv.tensor(m, requires_grad=m.dtype != bool) for k, m in masks.items()}
    mt = {k: torch.tensor(m, requires_grad=m.dtype != bool) for k, m in masks.items()}
    on, wn = ours(qn, kn, vn, need_weights=need_weights, average_attn_weights=False, **mn)
    ot, wt = theirs(qt, kt, vt, need_weights=need_weights, average_attn_weights=False, **mt)
    outs = [(on, ot)] + ([(wn, wt)] if need_weights else [])
    for i, (a, b) in enumerate(outs):
        _close(a, b, f"output {i}")
    _backward_both(outs, seed=8)
    for k, m in masks.items():
        if m.dtype != bool:
            _close(mn[k].grad, mt[k].grad, f"grad of {k}")
    for a, b, what in ((qn, qt, "q"), (kn, kt, "k"), (vn, vt, "v")):
        _close(a.grad, b.grad, f"grad of {what}")
    _param_grads(ours, theirs)


def test_mha_unbatched_with_masks_matches_torch():
    ours, theirs = _mha_twin()
    r = np.random.default_rng(9)
    (qn, qt), (kn, kt), (vn, vt) = (_pair(r.standard_normal((n, E))) for n in (L, S, S))
    (an, at) = _pair(r.standard_normal((H, L, S)))
    kpm = np.array([False, True, False, False])
    on, wn = ours(qn, kn, vn, attn_mask=an, key_padding_mask=kpm, average_attn_weights=False)
    ot, wt = theirs(qt, kt, vt, attn_mask=at, key_padding_mask=torch.tensor(kpm),
                    average_attn_weights=False)
    assert wn.shape == (H, L, S)
    _close(on, ot, "out")
    _close(wn, wt, "weights")
    _backward_both([(on, ot), (wn, wt)], seed=10)
    for a, b in ((qn, qt), (kn, kt), (vn, vt), (an, at)):
        _close(a.grad, b.grad)


def test_mha_mixed_batched_and_unbatched_inputs_raise_clearly():
    """Regression: a 2-D query with 3-D key/value failed inside a reshape, a 3-D query with
    2-D key/value blamed the feature sizes, and an unbatched query's 2-D key_padding_mask was
    reported against a made-up (1, S) shape."""
    mha = nn.MultiheadAttention(E, H)
    with pytest.raises(RuntimeError, match="all be batched"):
        mha(nv.zeros(L, E), nv.zeros(S, N, E), nv.zeros(S, N, E))
    with pytest.raises(RuntimeError, match="all be batched"):
        mha(nv.zeros(L, N, E), nv.zeros(S, E), nv.zeros(S, E))
    with pytest.raises(RuntimeError, match=r"\(S,\) for an unbatched query"):
        mha(nv.zeros(L, E), nv.zeros(S, E), nv.zeros(S, E), key_padding_mask=np.zeros((1, S), bool))
    with pytest.raises(RuntimeError, match=r"must be \(N, S\)"):
        mha(nv.zeros(L, N, E), nv.zeros(S, N, E), nv.zeros(S, N, E), key_padding_mask=np.zeros(S, bool))


@pytest.mark.parametrize("which", ["attn_mask", "key_padding_mask"])
def test_fully_masked_row(which):
    """A query whose every key is masked: with need_weights=False torch gives a zero
    attention (before the output projection), which nerve matches; with need_weights=True
    torch gives NaN, nerve keeps the zeros (documented choice: NaN would poison training)."""
    ours, theirs = _mha_twin()
    r = np.random.default_rng(11)
    q, k, v = (r.standard_normal((n, N, E)) for n in (L, S, S))
    if which == "attn_mask":
        m = np.zeros((L, S), bool)
        m[1] = True
    else:
        m = np.zeros((N, S), bool)
        m[1] = True
    on, _ = ours(nv.tensor(q), nv.tensor(k), nv.tensor(v), need_weights=False, **{which: m})
    ot, _ = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(v), need_weights=False,
                   **{which: torch.tensor(m)})
    _close(on, ot, "need_weights=False")
    on, wn = ours(nv.tensor(q), nv.tensor(k), nv.tensor(v), **{which: m})
    assert np.isfinite(on.numpy()).all() and np.isfinite(wn.numpy()).all()
    rows = (slice(None), 1) if which == "attn_mask" else (1,)
    assert np.all(wn.numpy()[rows] == 0)


@pytest.mark.parametrize("is_causal", [False, True])
def test_sdpa_and_mha_bool_mask_conventions(is_causal):
    """SDPA's bool mask marks keys that take part (True = allowed), MHA's marks keys that are
    blocked (True = ignored), in torch and in nerve; is_causal is top-left aligned for L != S."""
    r = np.random.default_rng(12)
    q, k = r.standard_normal((2, 2, 5, 4)), r.standard_normal((2, 2, 3, 4))
    v = r.standard_normal((2, 2, 3, 6))
    allowed = r.random((5, 3)) < 0.6
    allowed[:, 0] = True
    kw_n = {"is_causal": True} if is_causal else {"attn_mask": nv.tensor(allowed)}
    kw_t = {"is_causal": True} if is_causal else {"attn_mask": torch.tensor(allowed)}
    (qn, qt), (kn, kt), (vn, vt) = _pair(q), _pair(k), _pair(v)
    on = nv.functional.scaled_dot_product_attention(qn, kn, vn, **kw_n)
    ot = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, **kw_t)
    _close(on, ot, "sdpa")
    _backward_both([(on, ot)], seed=13)
    for a, b in ((qn, qt), (kn, kt), (vn, vt)):
        _close(a.grad, b.grad)
    ours, theirs = _mha_twin()
    x = r.standard_normal((5, N, E))
    mem = r.standard_normal((3, N, E))
    on, wn = ours(nv.tensor(x), nv.tensor(mem), nv.tensor(mem), attn_mask=~allowed)
    ot, wt = theirs(torch.tensor(x), torch.tensor(mem), torch.tensor(mem), attn_mask=torch.tensor(~allowed))
    _close(on, ot, "mha")
    assert np.all(wn.numpy()[:, ~allowed] == 0)


def test_sdpa_dtypes():
    """Regression: mixed q/k/v dtypes were promoted silently (torch refuses), and a float64
    float mask turned a float32 attention's output into float64."""
    r = np.random.default_rng(14)
    q = r.standard_normal((2, 3, 4)).astype(np.float32)
    with pytest.raises(TypeError, match="share one dtype"):
        nv.functional.scaled_dot_product_attention(nv.tensor(q), nv.tensor(q.astype(np.float64)),
                                                   nv.tensor(q))
    m64 = r.standard_normal((3, 3))
    mn = nv.tensor(m64, requires_grad=True)
    out = nv.functional.scaled_dot_product_attention(nv.tensor(q), nv.tensor(q), nv.tensor(q), attn_mask=mn)
    assert out.dtype == np.float32
    m32 = nv.tensor(m64.astype(np.float32), requires_grad=True)
    ref = nv.functional.scaled_dot_product_attention(nv.tensor(q), nv.tensor(q), nv.tensor(q), attn_mask=m32)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    out.sum().backward()
    ref.sum().backward()
    assert mn.grad.dtype == np.float64
    np.testing.assert_allclose(mn.grad.numpy(), m32.grad.numpy(), rtol=1e-6)
    # a constant float64 mask on float32 inputs: float32 out too
    out = nv.functional.scaled_dot_product_attention(nv.tensor(q), nv.tensor(q), nv.tensor(q), attn_mask=m64)
    assert out.dtype == np.float32


# ------------------------------------------------------------------------ transformer
@pytest.mark.parametrize("norm_first", [False, True], ids=["post", "pre"])
def test_transformer_callable_activation_masks_and_state_dict(norm_first):
    """A callable activation, float causal + bool padding masks, unbatched input; torch's
    state_dict loads by name; generate_square_subsequent_mask equals torch's in values and dtype."""
    torch.manual_seed(0)
    t = torch.nn.Transformer(E, H, 1, 1, 16, dropout=0.0, activation=torch.nn.functional.silu,
                             norm_first=norm_first, dtype=torch.float64)
    ours = nn.Transformer(E, H, 1, 1, 16, dropout=0.0, activation=nv.functional.silu,
                          norm_first=norm_first, dtype=np.float64)
    with torch.no_grad():
        for p in t.parameters():
            p.add_(0.3 * torch.randn_like(p))
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    assert list(ours.state_dict()) == list(t.state_dict())
    for dt, tdt in ((None, None), (np.float64, torch.float64)):
        mn = nn.Transformer.generate_square_subsequent_mask(4, dtype=dt)
        mt = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=tdt)
        assert mn.dtype == np.dtype(str(mt.dtype).replace("torch.", ""))
        np.testing.assert_array_equal(mn.numpy(), mt.numpy())
    r = np.random.default_rng(15)
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=np.float64)
    kpm = np.array([False, False, False, True, True])
    (sn, st), (tn, tt) = _pair(r.standard_normal((5, E))), _pair(r.standard_normal((4, E)))
    on = ours(sn, tn, tgt_mask=mask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm,
              tgt_is_causal=True)
    ot = t(st, tt, tgt_mask=torch.tensor(mask.numpy()), src_key_padding_mask=torch.tensor(kpm),
           memory_key_padding_mask=torch.tensor(kpm), tgt_is_causal=True)
    _close(on, ot, "transformer out")
    _backward_both([(on, ot)], seed=16)
    _close(sn.grad, st.grad, "grad src")
    _close(tn.grad, tt.grad, "grad tgt")
    _param_grads(ours, t)


def test_attention_over_no_keys_matches_torch():
    """Regression: S = 0 keys failed with numpy's "zero-size array to reduction operation";
    torch gives a zero attention (and so MHA returns its output projection's bias)."""
    r = np.random.default_rng(17)
    (qn, qt), (kn, kt), (vn, vt) = _pair(r.standard_normal((2, 3, 4))), _pair(np.zeros((2, 0, 4))), \
        _pair(np.zeros((2, 0, 5)))
    on = nv.functional.scaled_dot_product_attention(qn, kn, vn)
    ot = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt)
    _close(on, ot, "sdpa, no keys")
    _backward_both([(on, ot)], seed=18)
    _close(qn.grad, qt.grad)
    ours, theirs = _mha_twin()
    q, kv = r.standard_normal((L, N, E)), np.zeros((0, N, E))
    for nw in (True, False):
        on, wn = ours(nv.tensor(q), nv.tensor(kv), nv.tensor(kv), need_weights=nw)
        ot, wt = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv), need_weights=nw)
        _close(on, ot, f"mha, no keys, need_weights={nw}")
        assert (wn is None) == (wt is None) and (wn is None or wn.shape == tuple(wt.shape))


def test_sdpa_heads_that_do_not_broadcast_raise_clearly():
    """Regression: 4 query heads against 2 key heads failed with numpy's matmul message."""
    with pytest.raises(RuntimeError, match="do not broadcast; give key and value as many heads"):
        nv.functional.scaled_dot_product_attention(nv.zeros(1, 4, 3, 2), nv.zeros(1, 2, 3, 2),
                                                   nv.zeros(1, 2, 3, 2))


def test_dropout_is_off_in_eval_for_mha_and_transformer_layers():
    """Attention and transformer dropout act only in training: in eval the outputs equal
    torch's eval outputs; in training two calls differ."""
    r = np.random.default_rng(19)
    torch.manual_seed(0)
    t_mha = torch.nn.MultiheadAttention(E, H, dropout=0.5, dtype=torch.float64)
    t_enc = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.5, dtype=torch.float64)
    n_mha = nn.MultiheadAttention(E, H, dropout=0.5, dtype=np.float64)
    n_enc = nn.TransformerEncoderLayer(E, H, 16, dropout=0.5, dtype=np.float64)
    x = r.standard_normal((L, N, E))
    for t, o in ((t_mha, n_mha), (t_enc, n_enc)):
        o.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
        t.eval()
        o.eval()
        call = (lambda m, a: m(a, a, a)[0]) if t is t_mha else (lambda m, a: m(a))
        _close(call(o, nv.tensor(x)), call(t, torch.tensor(x)), type(o).__name__)
        o.train()
        assert not np.allclose(call(o, nv.tensor(x)).numpy(), call(o, nv.tensor(x)).numpy())


def test_additive_attention_fully_masked_query_gives_zeros_not_nan():
    """Regression: AdditiveAttention gave NaN context and weights for a query whose keys were
    all masked (an all-padding row), and NaN gradients for every weight; the rows that keep a
    key are unchanged."""
    r = np.random.default_rng(20)
    att = nn.AdditiveAttention(3, 3, 4, dtype=np.float64)
    q, k, v = r.standard_normal((2, 2, 3)), r.standard_normal((2, 4, 3)), r.standard_normal((2, 4, 5))
    mask = np.ones((2, 4), bool)
    mask[0, 2:] = False
    mask[1] = False                                  # sequence 1 is all padding
    ctx, w = att(nv.tensor(q), nv.tensor(k), nv.tensor(v), mask=mask)
    assert np.all(ctx.numpy()[1] == 0) and np.all(w.numpy()[1] == 0)
    ref_ctx, ref_w = att(nv.tensor(q[:1]), nv.tensor(k[:1]), nv.tensor(v[:1]), mask=mask[:1])
    np.testing.assert_array_equal(ctx.numpy()[:1], ref_ctx.numpy())
    np.testing.assert_array_equal(w.numpy()[:1], ref_w.numpy())
    ctx.sum().backward()
    for name, p in att.named_parameters():
        assert np.isfinite(p.grad.numpy()).all(), name


@pytest.mark.parametrize("batch_first", [False, True], ids=["tn", "bf"])
def test_truncated_bptt_of_unbatched_input_chunks_time(batch_first):
    """Regression: for an unbatched (T, D) input and a batch_first module, truncated_bptt cut
    the feature axis into chunks (an input_size error, or silently one chunk when k ≥ D)."""
    nv.manual_seed(0)
    gru = nn.GRU(3, 4, batch_first=batch_first)
    x = nv.randn(10, 3)
    out, h = nr.truncated_bptt(gru, x, k=2)
    full, h_full = gru(x)
    assert out.shape == (10, 4)
    np.testing.assert_allclose(out.numpy(), full.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h.numpy(), h_full.numpy(), rtol=1e-6, atol=1e-7)
