"""Rows for the recurrent ops: the fused sequence layers and the single-step cells.

The NumPy references below are a third, independent spelling of the recurrences (plain loops
over time on arrays), so the rows check the fused ops and the cells against neither each other
nor PyTorch alone. Inputs are scaled by 0.5 to keep the gates off their flat tails.
"""
import numpy as np

import nerve.functional as F
from optable import Op


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _scaled(rng, shape):
    return 0.5 * rng.standard_normal(shape)


def lstm_ref(x, h, c, Wi, Wh, bi, bh, Wr=None, reverse=False, batch_sizes=None):
    T, N = x.shape[:2]
    outs = np.zeros((T, N, h.shape[1]))
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = N if batch_sizes is None else batch_sizes[t]
        z = x[t, :n] @ Wi.T + bi + h[:n] @ Wh.T + bh
        i, f, g, o = np.split(z, 4, axis=1)
        c = c.copy()
        h = h.copy()
        c[:n] = _sig(f) * c[:n] + _sig(i) * np.tanh(g)
        hn = _sig(o) * np.tanh(c[:n])
        h[:n] = hn if Wr is None else hn @ Wr.T
        outs[t, :n] = h[:n]
    return outs, h, c


def gru_ref(x, h, Wi, Wh, bi, bh, reverse=False, batch_sizes=None):
    T, N = x.shape[:2]
    outs = np.zeros((T, N, h.shape[1]))
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = N if batch_sizes is None else batch_sizes[t]
        xr, xz, xn = np.split(x[t, :n] @ Wi.T + bi, 3, axis=1)
        hr, hz, hn = np.split(h[:n] @ Wh.T + bh, 3, axis=1)
        r, z = _sig(xr + hr), _sig(xz + hz)
        cand = np.tanh(xn + r * hn)
        h = h.copy()
        h[:n] = (1 - z) * cand + z * h[:n]
        outs[t, :n] = h[:n]
    return outs, h


def rnn_ref(x, h, Wi, Wh, bi, bh, act=np.tanh, reverse=False):
    outs = []
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        h = act(x[t] @ Wi.T + bi + h @ Wh.T + bh)
        outs.append(h)
    return np.stack(outs[::-1] if reverse else outs)


def _relu(a):
    return np.maximum(a, 0)


def _torch_seq(mode, reverse=False, **kw):
    """A torch twin for one layer and direction: torch.lstm / gru / rnn_* on (T, N, D);
    reverse by flipping time on the way in and out."""
    def call(x, h, *rest):
        import torch  # noqa: PLC0415

        if mode == "lstm":
            c, weights = rest[0], list(rest[1:])
            hx = (h[None], c[None])
        else:
            weights, hx = list(rest), h[None]
        xs = x.flip(0) if reverse else x
        out = getattr(torch, mode)(xs, hx, weights, True, 1, 0.0, False, False, False)[0]
        return out.flip(0) if reverse else out

    return call


def _torch_cell(name):
    def call(*a):
        import torch  # noqa: PLC0415

        if name == "lstm_cell":
            return torch.lstm_cell(a[0], (a[1], a[2]), *a[3:])
        return getattr(torch, name)(*a)

    return call


T_, N_, D_, H_ = 3, 2, 3, 2
_LSTM = [((T_, N_, D_), (N_, H_), (N_, H_), (4 * H_, D_), (4 * H_, H_), (4 * H_,), (4 * H_,))]
# A batch of one: transposing an (N, H) state gradient is then free, so a backward that
# transposes the incoming gradient and updates it in place would write into the caller's array.
_LSTM1 = _LSTM + [((T_, 1, D_), (1, H_), (1, H_), (4 * H_, D_), (4 * H_, H_), (4 * H_,), (4 * H_,))]
_GRU = [((T_, N_, D_), (N_, H_), (3 * H_, D_), (3 * H_, H_), (3 * H_,), (3 * H_,))]
_RNN = [((T_, N_, D_), (N_, H_), (H_, D_), (H_, H_), (H_,), (H_,))]
_BS = [2, 2, 1]

