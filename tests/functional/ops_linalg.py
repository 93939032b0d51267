"""Op-table rows for the linear-algebra family: bmm, addmm, baddbmm, einsum, tril/triu,
and the norms of ``nerve.linalg`` (matmul and linear live in ops_core.py)."""
import numpy as np
import torch_twin as T

import nerve as nv
import nerve.functional as F
from optable import Op, distinct


def tl():
    return T.torch().linalg


def einsum_row(name, eq, shapes, ref_eq=None, **kw):
    return Op(f"einsum_{name}", lambda *xs: F.einsum(eq, *xs),
              lambda *xs: np.einsum(ref_eq or eq, *xs), shapes,
              torch=lambda *xs: T.torch().einsum(eq, *xs), **kw)


def np_matrix_norm(ord):
    def ref(a):
        return np.linalg.norm(a.astype(np.float64), ord=ord, axis=(-2, -1)).astype(a.dtype)
    return ref


ROWS = [
    Op("bmm", F.bmm, np.matmul, [((2, 3, 4), (2, 4, 5)), ((1, 1, 3), (1, 3, 1))], torch=T.f("bmm")),
    Op("bmm_method", lambda a, b: a.bmm(b), np.matmul, [((3, 2, 2), (3, 2, 4))], torch=lambda a, b: a.bmm(b)),
    Op("addmm", F.addmm, lambda c, a, b: c + a @ b, [((3, 5), (3, 4), (4, 5)), ((5,), (3, 4), (4, 5))],
       torch=T.f("addmm")),
    Op("addmm_beta_alpha", lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0),
       lambda c, a, b: 0.5 * c + -2.0 * (a @ b), [((3, 1), (3, 4), (4, 2))],
       torch=lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0)),
    Op("addmm_beta0", lambda c, a, b: F.addmm(c, a, b, beta=0), lambda c, a, b: a @ b,
       [((3, 2), (3, 4), (4, 2))], torch=lambda c, a, b: T.torch().addmm(c, a, b, beta=0)),
    Op("baddbmm", lambda c, a, b: F.baddbmm(c, a, b, beta=2.0, alpha=0.5),
       lambda c, a, b: 2.0 * c + 0.5 * (a @ b), [((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((3, 5), (2, 3, 4), (2, 4, 5))],
       torch=lambda c, a, b: T.torch().baddbmm(c, a, b, beta=2.0, alpha=0.5)),
    Op("baddbmm_method", lambda c, a, b: c.baddbmm(a, b), lambda c, a, b: c + a @ b,
       [((2, 1, 1), (2, 3, 4), (2, 4, 2))], torch=lambda c, a, b: c.baddbmm(a, b)),
    # --------------------------------------------------------------------------- einsum
    einsum_row("matmul", "ij,jk->ik", [((3, 4), (4, 5))]),
    einsum_row("batched", "bij,bjk->bik", [((2, 3, 4), (2, 4, 5))]),
    einsum_row("implicit", "ij,jk", [((3, 4), (4, 2))]),
    einsum_row("implicit_transpose", "ba", [((3, 4),)]),
    einsum_row("implicit_capitals_first", "aB", [((3, 4),)]),
    einsum_row("outer", "i,j->ij", [((3,), (4,))]),
    einsum_row("trace", "ii", [((4, 4),)]),
    einsum_row("diagonal", "ii->i", [((3, 3),)]),
    einsum_row("diag_batch", "bii->bi", [((2, 3, 3),)]),
    einsum_row("sum_all", "ij->", [((3, 4),)]),
    einsum_row("rowdot", "ij,ij->i", [((3, 4), (3, 4))]),
    einsum_row("bilinear", "bn,anm,bm->ba", [((2, 3), (4, 3, 5), (2, 5))]),
    einsum_row("chain3", "ij,jk,kl->il", [((2, 3), (3, 4), (4, 2))]),
    einsum_row("ellipsis", "...ij->...ji", [((2, 3, 4),), ((3, 4),), ((2, 1, 3, 2),)]),
    einsum_row("ellipsis_bcast", "...ij,...jk->...ik", [((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 2))]),
    einsum_row("attention", "bhqd,bhkd->bhqk", [((2, 2, 3, 4), (2, 2, 5, 4))]),
    Op("einsum_sublist", lambda a, b: F.einsum(a, [0, 1], b, [1, 2], [0, 2]), lambda a, b: a @ b,
       [((3, 4), (4, 2))], torch=lambda a, b: T.torch().einsum(a, [0, 1], b, [1, 2], [0, 2])),
    Op("einsum_sublist_implicit_ellipsis", lambda a, b: F.einsum(a, [Ellipsis, 30, 2], b, [2, 40]),
       lambda a, b: np.einsum("...ac,cb->...ab", a, b), [((2, 3, 4), (4, 5))],
       torch=lambda a, b: T.torch().einsum(a, [Ellipsis, 30, 2], b, [2, 40])),
    einsum_row("size1_bcast", "ij,ij->ij", [((3, 1), (3, 4))], ref_eq="ij,ij->ij"),
    # ---------------------------------------------------------------------- tril / triu
    Op("tril", F.tril, np.tril, [((3, 4),), ((4, 3),), ((2, 3, 3),)], torch=T.f("tril")),
    Op("tril_k", lambda a: a.tril(-1), lambda a: np.tril(a, -1), [((3, 4),), ((2, 1, 3, 2),)],
       torch=lambda a: a.tril(-1)),
    Op("triu", F.triu, np.triu, [((3, 4),), ((2, 3, 3),)], torch=T.f("triu")),
    Op("triu_k", lambda a: a.triu(diagonal=2), lambda a: np.triu(a, 2), [((3, 5),), ((2, 4, 4),)],
       torch=lambda a: a.triu(diagonal=2)),
    # --------------------------------------------------------------------------- norms
    Op("vector_norm", lambda a: nv.linalg.vector_norm(a), lambda a: np.linalg.norm(a.reshape(-1)),
       torch=lambda a: tl().vector_norm(a)),
    Op("vector_norm_dim_keepdim", lambda a: nv.linalg.vector_norm(a, 3, dim=(0, -1), keepdim=True),
       lambda a: (np.abs(a) ** 3).sum(axis=(0, -1), keepdims=True) ** (1 / 3), [((3, 4),), ((2, 3, 4),)],
       domain=lambda r, s: r.uniform(0.2, 2.0, s) * r.choice([-1.0, 1.0], s),
       torch=lambda a: tl().vector_norm(a, 3, dim=(0, -1), keepdim=True)),
    Op("vector_norm_1", lambda a: nv.linalg.vector_norm(a, 1, dim=-1), lambda a: np.abs(a).sum(-1),
       [((5,),), ((3, 4),)], domain=lambda r, s: r.uniform(0.2, 2.0, s) * r.choice([-1.0, 1.0], s),
       torch=lambda a: tl().vector_norm(a, 1, dim=-1), double=False),
    Op("vector_norm_inf", lambda a: nv.linalg.vector_norm(a, float("inf"), dim=1),
       lambda a: np.abs(a).max(1), [((3, 4),), ((2, 3, 4),)], domain=distinct,
       torch=lambda a: tl().vector_norm(a, float("inf"), dim=1), double=False),
    Op("matrix_norm_fro", lambda a: nv.linalg.matrix_norm(a), np_matrix_norm("fro"), [((3, 4),), ((2, 3, 4),)],
       torch=lambda a: tl().matrix_norm(a)),
    Op("matrix_norm_nuc", lambda a: nv.linalg.matrix_norm(a, "nuc"), np_matrix_norm("nuc"),
       [((3, 4),), ((2, 4, 3),)], torch=lambda a: tl().matrix_norm(a, "nuc"), double=False,
       fwd_rtol32=1e-4),
    Op("tensor_norm_nuc", lambda a: a.norm("nuc"), np_matrix_norm("nuc"), [((3, 4),)],
       torch=lambda a: a.norm("nuc"), double=False, fwd_rtol32=1e-4),
    Op("tensor_norm_nuc_dim_keepdim", lambda a: a.norm("nuc", dim=(0, 2), keepdim=True),
       lambda a: np.linalg.norm(np.moveaxis(a, 1, 0), "nuc", axis=(-2, -1)).reshape(1, -1, 1),
       [((3, 2, 4),)], torch=lambda a: a.norm("nuc", dim=(0, 2), keepdim=True), double=False,
       fwd_rtol32=1e-4),
    Op("matrix_norm_2", lambda a: nv.linalg.matrix_norm(a, 2), np_matrix_norm(2), [((3, 4),), ((2, 3, 3),)],
       torch=lambda a: tl().matrix_norm(a, 2), double=False, fwd_rtol32=1e-4),
    Op("matrix_norm_m2_keepdim", lambda a: nv.linalg.matrix_norm(a, -2, dim=(0, 2), keepdim=True),
       lambda a: np.linalg.norm(np.moveaxis(a, 1, 0), -2, axis=(-2, -1))[:, None, None].reshape(1, -1, 1),
       [((3, 2, 4),)], torch=lambda a: tl().matrix_norm(a, -2, dim=(0, 2), keepdim=True), double=False,
       fwd_rtol32=1e-4),
    Op("matrix_norm_1", lambda a: nv.linalg.matrix_norm(a, 1), np_matrix_norm(1), [((3, 4),), ((2, 3, 3),)],
       domain=distinct, torch=lambda a: tl().matrix_norm(a, 1), double=False),
    Op("matrix_norm_inf", lambda a: nv.linalg.matrix_norm(a, float("-inf")), np_matrix_norm(-np.inf),
       [((3, 4),), ((2, 3, 3),)], domain=distinct, torch=lambda a: tl().matrix_norm(a, float("-inf")),
       double=False),
    Op("linalg_norm_default", lambda a: nv.linalg.norm(a), lambda a: np.linalg.norm(a.reshape(-1)),
       [((5,),), ((3, 4),), ((2, 3, 4),)], torch=lambda a: tl().norm(a)),
    Op("linalg_norm_ord_matrix", lambda a: nv.linalg.norm(a, "fro", dim=(1, 2)),
       lambda a: np.sqrt((a ** 2).sum(axis=(1, 2))), [((2, 3, 4),)],
       torch=lambda a: tl().norm(a, "fro", dim=(1, 2))),
    Op("linalg_norm_vector_dim", lambda a: nv.linalg.norm(a, 4, dim=0), lambda a: (a ** 4).sum(0) ** 0.25,
       [((3, 4),)], torch=lambda a: tl().norm(a, 4, dim=0)),
]
