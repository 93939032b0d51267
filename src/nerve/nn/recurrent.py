"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step ``*Cell`` twins.

The layers follow PyTorch's contract (constructor arguments, parameter names and shapes, init,
return values) so a PyTorch ``state_dict`` loads by name. Each layer and direction runs as one
fused op from ``nerve.functional.recurrent`` (``lstm_layer``, ``gru_layer``, ``rnn_layer``);
the cells call ``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell`` / ``rnn_relu_cell``.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd.tensor import Tensor, get_default_dtype
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _empty(shape, dtype, device):
    arr = np.empty(shape, dtype=np.dtype(dtype) if dtype is not None else get_default_dtype())
    return backend.to_device(arr, device) if device is not None else arr


def _positive_int(layer, name, v, minimum=1):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < minimum:
        raise ValueError(f"{layer}: {name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: parameters, initial states, stacking,
    directions, inter-layer dropout, ``batch_first`` and packed sequences.

    Parameters, for layer ``k`` and direction suffix ``''`` or ``'_reverse'`` (G gates: 4 for the
    LSTM, 3 for the GRU, 1 for the RNN; Hₚ = proj_size or hidden_size; D = 2 if bidirectional)::

        weight_ih_l{k}{sfx}: (G·H, input_size if k == 0 else D·Hₚ)
        weight_hh_l{k}{sfx}: (G·H, Hₚ)
        bias_ih_l{k}{sfx}, bias_hh_l{k}{sfx}: (G·H,)        (when bias=True)
        weight_hr_l{k}{sfx}: (Hₚ, H)                         (LSTM with proj_size > 0)

    all drawn from U(−1/√H, 1/√H) as in PyTorch.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.mode = mode
        self.input_size = _positive_int(name, "input_size", input_size, 0)
        self.hidden_size = _positive_int(name, "hidden_size", hidden_size)
        self.num_layers = _positive_int(name, "num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.bidirectional = bool(bidirectional)
        self.proj_size = _positive_int(name, "proj_size", proj_size, 0)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        self.dropout = float(dropout)
        if self.dropout > 0 and self.num_layers == 1:
            # the dropout acts between stacked layers only: with one layer it does nothing
            warnings.warn(f"{name}: dropout={self.dropout} has no effect with num_layers=1 (it is "
                          "applied between stacked layers, not on the output)", UserWarning,
                          stacklevel=3)
        if self.proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is only supported by LSTM")
        if self.proj_size >= self.hidden_size:
            raise ValueError(f"{name}: proj_size ({self.proj_size}) has to be smaller than "
                             f"hidden_size ({self.hidden_size})")
        G, H = _GATES[mode], self.hidden_size
        Hp = self.proj_size or H
        dirs = 2 if self.bidirectional else 1
        self._flat_weights_names = []
        for k in range(self.num_layers):
            d_in = self.input_size if k == 0 else Hp * dirs
            for sfx in ("", "_reverse")[:dirs]:
                shapes = [(f"weight_ih_l{k}{sfx}", (G * H, d_in)), (f"weight_hh_l{k}{sfx}", (G * H, Hp))]
                if self.bias:
                    shapes += [(f"bias_ih_l{k}{sfx}", (G * H,)), (f"bias_hh_l{k}{sfx}", (G * H,))]
                if self.proj_size:
                    shapes.append((f"weight_hr_l{k}{sfx}", (Hp, H)))
                for pname, shape in shapes:
                    setattr(self, pname, Parameter(_empty(shape, dtype, device)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(−1/√hidden_size, 1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for pname in self._flat_weights_names:
            init.uniform_(getattr(self, pname), -bound, bound)

    def flatten_parameters(self):
        """PyTorch compacts cuDNN weights here; nerve keeps them as they are (a no-op)."""

    @property
    def all_weights(self):
        """The parameters per layer and direction, as lists (PyTorch's ``all_weights``)."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity='{self.nonlinearity}'"
        for k, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                           ("bidirectional", False)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s

    # ------------------------------------------------------------------------ forward
    def _run_layer(self, k, sfx, x, h0, c0, reverse, batch_sizes):
        """One layer, one direction, through the fused op: (output, h_n, c_n or None)."""
        p = lambda n: self._parameters.get(f"{n}_l{k}{sfx}")  # noqa: E731
        W_ih, W_hh, b_ih, b_hh = p("weight_ih"), p("weight_hh"), p("bias_ih"), p("bias_hh")
        if self.mode == "LSTM":
            return F.lstm_layer(x, h0, c0, W_ih, W_hh, b_ih, b_hh, p("weight_hr"), reverse, batch_sizes)
        if self.mode == "GRU":
            out, h = F.gru_layer(x, h0, W_ih, W_hh, b_ih, b_hh, reverse, batch_sizes)
        else:
            out, h = F.rnn_layer(x, h0, W_ih, W_hh, b_ih, b_hh,
                                 "relu" if self.mode == "RNN_RELU" else "tanh", reverse, batch_sizes)
        return out, h, None

    def _check_state(self, what, state, shape):
        if state is None:
            return
        if tuple(state.shape) != shape:
            name = type(self).__name__
            raise RuntimeError(
                f"{name}: expected {what} of shape {shape} (num_layers·num_directions, batch, "
                f"{'hidden' if shape[-1] == self.hidden_size else 'proj'}_size), got "
                f"{tuple(state.shape)}; the batch size comes from the input (dim "
                f"{0 if self.batch_first else 1}), and hx is never batch-first")

    def forward(self, input, hx=None):  # noqa: A002
        from .utils.rnn import PackedSequence, _padded_from_packed, _packed_from_padded  # noqa: PLC0415

        name = type(self).__name__
        is_lstm = self.mode == "LSTM"
        if is_lstm and hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise RuntimeError(f"{name}: hx must be a tuple (h_0, c_0) for an LSTM")
        h0, c0 = (hx if hx is not None else (None, None)) if is_lstm else (hx, None)
        for what, s in (("h_0", h0), ("c_0", c0)):
            if s is not None and not isinstance(s, (Tensor, np.ndarray)):
                raise TypeError(f"{name}: {what} must be a Tensor, got {type(s).__name__}"
                                + ("; only an LSTM takes a tuple (h_0, c_0), pass the GRU/RNN "
                                   "hidden state itself" if isinstance(s, (tuple, list)) else ""))
        packed = isinstance(input, PackedSequence)
        unbatched = False
        batch_sizes = None
        if packed:
            x, batch_sizes = _padded_from_packed(input.data, input.batch_sizes)  # (T, N, D), sorted
            if input.sorted_indices is not None:   # states come in the caller's batch order
                idx = np.asarray(input.sorted_indices)
                h0 = None if h0 is None else h0[:, idx]
                c0 = None if c0 is None else c0[:, idx]
        else:
            x = input
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} expects a Tensor or a PackedSequence, got {type(x).__name__}")
            if x.ndim == 2:
                unbatched = True
                x = x.unsqueeze(1)
                h0 = None if h0 is None else self._unbatched_state(h0, "h_0")
                c0 = None if c0 is None else self._unbatched_state(c0, "c_0")
            elif x.ndim != 3:
                raise RuntimeError(
                    f"{name}: expected input of 2 (unbatched: seq_len, input_size) or 3 dimensions "
                    f"({'batch, seq_len' if self.batch_first else 'seq_len, batch'}, input_size), "
                    f"got shape {tuple(x.shape)}")
            elif self.batch_first:
                x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}(input_size={self.input_size}) got input whose last dimension is "
                f"{x.shape[-1]} (shape {tuple(input.data.shape if packed else input.shape)}); "
                f"the features go last: reshape to (..., {self.input_size}) or build the layer "
                f"with input_size={x.shape[-1]}")
        dirs = 2 if self.bidirectional else 1
        N, H = x.shape[1], self.hidden_size
        Hp = self.proj_size or H
        L = self.num_layers * dirs
        self._check_state("h_0", h0, (L, N, Hp))
        self._check_state("c_0", c0, (L, N, H))
        dtype = self.weight_ih_l0.dtype
        if x.dtype != dtype:
            raise RuntimeError(f"{name}: input dtype {x.dtype} does not match the parameters' "
                               f"{dtype}; convert the input with .float() (or the model with .double())")
        # no state given: every layer and direction starts from one zero (N, ·) tensor (the
        # fused ops never write into their initial state), not from slices of an (L, N, ·) one
        h0s = [Tensor(np.zeros((N, Hp), dtype=dtype))] * L if h0 is None else h0
        c0s = None
        if is_lstm:
            c0s = [Tensor(np.zeros((N, H), dtype=dtype))] * L if c0 is None else c0
        layer_in = x
        hs, cs = [], []
        for k in range(self.num_layers):
            outs = []
            for d, sfx in enumerate(("", "_reverse")[:dirs]):
                j = k * dirs + d
                out, h, c = self._run_layer(k, sfx, layer_in, h0s[j], c0s[j] if is_lstm else None,
                                            d == 1, batch_sizes)
                outs.append(out)
                hs.append(h)
                cs.append(c)
            layer_in = outs[0] if dirs == 1 else F.cat(outs, dim=2)   # (T, N, D·Hₚ)
            if self.dropout and self.training and k < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        if len(hs) == 1:                                              # one layer, one direction:
            h_n = hs[0].unsqueeze(0)                                  # a view, no copy
            c_n = cs[0].unsqueeze(0) if is_lstm else None
        else:
            h_n = F.stack(hs)                                         # (L·D, N, Hₚ)
            c_n = F.stack(cs) if is_lstm else None
        if packed:
            output = PackedSequence(_packed_from_padded(layer_in, batch_sizes), input.batch_sizes,
                                    input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                back = np.asarray(input.unsorted_indices)
                h_n = h_n[:, back]
                c_n = None if c_n is None else c_n[:, back]
        elif unbatched:
            output, h_n = layer_in.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        else:
            output = layer_in.transpose(0, 1) if self.batch_first else layer_in
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def _unbatched_state(self, s, what):
        if s.ndim != 2:
            raise RuntimeError(f"{type(self).__name__}: for an unbatched 2-D input, {what} must be "
                               f"2-D (num_layers·num_directions, hidden), got shape {tuple(s.shape)}")
        return s.unsqueeze(1)


class RNN(RNNBase):
    """An Elman RNN: ``h_t = act(x_t Wᵢₕᵀ + bᵢₕ + h_{t−1} Wₕₕᵀ + bₕₕ)``, act tanh or relu.

    Args: ``input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0`` (between layers, in training), ``bidirectional=False``.

    Input (T, N, input_size) (or (N, T, ·) with batch_first, or (T, input_size) unbatched, or a
    ``PackedSequence``); ``hx`` (num_layers·D, N, H). Returns ``(output, h_n)``: output
    (T, N, D·H), h_n (num_layers·D, N, H).

    Example:
        >>> import nerve as nv
        >>> rnn = nv.nn.RNN(3, 5, num_layers=2, batch_first=True)
        >>> out, h = rnn(nv.zeros(4, 7, 3))
        >>> out.shape, h.shape
        ((4, 7, 5), (2, 4, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), PyTorch's formulation.

    Per step, gates (i, f, g, o) from ``x_t Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ``::

        c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g),   h_t = σ(o) ⊙ tanh(c_t)   (· Wₕᵣᵀ if proj_size)

    Args: ``input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0``. Returns ``(output, (h_n, c_n))``: output (T, N, D·Hₚ),
    h_n (num_layers·D, N, Hₚ), c_n (num_layers·D, N, H).

    Example:
        >>> import nerve as nv
        >>> lstm = nv.nn.LSTM(3, 4, bidirectional=True)
        >>> out, (h, c) = lstm(nv.zeros(6, 2, 3))
        >>> out.shape, h.shape, c.shape
        ((6, 2, 8), (2, 2, 4), (2, 2, 4))
        >>> lstm.weight_hh_l0_reverse.shape
        (16, 4)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al., 2014), PyTorch's formulation (gates r, z, n)::

        r, z = σ(·), σ(·);  n = tanh(Wᵢₙx + bᵢₙ + r ⊙ (Wₕₙh + bₕₙ));  h' = (1 − z) ⊙ n + z ⊙ h

    Args as :class:`RNN` without ``nonlinearity``. Returns ``(output, h_n)``.

    Example:
        >>> import nerve as nv
        >>> out, h = nv.nn.GRU(3, 4, num_layers=2)(nv.zeros(5, 1, 3))
        >>> out.shape, h.shape
        ((5, 1, 4), (2, 1, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)


# ----------------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """Shared by the cells: ``weight_ih`` (G·H, input_size), ``weight_hh`` (G·H, H),
    ``bias_ih``, ``bias_hh`` (G·H,), all from U(−1/√H, 1/√H)."""

    def __init__(self, input_size, hidden_size, bias, gates, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _positive_int(name, "input_size", input_size, 0)
        self.hidden_size = _positive_int(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        G, H = gates, self.hidden_size
        self.weight_ih = Parameter(_empty((G * H, self.input_size), dtype, device))
        self.weight_hh = Parameter(_empty((G * H, H), dtype, device))
        if self.bias:
            self.bias_ih = Parameter(_empty((G * H,), dtype, device))
            self.bias_hh = Parameter(_empty((G * H,), dtype, device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity='{self.nonlinearity}'"
        return s

    def _prepare(self, input, states):  # noqa: A002
        """Check shapes, add the batch dim of a 1-D input, default the states to zeros."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise RuntimeError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                               f"({self.input_size},), got {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}(input_size={self.input_size}) got input of shape "
                               f"{tuple(input.shape)}; its last dimension must be {self.input_size}")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)
        N = input.shape[0]
        out = []
        for s in states:
            if s is None:
                s = Tensor(np.zeros((N, self.hidden_size), dtype=input.dtype))
            else:
                if not isinstance(s, (Tensor, np.ndarray)):
                    hint = "; only LSTMCell takes a tuple (h, c)" if isinstance(s, (tuple, list)) else ""
                    raise TypeError(f"{name}: the hidden state must be a Tensor, got "
                                    f"{type(s).__name__}{hint}")
                want = (self.hidden_size,) if unbatched else (N, self.hidden_size)
                if tuple(s.shape) != want:
                    raise RuntimeError(f"{name}: hidden state of shape {tuple(s.shape)} does not fit "
                                       f"{'the unbatched input' if unbatched else f'input batch {N}'} "
                                       f"and hidden_size {self.hidden_size}; expected {want}")
                if unbatched:
                    s = s.unsqueeze(0) if isinstance(s, Tensor) else s[None]
            out.append(s)
        return input, out, unbatched

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """One Elman step, ``h' = act(x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ)``; see ``F.rnn_tanh_cell``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.RNNCell(3, 2)(nv.zeros(4, 3)).shape
        (4, 2)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, [hx])
        cell = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        h = cell(x, h, *self._weights())
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c') = cell(x, (h, c))``, gates (i, f, g, o); see ``F.lstm_cell``.

    Example:
        >>> import nerve as nv
        >>> h, c = nv.nn.LSTMCell(3, 2)(nv.zeros(4, 3))
        >>> h.shape, c.shape
        ((4, 2), (4, 2))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise RuntimeError("LSTMCell: hx must be a tuple (h, c)")
        x, (h, c), unbatched = self._prepare(input, list(hx) if hx is not None else [None, None])
        h, c = F.lstm_cell(x, (h, c), *self._weights())
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step, gates (r, z, n); see ``F.gru_cell``.

    Example:
        >>> import nerve as nv
        >>> nv.nn.GRUCell(3, 2)(nv.zeros(3)).shape
        (2,)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):  # noqa: A002
        x, (h,), unbatched = self._prepare(input, [hx])
        h = F.gru_cell(x, h, *self._weights())
        return h.squeeze(0) if unbatched else h
