"""Character-level language-model data: a bundled corpus, a char vocabulary, windows, entropy.

The bundled corpus is the text of Python's interactive help topics (``pydoc_data.topics``,
shipped with every CPython): about 465 KB of English prose and code, joined in sorted topic
order so the same Python version always gives the same string. Any UTF-8 file works too.

    >>> corpus = CharCorpus.from_text("hello world, hello there", val_fraction=0.25)
    >>> len(corpus.vocab), corpus.vocab.decode_text(corpus.vocab.encode_text("hello"))
    (10, 'hello')
    >>> len(corpus.train_ids), len(corpus.val_ids)
    (18, 6)
    >>> round(unigram_entropy("aabb"), 6) == round(math.log(2), 6)
    True
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import Dataset
from .tokenizers import Vocab

__all__ = ["help_topics_text", "read_text", "CharVocab", "CharCorpus", "CharWindows", "unigram_entropy",
           "BUNDLED_TEXT"]

#: The name the CLI and run configs use for the bundled corpus.
BUNDLED_TEXT = "help-topics"


def help_topics_text() -> str:
    """Python's help topics (``pydoc_data.topics.topics``) as one string.

    Topics are taken in sorted key order, each stripped of leading and trailing newlines and
    separated by a blank line, so the result depends only on the Python version.
    """
    from pydoc_data.topics import topics  # noqa: PLC0415 - a few hundred KB, load on demand

    return "\n\n".join(topics[k].strip("\n") for k in sorted(topics))


def read_text(path) -> str:
    """The contents of a UTF-8 text file; a missing, unreadable, binary or empty file is a ValueError."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"text file {str(p)!r} does not exist; give the path of a UTF-8 text file")
    if p.is_dir():
        raise ValueError(f"text file {str(p)!r} is a folder; give the path of a UTF-8 text file")
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"text file {str(p)!r} is not UTF-8 text (byte {e.start} cannot be decoded); "
                         "convert it to UTF-8 first") from None
    except OSError as e:
        raise ValueError(f"cannot read text file {str(p)!r}: {e.strerror or e}") from None
    if not text:
        raise ValueError(f"text file {str(p)!r} is empty; a language model needs some text to learn from")
    return text


