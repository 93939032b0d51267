"""Matrix products and linear algebra: matmul, bmm, addmm, einsum, tril/triu, norms.

``nerve.linalg`` re-exports the norms (``vector_norm``, ``matrix_norm``, ``norm``).
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..backend import get_array_module
from ..backend.blas import TN_SMALL_MN, linear_plan
from ._util import Tensor, _wrap, data_of
from .activation import _col_sum


def _swap(a):
    """Transpose the last two dimensions (arrays or Tensors)."""
    if isinstance(a, Tensor):
        from .shape import transpose  # noqa: PLC0415

        return transpose(a, -2, -1)
    return a.swapaxes(-1, -2)


class MatMul(Function):
    """x @ y with NumPy's rules: 1-D operands are promoted, batch dims broadcast."""

    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0:
            raise RuntimeError("matmul: both arguments need at least 1 dimension; use * for scalars")
        kx = x.shape[-1]
        ky = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if kx != ky:
            raise RuntimeError(
                f"matmul: shapes {tuple(x.shape)} and {tuple(y.shape)} cannot be multiplied "
                f"({kx} columns on the left, {ky} rows on the right)")
        if x.dtype != y.dtype:
            raise RuntimeError(
                f"matmul: both operands must have the same dtype, got {x.dtype} and {y.dtype}; "
                "convert one with .float() or .double()")
        ctx.save_for_backward(x, y)
        return x @ y

    def backward(ctx, grad):
        x, y = ctx.saved
        ub = ctx.xp.unbroadcast
        n = ctx.needs_input_grad
        x2 = x.reshape((1,) + tuple(x.shape)) if x.ndim == 1 else x
        y2 = y.reshape(tuple(y.shape) + (1,)) if y.ndim == 1 else y
        g = grad
        if x.ndim == 1:
            g = g.reshape(tuple(g.shape[:-1]) + (1,) + tuple(g.shape[-1:])) if y.ndim > 1 else g.reshape((1,))
        if y.ndim == 1:
            g = g.reshape(tuple(g.shape) + (1,))
        gx = gy = None
        if n[0]:
            gx = g @ _swap(y2)
            gx = ub(gx, tuple(x2.shape)).reshape(tuple(x.shape))
        if n[1]:
            gy = _swap(x2) @ g
            gy = ub(gy, tuple(y2.shape)).reshape(tuple(y.shape))
        return gx, gy


def _x_wt(xp, x, W):
    """``x @ Wᵀ`` for 2-D x, in the pieces ``backend.blas.linear_plan`` proposes for shapes that
    OpenBLAS would otherwise run far from its best (a few rows against many outputs, or many rows
    against few outputs); the whole product otherwise."""
    plan = None
    if getattr(xp, "module", xp) is np and W.flags.c_contiguous:
        plan = linear_plan(x.shape[0], W.shape[0], W.shape[1], x.dtype)
    if plan is None:
        return x @ W.T
    kind, blocks = plan
    out = np.empty((x.shape[0], W.shape[0]), dtype=np.result_type(x, W))
    if kind == "cols":
        for b in blocks:
            np.matmul(x, W[b].T, out=out[:, b])
    else:
        WT = np.ascontiguousarray(W.T)
        for b in blocks:
            np.matmul(x[b], WT, out=out[b])
    return out


