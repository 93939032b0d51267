"""Op-table rows for names found missing while porting PyTorch programs (issue 18):
F.pixel_shuffle, F.pixel_unshuffle, F.cosine_similarity."""
import numpy as np
import torch_twin as T

import nerve.functional as F
from optable import Op


def np_pixel_shuffle(r):
    def ref(a):
        *lead, c, h, w = a.shape
        out = np.empty((*lead, c // (r * r), h * r, w * r), a.dtype)
        for i in range(r):          # loop over the r x r sub-pixel offsets, straight from the definition
            for j in range(r):
                out[..., i::r, j::r] = a[..., i * r + j::r * r, :, :]
        return out
    return ref


def np_pixel_unshuffle(r):
    def ref(a):
        *lead, c, h, w = a.shape
        out = np.empty((*lead, c * r * r, h // r, w // r), a.dtype)
        for i in range(r):
            for j in range(r):
                out[..., i * r + j::r * r, :, :] = a[..., i::r, j::r]
        return out
    return ref


def np_cosine_similarity(dim=1, eps=1e-8):
    def ref(a, b):
        a64, b64 = np.broadcast_arrays(a.astype(np.float64), b.astype(np.float64))
        na = np.maximum(np.sqrt((a64 ** 2).sum(dim, keepdims=True)), eps)
        nb = np.maximum(np.sqrt((b64 ** 2).sum(dim, keepdims=True)), eps)
        return ((a64 / na) * (b64 / nb)).sum(dim).astype(a.dtype)
    return ref


ROWS = [
    Op("pixel_shuffle", lambda a: F.pixel_shuffle(a, 2), np_pixel_shuffle(2), [((2, 8, 3, 4),), ((12, 2, 3),)],
       torch=T.nnf("pixel_shuffle", upscale_factor=2)),
    Op("pixel_shuffle_r3", lambda a: F.pixel_shuffle(a, 3), np_pixel_shuffle(3), [((1, 2, 9, 2, 2),)],
       torch=T.nnf("pixel_shuffle", upscale_factor=3)),
    Op("pixel_unshuffle", lambda a: F.pixel_unshuffle(a, 2), np_pixel_unshuffle(2),
       [((2, 3, 4, 6),), ((1, 2, 2),)], torch=T.nnf("pixel_unshuffle", downscale_factor=2)),
    Op("cosine_similarity", F.cosine_similarity, np_cosine_similarity(), [((3, 4), (3, 4)), ((2, 3, 5), (3, 1))],
       torch=T.nnf("cosine_similarity")),
    Op("cosine_similarity_last", lambda a, b: F.cosine_similarity(a, b, dim=-1), np_cosine_similarity(-1),
       [((4, 5), (4, 5)), ((6,), (6,))], torch=T.nnf("cosine_similarity", dim=-1)),
]
