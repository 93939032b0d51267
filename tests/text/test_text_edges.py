"""Edge sweep of the text and sequence utilities: tokenizers, Vocab, BPE, bag of words / TF-IDF,
masked-LM masking, next-token sampling, GPT's cached decoding and Seq2Seq's beam search.

Each check compares against an independent reference (scikit-learn, a brute-force search, the
uncached full forward pass) or an exact invariant (round trips, fixed ids, proportions).
"""
import importlib
import itertools

import numpy as np
import pytest

import nerve as nv
from nerve.models.gpt import GPT, GPTConfig
from nerve.models.sampling import sample_logits
from nerve.text import (IGNORE_INDEX, BagOfWords, BPETokenizer, CharTokenizer, CharVocab, TfIdf, Vocab,
                        mask_tokens)

s2s = importlib.import_module("nerve.models.seq2seq")

HARD_STRINGS = ["", " ", "  lead", "trail  ", "a\r\nb", "\ttab\t", "héllo wörld", "e\u0301 combining",
                "🙂🙂x 👍🏽", "你好，世界", "mixed 你好 café\r\n\t🙂 ", "\u200bzero-width", "ñ" * 30]


# ------------------------------------------------------------------------- tokenizers, BPE
def test_char_tokenizer_and_char_vocab_round_trip_unicode():
    for s in HARD_STRINGS:
        assert "".join(CharTokenizer()(s)) == s
    text = "".join(HARD_STRINGS)
    v = CharVocab.from_text(text)
    assert v.decode_text(v.encode_text(text)) == text
    with pytest.raises(ValueError, match="outside the vocabulary"):
        v.encode_text("Z")


def test_bpe_round_trip_unseen_text_and_save_load(tmp_path):
    tok = BPETokenizer.train(["lower lowest low, héllo 你好 🙂🙂 newer wider"] * 4, vocab_size=280)
    assert len(tok) <= 280
    for s in HARD_STRINGS + ["never seen: qqq ÆØÅ 𝔘𝔫𝔦"]:
        ids = tok.encode(s)
        assert all(0 <= i < len(tok) for i in ids)
        assert tok.decode(ids) == s
    tok.save(tmp_path / "bpe.json")
    back = BPETokenizer.load(tmp_path / "bpe.json")
    assert back.merges == tok.merges
    for s in HARD_STRINGS:
        assert back.encode(s) == tok.encode(s)


def test_bpe_merges_do_not_depend_on_corpus_order_and_ties_follow_the_byte_rule():
    texts = ["ab cd", "cd ab", "ef ab cd"]
    a = BPETokenizer.train(texts, vocab_size=262)
    b = BPETokenizer.train(texts[::-1], vocab_size=262)
    assert a.merges == b.merges
    # 'ab' and 'cd' both occur 3 times, 'ef' once: the tie goes to the byte-wise smaller pair.
    first = BPETokenizer.train(["cd ab", "ab cd", "cd ab"], vocab_size=257)
    assert first.token_bytes(256) == b"ab"
    with pytest.raises(ValueError):
        BPETokenizer.train(["x"], vocab_size=255)


def test_bpe_stops_when_no_pair_is_left():
    tok = BPETokenizer.train(["ab"], vocab_size=10_000)
    assert len(tok) == 257 and tok.encode("ab") == [256]


# ------------------------------------------------------------------------------------- Vocab
def test_vocab_specials_ties_cutoffs_and_lookups(tmp_path):
    lists = [["b", "a", "c", "a", "b", "c", "d", "<unk>"], ["e"]]
    v = Vocab.build(lists, max_size=7)
    assert v.itos[:5] == ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"]
    assert v.itos[5:] == ["a", "b"]                  # a, b, c tie at 2: string order, cut at 7
    assert len(v) == 7 and v["c"] == v.unk_id == 1 and v["<pad>"] == 0
    assert v.decode(v.encode(["a", "zz", "b"])) == ["a", "<unk>", "b"]
    assert Vocab.build(lists, min_freq=2).itos[5:] == ["a", "b", "c"]
    with pytest.raises(IndexError):
        v.decode([7])
    with pytest.raises(IndexError):
        v.decode([-1])
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json") == v


