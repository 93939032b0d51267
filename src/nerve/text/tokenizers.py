"""Tokenizers that split text into string tokens, and a ``Vocab`` that maps tokens to ids."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ..io import load_json, save_json

#: scikit-learn's default ``token_pattern``: words of two or more word characters.
SKLEARN_TOKEN_PATTERN = r"(?u)\b\w\w+\b"

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>", "<mask>")


class CharTokenizer:
    """One token per character.

        >>> CharTokenizer(lowercase=True)("Hi!")
        ['h', 'i', '!']
    """

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    __call__ = tokenize


class WhitespaceTokenizer:
    """Tokens are the runs of non-whitespace characters.

        >>> WhitespaceTokenizer()("a  cat\\tsat ")
        ['a', 'cat', 'sat']
    """

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase

    def tokenize(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()

    __call__ = tokenize


class RegexTokenizer:
    """Tokens are the matches of ``pattern`` (by default scikit-learn's token pattern).

    A pattern with one capturing group yields that group, as ``re.findall`` does.

        >>> RegexTokenizer(lowercase=True)("The cat, a Dog.")
        ['the', 'cat', 'dog']
        >>> RegexTokenizer(r"\\w+|[^\\w\\s]")("a, b")
        ['a', ',', 'b']
    """

    def __init__(self, pattern: str = SKLEARN_TOKEN_PATTERN, lowercase: bool = False):
        self.pattern = pattern
        self.lowercase = lowercase
        self._regex = re.compile(pattern)
        if self._regex.groups > 1:
            raise ValueError(f"pattern {pattern!r} has {self._regex.groups} capturing groups; "
                             "use at most one")

    def tokenize(self, text: str) -> list[str]:
        return self._regex.findall(text.lower() if self.lowercase else text)

    __call__ = tokenize


class Vocab:
    """A token <-> id mapping whose special tokens sit at fixed leading ids.

    ``<pad>`` is 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3, ``<mask>`` 4; the other tokens follow
    by frequency (most frequent first), ties broken by the token's string order.

        >>> v = Vocab.build([["b", "a", "b"], ["c", "a", "b"]], min_freq=2)
        >>> v.itos
        ['<pad>', '<unk>', '<bos>', '<eos>', '<mask>', 'b', 'a']
        >>> v.encode(["a", "zebra"])
        [6, 1]
        >>> v.decode([5, 6, 1])
        ['b', 'a', '<unk>']
    """

    pad, unk, bos, eos, mask = SPECIAL_TOKENS

    def __init__(self, tokens, specials=SPECIAL_TOKENS):
        self.specials = tuple(specials)
        self.itos: list[str] = list(self.specials)
        for tok in tokens:
            if tok not in self.specials:
                self.itos.append(tok)
        self.stoi: dict[str, int] = {}
        for i, tok in enumerate(self.itos):
            if tok in self.stoi:
                raise ValueError(f"token {tok!r} appears twice")
            self.stoi[tok] = i

    @classmethod
    def build(cls, token_lists, min_freq: int = 1, max_size: int | None = None,
              specials=SPECIAL_TOKENS) -> "Vocab":
        """A vocabulary from an iterable of token sequences.

        ``min_freq`` drops rarer tokens; ``max_size`` caps the total length, specials included.
        """
        if isinstance(token_lists, str):
            raise TypeError("Vocab.build takes a list of token lists, got one string; tokenize it first, "
                            "e.g. Vocab.build([WhitespaceTokenizer()(text)])")
        counts = Counter()
        for toks in token_lists:
            if isinstance(toks, str):   # counting its characters would quietly build a character vocabulary
                raise TypeError(f"Vocab.build takes one list of tokens per text, got the string {toks!r:.40}; "
                                "tokenize each text first (e.g. WhitespaceTokenizer()(text)), or pass "
                                "list(text) for characters")
            counts.update(toks)
        specials = tuple(specials)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            if max_size < len(specials):
                raise ValueError(f"max_size={max_size} is smaller than the {len(specials)} specials")
            kept = kept[:max_size - len(specials)]
        vocab = cls(kept, specials)
        vocab.freqs = {t: counts[t] for t in kept}
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of ``token``: ``<unk>``'s id when it is missing, a KeyError if the vocabulary has no
        ``<unk>`` (rather than a silent None)."""
        i = self.stoi.get(token)
        if i is None:
            i = self.unk_id
            if i is None:
                raise KeyError(f"token {token!r} is not in the vocabulary, which has no {self.unk!r} "
                               "to stand for it; add it or include the unknown token in specials")
        return i

    @property
    def unk_id(self) -> int:
        return self.stoi[self.unk] if self.unk in self.stoi else None

    @property
    def special_ids(self) -> list[int]:
        return [self.stoi[s] for s in self.specials]

    def id_of(self, special: str) -> int:
        return self.stoi[special]

    def encode(self, tokens) -> list[int]:
        """Ids of ``tokens``; a token not in the vocabulary becomes ``<unk>``'s id.

        ``tokens`` is a list of tokens; a string is refused (its characters are not its tokens)."""
        if isinstance(tokens, str):
            raise TypeError(f"Vocab.encode takes a list of tokens, got the string {tokens!r:.40}; tokenize "
                            "it first (e.g. WhitespaceTokenizer()(text)), or pass list(text) for characters")
        unk = self.unk_id
        if unk is None:
            return [self[t] for t in tokens]
        return [self.stoi.get(t, unk) for t in tokens]

    def decode(self, ids) -> list[str]:
        """The tokens of ``ids`` (an out-of-range id raises IndexError)."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise IndexError(f"id {i} is outside the vocabulary of {len(self.itos)}")
            out.append(self.itos[i])
        return out

    def save(self, path) -> Path:
        """Write the vocabulary as JSON, atomically (an interrupted save keeps the old file)."""
        return save_json({"format": "nerve.text.Vocab", "version": 1,
                          "specials": list(self.specials), "itos": self.itos}, path)

    @classmethod
    def load(cls, path) -> "Vocab":
        data = load_json(path)
        if data.get("format") != "nerve.text.Vocab":
            raise ValueError(f"{path} is not a saved nerve Vocab")
        specials = data["specials"]
        if data["itos"][:len(specials)] != specials:
            raise ValueError(f"{path}: the specials are not the leading tokens")
        return cls(data["itos"][len(specials):], specials)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos and self.specials == other.specials

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)})"
