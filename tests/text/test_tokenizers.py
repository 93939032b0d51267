"""Tokenizers and the Vocab: splitting, special ids, ordering, unknowns, JSON round trip."""
import json
import re

import pytest

import nerve as nv
from nerve.text import CharTokenizer, RegexTokenizer, Vocab, WhitespaceTokenizer


def test_char_tokenizer():
    assert CharTokenizer()("Ab c") == ["A", "b", " ", "c"]
    assert CharTokenizer(lowercase=True)("Ab") == ["a", "b"]


def test_whitespace_tokenizer():
    assert WhitespaceTokenizer()(" Hello\n  World\t!") == ["Hello", "World", "!"]
    assert WhitespaceTokenizer(lowercase=True)("Hello World") == ["hello", "world"]


def test_regex_tokenizer_default_is_sklearns_pattern():
    text = "I saw a Café-owner's 2 dogs, x1 and yy."
    assert RegexTokenizer()(text) == re.findall(r"(?u)\b\w\w+\b", text)
    assert RegexTokenizer()(text) == ["saw", "Café", "owner", "dogs", "x1", "and", "yy"]
    assert RegexTokenizer(r"\d+")("a1b22") == ["1", "22"]
    with pytest.raises(ValueError):
        RegexTokenizer(r"(a)(b)")


def test_vocab_specials_order_and_unknowns():
    docs = [["b", "a", "b", "c"], ["c", "a", "b", "d"], ["e"]]
    v = Vocab.build(docs)
    assert v.itos[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]
    # b:3, a:2, c:2, d:1, e:1 -> by count desc then token
    assert v.itos[5:] == ["b", "a", "c", "d", "e"]
    assert len(v) == 10
    assert all(v.stoi[t] == i for i, t in enumerate(v.itos))
    assert v.encode(["a", "zzz", "<mask>"]) == [6, 1, 4]
    assert v.decode(v.encode(["e", "d"])) == ["e", "d"]
    assert v["nope"] == v.unk_id == 1
    assert v.special_ids == [0, 1, 2, 3, 4]
    with pytest.raises(IndexError):
        v.decode([10])


def test_vocab_min_freq_and_max_size():
    docs = [list("aaabbbccd"), list("ab")]
    assert Vocab.build(docs, min_freq=2).itos[5:] == ["a", "b", "c"]
    assert Vocab.build(docs, max_size=7).itos[5:] == ["a", "b"]
    assert len(Vocab.build(docs, max_size=5)) == 5
    with pytest.raises(ValueError):
        Vocab.build(docs, max_size=3)


def test_vocab_build_is_deterministic_under_input_order():
    docs = [["x", "y", "z", "y"], ["z", "w"]]
    assert Vocab.build(docs) == Vocab.build(list(reversed(docs)))
    assert Vocab.build(docs).itos[5:] == ["y", "z", "w", "x"]


def test_vocab_json_round_trip(tmp_path):
    v = Vocab.build([["héllo", "world", "world"]])
    p = v.save(tmp_path / "vocab.json")
    data = json.loads(p.read_text())
    assert data["itos"] == v.itos
    w = Vocab.load(p)
    assert w == v and w.stoi == v.stoi
    assert not list(tmp_path.glob("*.tmp*"))  # atomic write leaves no temporary behind
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError):
        Vocab.load(tmp_path / "bad.json")


def test_reachable_from_root():
    assert nv.text.Vocab is Vocab
