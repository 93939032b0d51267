"""Edge sweep of the text and sequence-generation side: inputs that used to give a quietly wrong
answer (or a misleading error) now give the right one or one clear error."""
import numpy as np
import pytest

from nerve import models
from nerve.cli.main import main
from nerve.metrics import corpus_bleu
from nerve.text import CharVocab, Vocab, Word2Vec

BOS, EOS = 1, 2
SRC = np.array([[3, 4, 5, 0], [6, 7, 0, 0]])


@pytest.fixture(scope="module")
def tiny_s2s():
    import nerve as nv

    nv.manual_seed(0)
    return models.seq2seq(src_vocab=10, tgt_vocab=8, embed_dim=6, hidden_size=8)


# ----------------------------------------------------------------------------- Vocab
def test_vocab_build_and_encode_refuse_raw_strings_instead_of_counting_characters():
    # a list of sentences used to give a vocabulary of their characters, without a word
    with pytest.raises(TypeError, match="tokenize each text first"):
        Vocab.build(["the cat sat", "the dog"])
    with pytest.raises(TypeError, match="one string"):
        Vocab.build("the cat sat")
    v = Vocab.build([["the", "cat"], ["the", "dog"]])
    with pytest.raises(TypeError, match="list of tokens"):
        v.encode("the cat")               # used to give 7 <unk> ids, one per character
    assert v.encode(["the", "cat"]) == [5, 6]
    cv = CharVocab.from_text("banana")   # for characters, a string is its token list
    assert cv.encode("nab") == [2, 0, 1]


# ----------------------------------------------------------------------------- Seq2Seq
@pytest.mark.parametrize("bad", [dict(eos=8), dict(eos=-1), dict(eos=2.0), dict(bos=8), dict(bos=-1)])
def test_beam_search_refuses_bos_or_eos_outside_the_target_vocabulary(tiny_s2s, bad):
    # an eos of 8 (vocabulary 0..7) can never be emitted: every row used to run to max_len
    kw = {"bos": BOS, "eos": EOS, **bad}
    with pytest.raises(ValueError, match="target vocabulary"):
        tiny_s2s.greedy_decode(SRC, 5, **kw)
    with pytest.raises(ValueError, match="target vocabulary"):
        tiny_s2s.beam_search(SRC, 2, 5, **kw)


def test_eos_none_decodes_to_max_len_and_beam_sizes_must_be_integers(tiny_s2s):
    out = tiny_s2s.greedy_decode(SRC, 5, bos=BOS, eos=None)
    assert out.tokens.shape == (2, 5) and out.lengths.tolist() == [5, 5]
    free = tiny_s2s(SRC, np.concatenate([np.full((2, 1), BOS), np.zeros((2, 5), np.int64)], axis=1),
                    teacher_forcing_ratio=0.0)
    np.testing.assert_array_equal(free.numpy().argmax(-1), out.tokens)
    for bad in (dict(beam_width=2.7, max_len=5), dict(beam_width=2, max_len=4.5), dict(beam_width=True, max_len=5)):
        with pytest.raises(ValueError, match="positive integers"):
            tiny_s2s.beam_search(SRC, bos=BOS, eos=EOS, **bad)   # 2.7 used to become a beam of 2


def test_an_all_padding_source_row_is_named_as_such(tiny_s2s):
    with pytest.raises(ValueError, match="row 1 is all padding"):
        tiny_s2s.greedy_decode(np.array([[3, 4, 0], [0, 0, 0]]), 3, bos=BOS, eos=EOS)


# ----------------------------------------------------------------------------- BLEU
def test_corpus_bleu_equals_nltk_for_long_hypotheses_and_sacrebleu_for_short_ones():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = [["the", "cat", "sat", "on", "a", "mat"], ["a", "dog"]]
    refs = [[["the", "cat", "sat", "on", "the", "mat"]], [["a", "dog", "ran"]]]
    ours = corpus_bleu(hyps, refs, max_n=2)
    sb = sacrebleu.metrics.BLEU(tokenize="none", max_ngram_order=2)
    assert ours == pytest.approx(sb.corpus_score([" ".join(h) for h in hyps],
                                                 [[" ".join(r[0]) for r in refs]]).score, abs=1e-9)
    assert ours == pytest.approx(100 * nltk_bleu.corpus_bleu(refs, hyps, weights=(0.5, 0.5)), abs=1e-9)
    # with a hypothesis shorter than max_n, nltk's count differs (documented): no equality claimed
    assert corpus_bleu(hyps, refs, max_n=3) != pytest.approx(
        100 * nltk_bleu.corpus_bleu(refs, hyps, weights=(1 / 3,) * 3), abs=1e-6)


