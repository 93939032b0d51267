"""Word2Vec (skip-gram, negative sampling): the written-out gradient equals autograd's, the
noise and sub-sampling distributions are the documented ones, and on a corpus of four topical
word groups the vectors place each group together."""
import numpy as np
import pytest

import nerve as nv
from nerve import functional as F
from nerve.text import Word2Vec, make_topic_corpus
from nerve.text.word2vec import sgns_gradients


def test_gradient_equals_autograd_with_repeated_rows():
    r = np.random.default_rng(0)
    V, D, B, K = 7, 5, 9, 4
    W_in, W_out = r.standard_normal((V, D)), r.standard_normal((V, D))
    c = r.integers(0, V, B)
    o = r.integers(0, V, B)
    neg = r.integers(0, V, (B, K))
    c[:3] = 2                      # repeated centres and a context that is also a noise word
    neg[0, 0] = o[0]
    loss, g_in, g_out = sgns_gradients(W_in, W_out, c, o, neg)

    ti, to = nv.tensor(W_in, requires_grad=True), nv.tensor(W_out, requires_grad=True)
    v = ti[nv.tensor(c)]
    s_pos = (to[nv.tensor(o)] * v).sum(-1)
    s_neg = (to[nv.tensor(neg)] * v.unsqueeze(1)).sum(-1)
    tl = F.softplus(-s_pos).sum() + F.softplus(s_neg).sum()   # −log σ(x) = softplus(−x)
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(g_in, ti.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g_out, to.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_noise_words_follow_unigram_to_the_three_quarters():
    sents = [["a"] * 80 + ["b"] * 15 + ["c"] * 5]
    w2v = Word2Vec(vector_size=4, epochs=1, sample=0)
    w2v._build_vocab(sents)
    draws = w2v._noise(np.random.default_rng(0), 200_000)
    p = np.array([80, 15, 5.0]) ** 0.75
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / draws.size, p / p.sum(), atol=4e-3)


def test_subsampling_drops_frequent_words_and_keeps_rare_ones():
    sents = [["the"] * 900 + [f"w{i}" for i in range(100)]]
    w2v = Word2Vec(vector_size=4, window=1, epochs=1, sample=1e-2)
    w2v._build_vocab(sents)
    ids = np.array([w2v.index[w] for w in sents[0]])
    c, o = w2v._pairs(ids, np.zeros(len(ids), np.int64), np.random.default_rng(0))
    the = w2v.index["the"]
    # "the" has frequency 0.9: kept with probability √(0.01/0.9) + 0.01/0.9 ≈ 0.116
    kept_rare = np.isin(np.arange(len(w2v.vocab)), np.concatenate([c, o])).sum() - 1
    assert kept_rare == 100                      # words of frequency 0.001 are always kept
    assert 0.05 < (c == the).sum() / 900 < 0.25  # at most 2 pairs per kept "the" with window 1
    w2v.sample = 0
    c0, _ = w2v._pairs(ids, np.zeros(len(ids), np.int64), np.random.default_rng(0))
    assert len(c0) == 2 * (len(ids) - 1)         # window 1, no sub-sampling: every neighbour pair


def test_pairs_stay_inside_sentences_and_within_the_window():
    sents = [["a", "b", "c", "d"], ["e", "f"]]
    w2v = Word2Vec(vector_size=4, window=2, epochs=1, sample=0)
    w2v._build_vocab(sents)
    ids = np.array([w2v.index[w] for s in sents for w in s])
    sid = np.array([0, 0, 0, 0, 1, 1])
    c, o = w2v._pairs(ids, sid, np.random.default_rng(3))
    words = [(w2v.vocab[i], w2v.vocab[j]) for i, j in zip(c, o)]
    pos = {w: (k, p) for k, s in enumerate(sents) for p, w in enumerate(s)}
    for a, b in words:
        assert pos[a][0] == pos[b][0] and 1 <= abs(pos[a][1] - pos[b][1]) <= 2
    assert ("e", "f") in words and ("f", "e") in words        # distance 1 always within reach


def _group_cosines(w2v, groups):
    names = list(groups)
    label = {w: g for g in names for w in groups[g]}
    words = [w for w in w2v.vocab if w in label]
    u = np.stack([w2v[w] for w in words])
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    S = u @ u.T
    L = np.array([names.index(label[w]) for w in words])
    same = L[:, None] == L[None]
    off = ~np.eye(len(words), dtype=bool)
    return S[same & off].mean(), S[~same].mean()


@pytest.mark.parametrize("seed", [0])
def test_topic_groups_cluster(seed):
    sents, groups = make_topic_corpus(1000, seed=seed)
    w2v = Word2Vec(vector_size=32, window=3, negative=5, epochs=10, batch_size=128,
                   learning_rate=0.05, seed=seed).fit(sents)
    within, across = _group_cosines(w2v, groups)
    # measured (seed 0): within 0.999, across 0.334, gap 0.665
    assert within - across >= 0.3, (within, across)
    assert w2v.loss_history[-1] < w2v.loss_history[0]
    fruit = set(groups["fruit"])
    assert all(w in fruit for w, _ in w2v.most_similar("apple", 5))
    assert w2v.similarity("apple", "pear") > w2v.similarity("apple", "guitar") + 0.3
    assert w2v.most_similar("apple", 3)[0][1] >= w2v.most_similar("apple", 3)[2][1]


def test_seeded_and_errors():
    sents, _ = make_topic_corpus(50, seed=0)
    a = Word2Vec(vector_size=8, epochs=1, seed=3).fit(sents)
    b = Word2Vec(vector_size=8, epochs=1, seed=3).fit([" ".join(s) for s in sents])  # strings too
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert "apple" in a and "zebra" not in a
    with pytest.raises(KeyError, match="zebra"):
        a.similarity("apple", "zebra")
    with pytest.raises(RuntimeError, match="fit"):
        Word2Vec().most_similar("apple")
    with pytest.raises(ValueError, match="window"):
        Word2Vec(window=0)
    with pytest.raises(ValueError, match="min_count"):
        Word2Vec(min_count=5).fit([["a", "b"]])
    with pytest.raises(ValueError, match="pairs"):
        Word2Vec().fit([["a"], ["b"]])
