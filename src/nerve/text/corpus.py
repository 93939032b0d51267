"""A generated sentiment corpus: template sentences, made offline from a seed."""
from __future__ import annotations

import numpy as np

SUBJECTS = ["the movie", "this film", "the book", "the restaurant", "the service", "my phone",
            "the hotel", "this album", "the game", "the show", "the food", "the staff"]
POSITIVE = ["great", "wonderful", "excellent", "delightful", "amazing", "superb", "lovely",
            "fantastic", "brilliant", "enjoyable"]
NEGATIVE = ["terrible", "awful", "boring", "dreadful", "horrible", "disappointing", "poor",
            "mediocre", "annoying", "bland"]
POS_VERBS = ["loved", "enjoyed", "adored", "liked", "recommend"]
NEG_VERBS = ["hated", "disliked", "regretted", "avoided", "returned"]
INTENSIFIERS = ["", "really ", "very ", "truly ", "quite ", "absolutely "]
FILLERS = ["", " today", " overall", " to be honest", " last week", " in my opinion", " again"]
TEMPLATES = [
    "{subj} was {int}{adj}{fill}.",
    "I {verb} {subj}{fill}.",
    "what a {int}{adj} experience, {subj} was {adj2}.",
    "{subj} is {int}{adj} and {adj2}{fill}.",
    "honestly, I {verb} it: {int}{adj}.",
    "{Subj} felt {int}{adj}{fill}!",
]


def make_sentiment_corpus(n: int, seed: int = 0):
    """``n`` short reviews and their labels (1 positive, 0 negative), balanced and shuffled.

    Sentences come from a few templates filled with a subject, sentiment adjectives or verbs,
    an intensifier and a neutral filler; the same ``n`` and ``seed`` give the same corpus.
    Labels are a NumPy int64 array with ``n // 2`` ones (an odd ``n`` has one more zero).

        >>> texts, labels = make_sentiment_corpus(4, seed=0)
        >>> len(texts), labels.tolist().count(1)
        (4, 2)
        >>> texts == make_sentiment_corpus(4, seed=0)[0]
        True
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    labels = np.zeros(n, dtype=np.int64)
    labels[:n // 2] = 1
    rng.shuffle(labels)

    def pick(words):
        return words[int(rng.integers(len(words)))]

    texts = []
    for y in labels:
        adjs, verbs = (POSITIVE, POS_VERBS) if y == 1 else (NEGATIVE, NEG_VERBS)
        subj = pick(SUBJECTS)
        text = pick(TEMPLATES).format(subj=subj, Subj=subj.capitalize(), int=pick(INTENSIFIERS),
                                      adj=pick(adjs), adj2=pick(adjs), verb=pick(verbs),
                                      fill=pick(FILLERS))
        texts.append(text[0].upper() + text[1:])
    return texts, labels
