"""BLEU: how many of a translation's n-grams appear in its reference(s), with a length penalty.

For n = 1..N the modified precision ``p_n`` counts each hypothesis n-gram at most as often as
it occurs in the best-matching reference ("clipping"), pooled over the whole corpus:

    p_n = sum_sentences sum_g min(count_hyp(g), max_ref count_ref(g)) / sum_sentences #n-grams

    BP   = 1 if c > r else exp(1 - r / c)       (c: hypothesis length, r: reference length)
    BLEU = 100 * BP * exp(sum_n w_n log p_n)    (w_n = 1/N by default)

where ``r`` sums, per sentence, the reference length closest to the hypothesis length (the
shorter one on a tie). Scores are on sacrebleu's 0-100 scale.

Smoothing (Chen & Cherry, 2014) keeps a zero count from zeroing the whole score:

* ``'none'``: no smoothing; any ``p_n = 0`` gives BLEU 0.
* ``'floor'``: a zero count becomes ``smooth_value`` (default 0.1).
* ``'add-k'``: add ``smooth_value`` (default 1) to the matches and totals of orders n >= 2.
* ``'exp'``: the k-th zero precision becomes ``1 / (2^k * total_n)`` (the NIST/mteval rule).

Tokens: a sentence is either a whitespace-separated string or a list of tokens. For
hypothesis ``i``, ``references[i]`` is one reference, or a list of several, best in the same
form as the hypotheses; with token-list hypotheses, a reference string is split on spaces,
and a list of strings that hold spaces (while the hypothesis tokens hold none) is refused as
ambiguous (several sentences, or one reference of multi-word tokens?).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import NamedTuple

import numpy as np

SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1.0, "exp": None}


class BleuResult(NamedTuple):
    """BLEU and its parts: ``precisions`` are in percent, lengths are token counts."""

    score: float
    precisions: list
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    matches: list
    totals: list


def _tokens(sentence, fn):
    if isinstance(sentence, str):
        return sentence.split()
    if isinstance(sentence, (list, tuple)) and all(isinstance(t, str) for t in sentence):
        return list(sentence)
    raise ValueError(f"{fn}: a sentence must be a string or a list of string tokens, got "
                     f"{type(sentence).__name__} {sentence!r:.60}")


def _references_of(ref, tokenized: bool, fn, hyp_tokens=()):
    """The references of one hypothesis, each as a token list."""
    if tokenized:
        # one reference = list of str; several = list of lists of str
        several = all(isinstance(r, (list, tuple)) for r in ref) if ref else False
        if isinstance(ref, (list, tuple)) and several:
            return [_tokens(r, fn) for r in ref]
        if isinstance(ref, (list, tuple)) and ref and all(isinstance(r, str) for r in ref) \
                and any(len(r.split()) > 1 for r in ref) \
                and not any(len(t.split()) > 1 for t in hyp_tokens):
            # Strings holding spaces next to a hypothesis whose tokens hold none: most likely
            # several sentence references, but possibly one reference with multi-word tokens.
            # Read as tokens they matched nothing and BLEU came out 0 without a word; guessing
            # either way could be wrong, so say what the two forms are.
            raise ValueError(
                f"{fn}: the hypothesis is a token list but its references {list(ref)!r:.80} are "
                "strings with spaces; pass several references as token lists ([r.split() for r in "
                "refs]) or the hypothesis as one string (' '.join(tokens))")
        return [_tokens(ref, fn)]
    if isinstance(ref, str):
        return [ref.split()]
    if isinstance(ref, (list, tuple)) and ref and all(isinstance(r, str) for r in ref):
        return [r.split() for r in ref]
    raise ValueError(f"{fn}: hypotheses are strings, so each reference must be a string or a "
                     f"list of strings, got {ref!r:.60}")


def _ngrams(tokens, max_n):
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_n + 1)
                   for i in range(len(tokens) - n + 1))


def _closest_length(hyp_len, ref_lens):
    # The closest reference length; the shorter one wins a tie.
    return min(ref_lens, key=lambda r: (abs(r - hyp_len), r))


def bleu_statistics(hypotheses, references, max_n: int = 4, fn: str = "corpus_bleu"):
    """Sufficient statistics of corpus BLEU: matches and totals per order, and lengths.

    Returns ``(matches, totals, hyp_len, ref_len)`` summed over the corpus; they add up
    across batches, so BLEU of a corpus can be accumulated piece by piece.
    """
    if isinstance(hypotheses, str):
        raise ValueError(f"{fn}: hypotheses should be a list of sentences; wrap a single "
                         "sentence in a list or use sentence_bleu")
    hypotheses = list(hypotheses)
    references = list(references)
    if not hypotheses:
        raise ValueError(f"{fn}: got 0 hypotheses; pass at least one sentence")
    if len(hypotheses) != len(references):
        raise ValueError(f"{fn}: {len(hypotheses)} hypotheses but {len(references)} reference "
                         "entries; give references[i] (one or a list) for each hypothesis i")
    tokenized = not isinstance(hypotheses[0], str)
    matches = np.zeros(max_n, dtype=np.int64)
    totals = np.zeros(max_n, dtype=np.int64)
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        h = _tokens(hyp, fn)
        refs = _references_of(ref, tokenized, fn, h)
        h_counts = _ngrams(h, max_n)
        best = Counter()  # for each n-gram, its largest count in any one reference
        for r in refs:
            best |= _ngrams(r, max_n)
        for g, c in h_counts.items():
            matches[len(g) - 1] += min(c, best[g])
        totals += [max(len(h) - n + 1, 0) for n in range(1, max_n + 1)]
        hyp_len += len(h)
        ref_len += _closest_length(len(h), [len(r) for r in refs])
    return matches, totals, hyp_len, ref_len


def bleu_from_statistics(matches, totals, hyp_len, ref_len, *, weights=None, smooth="none",
                         smooth_value=None, effective_order: bool = False,
                         fn: str = "corpus_bleu") -> BleuResult:
    """BLEU from the counts of :func:`bleu_statistics` (smoothing as in the module docstring)."""
    max_n = len(matches)
    if smooth is None:
        smooth = "none"
    if smooth not in SMOOTH_DEFAULTS:
        raise ValueError(f"{fn}: smooth={smooth!r} is not one of {list(SMOOTH_DEFAULTS)}")
    if smooth_value is None:
        smooth_value = SMOOTH_DEFAULTS[smooth]
    if weights is None:
        weights = [1.0 / max_n] * max_n
    weights = [float(w) for w in weights]
    if len(weights) != max_n:
        raise ValueError(f"{fn}: {len(weights)} weights for max_n={max_n}; give one per order")
    matches = [float(m) for m in matches]
    totals = [float(t) for t in totals]
    bp = 1.0
    if hyp_len < ref_len:
        bp = math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0
    precisions = [0.0] * max_n
    if not any(matches):
        return BleuResult(0.0, precisions, bp, hyp_len, ref_len, matches, totals)
    order = max_n  # how many orders enter the mean
    zeros_seen = 1.0
    for n in range(max_n):
        if smooth == "add-k" and n > 0:
            matches[n] += smooth_value
            totals[n] += smooth_value
        if totals[n] == 0:  # the hypotheses are shorter than n + 1 tokens
            break
        if effective_order:
            order = n + 1
        if matches[n] == 0:
            if smooth == "exp":
                zeros_seen *= 2
                precisions[n] = 100.0 / (zeros_seen * totals[n])
            elif smooth == "floor":
                precisions[n] = 100.0 * smooth_value / totals[n]
        else:
            precisions[n] = 100.0 * matches[n] / totals[n]
    used = precisions[:order]
    if min(used) <= 0.0:
        score = 0.0
    else:
        w = weights[:order]
        if effective_order and order < max_n:
            w = [x / sum(w) for x in w]
        score = 100.0 * bp * math.exp(sum(wi * math.log(p / 100.0) for wi, p in zip(w, used)))
    return BleuResult(score, precisions, bp, hyp_len, ref_len, matches, totals)


def corpus_bleu(hypotheses, references, max_n: int | None = None, weights=None, smooth="none",
                smooth_value=None, effective_order: bool = False, details: bool = False):
    """Corpus-level BLEU (0-100) of hypotheses against one or more references each.

    Counts are pooled over all sentences before dividing, which is not the mean of
    sentence scores. With ``smooth='none'`` this equals
    ``sacrebleu.corpus_bleu(hyps, [refs], tokenize='none', smooth_method='none')`` on
    whitespace-tokenized text, and ``100 * nltk.translate.bleu_score.corpus_bleu`` when every
    hypothesis has at least ``max_n`` tokens (for a shorter one nltk counts one unmatched n-gram
    of each missing order, where this function and sacrebleu count none).

    Args:
        hypotheses: list of sentences (strings, or lists of tokens).
        references: ``references[i]`` is the reference of hypothesis ``i``, or a list of them.
        max_n: the largest n-gram order (default 4, or ``len(weights)``).
        weights: ``max_n`` weights of the log precisions (default uniform ``1/max_n``).
        smooth: ``'none'`` (or ``None``), ``'floor'``, ``'add-k'`` or ``'exp'``.
        smooth_value: the constant of ``'floor'`` (0.1) and ``'add-k'`` (1).
        effective_order: average only over the orders the hypotheses are long enough for.
        details: return a :class:`BleuResult` instead of the score alone.

    Example:
        >>> corpus_bleu(["the cat sat on the mat"], ["the cat sat on the mat"])
        100.0
        >>> hyps = ["the cat sat on a mat", "a dog ran in the park"]
        >>> refs = [["the cat sat on the mat", "a dog sat on the mat"],  # two references
        ...         "the dog ran in a park"]                            # one reference
        >>> round(corpus_bleu(hyps, refs), 2)
        42.04
    """
    max_n = _check_max_n(max_n, weights, "corpus_bleu")
    stats = bleu_statistics(hypotheses, references, max_n, "corpus_bleu")
    result = bleu_from_statistics(*stats, weights=weights, smooth=smooth,
                                  smooth_value=smooth_value, effective_order=effective_order)
    return result if details else result.score


def sentence_bleu(hypothesis, references, max_n: int | None = None, weights=None, smooth="exp",
                  smooth_value=None, effective_order: bool = True, details: bool = False):
    """BLEU (0-100) of one hypothesis against one reference or a list of references.

    Short single sentences often have no matching 4-gram, so, like
    ``sacrebleu.sentence_bleu``, the defaults smooth with ``'exp'`` and use the effective
    order. Average sentence scores only for per-sentence analysis; report corpus BLEU.

    Example:
        >>> sentence_bleu("the cat sat on the mat", "the cat sat on the mat")
        100.0
        >>> round(sentence_bleu("the cat sat", "the cat sat down"), 2)
        71.65
    """
    max_n = _check_max_n(max_n, weights, "sentence_bleu")
    stats = bleu_statistics([hypothesis], [references], max_n, "sentence_bleu")
    result = bleu_from_statistics(*stats, weights=weights, smooth=smooth,
                                  smooth_value=smooth_value, effective_order=effective_order,
                                  fn="sentence_bleu")
    return result if details else result.score


def _check_max_n(max_n, weights, fn):
    if max_n is None:
        max_n = 4 if weights is None else len(weights)
    if not isinstance(max_n, (int, np.integer)) or max_n < 1:
        raise ValueError(f"{fn}: max_n must be a positive integer, got {max_n!r}")
    return int(max_n)


bleu = corpus_bleu
