"""Sequence to sequence: a recurrent encoder, a recurrent decoder, additive attention between them.

The encoder–decoder of Sutskever, Vinyals & Le (2014) and Cho et al. (2014), with the attention
of Bahdanau, Cho & Bengio (2015)::

    src (N, S) ids ─Embedding─► LSTM/GRU (optionally bidirectional) ─► enc (N, S, E), E = D·H_enc
                                          final states ──bridge: tanh(Linear)──► s₀ (N, H)
    for each target step t (input token y_{t−1}: the true one or the model's own guess):
        c_t, α_t = AdditiveAttention(query=s_{t−1}, keys=values=enc, mask=source padding)
        s_t     = LSTMCell/GRUCell([Embedding(y_{t−1}); c_t], s_{t−1})
        logits  = Linear([s_t; c_t; Embedding(y_{t−1})]) → (N, V_tgt)

Without attention (``attention=None``) the context c_t is the encoder's final state at every
step (Cho et al.'s fixed summary vector), so the decoder sees the source only through it.

Parameter count of ``seq2seq(src_vocab=V_s, tgt_vocab=V_t, embed_dim=e, hidden_size=h,
cell='lstm', bidirectional=True)`` (G = 4 gates for the LSTM, 3 for the GRU; E = 2h, A = h)::

    encoder embedding     V_s·e
    encoder LSTM          2 · G·h·(e + h + 2)            (two directions)
    bridge                E·h + h
    attention             h·A + A  +  E·A  +  A          (query proj, key proj, score)
    decoder embedding     V_t·e
    decoder LSTMCell      G·h·(e + E + h + 2)
    output layer          (h + E + e)·V_t + V_t

For V_s = V_t = 24, e = 32, h = 64 that is 768 + 50,176 + 8,256 + 12,416 + 768 + 57,856 +
5,400 = 135,640:

    >>> from nerve import models
    >>> net = models.get_model("seq2seq", src_vocab=24, tgt_vocab=24)
    >>> net.num_parameters()
    135640

Training uses ``forward(src, tgt)``: ``tgt`` starts with the BOS token, the logits predict
``tgt[:, 1:]``. Decoding: :meth:`Seq2Seq.greedy_decode` and :meth:`Seq2Seq.beam_search`; a beam of
width 1 is the greedy decoder exactly (same tokens, scores and attention weights).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..nn import functional as F
from ..random import resolve
from . import register_model

__all__ = ["Seq2Seq", "Seq2SeqEncoder", "Seq2SeqDecoder", "Decoded", "seq2seq"]

_CELLS = {"lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


def _cell_kind(cell, who):
    kind = str(cell).lower()
    if kind not in _CELLS:
        raise ValueError(f"{who}: cell must be 'lstm' or 'gru', got {cell!r}")
    return kind


def _ids(v, who, name):
    """Token ids as an int64 Tensor of shape (N, L)."""
    arr = np.asarray(v._data if isinstance(v, Tensor) else v)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{who}: {name} must be integer token ids of shape (batch, length), got "
                         f"{arr.dtype} of shape {arr.shape}")
    return Tensor(arr.astype(np.int64, copy=False))


class Decoded(NamedTuple):
    """What the decoders return, for a batch of N sources (L ≤ max_len decoded steps).

    tokens: int64 (N, L), the predicted ids without BOS; after a row's EOS the row is filled with
    EOS. lengths: int64 (N,), the tokens up to and including the first EOS (L if none).
    scores: float (N,), the sum of the chosen tokens' log-probabilities up to that length.
    attention: (N, L, S), the attention weights of each decoded step over the source (zero after
    a row ends; a model without attention returns zeros).
    """

    tokens: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray
    attention: np.ndarray


class Seq2SeqEncoder(nn.Module):
    """Embedding then a recurrent layer over the source: ``(outputs (N, S, D·H), final (N, D·H),
    last_state)``.

    Args:
        vocab_size, embed_dim, hidden_size: the source vocabulary, embedding and state widths.
        cell: ``'lstm'`` or ``'gru'``.
        bidirectional: read the source both ways; each position then sees its whole sentence.
        num_layers: stacked recurrent layers.
        pad_idx: the padding id (its embedding stays 0); padded positions never enter the
            recurrence when lengths are given.
    """

    def __init__(self, vocab_size, embed_dim, hidden_size, cell="lstm", bidirectional=False,
                 num_layers=1, pad_idx=None):
        super().__init__()
        self.cell = _cell_kind(cell, "Seq2SeqEncoder")
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_idx)
        self.rnn = _CELLS[self.cell][0](embed_dim, hidden_size, num_layers=num_layers,
                                        batch_first=True, bidirectional=bidirectional)
        self.pad_idx = pad_idx
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, src, lengths=None):
        emb = self.embedding(src)                                    # (N, S, e)
        if lengths is None:
            out, state = self.rnn(emb)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(emb, lengths, batch_first=True,
                                                       enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                      total_length=src.shape[1])
        h = state[0] if self.cell == "lstm" else state               # (layers·D, N, H)
        D = 2 if self.rnn.bidirectional else 1
        final = F.cat([h[-D + d] for d in range(D)], dim=1)          # last layer, both ways: (N, D·H)
        return out, final


class Seq2SeqDecoder(nn.Module):
    """One decoder step at a time: embedding of the previous token and the context in, the next
    token's logits out (see the module docstring for the equations).

    Args:
        vocab_size, embed_dim, hidden_size: the target vocabulary, embedding and state widths.
        context_size: the width of the encoder outputs (D·H_enc).
        cell: ``'lstm'`` or ``'gru'``.
    """

    def __init__(self, vocab_size, embed_dim, hidden_size, context_size, cell="lstm"):
        super().__init__()
        self.cell = _cell_kind(cell, "Seq2SeqDecoder")
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = _CELLS[self.cell][1](embed_dim + context_size, hidden_size)
        self.out = nn.Linear(hidden_size + context_size + embed_dim, vocab_size)
        self.hidden_size = hidden_size
        self.context_size = context_size

    def forward(self, prev_tokens, state, context):
        """``prev_tokens`` (N,), ``state`` (h or (h, c)), ``context`` (N, E) → (logits (N, V), state)."""
        emb = self.embedding(prev_tokens)                            # (N, e)
        state = self.rnn(F.cat([emb, context], dim=1), state)
        h = state[0] if self.cell == "lstm" else state
        return self.out(F.cat([h, context, emb], dim=1)), state


class Seq2Seq(nn.Module):
    """An encoder, a decoder and (optionally) additive attention from the decoder's state over
    the encoder's outputs.

    Args:
        encoder: a :class:`Seq2SeqEncoder`.
        decoder: a :class:`Seq2SeqDecoder` whose ``context_size`` equals ``encoder.output_size``.
        attention: an ``nn.AdditiveAttention(decoder.hidden_size, encoder.output_size, ·)``, or
            None for the fixed-context model.

    The decoder's first state is ``tanh(bridge(final encoder state))`` (the LSTM's first cell
    state is 0). Source padding: pass ``src_lengths``, or build the encoder with ``pad_idx`` and
    the lengths are counted from it (padding at the end of each row); padded positions get
    attention weight exactly 0.

    Example:
        >>> import nerve as nv
        >>> net = seq2seq(src_vocab=12, tgt_vocab=9, embed_dim=8, hidden_size=16)
        >>> src = nv.tensor([[3, 4, 5, 0], [6, 7, 0, 0]])        # 0 pads
        >>> tgt = nv.tensor([[1, 5, 6, 2], [1, 7, 2, 2]])        # BOS = 1 first
        >>> net(src, tgt).shape                                   # logits for tgt[:, 1:]
        (2, 3, 9)
        >>> out = net.beam_search(src, beam_width=3, max_len=5, bos=1, eos=2)
        >>> out.tokens.shape[0], out.attention.shape[2]
        (2, 4)
        >>> float(out.attention[1, 0, 2:].sum())                  # padding gets no attention
        0.0
    """

    def __init__(self, encoder, decoder, attention=None):
        super().__init__()
        if decoder.context_size != encoder.output_size:
            raise ValueError(f"Seq2Seq: the decoder's context_size ({decoder.context_size}) must equal "
                             f"the encoder's output_size ({encoder.output_size})")
        self.encoder = encoder
        self.decoder = decoder
        self.attention = attention
        self.bridge = nn.Linear(encoder.output_size, decoder.hidden_size)

    # ------------------------------------------------------------------ pieces
    def _lengths(self, src, src_lengths):
        if src_lengths is not None:
            lengths = np.asarray(getattr(src_lengths, "_data", src_lengths), dtype=np.int64).reshape(-1)
        elif self.encoder.pad_idx is not None:
            real = src._data != self.encoder.pad_idx
            lengths = real.sum(axis=1)
            # the lengths only describe the rows if every pad comes after the last real token;
            # left or inner padding would have the encoder read the pads and drop real tokens
            prefix = np.arange(real.shape[1])[None, :] < lengths[:, None]
            if lengths.size and lengths.min() < 1:
                bad = int(np.flatnonzero(lengths < 1)[0])
                raise ValueError(f"Seq2Seq: source row {bad} is all padding (id {self.encoder.pad_idx}); "
                                 "give each source at least one real token")
            if lengths.min() >= 1 and not np.array_equal(real, prefix):
                bad = int(np.flatnonzero((real != prefix).any(axis=1))[0])
                raise ValueError(f"Seq2Seq: source row {bad} has the padding id {self.encoder.pad_idx} "
                                 f"before a real token ({src._data[bad].tolist()}); pad at the end of "
                                 "each row, or pass src_lengths")
        else:
            return None, None
        N, S = src.shape
        if lengths.shape != (N,) or lengths.min() < 1 or lengths.max() > S:
            raise ValueError(f"Seq2Seq: src_lengths must hold one length in [1, {S}] per source row "
                             f"({N} rows), got {lengths.tolist()}")
        return lengths, np.arange(S)[None, :] < lengths[:, None]    # (N, S) True = a real token

    def encode(self, src, src_lengths=None):
        """Run the encoder: ``(enc (N, S, E), state₀, final (N, E), mask (N, S) or None)``."""
        src = _ids(src, "Seq2Seq", "src")
        lengths, mask = self._lengths(src, src_lengths)
        enc, final = self.encoder(src, lengths)
        h0 = F.tanh(self.bridge(final))
        state = (h0, Tensor(np.zeros_like(h0._data))) if self.decoder.cell == "lstm" else h0
        return enc, state, final, mask

    def step(self, prev_tokens, state, enc, final, mask):
        """One decoder step: ``(logits (N, V), new state, attention weights (N, S) or None)``."""
        h = state[0] if self.decoder.cell == "lstm" else state
        if self.attention is None:
            context, weights = final, None
        else:
            context, weights = self.attention(h.unsqueeze(1), enc, enc, mask)   # (N, 1, E), (N, 1, S)
            context, weights = context.squeeze(1), weights.squeeze(1)
        logits, state = self.decoder(prev_tokens, state, context)
        return logits, state, weights

    # ----------------------------------------------------------------- training
    def forward(self, src, tgt, src_lengths=None, teacher_forcing_ratio=1.0, generator=None):
        """Logits (N, L − 1, V) for ``tgt[:, 1:]`` given ``src`` (N, S) and ``tgt`` (N, L).

        At each step the decoder's input is the true previous token with probability
        ``teacher_forcing_ratio`` (one coin per step for the whole batch, drawn from
        ``generator``: a ``nerve.Generator``, a NumPy Generator, or None for the global stream)
        and otherwise its own previous argmax. Ratio 1 (the default) is pure teacher forcing and
        draws nothing.
        """
        if not 0.0 <= float(teacher_forcing_ratio) <= 1.0:
            raise ValueError(f"Seq2Seq: teacher_forcing_ratio must be in [0, 1], got "
                             f"{teacher_forcing_ratio!r}")
        tgt = _ids(tgt, "Seq2Seq", "tgt")
        if tgt.shape[1] < 2:
            raise ValueError(f"Seq2Seq: tgt needs BOS and at least one token, got shape {tuple(tgt.shape)}")
        enc, state, final, mask = self.encode(src, src_lengths)
        if enc.shape[0] != tgt.shape[0]:
            raise ValueError(f"Seq2Seq: src has {enc.shape[0]} rows but tgt has {tgt.shape[0]}")
        rng = resolve(generator) if teacher_forcing_ratio < 1.0 else None
        prev = tgt[:, 0]
        outs = []
        for t in range(1, tgt.shape[1]):
            logits, state, _ = self.step(prev, state, enc, final, mask)
            outs.append(logits)
            forced = rng is None or rng.random() < teacher_forcing_ratio
            prev = tgt[:, t] if forced else Tensor(logits._data.argmax(axis=1))
        return F.stack(outs, dim=1)

    # ----------------------------------------------------------------- decoding
    def greedy_decode(self, src, max_len, bos, eos, src_lengths=None):
        """The most likely next token at every step, until EOS or ``max_len`` tokens (a
        :class:`Decoded`)."""
        return self.beam_search(src, 1, max_len, bos, eos, length_penalty=0.0, src_lengths=src_lengths)

    def beam_search(self, src, beam_width, max_len, bos, eos, length_penalty=0.0, src_lengths=None):
        """Keep the ``beam_width`` best partial translations per source (a :class:`Decoded`).

        Each step extends every live hypothesis by every token and keeps the ``beam_width`` best
        by total log-probability; a hypothesis that has emitted EOS stays in the beam with its
        score frozen. At the end the best hypothesis per source is the one with the highest
        ``score / lp``, ``lp = ((5 + length) / 6) ** length_penalty`` (Wu et al. 2016; 0 ranks by
        the raw score, larger values favour longer outputs). Width 1 is greedy decoding.
        ``bos`` and ``eos`` are ids of the target vocabulary; ``eos=None`` decodes every row to
        ``max_len`` tokens.
        """
        def _int(v):
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        if not (_int(beam_width) and _int(max_len)) or beam_width < 1 or max_len < 1:
            raise ValueError(f"Seq2Seq.beam_search: beam_width and max_len must be positive integers, "
                             f"got {beam_width!r} and {max_len!r}")
        B = int(beam_width)
        V = self.decoder.out.out_features
        for name, v in (("bos", bos), ("eos", eos)):
            # an eos the decoder can never emit would quietly decode every row to max_len
            if not (_int(v) and 0 <= v < V) and not (name == "eos" and v is None):
                raise ValueError(f"Seq2Seq.beam_search: {name} must be a token id of the target vocabulary "
                                 f"(0..{V - 1}){' or None (no end token)' if name == 'eos' else ''}, got {v!r}")
        eos = -1 if eos is None else eos                              # -1: never emitted
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                return self._beam(src, B, int(max_len), int(bos), int(eos), float(length_penalty),
                                  src_lengths)
        finally:
            self.train(was_training)

    def _beam(self, src, B, max_len, bos, eos, alpha, src_lengths):
        enc, state, final, mask = self.encode(src, src_lengths)
        N, S = enc.shape[:2]
        rows = np.repeat(np.arange(N), B)                             # beam j of source n is row n·B + j
        enc, final = enc[rows], final[rows]
        mask = None if mask is None else mask[rows]
        state = tuple(s[rows] for s in state) if isinstance(state, tuple) else state[rows]
        scores = np.full((N, B), -np.inf)
        scores[:, 0] = 0.0                                            # one live hypothesis to start
        done = np.zeros((N, B), dtype=bool)
        lengths = np.zeros((N, B), dtype=np.int64)
        tokens = np.zeros((N, B, 0), dtype=np.int64)
        attn = np.zeros((N, B, 0, S))
        prev = np.full(N * B, bos, dtype=np.int64)
        for _ in range(max_len):
            logits, state, w = self.step(Tensor(prev), state, enc, final, mask)
            logp = F.log_softmax(logits, -1)._data.astype(np.float64)   # (N·B, V)
            V = logp.shape[1]
            logp = logp.reshape(N, B, V)
            ended = done[..., None]
            # a finished hypothesis can only "emit" EOS again, at no cost
            logp = np.where(ended, np.where(np.arange(V) == eos, 0.0, -np.inf), logp)
            cand = (scores[..., None] + logp).reshape(N, B * V)
            # stable sort: among equal scores the lowest index wins, as argmax does
            best = np.argsort(-cand, axis=1, kind="stable")[:, :B]     # (N, B)
            src_beam, tok = best // V, best % V
            take = lambda a: np.take_along_axis(a, src_beam, axis=1)  # noqa: E731
            was_done = take(done)
            scores = np.take_along_axis(cand, best, axis=1)
            lengths = take(lengths) + ~was_done
            done = was_done | (tok == eos)
            tokens = np.concatenate([np.take_along_axis(tokens, src_beam[..., None], axis=1),
                                     tok[..., None]], axis=2)
            w = np.zeros((N * B, S)) if w is None else w._data
            w = np.where(was_done[..., None], 0.0, w.reshape(N, B, S)[np.arange(N)[:, None], src_beam])
            attn = np.concatenate([np.take_along_axis(attn, src_beam[..., None, None], axis=1),
                                   w[:, :, None, :]], axis=2)
            flat = (np.arange(N)[:, None] * B + src_beam).reshape(-1)
            state = tuple(s[flat] for s in state) if isinstance(state, tuple) else state[flat]
            prev = tok.reshape(-1)
            if done.all():
                break
        ranked = scores / ((5.0 + lengths) / 6.0) ** alpha if alpha else scores
        pick = np.argmax(ranked, axis=1)                                 # (N,)
        n = np.arange(N)
        return Decoded(tokens[n, pick], lengths[n, pick], scores[n, pick], attn[n, pick])


@register_model("seq2seq")
def seq2seq(src_vocab, tgt_vocab, embed_dim=32, hidden_size=64, cell="lstm", bidirectional=True,
            attention=True, attention_dim=None, num_layers=1, pad_idx=0):
    """A :class:`Seq2Seq` with matching parts: an encoder (``cell``, bidirectional by default),
    a decoder of the same cell type, and additive attention of width ``attention_dim``
    (default ``hidden_size``) unless ``attention=False``. ``pad_idx`` (default 0, None for no
    padding) marks source padding."""
    encoder = Seq2SeqEncoder(src_vocab, embed_dim, hidden_size, cell, bidirectional, num_layers, pad_idx)
    decoder = Seq2SeqDecoder(tgt_vocab, embed_dim, hidden_size, encoder.output_size, cell)
    att = None
    if attention:
        att = nn.AdditiveAttention(hidden_size, encoder.output_size, attention_dim or hidden_size)
    return Seq2Seq(encoder, decoder, att)
