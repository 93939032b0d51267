"""Masking for masked-language-model training, as in BERT (Devlin et al. 2019)."""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..autograd import Tensor

IGNORE_INDEX = -100  # PyTorch's cross_entropy ignore_index default


def mask_tokens(ids, vocab, mask_prob: float = 0.15, generator=None, special_ids=None,
                mask_id: int | None = None, vocab_size: int | None = None):
    """BERT's masking: pick each non-special token with probability ``mask_prob``; of the picked
    ones 80 % become ``<mask>``, 10 % a random ordinary token and 10 % stay as they are.

    Returns ``(inputs, labels)``: ``labels`` hold the original id at the picked positions and
    ``-100`` (PyTorch's ``ignore_index``) elsewhere. ``ids`` is an integer array or Tensor of
    any shape (the outputs have its kind and shape); ``ids`` itself is not modified.

    ``vocab`` is a :class:`~nerve.text.Vocab` (its ``<mask>`` id, its specials, its size), or
    ``None`` with ``mask_id``, ``vocab_size`` and ``special_ids`` given. Special ids are never
    picked, and the random replacements are drawn uniformly from the ids that are not special.
    ``generator`` is a ``nerve.Generator``, a ``numpy.random.Generator`` or None (the global one).

        >>> from nerve.text import Vocab
        >>> import numpy as np
        >>> v = Vocab.build([list("abcdefgh")])
        >>> ids = np.array([[2, 5, 6, 7, 8, 9, 3, 0]])          # <bos> a..e <eos> <pad>
        >>> inputs, labels = mask_tokens(ids, v, mask_prob=0.5, generator=np.random.default_rng(1))
        >>> bool(((labels == -100) | (labels == ids)).all())     # labels: original id or -100
        True
        >>> bool((labels[:, [0, 6, 7]] == -100).all())           # specials are never picked
        True
    """
    if not 0.0 <= mask_prob <= 1.0:
        raise ValueError(f"mask_prob must lie in [0, 1], got {mask_prob}")
    if vocab is not None:
        if mask_id is None:
            if vocab.mask not in vocab.stoi:
                raise ValueError(f"the vocabulary has no {vocab.mask!r} token; build it with that "
                                 "special, or pass mask_id")
            mask_id = vocab.stoi[vocab.mask]
        vocab_size = len(vocab) if vocab_size is None else vocab_size
        special_ids = vocab.special_ids if special_ids is None else special_ids
    if mask_id is None or vocab_size is None:
        raise ValueError("give a Vocab, or mask_id and vocab_size")
    # ``special_ids or ()`` would treat an array holding just id 0 (the usual padding) as "none"
    if isinstance(special_ids, (set, frozenset)):   # np.asarray would make one object, not ids
        special_ids = sorted(special_ids)
    given = () if special_ids is None else np.asarray(special_ids, dtype=np.int64).reshape(-1)
    special = np.asarray(sorted(set(int(i) for i in given) | {int(mask_id)}), dtype=np.int64)
    ordinary = np.setdiff1d(np.arange(vocab_size, dtype=np.int64), special)
    if len(ordinary) == 0:
        raise ValueError("the vocabulary has no ordinary (non-special) ids to draw from")

    is_tensor = isinstance(ids, Tensor)
    arr = np.asarray(ids.numpy() if is_tensor else ids)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
    rng = _random.resolve(generator)

    picked = (rng.random(arr.shape) < mask_prob) & ~np.isin(arr, special)
    labels = np.where(picked, arr, IGNORE_INDEX).astype(np.int64)
    inputs = arr.astype(np.int64, copy=True)
    u = rng.random(arr.shape)
    to_mask = picked & (u < 0.8)
    to_random = picked & (u >= 0.8) & (u < 0.9)
    inputs[to_mask] = mask_id
    inputs[to_random] = ordinary[rng.integers(0, len(ordinary), size=int(to_random.sum()))]
    if is_tensor:
        return Tensor(inputs), Tensor(labels)
    return inputs, labels
