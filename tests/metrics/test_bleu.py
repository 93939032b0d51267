"""BLEU against sacrebleu (tokenize='none') with every smoothing method, and nltk when present."""
import math

import numpy as np
import pytest

from nerve import metrics as M

sacrebleu = pytest.importorskip("sacrebleu")
from sacrebleu.metrics import BLEU  # noqa: E402

VOCAB = [f"w{i}" for i in range(25)]


def perturb(rng, tokens, rate):
    out = []
    for t in tokens:
        r = rng.random()
        if r < rate / 3:
            continue  # deletion
        if r < 2 * rate / 3:
            out.append(str(rng.choice(VOCAB)))  # substitution
            continue
        out.append(t)
        if r < rate:
            out.append(str(rng.choice(VOCAB)))  # insertion
    return out


def corpus(seed, n=25, n_refs=1, rate=0.25, min_len=6, max_len=18):
    """Hypotheses as noisy copies of the first reference, all as token lists."""
    rng = np.random.default_rng(seed)
    hyps, refs = [], []
    for _ in range(n):
        base = [str(w) for w in rng.choice(VOCAB, int(rng.integers(min_len, max_len)))]
        hyps.append(perturb(rng, base, rate))
        refs.append([base] + [perturb(rng, base, 0.3) for _ in range(n_refs - 1)])
    return hyps, refs


def sacre(hyps, refs, **kw):
    """sacrebleu on space-joined tokens, references as parallel streams."""
    streams = [[" ".join(r[k]) for r in refs] for k in range(len(refs[0]))]
    return BLEU(tokenize="none", **kw).corpus_score([" ".join(h) for h in hyps], streams).score


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_refs", [1, 3])
@pytest.mark.parametrize("smooth", ["none", "floor", "add-k", "exp"])
def test_corpus_bleu_matches_sacrebleu(seed, n_refs, smooth):
    hyps, refs = corpus(seed, n_refs=n_refs)
    ours = M.corpus_bleu(hyps, refs, smooth=smooth)
    assert ours == pytest.approx(sacre(hyps, refs, smooth_method=smooth), abs=1e-9)
    # the same corpus given as whitespace strings
    as_text = M.corpus_bleu([" ".join(h) for h in hyps], [[" ".join(r) for r in rs] for rs in refs],
                            smooth=smooth)
    assert as_text == ours


@pytest.mark.parametrize("smooth", ["none", "floor", "add-k", "exp"])
@pytest.mark.parametrize("effective_order", [False, True])
@pytest.mark.parametrize("max_n", [2, 4, 6])
def test_short_sentences_smoothing_and_orders(smooth, effective_order, max_n):
    # lengths 1..4 leave high orders with few or no n-grams: smoothing and the effective
    # order decide the score
    hyps, refs = corpus(11, n=8, rate=0.5, min_len=1, max_len=5)
    for smooth_value in (None, 0.3):
        kw = dict(smooth_method=smooth, effective_order=effective_order, max_ngram_order=max_n)
        if smooth in ("floor", "add-k"):
            kw["smooth_value"] = smooth_value
        ours = M.corpus_bleu(hyps, refs, max_n=max_n, smooth=smooth,
                             smooth_value=kw.get("smooth_value"), effective_order=effective_order)
        assert ours == pytest.approx(sacre(hyps, refs, **kw), abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_sentence_bleu_matches_sacrebleu_defaults(seed):
    hyps, refs = corpus(seed, n=5, rate=0.4, min_len=2, max_len=9)
    for h, rs in zip(hyps, refs):
        ref = sacrebleu.sentence_bleu(" ".join(h), [" ".join(r) for r in rs], tokenize="none")
        assert M.sentence_bleu(h, rs) == pytest.approx(ref.score, abs=1e-9)
        assert M.sentence_bleu(" ".join(h), " ".join(rs[0])) == pytest.approx(
            M.sentence_bleu(h, rs[0]), abs=0)


def test_glossary_row_9_fixed_pairs():
    # >= 20 pre-tokenized single-reference pairs, every one with some 4-gram overlap
    def four_grams(t):
        return {tuple(t[i:i + 4]) for i in range(len(t) - 3)}

    pool = zip(*corpus(2024, n=60, rate=0.15, min_len=10, max_len=16))
    pairs = [(h, rs) for h, rs in pool if four_grams(h) & four_grams(rs[0])][:24]
    assert len(pairs) == 24
    hyps, refs = [h for h, _ in pairs], [rs for _, rs in pairs]
    ours = M.bleu(hyps, [r[0] for r in refs], max_n=4, weights=None, smooth=None)
    assert abs(ours - sacre(hyps, refs, smooth_method="none")) <= 0.01
    assert M.bleu(refs[0], [refs[0][0]]) == 100.0  # identical pair


def test_matches_nltk_when_installed():
    nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")
    hyps, refs = corpus(5, n=22, n_refs=2, rate=0.15, min_len=10, max_len=16)
    assert M.corpus_bleu(hyps, refs) == pytest.approx(100 * nltk_bleu.corpus_bleu(refs, hyps),
                                                      abs=1e-6)


def test_brevity_penalty_and_weights():
    ref = "a b c d e f g h i j".split()
    hyp = ref[:6]  # a perfect prefix: every precision is 1, only the length is short
    res = M.corpus_bleu([hyp], [ref], details=True)
    assert res.brevity_penalty == pytest.approx(math.exp(1 - 10 / 6))
    assert res.score == pytest.approx(100 * math.exp(1 - 10 / 6))
    assert res.precisions == [100.0] * 4 and (res.hyp_len, res.ref_len) == (6, 10)
    # a longer hypothesis is not penalized by BP
    assert M.corpus_bleu([ref + ["k"]], [ref], details=True).brevity_penalty == 1.0
    # weights: (0.5, 0.5) is max_n=2 with uniform weights; unequal weights follow the formula
    hyps, refs = corpus(3)
    assert M.corpus_bleu(hyps, refs, weights=[0.5, 0.5]) == pytest.approx(
        M.corpus_bleu(hyps, refs, max_n=2))
    r = M.corpus_bleu(hyps, refs, details=True)
    w = [0.4, 0.3, 0.2, 0.1]
    expected = 100 * r.brevity_penalty * math.exp(sum(wi * math.log(p / 100)
                                                      for wi, p in zip(w, r.precisions)))
    assert M.corpus_bleu(hyps, refs, weights=w) == pytest.approx(expected, rel=1e-12)


def test_clipping_counts_each_reference_ngram_at_most_its_max_count():
    res = M.corpus_bleu(["the the the the"], [["the cat", "the the mat"]], max_n=1, details=True)
    assert res.matches == [2.0] and res.totals == [4.0]  # "the" clipped to 2 (second reference)


def test_bleu_errors_name_the_problem():
    with pytest.raises(ValueError, match="corpus_bleu: 2 hypotheses but 1 reference entries"):
        M.corpus_bleu(["a b", "c d"], ["a b"])
    with pytest.raises(ValueError, match="corpus_bleu: got 0 hypotheses"):
        M.corpus_bleu([], [])
    with pytest.raises(ValueError, match="smooth='laplace' is not one of"):
        M.corpus_bleu(["a b"], ["a b"], smooth="laplace")
    with pytest.raises(ValueError, match="3 weights for max_n=4"):
        M.corpus_bleu(["a b"], ["a b"], max_n=4, weights=[0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="wrap a single sentence"):
        M.corpus_bleu("a b c", "a b c")
