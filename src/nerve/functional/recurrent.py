"""Recurrent ops: whole-sequence LSTM, GRU and Elman RNN layers, and their single-step cells.

Two ways to run a recurrent layer live here side by side:

* **The fused sequence ops** ``lstm_layer``, ``gru_layer``, ``rnn_layer``: one ``Function`` per
  layer and direction. Forward does all input projections in one GEMM,
  ``XW = x Wᵢₕᵀ + b`` of shape (T, N, G·H), then one (N, Hₚ)×(Hₚ, G·H) GEMM per step for the
  hidden part. Backward runs back-propagation through time inside the same node and finishes
  with one GEMM each for ∂x, ∂Wᵢₕ and ∂Wₕₕ over all steps. Why fused (DESIGN §3): composed from
  cell ops, a 32-step LSTM records ~20 graph nodes a step and the engine's per-node cost
  dominates the arithmetic at these sizes.
* **The cells** ``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell``, ``rnn_relu_cell``: one step,
  built from ordinary differentiable ops. ``nn.LSTMCell`` and friends call them, and
  :func:`_layer_by_cells` strings them along a sequence: the readable reference that the
  tests compare the fused ops with.

Conventions (PyTorch's): sequences are time-major ``(T, N, D)``; gates are stacked in the
weights' rows in the order LSTM ``(i, f, g, o)``, GRU ``(r, z, n)``; in the GRU the reset
gate multiplies ``Wₕₙ·h + bₕₙ`` (not h). ``reverse=True`` reads the sequence from its end.

Variable lengths: ``batch_sizes`` (non-increasing, one int per step, as in a
``PackedSequence`` whose batch is sorted by decreasing length) says how many leading batch rows
are still running at each step. A row past its end keeps its state (so the final state is the
one at its own last step; in reverse it starts from h0 at its own last step) and its output
there is 0.

Double backward: the GRU and RNN backward formulas are written in ``ctx.xp`` and take the
per-step gates through ``xp.reuse``, which under ``create_graph`` recomputes them from the inputs
with differentiable ops. The LSTM's backward is ``ctx.xp.nerve_lstm_bptt``: on arrays an in-place
fast path (see ``_lstm_run_fast`` and ``_lstm_bptt_fast``), under ``create_graph`` a
twin that recomputes the forward and runs the readable ``_lstm_bptt`` on Tensors. Either way the
second derivatives are exact (gradgradcheck in the tests).
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.namespace import register_extra
from ..backend import get_array_module
from ..backend.blas import col_blocks, row_blocks
from ._util import Tensor

GRAPH_NAMESPACE = {}   # filled below: the create_graph twins of the fused BPTT helpers

__all__ = ["lstm_layer", "gru_layer", "rnn_layer", "lstm_cell", "gru_cell", "rnn_tanh_cell",
           "rnn_relu_cell"]


def _sig(xp, a):
    """σ(a) = ½ + ½·tanh(a/2): one vectorised tanh, no overflow, same formula on Tensors."""
    return 0.5 + 0.5 * xp.tanh(0.5 * a)


def _times(xp, B):
    """``a ↦ a @ B`` for the steps of one call. On NumPy arrays the product runs in column
    blocks of B where ``backend.blas`` says OpenBLAS serves those faster (its small-matrix
    kernels); otherwise, and on CuPy or Tensors, it is ``a @ B``."""
    if getattr(xp, "module", xp) is not np:   # ctx.xp is an attribute namespace over NumPy
        return lambda a: a @ B
    plans = {}

    def times(a):
        if a.ndim != 2:
            return a @ B
        key = (a.shape[0], a.dtype)
        if key not in plans:
            dt = np.result_type(a, B)
            plans[key] = col_blocks(a.shape[0], B.shape[1], B.shape[0], dt), dt
        blocks, dt = plans[key]
        if blocks is None:
            return a @ B
        out = np.empty((a.shape[0], B.shape[1]), dtype=dt)
        for b in blocks:
            np.matmul(a, B[:, b], out=out[:, b])
        return out
    return times


def _times_transposed(xp, W):
    """``h ↦ h @ Wᵀ`` for the steps of one call. On NumPy arrays it multiplies by a contiguous
    copy of Wᵀ, made once: OpenBLAS takes a transposed operand through a slower packing path
    (one thread, a 32×128 by 128×4H step: 73 µs through the ``W.T`` view, 49 against the copy)."""
    if getattr(xp, "module", xp) is not np:
        return lambda h: h @ W.T
    return _times(xp, np.ascontiguousarray(W.T))


def _masks(batch_sizes, T, N):
    """One (N, 1) boolean mask per step from ``batch_sizes``, or None when every row runs."""
    if batch_sizes is None:
        return None
    bs = [int(b) for b in batch_sizes]
    if len(bs) != T or any(b > N or b < 0 for b in bs) or any(a < b for a, b in zip(bs, bs[1:])):
        raise ValueError(f"batch_sizes {bs} must hold one non-increasing count (at most the batch "
                         f"size {N}) for each of the {T} steps; build it with pack_padded_sequence")
    if all(b == N for b in bs):
        return None
    rows = np.arange(N)[:, None]
    return [rows < b for b in bs]


def _order(T, reverse):
    return list(range(T - 1, -1, -1)) if reverse else list(range(T))


def _prev(seq, first, order):
    """Stack, in time order, the state each step started from (``first`` before the first step)."""
    out = [None] * len(order)
    for k, t in enumerate(order):
        out[t] = first if k == 0 else seq[order[k - 1]]
    return out


def _check(name, x, h0, W_ih, W_hh, gates, hp):
    if x.ndim != 3:
        raise RuntimeError(f"{name}: input must be time-major (T, N, input_size), got shape "
                           f"{tuple(x.shape)}; for a single sequence add a batch dim with unsqueeze(1)")
    T, N, D = x.shape
    H = W_hh.shape[0] // gates
    if tuple(W_ih.shape) != (gates * H, D):
        raise RuntimeError(f"{name}: weight_ih of shape {tuple(W_ih.shape)} does not fit input of "
                           f"shape {tuple(x.shape)}; expected ({gates * H}, {D})")
    if tuple(h0.shape) != (N, hp if hp else H):
        raise RuntimeError(f"{name}: initial hidden state of shape {tuple(h0.shape)}, expected "
                           f"({N}, {hp if hp else H}) for batch {N}")
    if x.dtype != W_ih.dtype or h0.dtype != W_ih.dtype:
        raise RuntimeError(f"{name}: input dtype {x.dtype}, hidden dtype {h0.dtype} and weight dtype "
                           f"{W_ih.dtype} must match; convert with .float() or .double()")
    return T, N, H


# ---------------------------------------------------------------------------------- LSTM
def _empty_sequence(xp, x, states, width):
    """An empty sequence (T = 0): no outputs, and the final states are the initial ones, as
    copies (an in-place change to h_n must not reach h0)."""
    return (xp.empty((0, x.shape[1], width), dtype=x.dtype),) + tuple(s.copy() for s in states)


def _empty_sequence_grads(xp, needs, inputs, *state_grads):
    """Backward of :func:`_empty_sequence`: each final state's gradient goes straight back to
    its initial state (copied: never the caller's array); every other array input gets zeros
    (under create_graph, where the formula sees Tensors, no gradient at all)."""
    k = len(state_grads)
    zeros = getattr(xp, "zeros_like", None)
    return tuple((g.clone() if hasattr(g, "clone") else g.copy()) if 1 <= i <= k and (g := state_grads[i - 1]) is not None
                 else zeros(a) if zeros is not None and needs[i] and hasattr(a, "shape") else None
                 for i, a in enumerate(inputs))


def _lstm_run(xp, x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, reverse, masks):
    """The LSTM recurrence on arrays or Tensors, readable. Returns the outputs (T, N, Hₚ), the
    final h and c, and per step: the gate activations (σ(i), σ(f), tanh(g), σ(o)) (T, N, 4H),
    the cell state and its tanh (T, N, H) and the hidden state (T, N, Hₚ) after the step."""
    T = x.shape[0]
    H = W_hh.shape[0] // 4
    XW = x @ W_ih.T                                         # (T, N, 4H), all steps at once
    if b_ih is not None:
        XW = XW + (b_ih + b_hh)
    h, c = h0, c0
    A, C, TC, Hs, outs = ([None] * T for _ in range(5))
    hidden = _times_transposed(xp, W_hh)
    for t in _order(T, reverse):
        z = XW[t] + hidden(h)                               # (N, 4H)
        s = _sig(xp, z)                                     # σ on all rows; g's part replaced
        a = xp.concatenate([s[:, :2 * H], xp.tanh(z[:, 2 * H:3 * H]), s[:, 3 * H:]], axis=1)
        c_new = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
        h_new = a[:, 3 * H:] * xp.tanh(c_new)
        if W_hr is not None:
            h_new = h_new @ W_hr.T                          # (N, Hₚ)
        if masks is not None:
            m = masks[t]
            c_new = xp.where(m, c_new, c)
            h_new = xp.where(m, h_new, h)
            outs[t] = xp.where(m, h_new, 0.0)
        else:
            outs[t] = h_new
        h, c = h_new, c_new
        A[t], C[t], TC[t], Hs[t] = a, c, xp.tanh(c), h
    return xp.stack(outs), h, c, xp.stack(A), xp.stack(C), xp.stack(TC), xp.stack(Hs)


def _ifog_rows(W, H, out, half=True):
    """Write W's gate rows, PyTorch's (i, f, g, o), into ``out`` in the fast path's (i, f, o, g)
    order, the σ rows halved when ``half`` (three slice passes: cheaper than a gather and a
    separate scaling pass). ``out`` may be a column block of a wider array."""
    xp = get_array_module(W)
    if half:
        xp.multiply(W[:2 * H], 0.5, out=out[:2 * H])
        xp.multiply(W[3 * H:], 0.5, out=out[2 * H:3 * H])
    else:
        out[:2 * H] = W[:2 * H]
        out[2 * H:3 * H] = W[3 * H:]
    out[3 * H:] = W[2 * H:3 * H]
    return out


def _lstm_run_fast(x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse):
    """``_lstm_run`` for arrays without masks or projection, written for speed.

    * Gate-major steps: each step's pre-activations are computed as ``[Wᵢ Wₕ]·[x_t; h]``, a
      (4H, N) block, so every gate is a contiguous (H, N) slab. NumPy's elementwise passes over
      a contiguous slab run several times faster than over the (N, H) column slices of an
      (N, 4H) row-major block, and a step is mostly such passes.
    * One GEMM per step covers the input and the recurrent part: the step's input xᵀ sits in
      the rows above the hidden state it starts from in one (D + H, N) block of ``XH``, and each
      step writes its new h straight into the next step's block. Against a separate batched
      input projection plus a per-step recurrent GEMM and an add, this saves the add and the
      pass over the whole projection, and a (4H, D + H) GEMM runs closer to peak.
    * Gate rows reordered to (i, f, o, g) and the σ rows of the weights halved, so one in-place
      tanh gives tanh(g) and tanh(z/2) for the others (σ(z) = ½ + ½ tanh(z/2)) and the ½ + ½·
      pass covers one contiguous block.
    * With a one-thread OpenBLAS that has small-matrix kernels, the step's GEMM runs as a few
      row blocks of W (``backend.blas.row_blocks``): no re-packing of W every step, ~14 % less
      GEMM time at W5's size.

    Returns the outputs (T, N, H), h_n and c_n (N, H) (fresh arrays), then what the fast BPTT
    reads: A (T, 4H, N) in (i, f, o, g) order, C and tanh(C) (T, H, N), and ``XH`` (T, D + H, N),
    whose block t holds x_tᵀ above the hidden state step t started from."""
    xp = get_array_module(x)
    T, N, D = x.shape
    H4 = W_hh.shape[0]
    H = H4 // 4
    dt = x.dtype
    W = xp.empty((H4, D + H), dtype=dt)                       # [Wᵢ Wₕ], rows (i, f, o, g), σ rows halved
    _ifog_rows(W_ih, H, W[:, :D])
    _ifog_rows(W_hh, H, W[:, D:])
    bias = None
    if b_ih is not None:
        b = _ifog_rows((b_ih + b_hh)[:, None], H, xp.empty((H4, 1), dtype=dt))
        bias = xp.ascontiguousarray(xp.broadcast_to(b, (H4, N)))  # a full slab adds fastest
    XH = xp.empty((T, D + H, N), dtype=dt)
    XH[:, :D] = x.transpose(0, 2, 1)
    A = xp.empty((T, H4, N), dtype=dt)
    C = xp.empty((T, H, N), dtype=dt)
    TC = xp.empty_like(C)
    h_last = xp.empty((H, N), dtype=dt)
    order = _order(T, reverse)
    h_last[...] = h0.T
    if T:
        XH[order[0], D:] = h0.T
    c = xp.ascontiguousarray(c0.T)                            # (H, N)
    tmp = xp.empty((H, N), dtype=dt)
    zero_start = not h0.any()                                 # the usual h0 = 0: a shorter first GEMM
    # per-gate (T, ·, N) views made once; the loop indexes them by step
    S3, I3, F3, O3, G3 = A[:, :3 * H], A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
    Hnext = [XH[order[k + 1], D:] for k in range(T - 1)] + [h_last]  # where each step's h goes
    matmul, tanh, mul, add = xp.matmul, xp.tanh, xp.multiply, xp.add
    # the step's GEMM in row blocks where the BLAS runs those faster (see backend.blas)
    blocks = row_blocks(H4, N, D + H, dt) if xp is np else None
    if blocks is not None:
        Wb = [(W[b], A[:, b]) for b in blocks]
    for k, t in enumerate(order):
        a = A[t]
        if zero_start and k == 0:
            matmul(W[:, :D], XH[t, :D], out=a)                # once per call: never split
        elif blocks is None:
            matmul(W, XH[t], out=a)
        else:
            xh = XH[t]
            for w, ab in Wb:
                matmul(w, xh, out=ab[t])
        if bias is not None:
            add(a, bias, a)
        tanh(a, a)
        s = S3[t]                                             # σ(i), σ(f), σ(o)
        mul(s, 0.5, s)
        add(s, 0.5, s)
        c_new = C[t]
        mul(F3[t], c, c_new)
        mul(I3[t], G3[t], tmp)
        add(c_new, tmp, c_new)
        tc = TC[t]
        tanh(c_new, tc)
        mul(O3[t], tc, Hnext[k])
        c = c_new
    # the outputs are copies: an in-place change to them must not reach the saved states
    out = xp.empty((T, N, H), dtype=dt)
    if T and reverse:                                         # step t's h went to block t - 1
        out[1:] = XH[:T - 1, D:].transpose(0, 2, 1)
        out[0] = h_last.T
    elif T:                                                   # and forward to block t + 1
        out[:T - 1] = XH[1:, D:].transpose(0, 2, 1)
        out[T - 1] = h_last.T
    return out, h_last.T.copy(), c.T.copy(), A, C, TC, XH


def _lstm_bptt(xp, saved, reverse, masks, needs, gout, gh, gc):
    """Back-propagation through time for ``LSTMLayer``: one gradient per input."""
    x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, A, C, TC, Hs = saved
    T = x.shape[0]
    H = W_hh.shape[0] // 4
    order = _order(T, reverse)
    dZ = [None] * T
    gW_hr = None
    back = _times(xp, W_hh)                                 # dz ↦ dz @ Wₕₕ
    for k in range(T - 1, -1, -1):
        t = order[k]
        c_prev = c0 if k == 0 else C[order[k - 1]]
        a, tc = A[t], TC[t]
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        dh = gh + gout[t]                                   # gradient reaching this step's h
        if masks is not None:
            dh = xp.where(masks[t], dh, gh)                 # the output there was the constant 0
        dm = dh
        if W_hr is not None:
            dm = dh @ W_hr                                  # (N, H) through the projection
            dmh = dh if masks is None else xp.where(masks[t], dh, 0.0)
            term = dmh.T @ (o * tc)
            gW_hr = term if gW_hr is None else gW_hr + term
        dc = gc + dm * o * (1 - tc * tc)
        dz = xp.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                             dc * i * (1 - g * g), dm * tc * o * (1 - o)], axis=1)  # (N, 4H)
        if masks is not None:
            dz = xp.where(masks[t], dz, 0.0)
            gh = xp.where(masks[t], back(dz), dh)           # a finished row passes its gradient on
            gc = xp.where(masks[t], dc * f, gc)
        else:
            gh, gc = back(dz), dc * f
        dZ[t] = dz
    return _lstm_weight_grads(xp, xp.stack(dZ), x, h0, W_ih, Hs, order, needs, gh, gc, gW_hr)


def _lstm_weight_grads(xp, dZ, x, h0, W_ih, Hs, order, needs, gh, gc, gW_hr):
    """The GEMMs over all steps at once, from the gate gradients dZ (T, N, 4H)."""
    H4 = dZ.shape[2]
    dZ2 = dZ.reshape((-1, H4))
    gx = gW_ih = gW_hh = None
    if needs[0]:
        gx = dZ @ W_ih                                      # (T, N, D), one GEMM for every step
    if needs[3]:
        gW_ih = dZ2.T @ x.reshape((-1, x.shape[2]))
    if needs[4]:
        H_prev = xp.stack(_prev(Hs, h0, order))             # (T, N, Hₚ)
        gW_hh = dZ2.T @ H_prev.reshape((-1, H_prev.shape[2]))
    gb_ih = dZ2.sum(axis=0) if needs[5] else None          # both biases add to the same gates
    gb_hh = dZ2.sum(axis=0) if needs[6] else None
    return gx, gh, gc, gW_ih, gW_hh, gb_ih, gb_hh, gW_hr, None, None


def _lstm_bptt_fast(xp, saved, reverse, masks, needs, gout, gh, gc):
    """``_lstm_bptt`` on arrays, reading the forward fast path's gate-major (T, 4H, N) layout;
    masks and the projection take the readable path."""
    x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, A, C, TC, XH = saved
    T, N, D = x.shape
    if T == 0:                                                # an empty sequence: h_n = h0, c_n = c0
        return _empty_sequence_grads(xp, needs, (x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, None, None),
                                     gh, gc)
    if masks is not None or W_hr is not None:
        return _lstm_bptt(xp, saved, reverse, masks, needs, gout, gh, gc)
    H = W_hh.shape[0] // 4
    WhT = xp.ascontiguousarray(W_hh.T)                        # (H, 4H), PyTorch's gate order
    order = _order(T, reverse)
    # Everything in the gate gradients that does not depend on the incoming gradient, for all
    # steps at once (big vectorised passes instead of many small per-step ones):
    #   ∂z_i = dc·[g·i(1−i)],  ∂z_f = dc·[c_prev·f(1−f)],  ∂z_g = dc·[i(1−g²)],
    #   ∂z_o = dh·[tanh c·o(1−o)],   dc += dh·[o(1−tanh²c)]
    # A holds the gates in (i, f, o, g) order; K is written in PyTorch's (i, f, g, o): the three
    # gates scaled by dc are then one block (one multiply a step), and the weight gradients and
    # Wₕₕᵀ need no row permutation.
    i, f, o, g = A[:, :H], A[:, H:2 * H], A[:, 2 * H:3 * H], A[:, 3 * H:]
    K = xp.empty_like(A)                                      # (T, 4H, N)
    Kif, Kg, Ko = K[:, :2 * H], K[:, 2 * H:3 * H], K[:, 3 * H:]
    xp.subtract(1, A[:, :2 * H], Kif)                         # σ' = s(1 − s) for i and f
    Kif *= A[:, :2 * H]
    K[:, :H] *= g
    if reverse:                                               # times c_prev, the cell state each step read
        K[:T - 1, H:2 * H] *= C[1:]
        K[T - 1, H:2 * H] *= c0.T
    else:
        K[1:, H:2 * H] *= C[:T - 1]
        K[0, H:2 * H] *= c0.T
    xp.multiply(g, g, Kg)                                     # i(1 − g²)
    xp.subtract(1, Kg, Kg)
    Kg *= i
    xp.subtract(1, o, Ko)                                     # tanh c · o(1 − o)
    Ko *= o
    Ko *= TC
    Q = TC * TC
    xp.subtract(1, Q, Q)
    Q *= o
    dZ = K                                                    # each step turns K[t] into ∂z_t in place
    Kifg = K[:, :3 * H].reshape((T, 3, H, N))
    # A loss on some steps only (a classifier on the last h) sends exact zeros for the rest;
    # one pass over the bits finds those steps, and the loop skips their adds (each a strided
    # pass over an (H, N) view). Any set bit counts as live, so -0.0 and NaN are added.
    live = None
    size = gout.dtype.itemsize
    if xp is np and size in (4, 8) and gout.strides[-1] == size:  # a bidirectional half is a slice
        live = gout.view(np.uint32 if size == 4 else np.uint64).max(axis=(1, 2)).astype(bool).tolist()
    gout = gout.transpose(0, 2, 1)                            # (T, H, N) views
    dh = xp.empty((H, N), dtype=A.dtype)
    t1 = xp.empty_like(dh)
    # Own copies, never views: the loop updates both in place, and for a batch of one (or
    # H = 1) the transpose of the caller's (N, H) gradient is already contiguous, so
    # ascontiguousarray would hand back the caller's array. h_n and c_n often receive one
    # shared array (a loss on h_n + c_n), or a read-only broadcast one (h_n.sum()).
    dc = gc.T.copy()
    gh = gh.T.copy()
    add, mul, matmul = xp.add, xp.multiply, xp.matmul
    blocks = row_blocks(H, N, 4 * H, A.dtype) if xp is np else None
    if blocks is not None:                                    # see backend.blas
        Wb = [(WhT[b], gh[b]) for b in blocks]
    for k in range(T - 1, -1, -1):
        t = order[k]
        if live is None or live[t]:
            add(gh, gout[t], dh)
            d = dh
        else:
            d = gh                                            # read before the GEMM rewrites gh
        mul(d, Q[t], t1)
        add(dc, t1, dc)
        v = Ko[t]
        mul(v, d, v)
        v = Kifg[t]
        mul(v, dc, v)
        mul(dc, f[t], dc)
        if not (k or needs[1]):                               # h0's gradient only when wanted
            continue
        if blocks is None:
            matmul(WhT, dZ[t], out=gh)
        else:
            dz = dZ[t]
            for w, g in Wb:
                matmul(w, dz, out=g)
    # Gate-major rows (4H, T·N) for the GEMMs over all steps: moving whole (N,) rows of every
    # step is a cheap copy (3x cheaper than the batch-major (T·N, 4H) transpose), and the weight
    # gradients come out in (4H, ·) directly. One copy is far cheaper than T small GEMMs and a sum.
    dZg = xp.ascontiguousarray(dZ.transpose(1, 0, 2)).reshape((4 * H, T * N))
    gx = gW_ih = gW_hh = gb_ih = gb_hh = None
    if needs[0]:
        gx = (dZg.T @ W_ih).reshape((T, N, D))
    if needs[3]:
        gW_ih = dZg @ x.reshape((T * N, D))
    if needs[4]:
        # XH[t, D:] is the hidden state step t started from. When that was h0 = 0 at the first
        # step, its block adds nothing to ∂Wₕₕ and the GEMM skips it.
        lo, hi = 0, T
        if not h0.any():
            lo, hi = (0, T - 1) if reverse else (1, T)
        H_prev = xp.ascontiguousarray(XH[lo:hi, D:].transpose(1, 0, 2)).reshape((H, (hi - lo) * N))
        gW_hh = dZg[:, lo * N:hi * N] @ H_prev.T
    if needs[5] or needs[6]:
        gb = dZg @ xp.ones((T * N,), dtype=dZg.dtype)         # a GEMV sums rows faster than sum(1)
        gb_ih = gb if needs[5] else None
        gb_hh = gb.copy() if needs[6] else None
    return gx, gh.T.copy() if needs[1] else None, dc.T.copy(), gW_ih, gW_hh, gb_ih, gb_hh, None, None, None


def _graph_lstm_bptt(saved, reverse, masks, needs, gout, gh, gc):
    """The create_graph twin: recompute the forward from the inputs with differentiable ops,
    then run the readable BPTT on Tensors, so second derivatives are exact."""
    from ..autograd import engine  # noqa: PLC0415

    xp = engine.graph_namespace
    x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr = saved[:8]
    if x.shape[0] == 0:
        return _empty_sequence_grads(xp, needs, tuple(saved[:8]) + (None, None), gh, gc)
    rec = _lstm_run(xp, x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, reverse, masks)
    return _lstm_bptt(xp, tuple(saved[:8]) + tuple(rec[3:]), reverse, masks, needs, gout, gh, gc)


register_extra("nerve_lstm_bptt", _lstm_bptt_fast)
GRAPH_NAMESPACE["nerve_lstm_bptt"] = _graph_lstm_bptt


class LSTMLayer(Function):
    """One LSTM layer, one direction, over a whole (T, N, D) sequence: (out, h_n, c_n)."""

    def forward(ctx, x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, reverse, batch_sizes):
        masks = _masks(batch_sizes, x.shape[0], x.shape[1])
        if x.shape[0] == 0:
            out, h, c = _empty_sequence(ctx.xp, x, (h0, c0), h0.shape[1])
            A = C = TC = Hs = None
        elif masks is None and W_hr is None:
            out, h, c, A, C, TC, Hs = _lstm_run_fast(x, h0, c0, W_ih, W_hh, b_ih, b_hh, reverse)
            # the fast BPTT's layout: A gate-major (T, 4H, N) in (i, f, o, g) order, and in
            # place of the states the (T, D + H, N) buffer of [x_tᵀ; h the step started from]
        else:
            out, h, c, A, C, TC, Hs = _lstm_run(ctx.xp, x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr,
                                                reverse, masks)
        ctx.reverse, ctx.masks = reverse, masks
        ctx.save_for_backward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, A, C, TC, Hs)
        return out, h, c

    def backward(ctx, gout, gh, gc):
        return ctx.xp.nerve_lstm_bptt(ctx.saved, ctx.reverse, ctx.masks, ctx.needs_input_grad,
                                      gout, gh, gc)


def lstm_layer(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,  # noqa: A002
               weight_hr=None, reverse=False, batch_sizes=None):
    """A whole LSTM layer in one direction, fused: ``(output, h_n, c_n)``.

    Per step (σ the logistic function, ⊙ elementwise)::

        i, f, g, o = σ(·), σ(·), tanh(·), σ(·) of  x_t Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')   (then h' Wₕᵣᵀ with a projection)

    Args:
        input: (T, N, D), time-major.
        h0: (N, Hₚ); c0: (N, H). Hₚ = proj_size, else H.
        weight_ih: (4H, D); weight_hh: (4H, Hₚ); bias_ih, bias_hh: (4H,) or None;
        weight_hr: (Hₚ, H) or None (the LSTM projection).
        reverse: run from the last step to the first.
        batch_sizes: per-step counts of running rows (variable lengths; see the module doc).

    Returns: output (T, N, Hₚ), h_n (N, Hₚ), c_n (N, H).

    Example:
        >>> import nerve as nv
        >>> x, h0, c0 = nv.zeros(5, 2, 3), nv.zeros(2, 4), nv.zeros(2, 4)
        >>> out, h, c = nv.functional.lstm_layer(x, h0, c0, nv.ones(16, 3), nv.ones(16, 4))
        >>> out.shape, h.shape, c.shape
        ((5, 2, 4), (2, 4), (2, 4))
    """
    hp = None if weight_hr is None else weight_hr.shape[0]
    T, N, H = _check("lstm_layer", input, h0, weight_ih, weight_hh, 4, hp)
    if tuple(c0.shape) != (N, H):
        raise RuntimeError(f"lstm_layer: initial cell state of shape {tuple(c0.shape)}, expected ({N}, {H})")
    return LSTMLayer.apply(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, weight_hr,
                           bool(reverse), batch_sizes)


# ----------------------------------------------------------------------------------- GRU
def _gru_run(xp, x, h0, W_ih, W_hh, b_ih, b_hh, reverse, masks):
    """The GRU recurrence. Returns outputs, final h, and per step r, z, n, Wₕₙh + bₕₙ and h."""
    T = x.shape[0]
    H = W_hh.shape[0] // 3
    XW = x @ W_ih.T                                         # (T, N, 3H)
    if b_ih is not None:
        XW = XW + b_ih
    h = h0
    R, Z, Nn, HWn, Hs, outs = ([None] * T for _ in range(6))
    hidden = _times_transposed(xp, W_hh)
    for t in _order(T, reverse):
        hw = hidden(h)                                      # (N, 3H)
        if b_hh is not None:
            hw = hw + b_hh
        xw = XW[t]
        rz = _sig(xp, xw[:, :2 * H] + hw[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        hwn = hw[:, 2 * H:]
        n = xp.tanh(xw[:, 2 * H:] + r * hwn)
        h_new = n + z * (h - n)                             # (1 − z) n + z h
        if masks is not None:
            h_new = xp.where(masks[t], h_new, h)
            outs[t] = xp.where(masks[t], h_new, 0.0)
        else:
            outs[t] = h_new
        h = h_new
        R[t], Z[t], Nn[t], HWn[t], Hs[t] = r, z, n, hwn, h
    return xp.stack(outs), h, xp.stack(R), xp.stack(Z), xp.stack(Nn), xp.stack(HWn), xp.stack(Hs)


class GRULayer(Function):
    """One GRU layer, one direction, over a whole (T, N, D) sequence: (out, h_n)."""

    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, reverse, batch_sizes):
        masks = _masks(batch_sizes, x.shape[0], x.shape[1])
        if x.shape[0] == 0:
            ctx.save_for_backward(x, h0, W_ih, W_hh, b_ih, b_hh)
            return _empty_sequence(ctx.xp, x, (h0,), h0.shape[1])
        out, h, R, Z, Nn, HWn, Hs = _gru_run(ctx.xp, x, h0, W_ih, W_hh, b_ih, b_hh, reverse, masks)
        ctx.reverse, ctx.masks = reverse, masks
        ctx.save_for_backward(x, h0, W_ih, W_hh, b_ih, b_hh, R, Z, Nn, HWn, Hs)
        return out, h

    def backward(ctx, gout, gh):
        xp = ctx.xp
        if len(ctx.saved) == 6:                             # an empty sequence: h_n = h0
            return _empty_sequence_grads(xp, ctx.needs_input_grad, ctx.saved + (None, None), gh)
        x, h0, W_ih, W_hh, b_ih, b_hh, R, Z, Nn, HWn, Hs = ctx.saved
        reverse, masks = ctx.reverse, ctx.masks
        R, Z, Nn, HWn, Hs = xp.reuse((R, Z, Nn, HWn, Hs), lambda: _gru_run(
            xp, x, h0, W_ih, W_hh, b_ih, b_hh, reverse, masks)[2:])
        T = x.shape[0]
        H = W_hh.shape[0] // 3
        order = _order(T, reverse)
        dX, dHW = [None] * T, [None] * T
        back = _times(xp, W_hh)                             # ∂(h Wₕₕᵀ) ↦ ∂h
        for k in range(T - 1, -1, -1):
            t = order[k]
            h_prev = h0 if k == 0 else Hs[order[k - 1]]
            r, z, n = R[t], Z[t], Nn[t]
            dh = gh + gout[t]
            if masks is not None:
                dh = xp.where(masks[t], dh, gh)
            dan = dh * (1 - z) * (1 - n * n)                # through n = tanh(aₙ)
            dar = dan * HWn[t] * r * (1 - r)
            daz = dh * (h_prev - n) * z * (1 - z)
            dx = xp.concatenate([dar, daz, dan], axis=1)    # (N, 3H): ∂ of x Wᵢₕᵀ + bᵢₕ
            dhw = xp.concatenate([dar, daz, dan * r], axis=1)  # ∂ of h Wₕₕᵀ + bₕₕ
            if masks is not None:
                dx = xp.where(masks[t], dx, 0.0)
                dhw = xp.where(masks[t], dhw, 0.0)
                gh = xp.where(masks[t], back(dhw) + dh * z, dh)
            else:
                gh = back(dhw) + dh * z
            dX[t], dHW[t] = dx, dhw
        dX, dHW = xp.stack(dX), xp.stack(dHW)               # (T, N, 3H)
        n_ = ctx.needs_input_grad
        dX2, dHW2 = dX.reshape((-1, 3 * H)), dHW.reshape((-1, 3 * H))
        gx = gW_ih = gW_hh = gb_ih = gb_hh = None
        if n_[0]:
            gx = dX @ W_ih
        if n_[2]:
            gW_ih = dX2.T @ x.reshape((-1, x.shape[2]))
        if n_[3]:
            H_prev = xp.stack(_prev(Hs, h0, order))
            gW_hh = dHW2.T @ H_prev.reshape((-1, H))
        if n_[4]:
            gb_ih = dX2.sum(axis=0)
        if n_[5]:
            gb_hh = dHW2.sum(axis=0)
        return gx, gh, gW_ih, gW_hh, gb_ih, gb_hh, None, None


def gru_layer(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,  # noqa: A002
              reverse=False, batch_sizes=None):
    """A whole GRU layer in one direction, fused: ``(output, h_n)``.

    Per step::

        r = σ(Wᵢᵣx + bᵢᵣ + Wₕᵣh + bₕᵣ),  z = σ(Wᵢ_z x + bᵢ_z + Wₕ_z h + bₕ_z)
        n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ)),  h' = (1 − z) ⊙ n + z ⊙ h

    Args: input (T, N, D); h0 (N, H); weight_ih (3H, D); weight_hh (3H, H); biases (3H,) or
    None; ``reverse`` and ``batch_sizes`` as in :func:`lstm_layer`.

    Example:
        >>> import nerve as nv
        >>> out, h = nv.functional.gru_layer(nv.zeros(5, 2, 3), nv.zeros(2, 4), nv.ones(12, 3),
        ...                                  nv.ones(12, 4))
        >>> out.shape, h.shape
        ((5, 2, 4), (2, 4))
    """
    _check("gru_layer", input, h0, weight_ih, weight_hh, 3, None)
    return GRULayer.apply(input, h0, weight_ih, weight_hh, bias_ih, bias_hh, bool(reverse), batch_sizes)


# ------------------------------------------------------------------------------ Elman RNN
def _rnn_run(xp, x, h0, W_ih, W_hh, b_ih, b_hh, relu, reverse, masks):
    """h' = act(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ). Returns outputs, final h, and h per step."""
    T = x.shape[0]
    XW = x @ W_ih.T
    if b_ih is not None:
        XW = XW + (b_ih + b_hh)
    h = h0
    Hs, outs = [None] * T, [None] * T
    hidden = _times_transposed(xp, W_hh)
    for t in _order(T, reverse):
        a = XW[t] + hidden(h)
        h_new = xp.maximum(a, 0.0) if relu else xp.tanh(a)
        if masks is not None:
            h_new = xp.where(masks[t], h_new, h)
            outs[t] = xp.where(masks[t], h_new, 0.0)
        else:
            outs[t] = h_new
        h = Hs[t] = h_new
    return xp.stack(outs), h, xp.stack(Hs)