class Linear(Function):
    """y = x Wᵀ + b, fused: one GEMM forward, two backward, no transposed copies kept.

    x: (..., in), W: (out, in), b: (out,) → (..., out).
    """

    def forward(ctx, x, W, b):
        if x.shape[-1] != W.shape[1] if x.ndim else True:
            raise RuntimeError(
                f"linear: input of shape {tuple(x.shape)} has {x.shape[-1] if x.ndim else 0} features "
                f"in its last dimension, but the weight of shape {tuple(W.shape)} expects "
                f"{W.shape[1]}" + ("; did you forget to flatten the input (nn.Flatten())?"
                                   if x.ndim > 2 else ""))
        if x.dtype is not W.dtype and x.dtype != W.dtype:
            raise RuntimeError(
                f"linear: input dtype {x.dtype} does not match weight dtype {W.dtype}; "
                "convert the input with .float() (or the model with .double())")
        ctx.save_for_backward(x, W)
        # NOTE: more than 2-D, one (M, in) GEMM instead of NumPy's loop of per-batch GEMMs:
        # ~25% faster for (16, 64, 128) inputs, the transformer's shape
        x2 = x.reshape((-1, W.shape[1])) if x.ndim > 2 else x
        M, O = x2.shape[0], W.shape[0]
        # Only the two shape families linear_plan may cut go to it: two integer tests, so the
        # usual shapes (and one (in,) sample) make no extra call.
        if x2.ndim == 2 and ((2 <= M <= 16 and M * O > TN_SMALL_MN) or (M >= 512 and O <= 64)):
            out = _x_wt(ctx.xp, x2, W)
        else:
            out = x2 @ W.T
        if x.ndim > 2:
            out = out.reshape(x.shape[:-1] + (O,))
        if b is not None:
            out += b
        return out

    def backward(ctx, grad):
        x, W = ctx.saved
        n = ctx.needs_input_grad
        gx = gW = gb = None
        g2 = grad.reshape((-1, W.shape[0])) if grad.ndim != 2 else grad       # (M, out)
        if n[0]:
            gx = grad @ W if grad.ndim < 3 else (g2 @ W).reshape(x.shape)    # one GEMM, as forward
        if n[1] or n[2]:
            if n[1]:
                x2 = x.reshape((-1, W.shape[1])) if x.ndim != 2 else x        # (M, in)
                gW = g2.T @ x2                                                 # (out, in)
            if n[2]:
                gb = _col_sum(g2)
        return gx, gW, gb


def matmul(x, y):
    """Matrix product with NumPy's broadcasting rules (also ``x @ y``)."""
    return MatMul.apply(x, y)


def mm(x, y):
    if x.ndim != 2 or y.ndim != 2:
        raise RuntimeError(f"mm expects two 2-D tensors, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    return MatMul.apply(x, y)


def linear(input, weight, bias=None):  # noqa: A002
    """y = input @ weightᵀ + bias; the op behind ``nn.Linear``."""
    return Linear.apply(input, weight, bias)


TENSOR_METHODS = {"__matmul__": matmul, "__rmatmul__": lambda x, y: matmul(y, x),
                  "matmul": matmul, "mm": mm}
GRAPH_NAMESPACE = {"matmul": matmul}


# ------------------------------------------------------------------- batched products
def _check_bmm(op, x, y):
    if x.ndim != 3 or y.ndim != 3:
        raise RuntimeError(f"{op}: expected two 3-D tensors (B, n, m) and (B, m, p), got shapes "
                           f"{tuple(x.shape)} and {tuple(y.shape)}; use matmul for broadcasting")
    if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[1]:
        raise RuntimeError(f"{op}: shapes {tuple(x.shape)} and {tuple(y.shape)} do not fit: the batch "
                           f"sizes ({x.shape[0]} vs {y.shape[0]}) and the inner sizes "
                           f"({x.shape[2]} vs {y.shape[1]}) must be equal")


def bmm(input, mat2):  # noqa: A002
    """Batched matrix product without broadcasting: (B, n, m) @ (B, m, p) → (B, n, p).

    Example:
        >>> import nerve as nv
        >>> nv.bmm(nv.ones(2, 3, 4), nv.ones(2, 4, 5)).shape
        (2, 3, 5)
    """
    _check_bmm("bmm", input, mat2)
    return MatMul.apply(input, mat2)


def _scaled_sum(op, input, prod, beta, alpha):
    """beta·input + alpha·prod; beta = 0 ignores input entirely (nan/inf included), as torch."""
    from .elementwise import add, mul  # noqa: PLC0415

    out = prod if alpha == 1 else mul(prod, alpha)
    if beta == 0:
        return out
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(out.shape))
    except ValueError:
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} cannot be broadcast to the "
                           f"product's shape {tuple(out.shape)}") from None
    return add(input if beta == 1 else mul(input, beta), out)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """beta·input + alpha·(mat1 @ mat2) for 2-D mat1 (n, m) and mat2 (m, p); input broadcasts.

    Composed of matmul, mul and add (each with its own backward): the GEMM dominates, so a
    fused op would save only one elementwise pass.

    Example:
        >>> import nerve as nv
        >>> nv.addmm(nv.ones(3), nv.ones(2, 4), nv.ones(4, 3), beta=0.5).tolist()
        [[4.5, 4.5, 4.5], [4.5, 4.5, 4.5]]
    """
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm: mat1 and mat2 must be 2-D, got shapes {tuple(mat1.shape)} and "
                           f"{tuple(mat2.shape)}; use baddbmm for batches")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"addmm: mat1 of shape {tuple(mat1.shape)} and mat2 of shape {tuple(mat2.shape)} "
                           f"cannot be multiplied ({mat1.shape[1]} columns vs {mat2.shape[0]} rows)")
    return _scaled_sum("addmm", input, MatMul.apply(mat1, mat2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta·input + alpha·bmm(batch1, batch2); input broadcasts to (B, n, p).

    Example:
        >>> import nerve as nv
        >>> nv.baddbmm(nv.zeros(2, 3, 5), nv.ones(2, 3, 4), nv.ones(2, 4, 5), alpha=2).sum().item()
        240.0
    """
    _check_bmm("baddbmm", batch1, batch2)
    return _scaled_sum("baddbmm", input, MatMul.apply(batch1, batch2), beta, alpha)


# ---------------------------------------------------------------------------- einsum
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation, shapes):
    """Explicit form of an einsum equation: (input subscripts, output subscripts), with
    ``...`` replaced by fresh letters and the implicit output (letters used once, sorted,
    after the ellipsis dims) made explicit."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(terms)} operands but "
                         f"{len(shapes)} were given")
    used = set(c for c in eq if c.isalpha())
    fresh = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for t, s in zip(terms, shapes):
        if "..." in t:
            n_ell = max(n_ell, len(s) - (len(t) - 3))
        elif len(t) != len(s):
            raise ValueError(f"einsum: subscripts {t!r} name {len(t)} dimensions but the operand has "
                             f"shape {tuple(s)}")
    ell = "".join(fresh[:n_ell])
    out_terms = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            if k < 0:
                raise ValueError(f"einsum: subscripts {t!r} name more dimensions than the operand's "
                                 f"shape {tuple(s)}")
            t = t.replace("...", ell[n_ell - k:])
        if not all(c.isalpha() for c in t):
            raise ValueError(f"einsum: invalid subscripts {t!r} in {equation!r}; use letters a-z, A-Z and ...")
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell)
        if not all(c.isalpha() for c in out) or len(set(out)) != len(out):
            raise ValueError(f"einsum: invalid output subscripts {rhs!r} in {equation!r}")
        for c in out:
            if not any(c in t for t in out_terms):
                raise ValueError(f"einsum: output subscript {c!r} does not appear in any input of {equation!r}")
    else:
        joined = "".join(out_terms)
        once = sorted((c for c in set(joined) if joined.count(c) == 1 and c not in ell),
                      )  # ASCII order: capitals first, as torch
        out = ell + "".join(once)
    return out_terms, out


