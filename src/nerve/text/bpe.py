"""Byte-pair encoding (Sennrich et al. 2016) over UTF-8 bytes, trained from a corpus.

Text is first cut into pieces, runs of non-whitespace and runs of whitespace (``\\S+|\\s+``), so
joining the pieces gives the text back exactly. Each piece starts as its UTF-8 bytes (ids 0-255, so
any text can be encoded) and merges never cross a piece boundary. Training repeatedly merges the
most frequent adjacent pair of symbols, counted over all pieces weighted by how often each occurs.

Ties: among pairs with the same count, the pair whose ``(left bytes, right bytes)`` sorts first
(byte-wise lexicographic order) is merged, so training does not depend on the corpus's order.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..io import load_json, save_json

_PIECES = re.compile(r"\S+|\s+")


def _pieces(text: str) -> list[str]:
    return _PIECES.findall(text)


class BPETokenizer:
    """Byte-level BPE: ``train`` learns merges, ``encode``/``decode`` turn text into ids and back.

        >>> tok = BPETokenizer.train(["low lower lowest"] * 3, vocab_size=256 + 3)
        >>> [tok.token_bytes(i) for i in range(256, len(tok))]
        [b'lo', b'low', b'lowe']
        >>> ids = tok.encode("lowly slow")
        >>> [tok.token_bytes(i) for i in ids]
        [b'low', b'l', b'y', b' ', b's', b'low']
        >>> tok.decode(ids)
        'lowly slow'
    """

    def __init__(self, merges=()):
        self.merges: list[tuple[int, int]] = []
        self._vocab: list[bytes] = [bytes([b]) for b in range(256)]
        self._rank: dict[tuple[int, int], int] = {}
        for a, b in merges:
            self._add_merge(int(a), int(b))
        self._cache: dict[str, list[int]] = {}

    def _add_merge(self, a: int, b: int) -> int:
        if not (0 <= a < len(self._vocab) and 0 <= b < len(self._vocab)):
            raise ValueError(f"merge ({a}, {b}) names an id not yet defined")
        self._rank[(a, b)] = len(self.merges)
        self.merges.append((a, b))
        self._vocab.append(self._vocab[a] + self._vocab[b])
        return len(self._vocab) - 1

    def __len__(self) -> int:
        return len(self._vocab)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def token_bytes(self, i: int) -> bytes:
        """The bytes that id ``i`` stands for."""
        return self._vocab[i]

    @classmethod
    def train(cls, texts, vocab_size: int, min_frequency: int = 1) -> "BPETokenizer":
        """Learn ``vocab_size - 256`` merges (fewer if no pair occurs ``min_frequency`` times)."""
        if isinstance(texts, str):
            texts = [texts]
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256 (the bytes), got {vocab_size}")
        piece_counts = Counter()
        for text in texts:
            piece_counts.update(_pieces(text))
        words = [(list(p.encode("utf-8")), c) for p, c in piece_counts.items()]
        tok = cls()
        while len(tok) < vocab_size:
            pairs = Counter()
            for syms, c in words:
                for pair in zip(syms, syms[1:]):
                    pairs[pair] += c
            if not pairs:
                break
            v = tok._vocab
            best = min(pairs, key=lambda p: (-pairs[p], v[p[0]], v[p[1]]))
            if pairs[best] < max(min_frequency, 1):
                break
            new = tok._add_merge(*best)
            words = [(_merge(syms, best, new), c) for syms, c in words]
        return tok

    def _encode_piece(self, piece: str) -> list[int]:
        ids = self._cache.get(piece)
        if ids is not None:
            return ids
        syms = list(piece.encode("utf-8"))
        rank = self._rank
        while len(syms) > 1:
            best = min(zip(syms, syms[1:]), key=lambda p: rank.get(p, len(rank)))
            r = rank.get(best)
            if r is None:
                break
            syms = _merge(syms, best, 256 + r)
        if len(self._cache) < 100_000:
            self._cache[piece] = syms
        return syms

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``: the learned merges applied in the order they were learned."""
        out: list[int] = []
        for piece in _pieces(text):
            out.extend(self._encode_piece(piece))
        return out

    def decode(self, ids, errors: str = "replace") -> str:
        """The text of ``ids``; ``decode(encode(t)) == t`` for every string ``t``.

        An id outside ``[0, len(self))`` raises IndexError (a negative id must not silently read
        from the end of the table)."""
        vocab, n = self._vocab, len(self._vocab)
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise IndexError(f"id {i} is outside the BPE vocabulary of {n}")
            out.append(vocab[i])
        return b"".join(out).decode("utf-8", errors=errors)

    def save(self, path) -> Path:
        """Write the merges as JSON, atomically."""
        return save_json({"format": "nerve.text.BPETokenizer", "version": 1,
                          "merges": [list(m) for m in self.merges]}, path)

    @classmethod
    def load(cls, path) -> "BPETokenizer":
        data = load_json(path)
        if data.get("format") != "nerve.text.BPETokenizer":
            raise ValueError(f"{path} is not a saved nerve BPETokenizer")
        return cls(data["merges"])

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={len(self)}, merges={len(self.merges)})"


def _merge(syms: list[int], pair: tuple[int, int], new: int) -> list[int]:
    """``syms`` with every non-overlapping occurrence of ``pair`` (left to right) replaced by ``new``."""
    a, b = pair
    out = []
    i, n = 0, len(syms)
    while i < n:
        if i < n - 1 and syms[i] == a and syms[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(syms[i])
            i += 1
    return out