class RNNLayer(Function):
    """One Elman RNN layer (tanh or relu), one direction, over a whole sequence: (out, h_n)."""

    def forward(ctx, x, h0, W_ih, W_hh, b_ih, b_hh, relu, reverse, batch_sizes):
        masks = _masks(batch_sizes, x.shape[0], x.shape[1])
        if x.shape[0] == 0:
            ctx.save_for_backward(x, h0, W_ih, W_hh, b_ih, b_hh)
            return _empty_sequence(ctx.xp, x, (h0,), h0.shape[1])
        out, h, Hs = _rnn_run(ctx.xp, x, h0, W_ih, W_hh, b_ih, b_hh, relu, reverse, masks)
        ctx.relu, ctx.reverse, ctx.masks = relu, reverse, masks
        ctx.save_for_backward(x, h0, W_ih, W_hh, b_ih, b_hh, Hs)
        return out, h

    def backward(ctx, gout, gh):
        xp = ctx.xp
        if len(ctx.saved) == 6:                             # an empty sequence: h_n = h0
            return _empty_sequence_grads(xp, ctx.needs_input_grad, ctx.saved + (None, None, None), gh)
        x, h0, W_ih, W_hh, b_ih, b_hh, Hs = ctx.saved
        relu, reverse, masks = ctx.relu, ctx.reverse, ctx.masks
        Hs = xp.reuse(Hs, lambda: _rnn_run(xp, x, h0, W_ih, W_hh, b_ih, b_hh, relu, reverse,
                                           masks)[2])
        T = x.shape[0]
        order = _order(T, reverse)
        dA = [None] * T
        back = _times(xp, W_hh)
        for k in range(T - 1, -1, -1):
            t = order[k]
            dh = gh + gout[t]
            if masks is not None:
                dh = xp.where(masks[t], dh, gh)
            h = Hs[t]
            da = xp.where(h > 0, dh, 0.0) if relu else dh * (1 - h * h)
            if masks is not None:
                da = xp.where(masks[t], da, 0.0)
                gh = xp.where(masks[t], back(da), dh)
            else:
                gh = back(da)
            dA[t] = da
        dA = xp.stack(dA)                                   # (T, N, H)
        H = W_hh.shape[0]
        dA2 = dA.reshape((-1, H))
        n = ctx.needs_input_grad
        gx = gW_ih = gW_hh = None
        if n[0]:
            gx = dA @ W_ih
        if n[2]:
            gW_ih = dA2.T @ x.reshape((-1, x.shape[2]))
        if n[3]:
            H_prev = xp.stack(_prev(Hs, h0, order))
            gW_hh = dA2.T @ H_prev.reshape((-1, H))
        gb_ih = dA2.sum(axis=0) if n[4] else None
        gb_hh = dA2.sum(axis=0) if n[5] else None
        return gx, gh, gW_ih, gW_hh, gb_ih, gb_hh, None, None, None


