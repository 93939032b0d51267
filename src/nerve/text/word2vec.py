"""Word2Vec: skip-gram with negative sampling (Mikolov et al. 2013), in vectorised NumPy.

For a centre word c and a context word o seen within the window, with K noise words
n₁..n_K drawn from the unigram distribution raised to 0.75, the loss is

    ℓ = −log σ(u_o · v_c) − Σ_k log σ(−u_{n_k} · v_c)

(v: the input / "word" vectors, u: the output / "context" vectors), whose gradients are

    g⁺ = σ(u_o·v_c) − 1,   g⁻_k = σ(u_{n_k}·v_c)
    ∂ℓ/∂v_c = g⁺ u_o + Σ_k g⁻_k u_{n_k},   ∂ℓ/∂u_o = g⁺ v_c,   ∂ℓ/∂u_{n_k} = g⁻_k v_c.

Training is plain SGD on mini-batches of (centre, context) pairs, with the learning rate
decaying linearly to ``min_learning_rate`` as in the reference C code; a batch's gradients
are summed into the rows they touch (``np.add.at``: a word seen twice gets both updates).
The gradient is written out rather than taken from nerve's autograd because only a few
rows of two large tables change per step; the tests check it against autograd.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["Word2Vec", "make_topic_corpus", "sgns_gradients"]


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def sgns_gradients(W_in, W_out, centers, contexts, negatives):
    """Loss and gradients of skip-gram with negative sampling for a batch of pairs.

    Args: ``W_in`` (V, D) word vectors, ``W_out`` (V, D) context vectors, ``centers`` and
    ``contexts`` (B,) ids, ``negatives`` (B, K) noise ids.

    Returns ``(loss, gW_in, gW_out)``: the loss summed over the batch and the gradients of
    that sum as full (V, D) arrays (rows not in the batch are zero).
    """
    v = W_in[centers]                                    # (B, D)
    u_pos = W_out[contexts]                              # (B, D)
    u_neg = W_out[negatives]                             # (B, K, D)
    s_pos = np.einsum("bd,bd->b", u_pos, v)              # (B,)
    s_neg = np.einsum("bkd,bd->bk", u_neg, v)            # (B, K)
    loss = -(_log_sigmoid(s_pos).sum() + _log_sigmoid(-s_neg).sum())
    g_pos = _sigmoid(s_pos) - 1.0                        # (B,)
    g_neg = _sigmoid(s_neg)                              # (B, K)
    gv = g_pos[:, None] * u_pos + np.einsum("bk,bkd->bd", g_neg, u_neg)
    gW_in = np.zeros_like(W_in)
    gW_out = np.zeros_like(W_out)
    np.add.at(gW_in, centers, gv)
    np.add.at(gW_out, contexts, g_pos[:, None] * v)
    np.add.at(gW_out, negatives.reshape(-1), (g_neg[..., None] * v[:, None, :]).reshape(-1, v.shape[1]))
    return float(loss), gW_in, gW_out


class Word2Vec:
    """Skip-gram word vectors trained with negative sampling.

    Args:
        vector_size: dimension of the vectors (100).
        window: the largest distance between centre and context; each centre draws its own
            window from 1..window, so near words count more (as the reference code) (5).
        negative: noise words per pair, drawn from unigram counts ** ``ns_exponent`` (5).
        ns_exponent: the noise distribution's exponent (0.75).
        min_count: words rarer than this are dropped (1).
        sample: sub-sampling threshold t; a word of frequency f is kept with probability
            min(1, √(t/f) + t/f) each epoch. None or 0 keeps every word (1e-3).
        epochs: passes over the corpus (5).
        learning_rate, min_learning_rate: SGD step, decayed linearly over training
            (0.025 → 0.0001).
        batch_size: pairs per step (512).
        seed: seeds the initial vectors, the windows, sub-sampling and noise draws.

    After :meth:`fit`: ``vocab`` (words by index), ``index`` (word → row), ``counts``,
    ``vectors`` (V, D) (the input vectors), ``context_vectors``, ``loss_history`` (mean loss
    per epoch).

        >>> sents, groups = make_topic_corpus(300, seed=0)
        >>> w2v = Word2Vec(vector_size=16, window=3, epochs=3, seed=0).fit(sents)
        >>> w2v.vectors.shape == (len(w2v.vocab), 16)
        True
        >>> round(w2v.similarity("apple", "apple"), 6)
        1.0
    """

    def __init__(self, vector_size=100, window=5, negative=5, ns_exponent=0.75, min_count=1,
                 sample=1e-3, epochs=5, learning_rate=0.025, min_learning_rate=1e-4, batch_size=512,
                 seed=0):
        for name, v in (("vector_size", vector_size), ("window", window), ("negative", negative),
                        ("min_count", min_count), ("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Word2Vec: {name} must be a positive integer, got {v!r}")
        if not learning_rate > 0:
            raise ValueError(f"Word2Vec: learning_rate must be > 0, got {learning_rate}")
        self.vector_size = int(vector_size)
        self.window = int(window)
        self.negative = int(negative)
        self.ns_exponent = float(ns_exponent)
        self.min_count = int(min_count)
        self.sample = sample
        self.epochs = int(epochs)
        self.learning_rate = float(learning_rate)
        self.min_learning_rate = float(min_learning_rate)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.vocab = None

    # ------------------------------------------------------------ corpus preparation
    @staticmethod
    def _tokens(sentences):
        if isinstance(sentences, str):   # iterating it would make every character a sentence
            raise TypeError("Word2Vec.fit takes a list of sentences, got one string; pass [text] or "
                            "a list of token lists")
        out = []
        for s in sentences:
            out.append(s.lower().split() if isinstance(s, str) else list(s))
        return out

    def _build_vocab(self, sentences):
        counts = Counter(w for s in sentences for w in s)
        words = sorted((w for w, c in counts.items() if c >= self.min_count),
                       key=lambda w: (-counts[w], w))
        if not words:
            raise ValueError(f"Word2Vec: no word occurs at least min_count={self.min_count} times; "
                             "give more text or lower min_count")
        self.vocab = words
        self.index = {w: i for i, w in enumerate(words)}
        self.counts = np.array([counts[w] for w in words], dtype=np.int64)
        # the noise distribution as a cumulative table: a uniform draw's position in it is a
        # word drawn with probability count^0.75 / Σ count^0.75
        p = self.counts.astype(np.float64) ** self.ns_exponent
        self._noise_cdf = np.cumsum(p / p.sum())
        self._noise_cdf[-1] = 1.0

    def _noise(self, rng, shape):
        return np.searchsorted(self._noise_cdf, rng.random(shape), side="right").clip(0, len(self.vocab) - 1)

    def _pairs(self, ids, sent_id, rng):
        """All (centre, context) pairs of one epoch, after sub-sampling, shuffled."""
        if self.sample:
            f = self.counts[ids] / self.counts.sum()
            t = float(self.sample)
            keep = rng.random(len(ids)) < np.minimum(1.0, np.sqrt(t / f) + t / f)
            ids, sent_id = ids[keep], sent_id[keep]
        reach = rng.integers(1, self.window + 1, size=len(ids))     # each centre's own window
        centers, contexts = [], []
        for d in range(1, self.window + 1):                          # one offset at a time
            same = (sent_id[d:] == sent_id[:-d]) & (reach[:-d] >= d) if len(ids) > d else None
            if same is not None:                                     # centre i, context i + d
                centers.append(ids[:-d][same])
                contexts.append(ids[d:][same])
            same = (sent_id[d:] == sent_id[:-d]) & (reach[d:] >= d) if len(ids) > d else None
            if same is not None:                                     # centre i + d, context i
                centers.append(ids[d:][same])
                contexts.append(ids[:-d][same])
        if not centers:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        c, o = np.concatenate(centers), np.concatenate(contexts)
        order = rng.permutation(len(c))
        return c[order], o[order]

    # ------------------------------------------------------------ training
    def fit(self, sentences):
        """Learn vectors from ``sentences`` (lists of tokens, or strings split on whitespace
        and lowercased). Returns self."""
        sentences = self._tokens(sentences)
        self._build_vocab(sentences)
        rng = np.random.default_rng(self.seed)
        V, D = len(self.vocab), self.vector_size
        self.vectors = ((rng.random((V, D)) - 0.5) / D)             # as the reference code
        self.context_vectors = np.zeros((V, D))
        kept = [[self.index[w] for w in s if w in self.index] for s in sentences]
        ids = np.array([i for s in kept for i in s], dtype=np.int64)
        sent_id = np.repeat(np.arange(len(kept)), [len(s) for s in kept])
        epoch_pairs = [self._pairs(ids, sent_id, rng) for _ in range(self.epochs)]
        total = sum(len(c) for c, _ in epoch_pairs)
        if total == 0:
            if self.sample and any(len(s) > 1 for s in kept):   # sub-sampling dropped the words
                raise ValueError(f"Word2Vec: sub-sampling (sample={self.sample}) dropped nearly every word of "
                                 "this small corpus, leaving no (centre, context) pairs; pass sample=None "
                                 "or give more text")
            raise ValueError("Word2Vec: the corpus gives no (centre, context) pairs; sentences need "
                             "at least two words")
        self.loss_history = []
        done = 0
        for centers, contexts in epoch_pairs:
            loss_sum = 0.0
            for s in range(0, len(centers), self.batch_size):
                c, o = centers[s:s + self.batch_size], contexts[s:s + self.batch_size]
                neg = self._noise(rng, (len(c), self.negative))
                lr = max(self.min_learning_rate, self.learning_rate * (1.0 - done / total))
                loss, g_in, g_out = sgns_gradients(self.vectors, self.context_vectors, c, o, neg)
                self.vectors -= lr * g_in
                self.context_vectors -= lr * g_out
                loss_sum += loss
                done += len(c)
            self.loss_history.append(loss_sum / max(len(centers), 1))
        return self

    # ------------------------------------------------------------ queries
    def _check_fitted(self):
        if self.vocab is None:
            raise RuntimeError("Word2Vec: call fit(sentences) first")

    def _row(self, word):
        self._check_fitted()
        if word not in self.index:
            raise KeyError(f"Word2Vec: {word!r} is not in the vocabulary ({len(self.vocab)} words; "
                           f"min_count={self.min_count})")
        return self.index[word]

    def __getitem__(self, word):
        return self.vectors[self._row(word)]

    def __contains__(self, word):
        return self.vocab is not None and word in self.index

    def _unit(self):
        n = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        return self.vectors / np.where(n == 0, 1.0, n)

    def similarity(self, a, b):
        """Cosine similarity of the vectors of words ``a`` and ``b``."""
        u = self._unit()
        return float(u[self._row(a)] @ u[self._row(b)])

    def most_similar(self, word, k=10):
        """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded),
        as (word, cosine) pairs, most similar first."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"Word2Vec.most_similar: k must be a positive integer, got {k!r}")
        i = self._row(word)
        u = self._unit()
        sims = u @ u[i]
        sims[i] = -np.inf
        k = min(int(k), len(self.vocab) - 1)
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.vocab[j], float(sims[j])) for j in top]


