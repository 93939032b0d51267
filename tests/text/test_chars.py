"""Character corpora (text/chars.py): the bundled help text, files, vocabulary, windows, entropy."""
import math
from collections import Counter

import numpy as np
import pytest

from nerve import data
from nerve.text import CharCorpus, CharVocab, CharWindows, help_topics_text, read_text, unigram_entropy


def test_help_topics_text_is_deterministic_and_about_465_kb():
    a, b = help_topics_text(), help_topics_text()
    assert a == b and 300_000 < len(a) < 700_000
    corpus = CharCorpus.help_topics()
    assert len(corpus.train_ids) + len(corpus.val_ids) == len(a)
    assert abs(len(corpus.val_ids) - 0.1 * len(a)) <= 1
    # the held-out part is the tail of the text
    assert corpus.vocab.decode_text(corpus.val_ids[:200]) == a[len(corpus.train_ids):len(corpus.train_ids) + 200]


def test_unigram_entropy_matches_the_formula_and_known_values():
    assert unigram_entropy("aaaa") == 0.0
    assert unigram_entropy("abcd" * 3) == pytest.approx(math.log(4), abs=1e-12)
    text = help_topics_text()
    n = len(text)
    expected = -sum(c / n * math.log(c / n) for c in Counter(text).values())
    assert unigram_entropy(text) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError):
        unigram_entropy("")


def test_char_vocab_round_trips_and_names_unknown_characters(tmp_path):
    v = CharVocab.from_text("hello, world")
    assert v.itos == sorted(set("hello, world")) and len(v) == 9
    ids = v.encode_text("world, hello")
    assert ids.dtype == np.int64 and v.decode_text(ids) == "world, hello"
    with pytest.raises(ValueError, match=r"2 character\(s\) outside the vocabulary of 9: 'X', 'Z'"):
        v.encode_text("XhelloZ")
    v.save(tmp_path / "v.json")
    again = CharVocab.load(tmp_path / "v.json")
    assert again == v and isinstance(again, CharVocab)
    with pytest.raises(ValueError, match="single characters"):
        CharVocab(["ab"])


def test_read_text_accepts_utf8_and_refuses_the_rest(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("naïve café ✓\n", encoding="utf-8")
    assert read_text(f) == "naïve café ✓\n"
    assert CharCorpus.from_file(f, val_fraction=0.0).vocab.decode_text(CharCorpus.from_file(f).train_ids)
    with pytest.raises(ValueError, match="does not exist"):
        read_text(tmp_path / "missing.txt")
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00abc")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_text(tmp_path / "bin")
    (tmp_path / "empty").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_text(tmp_path / "empty")
    with pytest.raises(ValueError, match="folder"):
        read_text(tmp_path)


def test_batches_and_windows_are_next_character_pairs():
    corpus = CharCorpus.from_text("abcdefghij" * 20, val_fraction=0.2)
    x, y = corpus.get_batch("train", 5, 8, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 8)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert ((y - x) % 10 == 1).all()
    w = CharWindows(corpus.train_ids, 8)
    assert len(w) == (160 - 8 - 1) // 8 + 1
    loader = data.DataLoader(w, batch_size=4)
    xb, yb = next(iter(loader))
    np.testing.assert_array_equal(np.asarray(xb), np.stack([w[i][0] for i in range(4)]))
    np.testing.assert_array_equal(np.asarray(yb), np.stack([w[i][1] for i in range(4)]))
    sampled = CharWindows(corpus.train_ids, 8, num_windows=50, seed=3)
    assert len(sampled) == 50 and np.array_equal(sampled.starts, CharWindows(corpus.train_ids, 8, 50, seed=3).starts)
    with pytest.raises(ValueError, match="too few"):
        CharWindows(np.arange(5), 8)
    with pytest.raises(ValueError, match="too few"):
        corpus.get_batch("val", 2, 64, np.random.default_rng(0))
