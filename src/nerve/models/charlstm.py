"""Character-level recurrent language models: embedding → LSTM (or GRU, or plain RNN) → linear.

    idx (N, T) ids
    embed  Embedding(V, E)                          → (N, T, E)
    lstm   LSTM(E, H, num_layers, batch_first)      → (N, T, H)   (``cell``: 'lstm', 'gru' or 'rnn')
    head   Linear(H, V)                             → (N, T, V) next-character logits

:class:`CharLSTM` is the LSTM flavour; :class:`CharRNN` takes the cell as an argument (the
recurrent layer keeps the attribute name ``lstm`` whatever the cell, so checkpoints read the same).
A GRU has 3 gate blocks where the LSTM has 4, and a plain (Elman, tanh) RNN has 1: replace the
4 below by 3 or 1.

Parameter count: V·E + [4H(E + H) + 8H] + (L − 1)·[4H(H + H) + 8H] + (H·V + V), the LSTM
having two bias vectors of 4H per layer as in torch. With the defaults (V 65, E 64, H 256,
L 1):

    embed   65×64                      =   4,160
    lstm    4·256·(64 + 256) + 8·256   = 329,728
    head    256×65 + 65                =  16,705
                                         -------
                                         350,593

``generate`` carries the recurrent state (h, c) from step to step: the state is the recurrent
model's whole memory of the context, so each new character costs one time step.

    >>> from nerve import models
    >>> models.get_model("char-lstm").num_parameters()
    350593
    >>> import nerve as nv
    >>> m = CharLSTM(vocab_size=5, embedding_dim=4, hidden_size=8)
    >>> m(nv.tensor([[0, 1, 2]])).shape
    (1, 3, 5)
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from . import register_model
from .gpt import _check_ids
from .sampling import _rng, check_sampling_args, sample_logits

__all__ = ["CharRNN", "CharLSTM", "char_lstm", "char_rnn"]

_CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


class CharRNN(nn.Module):
    """Embedding → recurrent layer (batch first) → Linear, over character ids (see the module docstring).

    Args:
        vocab_size: number of characters V.
        embedding_dim: width E of the character vectors.
        hidden_size: recurrent width H.
        num_layers: stacked recurrent layers.
        dropout: between recurrent layers (as ``nn.LSTM``) and on the recurrent output.
        cell: 'lstm' (default), 'gru' or 'rnn' (Elman, tanh).
    """

    def __init__(self, vocab_size=65, embedding_dim=64, hidden_size=256, num_layers=1, dropout=0.0,
                 cell="lstm"):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {', '.join(_CELLS)}, got {cell!r}")
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = getattr(nn, _CELLS[cell])(embedding_dim, hidden_size, num_layers, batch_first=True,
                                              dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.vocab_size = vocab_size

    def forward(self, idx, state=None, return_state: bool = False):
        """Logits (N, T, V) for ids (N, T); ``state`` ((h, c) for an LSTM, h otherwise) continues
        an earlier call, and ``return_state=True`` also returns the final state."""
        if not isinstance(idx, Tensor):
            idx = Tensor(np.asarray(idx))
        if idx.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects character ids of shape (N, T), got {tuple(idx.shape)}")
        out, new_state = self.lstm(self.embed(idx), state)
        logits = self.head(self.drop(out))
        return (logits, new_state) if return_state else logits

    @no_grad()
    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, generator=None):
        """Continue each row of ``idx`` (N, T0) by ``max_new_tokens`` sampled characters; returns
        (N, T0 + max_new_tokens) int64 ids as a Tensor. Sampling as ``GPT.generate``."""
        check_sampling_args(temperature, top_k, top_p)
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
                or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a non-negative integer, got {max_new_tokens!r}")
        ids = _check_ids(idx, self.vocab_size, f"{type(self).__name__}.generate")
        rng = _rng(generator)
        was_training = self.training
        self.eval()
        try:
            logits, state = self(ids, return_state=True)           # read the prompt once
            for i in range(max_new_tokens):
                if i:
                    logits, state = self(ids[:, -1:], state, return_state=True)
                nxt = sample_logits(logits.numpy()[:, -1], temperature, top_k, top_p, rng)
                ids = np.concatenate([ids, nxt[:, None]], axis=1)
        finally:
            self.train(was_training)
        return Tensor(ids)


class CharLSTM(CharRNN):
    """:class:`CharRNN` with an LSTM (350,593 parameters with the defaults; see the module docstring)."""

    def __init__(self, vocab_size=65, embedding_dim=64, hidden_size=256, num_layers=1, dropout=0.0):
        super().__init__(vocab_size, embedding_dim, hidden_size, num_layers, dropout, cell="lstm")


@register_model("char-rnn", "charrnn")
def char_rnn(vocab_size=65, embedding_dim=64, hidden_size=256, num_layers=1, dropout=0.0, cell="rnn") -> CharRNN:
    """A :class:`CharRNN`, by default with a plain tanh RNN (V·E + H(E + H) + 2H + H·V + V parameters)."""
    return CharRNN(vocab_size, embedding_dim, hidden_size, num_layers, dropout, cell)


@register_model("char-lstm", "charlstm")
def char_lstm(vocab_size=65, embedding_dim=64, hidden_size=256, num_layers=1, dropout=0.0) -> CharLSTM:
    """A :class:`CharLSTM` (350,593 parameters with the defaults)."""
    return CharLSTM(vocab_size, embedding_dim, hidden_size, num_layers, dropout)