def _letter_sizes(terms, shapes, equation):
    sizes = {}
    for t, s in zip(terms, shapes):
        for c, n in zip(t, s):
            if n != 1 and sizes.get(c, 1) != 1 and sizes[c] != n:
                raise RuntimeError(f"einsum: subscript {c!r} has size {sizes[c]} in one operand and {n} in "
                                   f"another in {equation!r} (shapes {[tuple(x) for x in shapes]})")
            if n != 1 or c not in sizes:
                sizes[c] = n
    return sizes


def _einsum_arrays(xp, spec, *ops):
    big = len(ops) > 2 or (len(ops) == 2 and data_of(ops[0]).size * data_of(ops[1]).size > 4096)
    return xp.einsum(spec, *ops, optimize=big)


class Einsum(Function):
    """einsum over explicit subscripts (``...`` already expanded, sizes already equal).

    The gradient of operand k is an einsum of the upstream gradient with the other
    operands, producing k's distinct letters; letters only k has are broadcast back, and a
    letter k repeats (a diagonal, as in ``'ii->i'``) is written onto the diagonal through
    an identity matrix. So the backward is einsums, reshapes and broadcasts only, and is
    differentiable again.
    """

    def forward(ctx, *ops, terms, out, sizes):
        ctx.terms, ctx.out, ctx.sizes = terms, out, sizes
        ctx.save_for_backward(*ops)
        return _einsum_arrays(ctx.xp, ",".join(terms) + "->" + out, *ops)

    def backward(ctx, grad):
        ops = ctx.saved
        xp, terms, out, sizes = ctx.xp, ctx.terms, ctx.out, ctx.sizes
        grads = []
        for k, tk in enumerate(terms):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(t, o) for j, (t, o) in enumerate(zip(terms, ops)) if j != k]
            have = set(out).union(*[set(t) for t, _ in others])
            uniq = "".join(dict.fromkeys(tk))
            present = "".join(c for c in uniq if c in have)
            spec = ",".join([out] + [t for t, _ in others]) + "->" + present
            g = _einsum_arrays(xp, spec, grad, *[o for _, o in others])
            if present != uniq:  # letters summed inside operand k alone: broadcast back
                g = g.reshape(tuple(sizes[c] if c in present else 1 for c in uniq))
                g = xp.broadcast_to(g, tuple(sizes[c] for c in uniq))
            if uniq != tk:  # repeated letters: place g on the diagonal
                fresh = [c for c in _LETTERS if c not in tk]
                seen, tgt, eyes, mats = set(), "", [], []
                for c in tk:
                    if c in seen:
                        f = fresh.pop(0)
                        tgt += f
                        eyes.append(c + f)
                        mats.append(get_array_module(data_of(g)).eye(sizes[c], dtype=g.dtype))
                    else:
                        seen.add(c)
                        tgt += c
                g = xp.einsum(",".join([uniq] + eyes) + "->" + tgt, g, *mats)
            grads.append(g)
        return tuple(grads)


