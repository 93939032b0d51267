"""Op-table rows for lookups (nerve.functional.sparse): values, gradients that
accumulate repeated ids, and the bag reductions. padding_idx and scale_grad_by_freq change
the gradient on purpose (it is no longer the derivative), so finite differences cannot check
them: tests/nn/test_embedding.py compares them with PyTorch instead."""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op

IDS = np.array([[1, 3, 1, 0], [4, 1, 2, 3]])   # id 1 three times: gradients must add up
FLAT = np.array([1, 3, 1, 0, 4, 1, 2, 3, 0])
OFFSETS = np.array([0, 3, 3, 7])               # bags of 3, 0 (empty), 4 and 2 ids


def _table(ids):
    def make(r, s, d):
        return [r.standard_normal(s[0]).astype(d), ids.copy()]
    return make


def _bag_ref(W, mode, pad=None):
    ends = list(OFFSETS[1:]) + [FLAT.size]
    out = []
    for a, b in zip(OFFSETS, ends):
        ids = [i for i in FLAT[a:b] if i != pad]
        rows = W[ids] if ids else np.zeros((0, W.shape[1]), W.dtype)
        if not ids:
            out.append(np.zeros(W.shape[1], W.dtype))
        else:
            out.append({"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.max(0)}[mode])
    return np.stack(out)


def _bag(mode, pad=None):
    return Op(f"embedding_bag_{mode}" + ("_pad" if pad is not None else ""),
              lambda W, i, o: F.embedding_bag(i, W, o, mode=mode, padding_idx=pad),
              lambda W, i, o: _bag_ref(W, mode, pad), [((5, 3),)],
              make=lambda r, s, d: [r.standard_normal(s[0]).astype(d), FLAT.copy(), OFFSETS.copy()],
              torch=lambda W, i, o: T.torch().nn.functional.embedding_bag(i, W, o, mode=mode,
                                                                          padding_idx=pad))


ROWS = [
    Op("embedding", lambda W, i: F.embedding(i, W), lambda W, i: W[i], [((5, 3),)], make=_table(IDS),
       torch=lambda W, i: T.torch().nn.functional.embedding(i, W)),
    _bag("sum"), _bag("mean"), _bag("mean", pad=1), _bag("max"),
    Op("embedding_bag_2d", lambda W, i: F.embedding_bag(i, W), lambda W, i: W[i].mean(1), [((5, 3),)],
       make=_table(IDS), torch=lambda W, i: T.torch().nn.functional.embedding_bag(i, W)),
]
