"""Text tools: tokenizers, vocabularies, byte-pair encoding, bag of words / TF-IDF, masked-LM masking,
Word2Vec (skip-gram with negative sampling).

    >>> import nerve as nv
    >>> toks = nv.text.WhitespaceTokenizer(lowercase=True)("The cat sat")
    >>> nv.text.Vocab.build([toks]).encode(toks)
    [7, 5, 6]
"""
from .bpe import BPETokenizer  # noqa: F401
from .chars import (BUNDLED_TEXT, CharCorpus, CharVocab, CharWindows, help_topics_text,  # noqa: F401
                    read_text, unigram_entropy)
from .corpus import make_sentiment_corpus  # noqa: F401
from .masking import IGNORE_INDEX, mask_tokens  # noqa: F401
from .tokenizers import (SKLEARN_TOKEN_PATTERN, SPECIAL_TOKENS, CharTokenizer,  # noqa: F401
                         RegexTokenizer, Vocab, WhitespaceTokenizer)
from .vectorize import BagOfWords, TfIdf  # noqa: F401
from .word2vec import Word2Vec, make_topic_corpus  # noqa: F401

__all__ = ["make_sentiment_corpus", "mask_tokens", "IGNORE_INDEX", "BagOfWords", "TfIdf", "BPETokenizer", "CharTokenizer", "WhitespaceTokenizer", "RegexTokenizer", "Vocab",
           "SKLEARN_TOKEN_PATTERN", "SPECIAL_TOKENS", "Word2Vec", "make_topic_corpus",
           "help_topics_text", "read_text", "CharVocab", "CharCorpus", "CharWindows", "unigram_entropy",
           "BUNDLED_TEXT"]
