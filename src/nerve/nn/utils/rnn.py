"""Variable-length sequences for the recurrent layers, as ``torch.nn.utils.rnn``.

A batch of sequences of different lengths is either *padded* (one (T, N, *) tensor, shorter
sequences filled with a padding value) or *packed*: a ``PackedSequence`` whose ``data`` holds,
step by step, only the entries that exist, the batch sorted by decreasing length::

    lengths 3, 1, 2 → sorted_indices [0, 2, 1], batch_sizes [3, 2, 1]
    data = [a0, c0, b0,  a1, c1,  a2]      (time-major, sorted batch order within a step)

``nn.RNN``/``LSTM``/``GRU`` accept a ``PackedSequence`` and return one; each sequence is then
processed exactly as if it ran alone (its padding never enters the recurrence).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...autograd.tensor import Tensor
from .. import functional as F

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "detach_state", "truncated_bptt"]


def _ints(v):
    if v is None:
        return None
    if isinstance(v, Tensor):
        v = v.numpy()
    return np.asarray(v, dtype=np.int64).reshape(-1)


def _lengths(v):
    """``lengths`` of pack_padded_sequence as a 1-D int64 array: a list, a Tensor or an array
    of whole numbers, one per sequence (a 2-D table or 2.5 steps is a mistake, not rounded)."""
    a = np.asarray(v.numpy() if isinstance(v, Tensor) else v)
    if a.ndim > 1:
        raise RuntimeError(f"pack_padded_sequence: lengths must be 1-D (one length per sequence), "
                           f"got shape {a.shape}")
    if a.dtype.kind not in "iu" and (a.dtype.kind != "f" or np.any(a != np.round(a))):
        raise RuntimeError(f"pack_padded_sequence: lengths must be whole numbers of steps, got "
                           f"{a.reshape(-1).tolist()}")
    return a.astype(np.int64).reshape(-1)


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


class PackedSequence(_PackedFields):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``, as PyTorch's.

    data: (Σ lengths, *) the existing steps, time-major; batch_sizes: int64 (T,) how many
    sequences are still running at each step; sorted_indices: the batch order by decreasing
    length (None when the input was already sorted); unsorted_indices: its inverse, computed
    here when only ``sorted_indices`` is given (as torch does), so unpacking restores the
    caller's order.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = Tensor(np.argsort(_ints(sorted_indices), kind="stable").astype(np.int64))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        return self._replace(data=self.data.to(*args, **kwargs))

    def float(self):  # noqa: A003
        return self._replace(data=self.data.float())

    def double(self):
        return self._replace(data=self.data.double())

    @property
    def is_cuda(self):
        return False


def _positions(batch_sizes):
    """For each packed row, its (t, b) in the padded (T, N) grid, as flat indices t·N + b."""
    bs = _ints(batch_sizes)
    N = int(bs[0]) if len(bs) else 0
    return np.concatenate([t * N + np.arange(b) for t, b in enumerate(bs)]).astype(np.int64), N


def _padded_from_packed(data, batch_sizes, padding_value=0.0):
    """Packed ``data`` (Σ, *) → time-major padded (T, N, *) in sorted batch order, and the
    batch sizes as a list. Differentiable in ``data`` (a gather)."""
    bs = [int(b) for b in _ints(batch_sizes)]
    flat, N = _positions(bs)
    T = len(bs)
    # every padded slot reads a packed row; the empty ones read one appended padding row
    src = np.full(T * N, data.shape[0], dtype=np.int64)
    src[flat] = np.arange(data.shape[0])
    pad = Tensor(np.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype))
    full = F.cat([data, pad], 0)[src]                             # (T·N, *)
    return full.reshape((T, N) + tuple(data.shape[1:])), bs


def _packed_from_padded(padded, batch_sizes):
    """Time-major padded (T, N, *) in sorted batch order → packed data (Σ, *)."""
    flat, N = _positions(batch_sizes)
    T = padded.shape[0]
    return padded.reshape((T * N,) + tuple(padded.shape[2:]))[flat]


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (Lᵢ, *) into (L_max, N, *) (or (N, L_max, *) with batch_first),
    filling with ``padding_value`` (after each sequence, or before with padding_side='left').

    Example:
        >>> import nerve as nv
        >>> from nerve.nn.utils.rnn import pad_sequence
        >>> pad_sequence([nv.tensor([1., 2., 3.]), nv.tensor([4.])], batch_first=True).tolist()
        [[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]]
    """
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trail = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != trail:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}, but every "
                               f"sequence must be (length, {', '.join(map(str, trail))})")
    L = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        n = L - s.shape[0]
        if n:
            fill = Tensor(np.full((n,) + trail, padding_value, dtype=s.dtype))
            s = F.cat([s, fill] if padding_side == "right" else [fill, s], 0)
        rows.append(s)
    return F.stack(rows, 1 if not batch_first else 0)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):  # noqa: A002
    """Pack a padded batch (T, N, *) (or (N, T, *)) whose sequence b has ``lengths[b]`` steps.

    With ``enforce_sorted=True`` the lengths must be non-increasing; otherwise the batch is
    sorted here and ``sorted_indices``/``unsorted_indices`` remember the order.

    Example:
        >>> import nerve as nv
        >>> from nerve.nn.utils.rnn import pack_padded_sequence
        >>> batch = nv.tensor([[1., 2.], [3., 0.]])          # sequences [1, 2] and [3], padded
        >>> p = pack_padded_sequence(batch, [2, 1], batch_first=True)
        >>> p.data.tolist(), p.batch_sizes.tolist()           # step 0: 1 and 3; step 1: 2
        ([1.0, 3.0, 2.0], [2, 1])
    """
    lengths = _lengths(lengths)
    if input.ndim < 2:
        raise RuntimeError(f"pack_padded_sequence: input must be at least 2-D ((T, N, *) or, with "
                           f"batch_first, (N, T, *)), got shape {tuple(input.shape)}")
    x = input.transpose(0, 1) if batch_first else input
    T, N = x.shape[0], x.shape[1]
    if len(lengths) != N:
        raise RuntimeError(f"pack_padded_sequence: {len(lengths)} lengths for a batch of {N} "
                           f"(input shape {tuple(input.shape)}, batch_first={batch_first})")
    if np.any(lengths <= 0) or np.any(lengths > T):
        raise RuntimeError(f"pack_padded_sequence: lengths {lengths.tolist()} must be between 1 and "
                           f"the padded length {T}")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(f"pack_padded_sequence: lengths {lengths.tolist()} are not sorted in "
                               "decreasing order; sort the batch or pass enforce_sorted=False")
        order, sorted_t, unsorted_t = np.arange(N), None, None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_t = Tensor(order.astype(np.int64))
        unsorted_t = Tensor(np.argsort(order).astype(np.int64))
        x = x[:, order]
    ls = lengths[order]
    batch_sizes = np.array([(ls > t).sum() for t in range(int(ls[0]))], dtype=np.int64)
    data = _packed_from_padded(x[:len(batch_sizes)], batch_sizes)
    return PackedSequence(data, Tensor(batch_sizes), sorted_t, unsorted_t)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)`` in the original batch order.

    ``total_length`` pads to at least that many steps (for DataParallel-style fixed shapes).
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence expects a PackedSequence (from pack_padded_sequence or "
                        f"pack_sequence), got {type(sequence).__name__}")
    bs = _ints(sequence.batch_sizes)
    x, _ = _padded_from_packed(sequence.data, bs, padding_value)    # (T, N, *) sorted order
    T, N = len(bs), int(bs[0])
    lengths = np.array([(bs > b).sum() for b in range(N)], dtype=np.int64)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter than the "
                             f"longest sequence ({T})")
        if total_length > T:
            fill = Tensor(np.full((total_length - T,) + tuple(x.shape[1:]), padding_value, dtype=x.dtype))
            x = F.cat([x, fill], 0)
    if sequence.unsorted_indices is not None:
        back = _ints(sequence.unsorted_indices)
        x = x[:, back]
        lengths = lengths[back]
    if batch_first:
        x = x.transpose(0, 1)
    return x, Tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (Lᵢ, *) tensors: ``pack_padded_sequence(pad_sequence(...), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of (Lᵢ, *) tensors."""
    x = padded_sequences.transpose(0, 1) if not batch_first else padded_sequences
    return [x[b, :int(n)] for b, n in enumerate(_ints(lengths))]


def unpack_sequence(packed_sequences):
    """Split a PackedSequence back into a list of (Lᵢ, *) tensors in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def detach_state(state):
    """A recurrent state cut from its history: a Tensor, or tuples/lists of them (an LSTM's
    ``(h, c)``), detached; None stays None. The building block of truncated BPTT."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state.detach()


def truncated_bptt(module, input, k, hx=None):  # noqa: A002
    """Run a recurrent ``module`` over a long sequence in chunks of ``k`` steps, detaching the
    carried state at every cut (truncated back-propagation through time).

    The forward values equal one uninterrupted run; the gradient of anything computed at step t
    reaches back only to the start of t's chunk (inputs before the last cut get exactly 0), so
    memory and compute of a backward stay bounded by k steps.

    Args:
        module: ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` (or any module with their
            ``(output, state) = module(input, state)`` contract).
        input: (T, N, D), or (N, T, D) if ``module.batch_first``, or unbatched (T, D).
        k: steps per chunk.
        hx: the initial state (None: zeros).

    Returns ``(output, state)`` as the module does, the output joined over all chunks.

    Example:
        >>> import nerve as nv
        >>> rnn = nv.nn.GRU(2, 3)
        >>> out, h = nv.nn.utils.rnn.truncated_bptt(rnn, nv.randn(10, 1, 2), k=4)
        >>> out.shape, h.shape
        ((10, 1, 3), (1, 1, 3))
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"truncated_bptt: k must be a positive number of steps, got {k}")
    # time is dim 1 only for a batched input of a batch_first module; unbatched (T, D) is time-major
    dim = 1 if getattr(module, "batch_first", False) and input.ndim == 3 else 0
    T = input.shape[dim]
    outs, state = [], hx
    for start in range(0, T, k):
        chunk = input[:, start:start + k] if dim == 1 else input[start:start + k]
        out, state = module(chunk, detach_state(state) if start else state)
        outs.append(out)
    return F.cat(outs, dim), state
