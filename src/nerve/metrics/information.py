"""Information-theoretic metrics: log loss, entropy, cross-entropy, KL divergence, perplexity.

All logarithms are natural (nats) unless ``base`` is given (``base=2`` gives bits). The
convention ``0 * log 0 = 0`` holds throughout, so one-hot distributions are fine.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_1d, check_labels, check_nonempty, check_same_length, encode, to_numpy


def log_loss(y_true, y_prob, *, labels=None, normalize: bool = True, sample_weight=None):
    """Mean negative log-likelihood of the true classes under predicted probabilities.

    ``log_loss = -(1/N) * sum_n log p_n[y_n]``, with each probability first clipped to
    ``[eps, 1 - eps]`` (``eps`` is the machine epsilon of its dtype), as scikit-learn does,
    so a confident mistake costs a large but finite amount.

    Args:
        y_true: ``(N,)`` true labels.
        y_prob: ``(N, C)`` probabilities whose rows sum to 1, or ``(N,)`` probabilities of the
            positive (larger) class of a binary problem.
        labels: the class of each column (default: sorted unique ``y_true``, which then must
            hold at least two classes). The columns follow the order given here; scikit-learn
            instead sorts ``labels`` and reads the columns in sorted order (with a warning), so
            the two differ for unsorted ``labels``.
        normalize: if False, return the sum instead of the mean.
        sample_weight: optional ``(N,)`` weights: the weighted mean (or sum) of the losses.

    Example:
        >>> round(log_loss([0, 1], [[0.9, 0.1], [0.2, 0.8]]), 6)
        0.164252
    """
    fn = "log_loss"
    yt = as_1d(y_true, "y_true", fn)
    p = to_numpy(y_prob, "y_prob", fn)
    p = p.astype(np.float64) if p.dtype.kind not in "f" else p
    check_same_length(yt, p, fn, ("y_true", "y_prob"))
    check_nonempty(len(yt), fn)
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"{fn}: y_prob must lie in [0, 1], got values in [{p.min():.4g}, "
                         f"{p.max():.4g}]; apply softmax (or sigmoid) to logits first")
    classes = np.unique(yt) if labels is None else check_labels(labels, fn)
    if len(classes) < 2:
        raise ValueError(f"{fn}: y_true holds only the class {classes.tolist()}, so the number "
                         "of classes is unknown; pass labels= listing all classes")
    if p.ndim == 1:
        p = p[:, None]
    if p.shape[1] == 1:
        p = np.concatenate([1 - p, p], axis=1)
    if p.shape[1] != len(classes):
        raise ValueError(f"{fn}: y_prob has {p.shape[1]} columns but there are {len(classes)} "
                         f"classes ({classes[:10].tolist()}); pass labels= naming each column")
    row_sums = p.sum(axis=1)
    if not np.allclose(row_sums, 1.0, rtol=np.sqrt(np.finfo(p.dtype).eps), atol=0):
        bad = int(np.argmax(np.abs(row_sums - 1)))
        raise ValueError(f"{fn}: rows of y_prob must sum to 1 (row {bad} sums to "
                         f"{row_sums[bad]:.6g}); pass probabilities, e.g. softmax of logits")
    idx = encode(yt, classes)
    if np.any(idx < 0):
        raise ValueError(f"{fn}: y_true holds {yt[idx < 0][0].item()!r}, which is not in labels "
                         f"{classes.tolist()}")
    eps = np.finfo(p.dtype).eps
    picked = np.clip(p[np.arange(len(yt)), idx], eps, 1 - eps).astype(np.float64)
    total = -np.log(picked)
    if sample_weight is not None:
        from .classification import _weights  # noqa: PLC0415  (one rule for every metric)

        w = _weights(sample_weight, len(yt), fn)
        return float(np.average(total, weights=w) if normalize else (w * total).sum())
    return float(total.mean() if normalize else total.sum())


def _distribution(p, name, fn, axis):
    arr = to_numpy(p, name, fn).astype(np.float64)
    if arr.size == 0:
        raise ValueError(f"{fn}: {name} is empty; pass at least one probability")
    if np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{fn}: {name} must hold finite non-negative numbers")
    total = arr.sum(axis=axis, keepdims=True)
    if np.any(total == 0):
        raise ValueError(f"{fn}: {name} sums to 0 along axis {axis}; it is not a distribution")
    return arr / total  # normalized, like scipy.stats.entropy


def _check_shapes(p, q, fn):
    """``p`` and ``q`` must broadcast (one distribution against a batch is fine)."""
    try:
        np.broadcast_shapes(p.shape, q.shape)
    except ValueError:
        raise ValueError(f"{fn}: p has shape {p.shape} but q has {q.shape}; they must match "
                         "(or one must broadcast to the other)") from None


def _log_base(base, fn):
    if base is None:
        return 1.0
    if base <= 0 or base == 1:
        raise ValueError(f"{fn}: base must be positive and not 1, got {base!r}")
    return float(np.log(base))


def entropy(p, base: float | None = None, axis: int = -1):
    """Shannon entropy of a discrete distribution.

    ``H(p) = -sum_i p_i log p_i`` (with ``0 log 0 = 0``). ``p`` is normalized to sum 1
    along ``axis`` first, as ``scipy.stats.entropy`` does (which uses ``axis=0`` by default;
    here the default is the last axis, so a batch ``(N, C)`` gives ``N`` entropies).

    Args:
        p: probabilities (or non-negative weights) along ``axis``.
        base: logarithm base (``None``: natural log, nats; 2: bits).
        axis: the axis that holds the outcomes.

    Example:
        >>> round(entropy([0.25, 0.25, 0.25, 0.25], base=2), 12)
        2.0
        >>> float(entropy([0.0, 1.0]))
        0.0
    """
    fn = "entropy"
    p = _distribution(p, "p", fn, axis)
    logp = np.log(np.where(p > 0, p, 1.0))
    h = -np.sum(p * logp, axis=axis) / _log_base(base, fn) + 0.0  # + 0.0 turns -0.0 into 0.0
    return float(h) if np.ndim(h) == 0 else h


def kl_divergence(p, q, base: float | None = None, axis: int = -1):
    """Kullback-Leibler divergence of ``q`` from ``p``: the extra cost of coding p with q.

    ``KL(p || q) = sum_i p_i log(p_i / q_i)``; terms with ``p_i = 0`` are 0, and a ``q_i = 0``
    where ``p_i > 0`` gives ``inf``. Both are normalized along ``axis``; equals
    ``scipy.stats.entropy(p, q)``.

    Example:
        >>> round(kl_divergence([0.5, 0.5], [0.9, 0.1]), 6)
        0.510826
    """
    fn = "kl_divergence"
    p = _distribution(p, "p", fn, axis)
    q = _distribution(q, "q", fn, axis)
    _check_shapes(p, q, fn)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    d = np.sum(terms, axis=axis) / _log_base(base, fn)
    return float(d) if np.ndim(d) == 0 else d


def cross_entropy(p, q, base: float | None = None, axis: int = -1):
    """Cross-entropy of distribution ``q`` relative to ``p``: the average code length.

    ``H(p, q) = -sum_i p_i log q_i = H(p) + KL(p || q)``. Both are normalized along ``axis``.
    (For a loss on logits use ``nerve.nn.functional.cross_entropy``.)

    Example:
        >>> round(cross_entropy([1.0, 0.0], [0.8, 0.2]), 6)
        0.223144
    """
    fn = "cross_entropy"
    p = _distribution(p, "p", fn, axis)
    q = _distribution(q, "q", fn, axis)
    _check_shapes(p, q, fn)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(q), 0.0)
    h = np.sum(terms, axis=axis) / _log_base(base, fn)
    return float(h) if np.ndim(h) == 0 else h


def perplexity(nll=None, *, log_probs=None, mask=None, base: float | None = None):
    """Perplexity of a language model: the exponential of the mean negative log-likelihood.

    ``PPL = exp((1/T) * sum_t -log p(w_t | w_<t))``; a model that spreads its probability
    evenly over ``k`` tokens has perplexity ``k``.

    Give exactly one of:
        nll: the mean NLL per token (a number, e.g. a cross-entropy loss), or an array of
            per-token NLLs (their mean is taken).
        log_probs: per-token log-probabilities of the actual next tokens (NLL = -log_probs).

    Args:
        mask: optional boolean array, same shape as the per-token values; only True entries
            count (for padding).
        base: the base the NLL was measured in (``None`` = nats; 2 = bits, giving 2**H).

    Example:
        >>> perplexity(np.log(4.0))
        4.0
        >>> round(perplexity(log_probs=np.log([0.5, 0.25])), 6)
        2.828427
    """
    fn = "perplexity"
    if (nll is None) == (log_probs is None):
        raise ValueError(f"{fn}: pass exactly one of nll (mean or per-token negative "
                         "log-likelihood) and log_probs (per-token log-probabilities)")
    values = to_numpy(nll if log_probs is None else log_probs, "nll", fn).astype(np.float64)
    if log_probs is not None:
        values = -values
        if np.any(values < 0):
            raise ValueError(f"{fn}: log_probs must be <= 0 (logs of probabilities); got "
                             f"{-values.min():.4g}")
    if mask is not None:
        m = to_numpy(mask, "mask", fn).astype(bool)
        if m.shape != values.shape:
            raise ValueError(f"{fn}: mask has shape {m.shape} but the values have "
                             f"{values.shape}")
        values = values[m]
    check_nonempty(values.size, fn, "the token list")
    if np.any(np.isnan(values)):
        raise ValueError(f"{fn}: the NLL values hold NaN (at index "
                         f"{int(np.flatnonzero(np.isnan(values.ravel()))[0])} of the flattened "
                         "values); a diverged loss has no perplexity")
    mean = float(values.mean())
    if not np.isfinite(mean):
        raise ValueError(f"{fn}: the mean NLL is {mean}; some token had probability 0")
    return float(np.exp(mean * _log_base(base, fn)))