_TOPICS = {
    "fruit": ["apple", "banana", "cherry", "grape", "mango", "peach", "pear", "plum", "lemon", "melon"],
    "vehicle": ["car", "truck", "bus", "train", "bicycle", "tram", "van", "scooter", "taxi", "ferry"],
    "animal": ["dog", "cat", "horse", "rabbit", "tiger", "lion", "wolf", "fox", "bear", "deer"],
    "music": ["guitar", "piano", "violin", "drum", "flute", "cello", "trumpet", "harp", "banjo", "organ"],
}
_FUNCTION_WORDS = ["the", "a", "and", "with", "of", "near", "some", "two"]


def make_topic_corpus(n_sentences, seed=0, sentence_length=8, function_word_rate=0.3):
    """Sentences that each talk about one of four topics (fruit, vehicles, animals, music):
    topic words drawn from that topic's group, mixed with function words shared by all.

    Returns ``(sentences, groups)``: token lists, and a dict topic → its words.

        >>> sents, groups = make_topic_corpus(2, seed=1)
        >>> len(sents), sorted(groups)
        (2, ['animal', 'fruit', 'music', 'vehicle'])
    """
    if n_sentences < 0:
        raise ValueError(f"n_sentences must be >= 0, got {n_sentences}")
    rng = np.random.default_rng(seed)
    topics = list(_TOPICS)
    sentences = []
    for _ in range(n_sentences):
        words = _TOPICS[topics[int(rng.integers(len(topics)))]]
        sent = [(_FUNCTION_WORDS[int(rng.integers(len(_FUNCTION_WORDS)))]
                 if rng.random() < function_word_rate else words[int(rng.integers(len(words)))])
                for _ in range(sentence_length)]
        sentences.append(sent)
    return sentences, {k: list(v) for k, v in _TOPICS.items()}
