"""The generated sentiment corpus: balanced, seeded, label-consistent, learnable by bag of words."""
import numpy as np
import pytest

from nerve.text import BagOfWords, make_sentiment_corpus
from nerve.text.corpus import NEG_VERBS, NEGATIVE, POS_VERBS, POSITIVE


def test_balanced_and_seeded():
    texts, labels = make_sentiment_corpus(1000, seed=3)
    assert len(texts) == 1000 and labels.shape == (1000,) and labels.dtype == np.int64
    assert labels.sum() == 500 and set(labels.tolist()) == {0, 1}
    again, labels2 = make_sentiment_corpus(1000, seed=3)
    assert again == texts and (labels2 == labels).all()
    other, _ = make_sentiment_corpus(1000, seed=4)
    assert other != texts
    assert make_sentiment_corpus(7, seed=0)[1].sum() == 3
    assert len(set(texts)) > 500  # varied sentences, not a handful repeated
    with pytest.raises(ValueError):
        make_sentiment_corpus(-1)


def test_each_text_carries_only_its_own_sentiment_words():
    texts, labels = make_sentiment_corpus(400, seed=1)
    pos, neg = set(POSITIVE + POS_VERBS), set(NEGATIVE + NEG_VERBS)
    for text, y in zip(texts, labels):
        words = set(text.lower().replace(",", " ").replace(".", " ").replace(":", " ")
                    .replace("!", " ").split())
        mine, theirs = (pos, neg) if y == 1 else (neg, pos)
        assert words & mine and not words & theirs, text


def test_bag_of_words_naive_bayes_separates_held_out_texts():
    texts, labels = make_sentiment_corpus(600, seed=0)
    bow = BagOfWords(binary=True)
    X = bow.fit_transform(texts[:400])
    y = labels[:400]
    # multinomial naive Bayes with add-one smoothing, written out
    counts = np.stack([X[y == c].sum(0) for c in (0, 1)]) + 1.0
    log_p = np.log(counts / counts.sum(1, keepdims=True))
    prior = np.log(np.bincount(y) / len(y))
    pred = (bow.transform(texts[400:]) @ log_p.T + prior).argmax(1)
    assert (pred == labels[400:]).mean() >= 0.9
