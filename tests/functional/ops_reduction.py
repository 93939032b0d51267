"""Op-table rows for the reductions: var, std, max/min, amax/amin, argmax, logsumexp,
prod, cumsum, norm (sum and mean live in ops_core.py)."""
import numpy as np
import torch_twin as T

from nerve.functional import reduction as R
from optable import BINARY_SHAPES, UNARY_SHAPES, Op, away_from_zero, distinct

NONSCALAR = [s for s in UNARY_SHAPES if s[0] != ()]
ND2 = [((3, 4),), ((2, 3, 4),), ((2, 1, 3, 2),)]


def distinct_abs(rng, shape):
    """Well-separated positive values, then random signs: |x| has no near-ties."""
    return (np.abs(distinct(rng, shape)) + 0.5 + np.arange(int(np.prod(shape))).reshape(shape) * 0.01) \
        * rng.choice([-1.0, 1.0], size=shape)


def with_zeros(rng, shapes, dtype):
    """Values with one or two exact zeros per last-axis slice, for prod's zero handling."""
    x = rng.uniform(0.5, 1.5, size=shapes[0]) * rng.choice([-1.0, 1.0], size=shapes[0])
    flat = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
    flat[::2, 0] = 0.0
    if flat.shape[-1] > 2:
        flat[::3, -1] = 0.0
    return [flat.reshape(shapes[0]).astype(dtype)]


def np_logsumexp(a, axis=None, keepdims=False):
    a64 = a.astype(np.float64)
    m = a64.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a64 - m).sum(axis=axis, keepdims=True)) + m
    if not keepdims:
        out = out.reshape(np.sum(a64, axis=axis).shape)
    return out.astype(a.dtype)


def pnorm(p, axis=None, keepdims=False):
    def ref(a):
        if p == np.inf:
            return np.abs(a).max(axis=axis, keepdims=keepdims)
        return (np.abs(a.astype(np.float64)) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)
    return ref