def rnn_layer(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,  # noqa: A002
              nonlinearity="tanh", reverse=False, batch_sizes=None):
    """A whole Elman RNN layer in one direction, fused: ``(output, h_n)``.

    Per step ``h' = act(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ)`` with act ``'tanh'`` or ``'relu'``.
    Args: input (T, N, D); h0 (N, H); weight_ih (H, D); weight_hh (H, H); biases (H,) or None.

    Example:
        >>> import nerve as nv
        >>> out, h = nv.functional.rnn_layer(nv.ones(4, 1, 2), nv.zeros(1, 3), nv.ones(3, 2),
        ...                                  nv.zeros(3, 3))
        >>> round(h[0, 0].item(), 4)  # tanh(2)
        0.964
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    _check("rnn_layer", input, h0, weight_ih, weight_hh, 1, None)
    return RNNLayer.apply(input, h0, weight_ih, weight_hh, bias_ih, bias_hh,
                          nonlinearity == "relu", bool(reverse), batch_sizes)


# --------------------------------------------------------------- cells (the readable path)
def _gates(input, hx, weight_ih, weight_hh, bias_ih, bias_hh):  # noqa: A002
    from .linalg import linear  # noqa: PLC0415

    return linear(input, weight_ih, bias_ih), linear(hx, weight_hh, bias_hh)


def lstm_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):  # noqa: A002
    """One LSTM step from ordinary ops: ``hx = (h, c)`` → ``(h', c')``; gates (i, f, g, o).

    input (N, D), h (N, H), c (N, H), weight_ih (4H, D), weight_hh (4H, H).

    Example:
        >>> import nerve as nv
        >>> h, c = nv.functional.lstm_cell(nv.zeros(2, 3), (nv.zeros(2, 4), nv.ones(2, 4)),
        ...                                nv.zeros(16, 3), nv.zeros(16, 4))
        >>> round(c[0, 0].item(), 4)  # f = σ(0) = 0.5 keeps half of c; g = 0 adds nothing
        0.5
    """
    from .activation import sigmoid  # noqa: PLC0415
    from .activation import tanh  # noqa: PLC0415

    h, c = hx
    a, b = _gates(input, h, weight_ih, weight_hh, bias_ih, bias_hh)
    z = a + b
    H = weight_ih.shape[0] // 4
    i, f = sigmoid(z[..., :H]), sigmoid(z[..., H:2 * H])
    g, o = tanh(z[..., 2 * H:3 * H]), sigmoid(z[..., 3 * H:])
    c_new = f * c + i * g
    return o * tanh(c_new), c_new


def gru_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):  # noqa: A002
    """One GRU step from ordinary ops; gates (r, z, n), r multiplying ``Wₕₙh + bₕₙ``.

    Example:
        >>> import nerve as nv
        >>> h = nv.functional.gru_cell(nv.zeros(1, 2), nv.ones(1, 3), nv.zeros(9, 2), nv.zeros(9, 3))
        >>> h.tolist()  # z = ½: half of h, half of n = tanh(0)
        [[0.5, 0.5, 0.5]]
    """
    from .activation import sigmoid  # noqa: PLC0415
    from .activation import tanh  # noqa: PLC0415

    a, b = _gates(input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    H = weight_hh.shape[1]
    r = sigmoid(a[..., :H] + b[..., :H])
    z = sigmoid(a[..., H:2 * H] + b[..., H:2 * H])
    n = tanh(a[..., 2 * H:] + r * b[..., 2 * H:])
    return (1 - z) * n + z * hx


def rnn_tanh_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):  # noqa: A002
    """One Elman step: ``tanh(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ)``.

    Example:
        >>> import nerve as nv
        >>> nv.functional.rnn_tanh_cell(nv.zeros(1, 2), nv.zeros(1, 2), nv.ones(2, 2),
        ...                             nv.ones(2, 2)).tolist()
        [[0.0, 0.0]]
    """
    from .activation import tanh  # noqa: PLC0415

    a, b = _gates(input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return tanh(a + b)


def rnn_relu_cell(input, hx, weight_ih, weight_hh, bias_ih=None, bias_hh=None):  # noqa: A002
    """One Elman step with ReLU: ``max(0, x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ)``.

    Example:
        >>> import nerve as nv
        >>> nv.functional.rnn_relu_cell(nv.ones(1, 1), nv.zeros(1, 2), nv.tensor([[1.0], [-1.0]]),
        ...                             nv.zeros(2, 2)).tolist()
        [[1.0, 0.0]]
    """
    from .activation import relu  # noqa: PLC0415

    a, b = _gates(input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    return relu(a + b)


def _layer_by_cells(mode, input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,  # noqa: A002
                    weight_hr=None, reverse=False, batch_sizes=None):
    """The reference: a layer as a Python loop of cell calls, same contract as the fused ops.

    ``mode`` is ``'LSTM'``, ``'GRU'``, ``'RNN_TANH'`` or ``'RNN_RELU'``; ``c0`` is used by the
    LSTM only. Returns ``(output, h_n, c_n)`` (``c_n`` None except for the LSTM).
    """
    from .elementwise import where  # noqa: PLC0415
    from .shape import stack  # noqa: PLC0415

    T, N = input.shape[0], input.shape[1]
    masks = _masks(batch_sizes, T, N)
    cell = {"GRU": gru_cell, "RNN_TANH": rnn_tanh_cell, "RNN_RELU": rnn_relu_cell}.get(mode)
    h, c = h0, c0
    outs = [None] * T
    for t in _order(T, reverse):
        if mode == "LSTM":
            h_new, c_new = lstm_cell(input[t], (h, c), weight_ih, weight_hh, bias_ih, bias_hh)
            if weight_hr is not None:
                h_new = h_new @ weight_hr.T
        else:
            h_new, c_new = cell(input[t], h, weight_ih, weight_hh, bias_ih, bias_hh), None
        if masks is not None:
            m = Tensor(masks[t])
            h_new = where(m, h_new, h)
            c_new = where(m, c_new, c) if c_new is not None else None
            outs[t] = where(m, h_new, h_new * 0)
        else:
            outs[t] = h_new
        h, c = h_new, c_new
    return stack(outs), h, c
