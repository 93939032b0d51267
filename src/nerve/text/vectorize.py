"""Bag of words and TF-IDF document-term matrices, following scikit-learn's definitions exactly.

``BagOfWords`` counts as ``sklearn.feature_extraction.text.CountVectorizer`` does and ``TfIdf``
weighs as ``TfidfVectorizer`` does (same settings give the same matrix, as dense NumPy arrays):

* analysis: ``lowercase`` -> ``re.findall(token_pattern)`` -> word n-grams joined by one space;
* features are sorted by string; ``max_df``/``min_df`` (an int is a document count, a float a
  fraction of the documents) drop terms by document frequency, then ``max_features`` keeps the
  terms with the largest total counts (ties resolved as NumPy's ``argsort`` of the negated totals
  over the sorted terms, as scikit-learn does);
* ``binary`` clips counts to 1 before pruning and weighting;
* TF-IDF: ``tf = count`` (or ``1 + log(count)`` for nonzero counts with ``sublinear_tf``),
  ``idf = ln((1 + n) / (1 + df)) + 1`` with ``smooth_idf`` (else ``ln(n / df) + 1``), and each row
  scaled to unit ``l2``/``l1`` norm (``norm=None`` leaves it; an all-zero row stays zero).
"""
from __future__ import annotations

import numbers
from collections import Counter

import numpy as np

from .tokenizers import SKLEARN_TOKEN_PATTERN, RegexTokenizer


