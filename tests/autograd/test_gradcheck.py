"""gradcheck and gradgradcheck must fail on wrong derivatives, not only pass on right ones."""
import numpy as np
import pytest

import nerve as nv
from nerve.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from nerve.functional import elementwise as E


def _x(shape=(3, 4), lo=0.5, hi=2.0, seed=0):
    return nv.tensor(np.random.default_rng(seed).uniform(lo, hi, shape), requires_grad=True)


class DetachedLog1p(Function):
    """log1p whose backward uses a raw array for x: right first derivative, no second."""

    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.log1p(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / (np.asarray(getattr(x, "_data", x)) + 1)


class WrongRecompute(Function):
    """sin with a cached cos whose create_graph recomputation is wrong (sin instead of cos)."""

    def forward(ctx, x):
        ctx.save_for_backward(x, ctx.xp.cos(x))
        return ctx.xp.sin(x)

    def backward(ctx, grad):
        x, c = ctx.saved
        return grad * ctx.xp.reuse(c, lambda: ctx.xp.sin(x))


class CorrectSin(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x, ctx.xp.cos(x))
        return ctx.xp.sin(x)

    def backward(ctx, grad):
        x, c = ctx.saved
        return grad * ctx.xp.reuse(c, lambda: ctx.xp.cos(x))


def test_gradgradcheck_passes_on_smooth_composites():
    x, y = _x(), _x(seed=1)
    assert gradgradcheck(lambda a, b: (a * b).exp().log1p() / b, [x, y])
    assert gradgradcheck(CorrectSin.apply, [x])
    assert gradcheck(CorrectSin.apply, [x])


def test_gradgradcheck_passes_where_the_second_derivative_is_really_zero():
    # g(x, v) = 3v: nothing depends on x, and finite differences agree it is constant in x.
    assert gradgradcheck(lambda a: a * 3.0, [_x()])


def test_gradgradcheck_catches_a_detached_second_derivative():
    x = _x()
    assert gradcheck(DetachedLog1p.apply, [x])            # the first derivative is right
    with pytest.raises(GradcheckError, match="input 0"):
        gradgradcheck(DetachedLog1p.apply, [x])
    assert gradgradcheck(DetachedLog1p.apply, [x], raise_exception=False) is False


def test_gradgradcheck_catches_log1p_with_its_second_derivative_detached(monkeypatch):
    x = _x()
    assert gradgradcheck(E.log1p, [x])
    monkeypatch.setattr(E.Log1p, "backward",
                        lambda ctx, grad: grad / (ctx.saved[0]._data + 1 if hasattr(ctx.saved[0], "_data")
                                                  else ctx.saved[0] + 1))
    assert gradcheck(E.log1p, [x])
    with pytest.raises(GradcheckError, match="not attached"):
        gradgradcheck(E.log1p, [x])


def test_gradgradcheck_catches_a_create_graph_path_that_differs_from_the_array_path():
    x = _x()
    assert gradcheck(WrongRecompute.apply, [x])
    with pytest.raises(GradcheckError, match="create_graph"):
        gradgradcheck(WrongRecompute.apply, [x])


def test_gradgradcheck_differentiates_through_the_upstream_gradient():
    # A backward that turns the upstream gradient into a constant: right first derivative,
    # and d/dx of it is really zero, but its derivative with respect to v is lost.
    class DetachedGrad(Function):
        def forward(ctx, x):
            return x * 2.0

        def backward(ctx, grad):
            return np.asarray(getattr(grad, "_data", grad)) * 2.0

    x = _x()
    assert gradcheck(DetachedGrad.apply, [x])
    with pytest.raises(GradcheckError, match="grad_output 0"):
        gradgradcheck(DetachedGrad.apply, [x])


def test_gradgradcheck_wants_float64():
    with pytest.raises(ValueError, match="float64"):
        gradgradcheck(lambda a: a * a, [nv.tensor([1.0, 2.0], dtype=nv.float32, requires_grad=True)])