class CharVocab(Vocab):
    """A :class:`Vocab` of single characters with no special tokens: id = rank in sorted order.

    ``encode_text`` refuses characters it has never seen (a clear ValueError) instead of mapping
    them to an unknown token, since a character model has none.

        >>> v = CharVocab.from_text("banana")
        >>> v.itos, v.encode_text("nab").tolist(), v.decode_text([2, 0])
        (['a', 'b', 'n'], [2, 0, 1], 'na')
    """

    def __init__(self, tokens, specials=()):
        tokens = list(tokens)
        bad = [t for t in tokens if not (isinstance(t, str) and len(t) == 1)]
        if bad:
            raise ValueError(f"a CharVocab holds single characters, got {bad[0]!r}")
        super().__init__(tokens, specials)

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        """The sorted set of characters of ``text``."""
        if not isinstance(text, str) or not text:
            raise ValueError("CharVocab.from_text needs a non-empty string")
        return cls(sorted(set(text)))

    def encode(self, tokens) -> list[int]:
        """Ids of ``tokens``; for a character vocabulary a string is its list of characters."""
        return super().encode(list(tokens) if isinstance(tokens, str) else tokens)

    def encode_text(self, text: str) -> np.ndarray:
        """The ids of the characters of ``text`` as an int64 array."""
        stoi = self.stoi
        try:
            return np.fromiter((stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            unknown = sorted({c for c in text if c not in stoi})
            shown = ", ".join(repr(c) for c in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
            raise ValueError(f"the text holds {len(unknown)} character(s) outside the vocabulary of "
                             f"{len(self)}: {shown}; use only characters the model was trained on") from None

    def decode_text(self, ids) -> str:
        """The string of the ids (an out-of-range id raises IndexError)."""
        return "".join(self.decode(np.asarray(ids).reshape(-1).tolist()))


def unigram_entropy(text: str) -> float:
    """The entropy of the character frequencies of ``text``, in nats per character.

    H = −Σ_c p(c) log p(c) with p(c) = count(c) / len(text): the cross-entropy per character
    of the best model that ignores context. A language model that uses context should go below it.
    """
    if not text:
        raise ValueError("unigram_entropy needs a non-empty text")
    counts = np.array(list(Counter(text).values()), dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


@dataclass
class CharCorpus:
    """A text, its :class:`CharVocab`, and its ids split into a leading training part and a
    trailing validation part (the last ``val_fraction`` of the characters).

    The vocabulary is built from the whole text, so validation never meets an unknown character.
    """

    text: str
    vocab: CharVocab
    train_ids: np.ndarray
    val_ids: np.ndarray
    name: str = "text"

    @classmethod
    def from_text(cls, text: str, val_fraction: float = 0.1, name: str = "text") -> "CharCorpus":
        if not isinstance(text, str) or not text:
            raise ValueError("CharCorpus needs a non-empty string of text")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
        vocab = CharVocab.from_text(text)
        ids = vocab.encode_text(text)
        n_val = int(round(val_fraction * len(ids)))
        cut = len(ids) - n_val
        return cls(text, vocab, ids[:cut], ids[cut:], name)

    @classmethod
    def help_topics(cls, val_fraction: float = 0.1) -> "CharCorpus":
        """The bundled corpus (:func:`help_topics_text`) with its last ``val_fraction`` held out."""
        return cls.from_text(help_topics_text(), val_fraction, name=BUNDLED_TEXT)

    @classmethod
    def from_file(cls, path, val_fraction: float = 0.1) -> "CharCorpus":
        """A UTF-8 text file (:func:`read_text`) with its last ``val_fraction`` held out."""
        return cls.from_text(read_text(path), val_fraction, name=Path(path).name)

    def split(self, which: str) -> np.ndarray:
        if which not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {which!r}")
        return self.train_ids if which == "train" else self.val_ids

    def get_batch(self, which: str, batch_size: int, block_size: int, rng) -> tuple:
        """``batch_size`` random windows of ``block_size`` ids and the same windows shifted by
        one (the next-character targets), both (N, T) int64, drawn with ``rng`` (a NumPy Generator)."""
        ids = self.split(which)
        if len(ids) <= block_size:
            raise ValueError(f"the {which} split has {len(ids)} characters, too few for windows of "
                             f"{block_size} + 1; use a longer text or a smaller block size")
        starts = rng.integers(0, len(ids) - block_size, size=batch_size)
        offsets = starts[:, None] + np.arange(block_size)[None, :]     # (N, T)
        return ids[offsets], ids[offsets + 1]


class CharWindows(Dataset):
    """(input, target) windows of a 1-D id array: target is the input shifted by one position.

    With ``num_windows=None`` the windows tile the ids without overlap (stride ``block_size``);
    otherwise ``num_windows`` start positions are drawn once, uniformly, from ``seed``.

        >>> w = CharWindows(np.arange(10), block_size=4)
        >>> len(w), w[1][0].tolist(), w[1][1].tolist()
        (2, [4, 5, 6, 7], [5, 6, 7, 8])
    """

    def __init__(self, ids, block_size: int, num_windows: int | None = None, seed: int = 0):
        ids = np.asarray(ids, dtype=np.int64)
        if ids.ndim != 1:
            raise ValueError(f"CharWindows needs a 1-D id array, got shape {ids.shape}")
        if block_size < 1 or len(ids) <= block_size:
            raise ValueError(f"{len(ids)} ids are too few for windows of block_size {block_size} + 1; "
                             "use a longer text or a smaller block size")
        self.ids, self.block_size = ids, int(block_size)
        if num_windows is None:
            self.starts = np.arange(0, len(ids) - block_size, block_size, dtype=np.int64)
        else:
            if num_windows < 1:
                raise ValueError(f"num_windows must be a positive integer, got {num_windows!r}")
            rng = np.random.default_rng(seed)
            self.starts = rng.integers(0, len(ids) - block_size, size=int(num_windows))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):
        offsets = self.starts[i] + np.arange(self.block_size)
        return self.ids[offsets], self.ids[offsets + 1]

    def get_batch(self, indices):
        """The DataLoader's batch path: (N, T) inputs and targets with one fancy-index each."""
        offsets = self.starts[np.asarray(indices)][:, None] + np.arange(self.block_size)  # (N, T)
        return self.ids[offsets], self.ids[offsets + 1]
