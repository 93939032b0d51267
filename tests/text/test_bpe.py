"""Byte-pair encoding: merges of a hand-worked toy corpus, exact round trips, save/load."""
import numpy as np
import pytest

from nerve.text import BPETokenizer

# Sennrich et al.'s toy corpus: low x5, lower x2, newest x6, widest x3.
TOY = ["low"] * 5 + ["lower"] * 2 + ["newest"] * 6 + ["widest"] * 3

# Derived by hand. Pair counts over the words (weighted by their counts):
#   l-o 7, o-w 7, w-e 8 (newest 6 + lower 2), e-r 2, n-e 6, e-w 6, e-s 9, s-t 9, w-i 3, i-d 3, d-e 3
#  1. e+s   (9; ties with s-t 9, and (b"e", b"s") < (b"s", b"t"))      -> n e w es t, w i d es t
#  2. es+t  (9)                                                        -> n e w est, w i d est
#  3. l+o   (7; ties with o-w 7, b"l" < b"o")                          -> lo w, lo w e r
#  4. lo+w  (7)
#     left: n-e 6, e-w 6, w-est 6, w-i 3, i-d 3, d-est 3, low-e 2, e-r 2
#  5. e+w   (6; b"e" < b"n" < b"w")                                     -> n ew est
#  6. ew+est (6; b"ew" < b"n")                                          -> n ewest
#  7. n+ewest (6)
#  8. d+est (3; b"d" < b"i" < b"w")                                     -> w i dest
#  9. i+dest (3; b"i" < b"w")
# 10. w+idest (3)
# 11. e+r   (2; b"e" < b"low")                                          -> low er
# 12. low+er (2)
HAND_MERGES = [b"es", b"est", b"lo", b"low", b"ew", b"ewest", b"newest", b"dest", b"idest",
               b"widest", b"er", b"lower"]


def test_toy_corpus_merges_match_hand_derivation():
    tok = BPETokenizer.train([" ".join(TOY)], vocab_size=256 + 20)
    learned = [tok.token_bytes(i) for i in range(256, len(tok))]
    # after the twelve merges every word is one symbol, so training stops there
    assert learned == HAND_MERGES
    assert len(tok) == 256 + 12
    for word in ["low", "lower", "newest", "widest"]:
        ids = tok.encode(word)
        assert len(ids) == 1 and tok.token_bytes(ids[0]) == word.encode()
    # an unseen word uses the learned pieces
    assert [tok.token_bytes(i) for i in tok.encode("lowest")] == [b"low", b"est"]


def test_training_order_and_vocab_size_limit():
    tok = BPETokenizer.train([" ".join(TOY)], vocab_size=256 + 4)
    assert [tok.token_bytes(i) for i in range(256, len(tok))] == HAND_MERGES[:4]
    shuffled = list(TOY)
    np.random.default_rng(0).shuffle(shuffled)
    tok2 = BPETokenizer.train(["\n".join(shuffled)], vocab_size=256 + 20)
    assert [tok2.token_bytes(i) for i in range(256, len(tok2))] == HAND_MERGES


def test_min_frequency_stops_early():
    tok = BPETokenizer.train([" ".join(TOY)], vocab_size=300, min_frequency=3)
    assert [tok.token_bytes(i) for i in range(256, len(tok))] == HAND_MERGES[:10]


def test_round_trip_is_exact_on_unicode_and_whitespace():
    corpus = ["the quick brown fox jumps over the lazy dog\n" * 3, "naïve café — 日本語 ✓ the the"]
    tok = BPETokenizer.train(corpus, vocab_size=320)
    assert len(tok) > 256
    for text in corpus + ["", "  leading and trailing  ", "tabs\tand\r\nnewlines", "émoji 🎉🎉",
                          "unseen wörds xyzzy"]:
        ids = tok.encode(text)
        assert tok.decode(ids) == text
        assert all(0 <= i < len(tok) for i in ids)
    assert len(tok.encode("the quick brown fox")) < len("the quick brown fox".encode())


def test_save_load(tmp_path):
    tok = BPETokenizer.train(["abababab cdcdcd abcd"], vocab_size=262)
    tok.save(tmp_path / "bpe.json")
    back = BPETokenizer.load(tmp_path / "bpe.json")
    assert back.merges == tok.merges
    assert back.encode("abcdab cd") == tok.encode("abcdab cd")
    with pytest.raises(ValueError):
        BPETokenizer.train(["x"], vocab_size=10)