class BagOfWords:
    """Document-term counts (scikit-learn's ``CountVectorizer`` for word analysis).

        >>> bow = BagOfWords()
        >>> bow.fit_transform(["the cat sat", "the cat and the dog"])
        array([[0, 1, 0, 1, 1],
               [1, 1, 1, 0, 2]])
        >>> bow.get_feature_names_out().tolist()
        ['and', 'cat', 'dog', 'sat', 'the']
        >>> BagOfWords(ngram_range=(2, 2)).fit(["a cat sat", "cat sat down"]).vocabulary_
        {'cat sat': 0, 'sat down': 1}
    """

    def __init__(self, *, lowercase: bool = True, token_pattern: str = SKLEARN_TOKEN_PATTERN,
                 ngram_range=(1, 1), max_df=1.0, min_df=1, max_features: int | None = None,
                 binary: bool = False, dtype=np.int64):
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.ngram_range = tuple(ngram_range)
        self.max_df = max_df
        self.min_df = min_df
        self.max_features = max_features
        self.binary = binary
        self.dtype = dtype

    # --- analysis -------------------------------------------------------------------------
    def build_analyzer(self):
        """The function from one document to its list of terms (tokens and n-grams)."""
        lo, hi = self.ngram_range
        if not (1 <= lo <= hi):
            raise ValueError(f"invalid ngram_range {self.ngram_range}: need 1 <= min_n <= max_n")
        tokenize = RegexTokenizer(self.token_pattern, lowercase=self.lowercase)

        def analyze(doc: str) -> list[str]:
            toks = tokenize(doc)
            if hi == 1:
                return toks
            terms = list(toks) if lo == 1 else []
            for n in range(max(lo, 2), min(hi, len(toks)) + 1):
                terms.extend(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
            return terms

        return analyze

    def _check_params(self):
        for name in ("max_df", "min_df"):
            v = getattr(self, name)
            if isinstance(v, numbers.Integral):
                if v < 0:
                    raise ValueError(f"{name} must be >= 0, got {v}")
            elif not (isinstance(v, numbers.Real) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name} as a float must lie in [0, 1], got {v!r}")
        if self.max_features is not None and (not isinstance(self.max_features, numbers.Integral)
                                              or self.max_features <= 0):
            raise ValueError(f"max_features must be a positive int or None, got {self.max_features!r}")

    def _count(self, docs, vocabulary):
        analyze = self.build_analyzer()
        X = np.zeros((len(docs), len(vocabulary)), dtype=self.dtype)
        for r, doc in enumerate(docs):
            for term, c in Counter(analyze(doc)).items():
                j = vocabulary.get(term)
                if j is not None:
                    X[r, j] = c
        if self.binary:
            np.minimum(X, 1, out=X)
        return X

    @staticmethod
    def _docs(raw_documents):
        if isinstance(raw_documents, str):
            raise ValueError("expected an iterable of documents, got one string")
        return list(raw_documents)

    # --- fitting --------------------------------------------------------------------------
    def fit_transform(self, raw_documents, y=None) -> np.ndarray:
        """Learn the vocabulary from ``raw_documents`` and return their (docs, terms) counts."""
        self._check_params()
        docs = self._docs(raw_documents)
        analyze = self.build_analyzer()
        terms = sorted({t for doc in docs for t in analyze(doc)})
        if not terms:
            raise ValueError("empty vocabulary: the documents contain no tokens")
        vocabulary = {t: j for j, t in enumerate(terms)}
        X = self._count(docs, vocabulary)

        n = len(docs)
        high = self.max_df if isinstance(self.max_df, numbers.Integral) else self.max_df * n
        low = self.min_df if isinstance(self.min_df, numbers.Integral) else self.min_df * n
        if high < low:
            raise ValueError("max_df corresponds to fewer documents than min_df")
        df = np.count_nonzero(X, axis=0)
        mask = (df <= high) & (df >= low)
        if self.max_features is not None and mask.sum() > self.max_features:
            totals = X.sum(axis=0, dtype=np.int64)
            best = (-totals[mask]).argsort()[:self.max_features]
            keep = np.zeros(len(terms), dtype=bool)
            keep[np.flatnonzero(mask)[best]] = True
            mask = keep
        kept = np.flatnonzero(mask)
        if len(kept) == 0:
            raise ValueError("after pruning, no terms remain; try a lower min_df or a higher max_df")
        self.vocabulary_ = {terms[j]: i for i, j in enumerate(kept)}
        self.feature_names_ = np.array([terms[j] for j in kept], dtype=object)
        return X[:, kept]

    def fit(self, raw_documents, y=None):
        self.fit_transform(raw_documents)
        return self

    def transform(self, raw_documents) -> np.ndarray:
        """Counts of the fitted vocabulary's terms in ``raw_documents`` (other terms ignored)."""
        if not hasattr(self, "vocabulary_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")
        return self._count(self._docs(raw_documents), self.vocabulary_)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        if not hasattr(self, "feature_names_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")
        return self.feature_names_.copy()


class TfIdf(BagOfWords):
    """TF-IDF weighted document-term matrix (scikit-learn's ``TfidfVectorizer``).

        >>> tfidf = TfIdf()
        >>> X = tfidf.fit_transform(["the cat sat", "the cat and the dog"])
        >>> X.round(4)
        array([[0.    , 0.5015, 0.    , 0.7049, 0.5015],
               [0.4698, 0.3343, 0.4698, 0.    , 0.6685]])
        >>> tfidf.idf_.round(4)
        array([1.4055, 1.    , 1.4055, 1.4055, 1.    ])
    """

    def __init__(self, *, lowercase: bool = True, token_pattern: str = SKLEARN_TOKEN_PATTERN,
                 ngram_range=(1, 1), max_df=1.0, min_df=1, max_features: int | None = None,
                 binary: bool = False, norm: str | None = "l2", use_idf: bool = True,
                 smooth_idf: bool = True, sublinear_tf: bool = False, dtype=np.float64):
        super().__init__(lowercase=lowercase, token_pattern=token_pattern, ngram_range=ngram_range,
                         max_df=max_df, min_df=min_df, max_features=max_features, binary=binary,
                         dtype=np.int64)
        if norm not in ("l2", "l1", None):
            raise ValueError(f"norm must be 'l2', 'l1' or None, got {norm!r}")
        self.norm = norm
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.sublinear_tf = sublinear_tf
        self.float_dtype = np.dtype(dtype)

    def _weigh(self, counts: np.ndarray) -> np.ndarray:
        X = counts.astype(self.float_dtype)
        if self.sublinear_tf:
            nz = X != 0
            X[nz] = np.log(X[nz]) + 1.0
        if self.use_idf:
            X *= self.idf_
        if self.norm is not None:
            norms = (np.sqrt(np.einsum("ij,ij->i", X, X)) if self.norm == "l2"
                     else np.abs(X).sum(axis=1))
            norms[norms == 0.0] = 1.0
            X /= norms[:, None]
        return X

    def fit_transform(self, raw_documents, y=None) -> np.ndarray:
        counts = super().fit_transform(raw_documents)
        if self.use_idf:
            n = counts.shape[0] + int(self.smooth_idf)
            df = np.count_nonzero(counts, axis=0).astype(self.float_dtype) + float(self.smooth_idf)
            self.idf_ = np.log(n / df) + 1.0
        return self._weigh(counts)

    def transform(self, raw_documents) -> np.ndarray:
        return self._weigh(super().transform(raw_documents))