ROWS = [
    Op("lstm_layer", lambda *a: F.lstm_layer(*a)[0], lambda *a: lstm_ref(*a)[0], _LSTM1,
       domain=_scaled, torch=_torch_seq("lstm")),
    Op("lstm_layer_reverse", lambda *a: F.lstm_layer(*a, reverse=True)[0],
       lambda *a: lstm_ref(*a, reverse=True)[0], _LSTM, domain=_scaled,
       torch=_torch_seq("lstm", reverse=True)),
    Op("lstm_layer_c_n", lambda *a: F.lstm_layer(*a)[2], lambda *a: lstm_ref(*a)[2], _LSTM1,
       domain=_scaled),
    Op("lstm_layer_h_n_reverse", lambda *a: F.lstm_layer(*a, reverse=True)[1],
       lambda *a: lstm_ref(*a, reverse=True)[1], _LSTM1, domain=_scaled),
    Op("lstm_layer_packed_h_n", lambda *a: F.lstm_layer(*a, reverse=True, batch_sizes=_BS)[1],
       lambda *a: lstm_ref(*a, reverse=True, batch_sizes=_BS)[1], _LSTM, domain=_scaled),
    Op("lstm_layer_proj", lambda x, h, c, Wi, Wh, bi, bh, Wr: F.lstm_layer(x, h, c, Wi, Wh, bi, bh, Wr)[0],
       lambda *a: lstm_ref(*a)[0],
       [((T_, N_, D_), (N_, 1), (N_, H_), (4 * H_, D_), (4 * H_, 1), (4 * H_,), (4 * H_,), (1, H_))],
       domain=_scaled),
    Op("gru_layer", lambda *a: F.gru_layer(*a)[0], lambda *a: gru_ref(*a)[0], _GRU, domain=_scaled,
       torch=_torch_seq("gru")),
    Op("gru_layer_reverse_packed", lambda *a: F.gru_layer(*a, reverse=True, batch_sizes=_BS)[0],
       lambda *a: gru_ref(*a, reverse=True, batch_sizes=_BS)[0], _GRU, domain=_scaled),
    Op("rnn_layer_tanh", lambda *a: F.rnn_layer(*a)[0], rnn_ref, _RNN, domain=_scaled,
       torch=_torch_seq("rnn_tanh")),
    Op("rnn_layer_relu_reverse", lambda *a: F.rnn_layer(*a, nonlinearity="relu", reverse=True)[0],
       lambda *a: rnn_ref(*a, act=_relu, reverse=True), _RNN, domain=_scaled,
       torch=_torch_seq("rnn_relu", reverse=True), double=False),
    Op("lstm_cell", lambda x, h, c, *w: F.lstm_cell(x, (h, c), *w)[1],
       lambda x, h, c, *w: lstm_ref(x[None], h, c, *w)[2],
       [((N_, D_), (N_, H_), (N_, H_), (4 * H_, D_), (4 * H_, H_), (4 * H_,), (4 * H_,))],
       domain=_scaled, torch=lambda *a: _torch_cell("lstm_cell")(*a)[1]),
    Op("gru_cell", F.gru_cell, lambda x, *a: gru_ref(x[None], *a)[1],
       [((N_, D_), (N_, H_), (3 * H_, D_), (3 * H_, H_), (3 * H_,), (3 * H_,))], domain=_scaled,
       torch=_torch_cell("gru_cell")),
    Op("rnn_tanh_cell", F.rnn_tanh_cell, lambda x, *a: rnn_ref(x[None], *a)[0],
       [((N_, D_), (N_, H_), (H_, D_), (H_, H_), (H_,), (H_,))], domain=_scaled,
       torch=_torch_cell("rnn_tanh_cell")),
    Op("rnn_relu_cell", F.rnn_relu_cell, lambda x, *a: rnn_ref(x[None], *a, act=_relu)[0],
       [((N_, D_), (N_, H_), (H_, D_), (H_, H_), (H_,), (H_,))], domain=_scaled,
       torch=_torch_cell("rnn_relu_cell"), double=False),
]