def _sublist_equation(args):
    """torch's sublist form ``(op, [dims], op, [dims], ..., [out dims])`` as an equation.

    Dims are ints in [0, 52) or ``...``; 0–25 become A–Z and 26–51 a–z, so the letters
    sort like the ints (the implicit output's order)."""
    def letters(sub):
        out = ""
        for d in sub:
            if d is Ellipsis:
                out += "..."
            elif isinstance(d, (int, np.integer)) and 0 <= d < 52:
                out += chr(ord("A") + d) if d < 26 else chr(ord("a") + d - 26)
            else:
                raise ValueError(f"einsum: sublist entries must be ints in [0, 52) or ..., got {d!r}")
        return out

    ops, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(ops) > len(subs):  # an odd count: the last item is the output sublist
        out = ops.pop()
        if isinstance(out, Tensor):
            raise TypeError("einsum: in the sublist form every operand needs its own list of dims")
    if not ops or not all(isinstance(o, Tensor) for o in ops):
        raise TypeError("einsum: the first argument must be the equation string, or a Tensor "
                        "followed by its list of dims (sublist form)")
    eq = ",".join(letters(sub) for sub in subs)
    if out is not None:
        eq += "->" + letters(out)
    return eq, tuple(ops)


def einsum(equation, *operands):
    """Sum of products over named dimensions, as ``torch.einsum`` / ``numpy.einsum``.

    ``equation`` names each operand's dimensions with letters (``'bij,bjk->bik'``);
    letters missing from the output are summed. ``...`` stands for broadcast dimensions;
    without ``->`` the output is the ellipsis dims then the letters used once, sorted.
    Operands may also be passed as one list, or in torch's sublist form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. Contractions go through NumPy's optimised
    path (BLAS) when the operands are large enough for it to pay.

    Example:
        >>> import nerve as nv
        >>> a, b = nv.ones(2, 3), nv.ones(3, 4)
        >>> nv.einsum('ij,jk->ik', a, b).shape
        (2, 4)
        >>> nv.einsum('ii', nv.eye(3)).item()
        3.0
    """
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    ts = [o if isinstance(o, Tensor) else _wrap(np.asarray(o)) for o in operands]
    shapes = [tuple(t.shape) for t in ts]
    terms, out = _parse_einsum(equation, shapes)
    sizes = _letter_sizes(terms, shapes, equation)
    for t, term in zip(ts, terms):
        if len(set(term)) != len(term):
            for c in set(term):
                dims = [t.shape[i] for i, cc in enumerate(term) if cc == c]
                if len(set(dims)) > 1:
                    raise RuntimeError(f"einsum: subscript {c!r} is repeated in {term!r} but those "
                                       f"dimensions of shape {tuple(t.shape)} differ")
    # Size-1 dims that meet a larger size elsewhere broadcast explicitly (a differentiable
    # expand), so the op itself sees equal sizes.
    from .shape import expand  # noqa: PLC0415

    fixed = []
    for t, term in zip(ts, terms):
        want = tuple(sizes[c] for c in term)
        fixed.append(expand(t, want) if want != tuple(t.shape) else t)
    dts = {t.dtype for t in fixed}
    if len(dts) > 1:
        raise RuntimeError(f"einsum: operands must share one dtype, got {sorted(map(str, dts))}; "
                           "convert with .float() or .double()")
    return Einsum.apply(*fixed, terms=tuple(terms), out=out, sizes=sizes)