def test_vocab_without_unk_refuses_missing_tokens_instead_of_returning_none():
    v = Vocab(["a", "b"], specials=("<pad>",))
    assert v["b"] == 2
    with pytest.raises(KeyError, match="zzz"):
        v["zzz"]
    with pytest.raises(KeyError):
        v.encode(["a", "zzz"])


# ------------------------------------------------------------------------ BagOfWords / TfIdf
DOCS = ["a bb cc dd", "bb cc ee", "", "dd ee ff gg", "gg hh ii", "ÉTÉ été Été", "bb bb bb cc"]
UNSEEN = ["bb zz yy", "", "nothing known here"]


@pytest.mark.parametrize("kw", [dict(), dict(max_features=3), dict(max_features=5, min_df=2),
                                dict(max_df=0.3), dict(binary=True), dict(lowercase=False),
                                dict(max_features=4), dict(ngram_range=(1, 3), max_features=7), dict(min_df=0.2, max_df=3),
                                dict(token_pattern=r"(?u)\b\w+\b")])
def test_bag_of_words_matches_sklearn(kw):
    sk = pytest.importorskip("sklearn.feature_extraction.text")
    ref = sk.CountVectorizer(**kw).fit(DOCS)
    ours = BagOfWords(**kw).fit(DOCS)
    assert ours.get_feature_names_out().tolist() == ref.get_feature_names_out().tolist()
    assert ours.vocabulary_ == {k: int(j) for k, j in ref.vocabulary_.items()}
    np.testing.assert_array_equal(ours.transform(DOCS + UNSEEN), ref.transform(DOCS + UNSEEN).toarray())


@pytest.mark.parametrize("kw", [dict(), dict(sublinear_tf=True), dict(smooth_idf=False), dict(norm="l1"),
                                dict(norm=None), dict(use_idf=False), dict(binary=True, sublinear_tf=True),
                                dict(max_features=4, norm=None, smooth_idf=False)])
