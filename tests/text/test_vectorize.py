"""BagOfWords and TfIdf equal scikit-learn's CountVectorizer and TfidfVectorizer (the oracle)."""
import itertools
import subprocess
import sys

import numpy as np
import pytest

from nerve.text import BagOfWords, TfIdf

sk_text = pytest.importorskip("sklearn.feature_extraction.text")

WORDS = ["the", "The", "cat", "Cat", "dog", "sat", "on", "a", "mat", "I", "ran", "café", "Über",
         "x1", "don't", "well-known", "dog!", "MAT.", "42", "ran,", "é", "quick", "brown", "fox"]


def make_corpus(n_docs=40, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(len(WORDS), 0.6))
    docs = []
    for _ in range(n_docs):
        k = int(rng.integers(0, 14))
        seps = rng.choice([" ", "  ", "\n", "\t", ", "], size=k)
        words = rng.choice(WORDS, size=k, p=p)
        docs.append("".join(w + s for w, s in zip(words, seps)))
    docs.append("")  # an empty document gives an all-zero row
    return docs


CORPUS = make_corpus()
NEW_DOCS = make_corpus(8, seed=1) + ["unseen words only zzz"]

COUNT_GRID = list(itertools.product(
    [True, False],                              # lowercase
    [(1, 1), (1, 2), (2, 3)],                   # ngram_range
    [(1, 1.0), (2, 0.8), (0.1, 15), (3, 1.0)],  # (min_df, max_df)
    [None, 7],                                  # max_features
    [False, True],                              # binary
))


def _same(ours, theirs, atol=1e-12):
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)


@pytest.mark.parametrize("lowercase,ngram_range,dfs,max_features,binary", COUNT_GRID)
def test_bag_of_words_equals_count_vectorizer(lowercase, ngram_range, dfs, max_features, binary):
    kw = dict(lowercase=lowercase, ngram_range=ngram_range, min_df=dfs[0], max_df=dfs[1],
              max_features=max_features, binary=binary)
    ours, theirs = BagOfWords(**kw), sk_text.CountVectorizer(**kw)
    X, Y = ours.fit_transform(CORPUS), theirs.fit_transform(CORPUS).toarray()
    assert ours.get_feature_names_out().tolist() == theirs.get_feature_names_out().tolist()
    assert ours.vocabulary_ == {k: int(v) for k, v in theirs.vocabulary_.items()}
    assert X.dtype == np.int64
    np.testing.assert_array_equal(X, Y)
    np.testing.assert_array_equal(ours.transform(NEW_DOCS), theirs.transform(NEW_DOCS).toarray())


@pytest.mark.parametrize("pattern", [r"\b\w+\b", r"[A-Za-z]+", r"(\w+)at\b", r"\S+"])
def test_bag_of_words_token_patterns(pattern):
    kw = dict(token_pattern=pattern, ngram_range=(1, 2))
    X = BagOfWords(**kw).fit_transform(CORPUS)
    np.testing.assert_array_equal(X, sk_text.CountVectorizer(**kw).fit_transform(CORPUS).toarray())


TFIDF_GRID = list(itertools.product(["l2", "l1", None], [True, False], [True, False],
                                    [False, True], [False, True]))


@pytest.mark.parametrize("norm,use_idf,smooth_idf,sublinear_tf,binary", TFIDF_GRID)
def test_tfidf_equals_tfidf_vectorizer(norm, use_idf, smooth_idf, sublinear_tf, binary):
    kw = dict(norm=norm, use_idf=use_idf, smooth_idf=smooth_idf, sublinear_tf=sublinear_tf,
              binary=binary)
    ours, theirs = TfIdf(**kw), sk_text.TfidfVectorizer(**kw)
    _same(ours.fit_transform(CORPUS), theirs.fit_transform(CORPUS).toarray())
    _same(ours.transform(NEW_DOCS), theirs.transform(NEW_DOCS).toarray())
    if use_idf:
        _same(ours.idf_, theirs.idf_)


@pytest.mark.parametrize("kw", [
    dict(ngram_range=(1, 3), min_df=2, max_df=0.9, sublinear_tf=True),
    dict(lowercase=False, ngram_range=(2, 2), max_features=10, norm="l1"),
    dict(min_df=0.05, max_df=12, max_features=5, smooth_idf=False, binary=True),
    dict(token_pattern=r"(?u)\b\w+\b", ngram_range=(1, 2), norm=None, sublinear_tf=True),
])
def test_tfidf_with_vocabulary_settings(kw):
    ours, theirs = TfIdf(**kw), sk_text.TfidfVectorizer(**kw)
    _same(ours.fit_transform(CORPUS), theirs.fit_transform(CORPUS).toarray())
    assert ours.get_feature_names_out().tolist() == theirs.get_feature_names_out().tolist()
    _same(ours.transform(NEW_DOCS), theirs.transform(NEW_DOCS).toarray())


def test_errors():
    with pytest.raises(ValueError):
        BagOfWords(min_df=5, max_df=2).fit(CORPUS)
    with pytest.raises(ValueError):
        BagOfWords(min_df=1000).fit(CORPUS)
    with pytest.raises(ValueError):
        BagOfWords().fit(["", "a ! ?"])
    with pytest.raises(ValueError):
        BagOfWords().fit("one string, not a list")
    with pytest.raises(ValueError):
        TfIdf(norm="l3")
    with pytest.raises(RuntimeError):
        BagOfWords().transform(["x"])


def test_package_does_not_import_sklearn():
    code = ("import sys, nerve.text as t; t.TfIdf().fit_transform(['a bb cc', 'bb dd']);"
            "print(any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