def _np_einsum(spec, *operands, optimize=False):
    """ctx.xp.einsum under create_graph: an explicit spec over Tensors and constant arrays."""
    return einsum(spec, *operands)


# --------------------------------------------------------------------- tril and triu
class Tri(Function):
    """Keep the lower (``upper=False``) or upper triangle of the last two dims, from
    diagonal ``k``; the gradient is the same triangle of grad."""

    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        return ctx.xp.triu(x, k) if upper else ctx.xp.tril(x, k)

    def backward(ctx, grad):
        xp = ctx.xp
        return (xp.triu(grad, ctx.k) if ctx.upper else xp.tril(grad, ctx.k)), None, None


def _tri(x, diagonal, upper):
    op = "triu" if upper else "tril"
    if x.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions, got shape {tuple(x.shape)}")
    return Tri.apply(x, int(diagonal), upper)


def tril(input, diagonal=0):  # noqa: A002
    """The lower triangle of the last two dims (elements with col − row ≤ diagonal); the
    rest is zero.

    Example:
        >>> import nerve as nv
        >>> nv.tril(nv.ones(2, 3)).tolist()
        [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    return _tri(input, diagonal, False)


def triu(input, diagonal=0):  # noqa: A002
    """The upper triangle of the last two dims (col − row ≥ diagonal); the rest is zero.

    Example:
        >>> import nerve as nv
        >>> nv.triu(nv.ones(2, 3), 1).tolist()
        [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    return _tri(input, diagonal, True)


TENSOR_METHODS.update({"bmm": bmm, "addmm": lambda x, m1, m2, *, beta=1, alpha=1: addmm(x, m1, m2, beta=beta,
                                                                                           alpha=alpha),
                       "baddbmm": lambda x, b1, b2, *, beta=1, alpha=1: baddbmm(x, b1, b2, beta=beta, alpha=alpha),
                       "tril": tril, "triu": triu})
GRAPH_NAMESPACE.update({"einsum": _np_einsum, "tril": lambda m, k=0: tril(m, k),
                        "triu": lambda m, k=0: triu(m, k)})


# ----------------------------------------------------------------------------- norms
def _norm_dims(dim, ndim, op, want=None):
    from ._util import normalize_dim  # noqa: PLC0415

    if dim is None:
        return None
    d = normalize_dim(dim, ndim, op)
    d = d if isinstance(d, tuple) else (d,)
    if len(set(d)) != len(d):
        raise RuntimeError(f"{op}: dim {dim} names a dimension twice")
    if want is not None and len(d) != want:
        raise RuntimeError(f"{op}: dim must name {want} dimensions, got {dim!r}")
    return d


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """The vector ``ord``-norm over ``dim`` (every element when None), as
    ``torch.linalg.vector_norm``: ``(Σ |x|^ord)^(1/ord)``; ``inf``/``-inf`` give max/min
    |x|, ``0`` counts non-zeros. The gradient at a zero norm is 0.

    Example:
        >>> import nerve as nv
        >>> nv.linalg.vector_norm(nv.tensor([[3.0, 4.0], [6.0, 8.0]]), dim=1).tolist()
        [5.0, 10.0]
    """
    from .reduction import norm as _vnorm  # noqa: PLC0415

    if isinstance(ord, str):
        raise ValueError(f"vector_norm: ord must be a number (or inf), got {ord!r}; "
                         "use matrix_norm for 'fro' and 'nuc'")
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"vector_norm: expected a floating-point input, got dtype {x.dtype}; "
                           "call .float() first")
    return _vnorm(x, ord, _norm_dims(dim, x.ndim, "vector_norm"), keepdim, dtype)


def _svd_vals_grad(xp, A, grad):
    """d(Σ g_i σ_i)/dA = U diag(g) Vᵀ (arrays), for distinct singular values."""
    U, _, Vh = xp.linalg.svd(A, full_matrices=False)
    return (U * grad[..., None, :]) @ Vh


class SvdVals(Function):
    """Singular values of the last two dims, descending. Backward: U diag(grad) Vᵀ.

    NOTE: first order only; the backward is the op SvdValsGrad, which refuses a second
    differentiation rather than returning a wrong one.
    """

    def forward(ctx, A):
        ctx.save_for_backward(A)
        return ctx.xp.linalg.svd(A, compute_uv=False)

    def backward(ctx, grad):
        (A,) = ctx.saved
        return ctx.xp.svdvals_grad(A, grad)