def test_tfidf_matches_sklearn(kw):
    sk = pytest.importorskip("sklearn.feature_extraction.text")
    ref = sk.TfidfVectorizer(**kw)
    ours = TfIdf(**kw)
    np.testing.assert_allclose(ours.fit_transform(DOCS), ref.fit_transform(DOCS).toarray(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.transform(UNSEEN), ref.transform(UNSEEN).toarray(), rtol=0, atol=1e-12)
    assert ours.get_feature_names_out().tolist() == ref.get_feature_names_out().tolist()


def test_vectorizers_refuse_empty_vocabulary_and_unfitted_use():
    with pytest.raises(ValueError, match="empty vocabulary"):
        BagOfWords().fit(["", "a"])               # 'a' is one character: not a token
    with pytest.raises(RuntimeError, match="not fitted"):
        TfIdf().transform(["a b"])
    with pytest.raises(ValueError, match="one string"):
        BagOfWords().fit("just one string")


# ----------------------------------------------------------------------------- mask_tokens
def test_mask_tokens_80_10_10_proportions_specials_and_seed():
    v = Vocab.build([list("abcdefghijklmnopqrst")])
    rng = np.random.default_rng(0)
    ids = rng.integers(5, len(v), size=(400, 64))
    ids[:, 0], ids[:, -1], ids[:, -8:-1] = 2, 3, 0            # bos, eos, padding
    inputs, labels = mask_tokens(ids, v, mask_prob=0.15, generator=np.random.default_rng(1))
    specials = np.isin(ids, v.special_ids)
    picked = labels != IGNORE_INDEX
    assert not picked[specials].any() and (inputs[specials] == ids[specials]).all()
    np.testing.assert_array_equal(labels[picked], ids[picked])
    assert (inputs[~picked] == ids[~picked]).all()
    n = picked.sum()
    assert abs(n / (~specials).sum() - 0.15) < 0.01
    masked = (inputs == v.stoi["<mask>"]) & picked
    kept = (inputs == ids) & picked
    random = picked & ~masked & ~kept
    # a random replacement can draw the original token (1/20 of the time): it then counts as kept
    assert abs(masked.sum() / n - 0.8) < 0.02
    assert abs((kept.sum() + random.sum()) / n - 0.2) < 0.02
    assert abs(random.sum() / n - 0.1 * 19 / 20) < 0.02
    assert not np.isin(inputs[random], v.special_ids).any()
    again = mask_tokens(ids, v, mask_prob=0.15, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(again[0], inputs)
    np.testing.assert_array_equal(again[1], labels)
    t_in, t_lab = mask_tokens(nv.tensor(ids), v, mask_prob=0.15, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(t_in.numpy(), inputs)
    with pytest.raises(TypeError):
        mask_tokens(ids.astype(float), v)


# --------------------------------------------------------------------------------- sampling
def test_tiny_temperature_samples_the_argmax_not_token_zero():
    z = np.array([[1.0, 3.0, 2.0], [-5.0, -7.0, 4.0]])
    for t in [1e-3, 1e-100, 1e-308, 1e-320]:
        assert sample_logits(z, temperature=t, generator=0).tolist() == [1, 2], t
    assert sample_logits(z, temperature=0).tolist() == [1, 2]


def test_top_k_one_is_greedy_and_seeded_sampling_repeats():
    z = np.random.default_rng(3).normal(size=(16, 50))
    for seed in range(3):
        assert (sample_logits(z, 1.3, top_k=1, generator=seed) == z.argmax(1)).all()
    a = sample_logits(z, 0.9, top_k=10, top_p=0.9, generator=7)
    b = sample_logits(z, 0.9, top_k=10, top_p=0.9, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- GPT decoding
@pytest.fixture(scope="module")
def tiny_gpt():
    nv.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16))
    m.eval()
    return m


@pytest.mark.parametrize("slow_path", [False, True])
def test_gpt_cached_logits_equal_full_forward_at_every_step(tiny_gpt, slow_path):
    seq = np.array([[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 0, 1, 2, 3]])
    hook = tiny_gpt.h[0].register_forward_hook(lambda *a: None) if slow_path else None
    try:
        with nv.no_grad():
            full = tiny_gpt(seq).numpy()
            cache = tiny_gpt.new_cache(2)
            parts = [tiny_gpt(seq[:, a:b], cache).numpy() for a, b in [(0, 3), (3, 5), (5, 6), (6, 7), (7, 8)]]
    finally:
        if hook is not None:
            hook.remove()
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, rtol=0, atol=1e-5)
    with nv.no_grad(), pytest.raises(ValueError, match="block_size"):
        tiny_gpt(seq[:, :1], cache)


def test_gpt_generate_cached_equals_uncached_past_block_size(tiny_gpt):
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    for kw in [dict(temperature=0), dict(temperature=0.8, top_k=4, generator=5),
               dict(temperature=1.0, top_p=0.8, generator=9)]:
        a = tiny_gpt.generate(prompt, 12, use_cache=True, **kw).numpy()
        b = tiny_gpt.generate(prompt, 12, use_cache=False, **kw).numpy()
        np.testing.assert_array_equal(a, b)
    greedy = tiny_gpt.generate(prompt, 6, temperature=0).numpy()
    np.testing.assert_array_equal(tiny_gpt.generate(prompt, 6, top_k=1, generator=1).numpy(), greedy)
    np.testing.assert_array_equal(tiny_gpt.generate(prompt, 6, temperature=1e-310, generator=1).numpy(), greedy)
    np.testing.assert_array_equal(tiny_gpt.generate(prompt, 0).numpy(), prompt)


# ------------------------------------------------------------------------ Seq2Seq decoding
@pytest.fixture(scope="module")
def tiny_s2s():
    nv.manual_seed(1)
    net = s2s.seq2seq(src_vocab=10, tgt_vocab=5, embed_dim=6, hidden_size=6)
    net.eval()
    return net


SRC = np.array([[3, 4, 5, 0], [6, 7, 0, 0], [5, 5, 5, 5]])
BOS, EOS = 1, 2


def _seq_logprobs(net, src, seqs):
    """(K, L) log-probabilities of each row of ``seqs`` under teacher forcing, for one source."""
    tgt = np.concatenate([np.full((len(seqs), 1), BOS), seqs], axis=1)
    with nv.no_grad():
        logits = net(np.repeat(src, len(seqs), axis=0), tgt)
        lp = nv.nn.functional.log_softmax(logits, -1).numpy().astype(np.float64)
    return np.take_along_axis(lp, seqs[..., None], axis=2)[..., 0]


def test_beam_width_one_is_an_independent_greedy_loop(tiny_s2s):
    out = tiny_s2s.beam_search(SRC, 1, 6, bos=BOS, eos=EOS)
    g = tiny_s2s.greedy_decode(SRC, 6, bos=BOS, eos=EOS)
    np.testing.assert_array_equal(out.tokens, g.tokens)
    with nv.no_grad():
        enc, state, final, mask = tiny_s2s.encode(SRC)
        prev, toks = np.full(3, BOS), []
        for _ in range(out.tokens.shape[1]):
            logits, state, _ = tiny_s2s.step(nv.Tensor(prev), state, enc, final, mask)
            prev = logits.numpy().argmax(1)
            toks.append(prev)
    toks = np.stack(toks, 1)
    for n in range(3):
        L = out.lengths[n]
        np.testing.assert_array_equal(out.tokens[n, :L], toks[n, :L])
        assert L == out.tokens.shape[1] or toks[n, L - 1] == EOS
        assert (out.tokens[n, L:] == EOS).all()


@pytest.mark.parametrize("alpha", [0.0, 1.0, 3.0])
def test_exhaustive_beam_finds_the_brute_force_best(tiny_s2s, alpha):
    V, L = 5, 3
    seqs = np.array(list(itertools.product(range(V), repeat=L)))
    out = tiny_s2s.beam_search(SRC, V ** L, L, bos=BOS, eos=EOS, length_penalty=alpha)
    for n in range(len(SRC)):
        lp = _seq_logprobs(tiny_s2s, SRC[n:n + 1], seqs)
        is_eos = seqs == EOS
        length = np.where(is_eos.any(1), is_eos.argmax(1) + 1, L)
        score = np.where(np.arange(L)[None] < length[:, None], lp, 0.0).sum(1)
        ranked = score / ((5.0 + length) / 6.0) ** alpha
        best = int(np.argmax(ranked))
        assert out.lengths[n] == length[best]
        np.testing.assert_allclose(out.scores[n], score[best], rtol=0, atol=1e-5)
        np.testing.assert_array_equal(out.tokens[n, :length[best]], seqs[best, :length[best]])


def test_beam_edges_one_item_max_len_one_and_bad_sizes(tiny_s2s):
    one = tiny_s2s.beam_search(SRC[1:2], 3, 5, bos=BOS, eos=EOS)
    many = tiny_s2s.beam_search(SRC, 3, 5, bos=BOS, eos=EOS)
    L = one.lengths[0]
    assert L == many.lengths[1]
    np.testing.assert_array_equal(one.tokens[0, :L], many.tokens[1, :L])
    np.testing.assert_allclose(one.scores[0], many.scores[1], atol=1e-6)
    short = tiny_s2s.beam_search(SRC, 4, 1, bos=BOS, eos=EOS)
    assert short.tokens.shape == (3, 1) and (short.lengths == 1).all()
    with nv.no_grad():
        enc, state, final, mask = tiny_s2s.encode(SRC)
        logits, _, _ = tiny_s2s.step(nv.Tensor(np.full(3, BOS)), state, enc, final, mask)
    np.testing.assert_array_equal(short.tokens[:, 0], logits.numpy().argmax(1))
    for bad in [dict(beam_width=0, max_len=3), dict(beam_width=2, max_len=0)]:
        with pytest.raises(ValueError):
            tiny_s2s.beam_search(SRC, bos=BOS, eos=EOS, **bad)


class _TopOfUnitInterval(np.random.Generator):
    """A generator whose uniform draws are all 1 − 2⁻⁵³, the largest double below 1."""

    def random(self, size=None, *args, **kwargs):
        return np.full(size, 1.0 - 2.0 ** -53)


def test_a_uniform_draw_just_below_one_never_picks_a_filtered_token():
    from nerve.models.sampling import filter_logits
    g = _TopOfUnitInterval(np.random.PCG64(0))
    r = np.random.default_rng(0)
    for _ in range(300):
        V = int(r.integers(3, 60))
        z = r.normal(size=(2, V)) * 3
        k = int(r.integers(1, V))
        for kw in (dict(top_k=k), dict(top_p=0.7)):
            tok = sample_logits(z, 1.0, generator=g, **kw)
            kept = np.isfinite(filter_logits(z, **kw))
            assert kept[np.arange(2), tok].all(), (kw, tok)


def test_bpe_decode_refuses_ids_outside_the_table():
    tok = BPETokenizer.train(["low lower"], vocab_size=260)
    assert tok.decode([len(tok) - 1]) == tok.token_bytes(len(tok) - 1).decode()
    for bad in (-1, -len(tok), len(tok)):
        with pytest.raises(IndexError, match=str(bad)):
            tok.decode([108, bad])


def test_bpe_encode_equals_the_merges_applied_in_training_order():
    from nerve.text.bpe import _merge
    r = np.random.default_rng(0)
    for _ in range(8):
        words = ["".join(r.choice(list("aab"), size=r.integers(1, 9))) for _ in range(40)]
        tok = BPETokenizer.train([" ".join(words)], vocab_size=256 + 25)
        for w in set(words) | {"aaaaaaa", "abababa", "baaab"}:
            syms = list(w.encode())
            for i, m in enumerate(tok.merges):        # training replays every merge in order
                syms = _merge(syms, m, 256 + i)
            assert tok.encode(w) == syms, w


def test_sentiment_corpus_labels_match_their_words_and_balance():
    from nerve.text import corpus
    texts, labels = corpus.make_sentiment_corpus(400, seed=3)
    assert labels.sum() == 200 and len(texts) == 400
    pos = set(corpus.POSITIVE) | set(corpus.POS_VERBS)
    neg = set(corpus.NEGATIVE) | set(corpus.NEG_VERBS)
    for text, y in zip(texts, labels):
        words = set(BagOfWords().build_analyzer()(text))
        assert bool(words & pos) == bool(y) and bool(words & neg) == (not y), text
    t7, y7 = corpus.make_sentiment_corpus(7, seed=1)
    assert y7.sum() == 3 and t7 == corpus.make_sentiment_corpus(7, seed=1)[0]
    assert corpus.make_sentiment_corpus(0)[0] == []


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_char_rnn_stateful_generation_equals_rereading_the_whole_context(cell):
    from nerve.models.charlstm import char_rnn
    nv.manual_seed(0)
    m = char_rnn(vocab_size=11, embedding_dim=5, hidden_size=7, num_layers=2, cell=cell)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    out = m.generate(prompt, 8, temperature=0).numpy()
    ids = prompt
    with nv.no_grad():
        for _ in range(8):
            ids = np.concatenate([ids, m(ids).numpy()[:, -1].argmax(1)[:, None]], 1)
    np.testing.assert_array_equal(out, ids)
    a = m.generate(prompt, 8, temperature=0.9, top_k=5, generator=4).numpy()
    np.testing.assert_array_equal(a, m.generate(prompt, 8, temperature=0.9, top_k=5, generator=4).numpy())


def test_beam_ties_go_to_the_lowest_token_id_as_greedy_argmax_does():
    nv.manual_seed(2)
    net = s2s.seq2seq(src_vocab=10, tgt_vocab=5, embed_dim=6, hidden_size=6)
    net.decoder.out.weight.data[...] = 0.0
    net.decoder.out.bias.data[...] = np.array([1.0, 3.0, 3.0, 0.0, 3.0], dtype=np.float32)
    g = net.greedy_decode(SRC, 4, bos=BOS, eos=0)
    assert (g.tokens == 1).all() and (g.lengths == 4).all()   # 1, 2 and 4 tie: the lowest id
    for B in (1, 2, 3):
        out = net.beam_search(SRC, B, 4, bos=BOS, eos=0)
        np.testing.assert_array_equal(out.tokens, g.tokens)
        np.testing.assert_allclose(out.scores, g.scores, rtol=0, atol=1e-9)


def test_seq2seq_refuses_padding_before_real_tokens(tiny_s2s):
    right = tiny_s2s.greedy_decode(np.array([[3, 4, 0, 0]]), 3, bos=BOS, eos=EOS)
    assert right.attention[0, 0, 2:].sum() == 0.0
    for src in ([[0, 0, 3, 4]], [[3, 0, 4, 0]], [[3, 4, 5, 6], [0, 7, 0, 0]]):
        with pytest.raises(ValueError, match="padding id 0 before a real token"):
            tiny_s2s.greedy_decode(np.array(src), 3, bos=BOS, eos=EOS)
        with pytest.raises(ValueError, match="padding id 0 before a real token"):
            tiny_s2s(np.array(src), np.ones((len(src), 3), np.int64))
    # with explicit lengths the caller says where each row ends: no check on the pad id
    tiny_s2s.greedy_decode(np.array([[3, 0, 4, 0]]), 3, bos=BOS, eos=EOS, src_lengths=[3])


@pytest.mark.parametrize("kw", [dict(temperature=0), dict(temperature=1.0), dict(temperature=0.5, top_k=2),
                                dict(temperature=1.0, top_p=0.9)])
def test_nan_logits_are_refused_rather_than_sampled_as_token_zero(kw):
    z = np.array([[0.1, 2.0, 0.3], [0.5, np.nan, 0.2]])
    with pytest.raises(ValueError, match=r"NaN or \+inf in row\(s\) \[1\]"):
        sample_logits(z, generator=0, **kw)
    z = np.array([[np.inf, 2.0, 0.3], [0.5, -np.inf, 0.2]])
    with pytest.raises(ValueError, match=r"NaN or \+inf in row\(s\) \[0\]"):
        sample_logits(z, generator=0, **kw)
    z[0, 0] = -np.inf                                   # -inf is a token ruled out: fine
    assert sample_logits(z, generator=0, **kw)[0] in (1, 2)


def test_mask_tokens_needs_a_mask_token():
    v = Vocab(["a", "b"], specials=("<pad>", "<unk>"))
    with pytest.raises(ValueError, match="no '<mask>' token"):
        mask_tokens(np.array([[2, 3]]), v)
    inputs, labels = mask_tokens(np.array([[2, 3, 0]]), v, mask_prob=1.0, mask_id=1, generator=np.random.default_rng(0))
    assert labels.tolist() == [[2, 3, IGNORE_INDEX]] and inputs[0, 2] == 0


@pytest.mark.parametrize("special_ids", [[0], (0,), np.array([0]), np.array([0, 2]), nv.tensor([0])])
def test_mask_tokens_never_picks_specials_given_as_any_sequence(special_ids):
    ids = np.array([[0, 5, 6, 0, 7, 0]])
    inputs, labels = mask_tokens(ids, None, mask_prob=1.0, mask_id=1, vocab_size=10,
                                 special_ids=special_ids.numpy() if isinstance(special_ids, nv.Tensor)
                                 else special_ids, generator=np.random.default_rng(0))
    pads = ids == 0
    assert (labels[pads] == IGNORE_INDEX).all() and (inputs[pads] == 0).all()
    assert (labels[~pads] == ids[~pads]).all()


@pytest.mark.parametrize("temperature", [0, 1.0])
def test_a_row_with_every_token_ruled_out_is_refused(temperature):
    z = np.array([[0.1, 2.0, 0.3], [-np.inf, -np.inf, -np.inf]])
    with pytest.raises(ValueError, match=r"every logit is -inf in row\(s\) \[1\]"):
        sample_logits(z, temperature, generator=0)