ROWS = [
    # ------------------------------------------------------------------- var / std
    Op("var_all", lambda a: a.var(), lambda a: np.var(a, ddof=1), NONSCALAR, torch=lambda a: a.var()),
    Op("var_dim_c0", lambda a: R.var(a, -1, correction=0), lambda a: np.var(a, axis=-1),
       NONSCALAR, torch=lambda a: a.var(-1, correction=0)),
    Op("var_keepdim_tuple", lambda a: a.var(dim=(0, -1), keepdim=True),
       lambda a: np.var(a, axis=(0, -1), ddof=1, keepdims=True), ND2,
       torch=lambda a: a.var(dim=(0, -1), keepdim=True)),
    Op("var_unbiased_false", lambda a: a.var(0, False), lambda a: np.var(a, axis=0), NONSCALAR,
       torch=lambda a: a.var(0, False)),
    Op("var_scalar_c0", lambda a: a.var(correction=0), lambda a: np.var(a), [((),)],
       torch=lambda a: a.var(correction=0)),
    Op("std_all", lambda a: a.std(), lambda a: np.std(a, ddof=1), NONSCALAR, torch=lambda a: a.std()),
    Op("std_dim", lambda a: a.std(1), lambda a: np.std(a, axis=1, ddof=1), ND2[:2], torch=lambda a: a.std(1)),
    Op("std_keepdim_c0", lambda a: a.std(dim=(-1, -2), correction=0, keepdim=True),
       lambda a: np.std(a, axis=(-1, -2), keepdims=True), ND2,
       torch=lambda a: a.std(dim=(-1, -2), correction=0, keepdim=True)),
    # ------------------------------------------------------------------- max / min
    Op("max_all", lambda a: a.max(), np.max, domain=distinct, torch=lambda a: a.max()),
    Op("min_all", lambda a: a.min(), np.min, domain=distinct, torch=lambda a: a.min()),
    Op("max_dim", lambda a: a.max(dim=-1), lambda a: a.max(-1), NONSCALAR, domain=distinct,
       torch=lambda a: a.max(dim=-1)),
    Op("max_dim_keepdim", lambda a: a.max(0, keepdim=True), lambda a: a.max(0, keepdims=True),
       NONSCALAR, domain=distinct, torch=lambda a: a.max(0, keepdim=True)),
    Op("max_dim_scalar", lambda a: a.max(0), lambda a: a, [((),)], torch=lambda a: a.max(0)),
    Op("min_dim", lambda a: R.min(a, 1), lambda a: a.min(1), ND2, domain=distinct,
       torch=lambda a: a.min(1)),
    Op("max_indices", lambda a: a.max(dim=1).indices, lambda a: a.argmax(1), ND2, domain=distinct,
       torch=lambda a: a.max(dim=1).indices),
    Op("max_binary", lambda a, b: a.max(b), np.maximum, BINARY_SHAPES, torch=lambda a, b: a.max(b)),
    Op("min_binary", lambda a, b: a.min(b), np.minimum, BINARY_SHAPES, torch=lambda a, b: a.min(b)),
    Op("amax_tuple", lambda a: a.amax((0, -1)), lambda a: a.max((0, -1)), ND2, domain=distinct,
       torch=lambda a: a.amax((0, -1))),
    Op("amin_keepdim", lambda a: a.amin(-1, keepdim=True), lambda a: a.min(-1, keepdims=True),
       NONSCALAR, domain=distinct, torch=lambda a: a.amin(-1, keepdim=True)),
    Op("amax_all", lambda a: R.amax(a), np.max, domain=distinct, torch=lambda a: a.amax()),
    Op("argmax_all", lambda a: a.argmax(), np.argmax, domain=distinct, torch=lambda a: a.argmax()),
    Op("argmax_dim", lambda a: a.argmax(1), lambda a: a.argmax(1), ND2, domain=distinct,
       torch=lambda a: a.argmax(1)),
    Op("argmin_keepdim", lambda a: a.argmin(-1, keepdim=True), lambda a: a.argmin(-1, keepdims=True),
       NONSCALAR, domain=distinct, torch=lambda a: a.argmin(-1, keepdim=True)),
    Op("var_mean", lambda a: (lambda vm: vm[0] + 2 * vm[1])(R.var_mean(a, -1)),
       lambda a: np.var(a, -1, ddof=1) + 2 * a.mean(-1), [((3, 4),)],
       torch=lambda a: (lambda vm: vm[0] + 2 * vm[1])(T.torch().var_mean(a, -1))),
    Op("std_mean", lambda a: (lambda sm: sm[0] + 2 * sm[1])(R.std_mean(a, 0, correction=0)),
       lambda a: np.std(a, 0) + 2 * a.mean(0), [((3, 4),)],
       torch=lambda a: (lambda sm: sm[0] + 2 * sm[1])(T.torch().std_mean(a, 0, correction=0))),
    # ------------------------------------------------------------- all / any (no gradient)
    Op("all_dim", lambda a: R.all(a, -1), lambda a: np.all(a, -1), [((3, 4),)],
       make=lambda r, s, d: [(r.random(s[0]) < 0.8).astype(d)], grad=(False,), torch=lambda a: a.all(-1)),
    Op("any_all", lambda a: a.any(), np.any, [((3, 4),)],
       make=lambda r, s, d: [(r.random(s[0]) < 0.1).astype(d)], grad=(False,), torch=lambda a: a.any()),
    # -------------------------------------------------------------------- logsumexp
    Op("logsumexp_dim", lambda a: a.logsumexp(-1), lambda a: np_logsumexp(a, -1), NONSCALAR,
       torch=lambda a: a.logsumexp(-1)),
    Op("logsumexp_keepdim", lambda a: a.logsumexp((0, 1), keepdim=True),
       lambda a: np_logsumexp(a, (0, 1), True), ND2, torch=lambda a: a.logsumexp((0, 1), keepdim=True)),
    Op("logsumexp_all", lambda a: R.logsumexp(a), np_logsumexp,
       torch=lambda a: T.torch().logsumexp(a.reshape(-1), 0)),
    # ------------------------------------------------------------------------- prod
    Op("prod_all", lambda a: a.prod(), np.prod, domain=away_from_zero, torch=lambda a: a.prod()),
    Op("prod_dim", lambda a: a.prod(1), lambda a: a.prod(1), ND2, domain=away_from_zero,
       torch=lambda a: a.prod(1)),
    Op("prod_keepdim", lambda a: a.prod(-1, keepdim=True), lambda a: a.prod(-1, keepdims=True),
       NONSCALAR, domain=away_from_zero, torch=lambda a: a.prod(-1, keepdim=True)),
    Op("prod_zeros_dim", lambda a: a.prod(-1), lambda a: a.prod(-1), NONSCALAR, make=with_zeros,
       torch=lambda a: a.prod(-1)),
    Op("prod_zeros_all", lambda a: a.prod(), np.prod, [((4,),), ((2, 3),)], make=with_zeros,
       torch=lambda a: a.prod()),
    # ------------------------------------------------------------------------ cumsum
    Op("cumsum_first", lambda a: a.cumsum(0), lambda a: np.cumsum(a, 0) if a.ndim else a,
       torch=lambda a: a.cumsum(0)),
    Op("cumsum_last", lambda a: R.cumsum(a, -1), lambda a: np.cumsum(a, -1), NONSCALAR,
       torch=lambda a: a.cumsum(-1)),
    # -------------------------------------------------------------------------- norm
    Op("norm_2", lambda a: a.norm(), lambda a: np.sqrt((a.astype(np.float64) ** 2).sum()).astype(a.dtype),
       torch=lambda a: a.norm()),
    Op("norm_2_dim", lambda a: a.norm(dim=-1), lambda a: np.linalg.norm(a, axis=-1), NONSCALAR,
       torch=lambda a: a.norm(dim=-1)),
    Op("norm_fro_keepdim", lambda a: a.norm("fro", dim=(0, 1), keepdim=True),
       lambda a: np.sqrt((a ** 2).sum(axis=(0, 1), keepdims=True)), ND2,
       torch=lambda a: a.norm("fro", dim=(0, 1), keepdim=True)),
    Op("norm_1", lambda a: a.norm(1, dim=0), pnorm(1, 0), NONSCALAR, domain=away_from_zero,
       torch=lambda a: a.norm(1, dim=0)),
    Op("norm_3", lambda a: a.norm(3), pnorm(3), domain=away_from_zero, torch=lambda a: a.norm(3)),
    Op("norm_1p5_dim", lambda a: a.norm(1.5, dim=-1), pnorm(1.5, -1), NONSCALAR, domain=away_from_zero,
       torch=lambda a: a.norm(1.5, dim=-1)),
    Op("norm_inf", lambda a: a.norm(float("inf"), dim=-1), pnorm(np.inf, -1), NONSCALAR,
       domain=distinct_abs, torch=lambda a: a.norm(float("inf"), dim=-1)),
    Op("norm_0", lambda a: a.norm(0), lambda a: np.asarray((a != 0).sum(), dtype=a.dtype),
       NONSCALAR, torch=lambda a: a.norm(0)),
]