# ----------------------------------------------------------------------------- Word2Vec
def test_word2vec_refuses_one_string_and_a_non_positive_k():
    with pytest.raises(TypeError, match="one string"):
        Word2Vec(vector_size=4, epochs=1).fit("apple banana apple cherry")
    w2v = Word2Vec(vector_size=4, window=2, epochs=1, sample=None, seed=0).fit([["a", "b", "c", "a", "b"]] * 5)
    assert len(w2v.most_similar("a", k=1)) == 1
    for k in (0, -1, 1.5):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            w2v.most_similar("a", k=k)   # -1 used to list every word but one


# ----------------------------------------------------------------------------- CLI
def test_sample_of_a_text_run_refuses_image_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("the cat sat on the mat. " * 20, encoding="utf-8")
    assert main(["train", "--model", "char-lstm", "--text", "t.txt", "--epochs", "1", "--limit", "8",
                 "--batch-size", "4", "--block-size", "8", "--quiet", "--out", "r"]) == 0
    capsys.readouterr()
    for extra in (["--out", "s.png"], ["--n", "3"]):
        assert main(["sample", "r", "--length", "3", *extra]) == 2   # --out used to be ignored: no file
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and extra[0] in err[0] and "text model" in err[0], err
    assert not (tmp_path / "s.png").exists()
    assert main(["sample", "r", "--length", "3", "--seed", "0"]) == 0
    # a config whose vocabulary no longer matches the model used to end in an IndexError traceback
    import json

    config = json.loads((tmp_path / "r" / "config.json").read_text())
    config["vocab"] = config["vocab"][:-1]
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["sample", "r", "--length", "30", "--seed", "0"]) == 2
    assert "lists 10 characters in 'vocab' but its model has 11 outputs" in capsys.readouterr().err


# ----------------------------------------------------------------------------- nerve.models
def test_importing_a_model_file_first_keeps_its_builder_callable():
    # `from nerve.models.seq2seq import Decoded` used to bind the module as models.seq2seq, so
    # models.seq2seq(...) failed with "'module' object is not callable" (import-order dependent)
    import os
    import subprocess
    import sys

    code = ("from nerve.models.seq2seq import Decoded\nimport nerve.models.unet\nfrom nerve import models\n"
            "net = models.seq2seq(src_vocab=5, tgt_vocab=5, embed_dim=4, hidden_size=4)\n"
            "print(type(net).__name__, callable(models.unet))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.split() == ["Seq2Seq", "True"]


@pytest.mark.parametrize("model", ["seed-mlp", "vae"])
def test_train_refuses_block_size_for_image_models(tmp_path, capsys, monkeypatch, model):
    # --block-size used to be ignored without a word when the model was not a text model
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", model, "--block-size", "8", "--epochs", "1", "--limit", "8",
                 "--quiet", "--out", "r"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--block-size" in err[0] and model in err[0], err
    assert not (tmp_path / "r").exists()


def test_sample_of_an_image_run_refuses_text_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "vae", "--limit", "32", "--epochs", "1", "--quiet", "--out", "v"]) == 0
    capsys.readouterr()
    for extra in (["--temperature", "0"], ["--length", "5"], ["--top-k", "3"], ["--top-p", "0.5"]):
        # these used to be ignored: a grid came out as if they had not been given
        assert main(["sample", "v", "--n", "2", "--out", "g.png", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and extra[0] in err[0] and "image generator" in err[0], err
    assert not (tmp_path / "g.png").exists()
    assert main(["sample", "v", "--n", "2", "--out", "g.png"]) == 0 and (tmp_path / "g.png").exists()


# ----------------------------------------------------------------------------- masking
@pytest.mark.parametrize("special_ids", [{0, 2}, frozenset({0, 2})])
def test_mask_tokens_takes_special_ids_as_a_set(special_ids):
    from nerve.text import IGNORE_INDEX, mask_tokens

    ids = np.array([[0, 5, 2, 0, 7]])     # a set used to fail with "int() argument must be ..."
    inputs, labels = mask_tokens(ids, None, mask_prob=1.0, mask_id=1, vocab_size=10,
                                 special_ids=special_ids, generator=np.random.default_rng(0))
    assert labels.tolist() == [[IGNORE_INDEX, 5, IGNORE_INDEX, IGNORE_INDEX, 7]]
    assert inputs[0, [0, 2, 3]].tolist() == [0, 2, 0]


def test_word2vec_says_when_sub_sampling_left_no_pairs():
    # three-word sentences used to be told they "need at least two words"
    with pytest.raises(ValueError, match="sub-sampling"):
        Word2Vec(vector_size=4, epochs=1, seed=0).fit([["a", "b", "c"]] * 3)
    with pytest.raises(ValueError, match="at least two words"):
        Word2Vec(vector_size=4, epochs=1, sample=None).fit([["a"], ["b"]])