class SvdValsGrad(Function):
    def forward(ctx, A, grad):
        return _svd_vals_grad(ctx.xp, A, grad)

    def backward(ctx, g):
        raise RuntimeError("matrix_norm with ord='nuc', 2 or -2 is only differentiable once in nerve "
                           "(its second derivative needs the singular vectors' derivatives); "
                           "use ord='fro' for double backward")


from ..autograd.namespace import register_extra  # noqa: E402

register_extra("svdvals_grad", _svd_vals_grad)


def _reduce_norm(v, dims, keepdim, op):
    """v reduced with amax (op='max') or amin over dims, keeping or dropping them."""
    from .reduction import amax, amin  # noqa: PLC0415

    return (amax if op == "max" else amin)(v, dims, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):  # noqa: A002
    """A matrix norm over the two dims ``dim``, as ``torch.linalg.matrix_norm``.

    ``ord``: ``'fro'`` (√Σ a²), ``'nuc'`` (sum of singular values), ``2``/``-2`` (largest /
    smallest singular value), ``1``/``-1`` (max / min column sum of |a|), ``inf``/``-inf``
    (max / min row sum of |a|).

    Example:
        >>> import nerve as nv
        >>> nv.linalg.matrix_norm(nv.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
        6.0
    """
    from .elementwise import abs as _abs  # noqa: PLC0415
    from .reduction import norm as _vnorm  # noqa: PLC0415
    from .reduction import sum as _sum  # noqa: PLC0415
    from .shape import movedim  # noqa: PLC0415

    if dtype is not None:
        A = A.to(dtype=dtype)
    if A.dtype.kind not in "fc":
        raise RuntimeError(f"matrix_norm: expected a floating-point input, got dtype {A.dtype}; "
                           "call .float() first")
    if A.ndim < 2:
        raise RuntimeError(f"matrix_norm: input must have at least 2 dimensions, got shape {tuple(A.shape)}")
    d0, d1 = _norm_dims(dim, A.ndim, "matrix_norm", want=2)
    keepdim = bool(keepdim)
    if ord == "fro":
        return _vnorm(A, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        s = SvdVals.apply(movedim(A, (d0, d1), (-2, -1)))
        if ord == "nuc":
            out = _sum(s, -1)
        else:
            out = _reduce_norm(s, -1, False, "max" if ord == 2 else "min")
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    if ord in (1, -1, np.inf, -np.inf):
        # 1: sum over rows (d0) then max over columns; inf: sum over columns then max over rows.
        inner, outer = (d0, d1) if abs(ord) == 1 else (d1, d0)
        sums = _sum(_abs(A), inner, keepdim=True)
        out = _reduce_norm(sums, (outer,), True, "max" if ord > 0 else "min")
        if not keepdim:
            out = out.squeeze((d0, d1))
        return out
    raise ValueError(f"matrix_norm: unsupported ord {ord!r}; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    """``torch.linalg.norm``: a vector norm or a matrix norm, chosen by ``ord`` and ``dim``.

    * ``ord=None``: the 2-norm of the flattened input when ``dim`` is None, a vector 2-norm
      over an int ``dim``, the Frobenius norm over a pair ``dim``.
    * otherwise a string ``ord`` or a pair ``dim`` (or a 2-D input with ``dim=None``) makes
      it a :func:`matrix_norm`; an int ``dim`` (or a 1-D input) a :func:`vector_norm`.

    Example:
        >>> import nerve as nv
        >>> nv.linalg.norm(nv.tensor([[3.0, 4.0]])).item()
        5.0
    """
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
    if ord is None:
        if dim is None:
            return vector_norm(A, 2, None, keepdim, dtype=dtype)
        return (matrix_norm(A, "fro", dim, keepdim, dtype=dtype) if len(dim) == 2
                else vector_norm(A, 2, dim, keepdim, dtype=dtype))
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or 2-D, "
                               f"got shape {tuple(A.shape)}; pass dim")
        dim = tuple(range(A.ndim))
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if len(dim) == 1:
        return vector_norm(A, ord, dim, keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: dim must name 1 or 2 dimensions, got {dim!r}")


GRAPH_NAMESPACE["svdvals_grad"] = lambda A, grad: SvdValsGrad.apply(A, grad)
