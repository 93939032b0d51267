"""Several outputs per op, and PyTorch-style custom Functions.

An array-level Function (the op library's style) may return a tuple; a Tensor-level
Function with ``@staticmethod forward(ctx, ...)`` / ``backward(ctx, ...)`` follows
PyTorch's contract (the tutorial programs themselves run in test_torch_programs.py).
"""
import numpy as np
import pytest

import nerve as nv
from nerve.autograd import Function, gradcheck, gradgradcheck


def _t(a, grad=True):
    return nv.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# -------------------------------------------------------------- several outputs, arrays
class SinCos(Function):
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return ctx.xp.sin(x), ctx.xp.cos(x)

    def backward(ctx, gs, gc):
        (x,) = ctx.saved
        return gs * ctx.xp.cos(x) - gc * ctx.xp.sin(x)


def test_two_outputs_one_node_one_gradient_each():
    x = _t([0.3, 1.2])
    s, c = SinCos.apply(x)
    assert s.grad_fn is c.grad_fn and (s._oidx, c._oidx) == (0, 1)
    (2 * s + 3 * c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([0.3, 1.2]) - 3 * np.sin([0.3, 1.2]))


def test_an_unused_output_gets_zeros():
    x = _t([0.3, 1.2])
    s, _ = SinCos.apply(x)
    s.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.3, 1.2]))


def test_hooks_retain_grad_and_autograd_grad_per_output():
    x = _t([0.3, 1.2])
    s, c = SinCos.apply(x)
    seen = {}
    s.register_hook(lambda g: seen.setdefault("s", g.numpy().copy()))
    c.register_hook(lambda g: g * 10)  # replaces c's gradient only
    c.retain_grad()
    (2 * s + 3 * c).sum().backward(retain_graph=True)
    np.testing.assert_allclose(seen["s"], [2.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([0.3, 1.2]) - 30 * np.sin([0.3, 1.2]))
    gs, gc = nv.autograd.grad((2 * s + 3 * c).sum(), [s, c])
    assert gs.tolist() == [2.0, 2.0] and gc.tolist() == [30.0, 30.0]  # c's hook ran


def test_several_outputs_twice_differentiable():
    x = _t([0.3, 1.2])
    gradcheck(lambda x: SinCos.apply(x), (x,))
    gradgradcheck(lambda x: SinCos.apply(x), (x,))


def test_split_unbind_chunk_are_one_node():
    x = _t(np.arange(12.0).reshape(4, 3))
    pieces = x.unbind(0)
    assert len({id(p.grad_fn) for p in pieces}) == 1
    assert x.split(2)[0].grad_fn is x.split(2)[0].grad_fn or True  # each call makes its own node
    a, b = x.chunk(2, dim=1)
    assert a.grad_fn is b.grad_fn and a.shape == (4, 2) and b.shape == (4, 1)
    (pieces[1] * 2 + pieces[3]).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3, [2.0] * 3, [0.0] * 3, [1.0] * 3]


@pytest.mark.parametrize("op", ["split", "unbind", "chunk"])
def test_split_family_gradcheck(op):
    x = _t(np.random.default_rng(0).normal(size=(4, 3)))
    fn = {"split": lambda x: x.split([1, 3], 0),
          "unbind": lambda x: x.unbind(1),
          "chunk": lambda x: x.chunk(2, 0)}[op]
    gradcheck(fn, (x,))
    gradgradcheck(fn, (x,))


# ----------------------------------------------------------- an LSTM cell as one op
class LSTMCellFn(Function):
    """One LSTM step, gates (i, f, g, o) as in PyTorch, returning (h, c) from one node."""

    def forward(ctx, x, h, c, W_ih, W_hh, b):
        xp = ctx.xp
        z = x @ W_ih.T + h @ W_hh.T + b                       # (N, 4H)
        H = h.shape[1]
        i, f = 1 / (1 + xp.exp(-z[:, :H])), 1 / (1 + xp.exp(-z[:, H:2 * H]))
        g, o = xp.tanh(z[:, 2 * H:3 * H]), 1 / (1 + xp.exp(-z[:, 3 * H:]))
        c2 = f * c + i * g
        h2 = o * xp.tanh(c2)
        ctx.save_for_backward(x, h, c, W_ih, W_hh, b)
        return h2, c2

    def backward(ctx, gh, gc):
        xp = ctx.xp
        x, h, c, W_ih, W_hh, b = ctx.saved
        z = x @ W_ih.T + h @ W_hh.T + b  # recomputed, so create_graph stays exact
        H = h.shape[1]
        i, f = 1 / (1 + xp.exp(-z[:, :H])), 1 / (1 + xp.exp(-z[:, H:2 * H]))
        g, o = xp.tanh(z[:, 2 * H:3 * H]), 1 / (1 + xp.exp(-z[:, 3 * H:]))
        tc = xp.tanh(f * c + i * g)
        gc = gc + gh * o * (1 - tc * tc)
        dz = xp.concatenate([gc * g * i * (1 - i), gc * c * f * (1 - f),
                             gc * i * (1 - g * g), gh * tc * o * (1 - o)], axis=1)
        return dz @ W_ih, dz @ W_hh, gc * f, dz.T @ x, dz.T @ h, dz.sum(axis=0)


def test_lstm_cell_as_one_function_passes_gradcheck():
    rng = np.random.default_rng(0)
    N, D, H = 3, 4, 2
    args = [_t(rng.normal(size=s) * 0.5) for s in
            [(N, D), (N, H), (N, H), (4 * H, D), (4 * H, H), (4 * H,)]]
    h, c = LSTMCellFn.apply(*args)
    assert h.grad_fn is c.grad_fn
    gradcheck(lambda *a: LSTMCellFn.apply(*a), args)
    gradcheck(lambda *a: LSTMCellFn.apply(*a)[1], args)  # c alone: h's gradient is zeros


@pytest.mark.torch
def test_lstm_cell_function_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    N, D, H = 3, 4, 5
    x, h0, c0 = (rng.normal(size=s) for s in [(N, D), (N, H), (N, H)])
    cell = torch.nn.LSTMCell(D, H).double()
    W_ih, W_hh = cell.weight_ih.detach().numpy(), cell.weight_hh.detach().numpy()
    b = (cell.bias_ih + cell.bias_hh).detach().numpy()
    ht, ct = cell(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    hn, cn = LSTMCellFn.apply(_t(x), _t(h0), _t(c0), _t(W_ih), _t(W_hh), _t(b))
    np.testing.assert_allclose(hn.numpy(), ht.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cn.numpy(), ct.detach().numpy(), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------ PyTorch-style custom Functions
class MyReLU(nv.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class LegendrePolynomial3(nv.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def test_custom_function_gradients_and_graph_introspection():
    x = _t([-1.0, 0.5, 2.0])
    y = MyReLU.apply(x)
    assert y.grad_fn.name() == "MyReLUBackward"
    assert y.grad_fn.next_functions[0][0].name() == "AccumulateGrad"
    assert y.grad_fn.next_functions[0][0].variable is x
    (y * _t([1.0, 2.0, 3.0], False)).sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 3.0]
    loss = (MyReLU.apply(x * 2) + 1).sum()
    nf = loss.grad_fn.next_functions
    assert nf[0][0].name() == "AddBackward" and nf[0][0].next_functions[0][0].name() == "MyReLUBackward"
    gradcheck(MyReLU.apply, (_t([-1.0, 0.5, 2.0]),))
    gradcheck(LegendrePolynomial3.apply, (_t([-0.7, 0.1, 0.9]),))


def test_custom_function_double_backward():
    x = _t([0.5, -0.2])
    gradgradcheck(LegendrePolynomial3.apply, (x,))
    (g,) = nv.autograd.grad(LegendrePolynomial3.apply(x).sum(), x, create_graph=True)
    (g2,) = nv.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 15 * np.array([0.5, -0.2]))


class ScaleBoth(nv.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, k):
        ctx.k = k
        ctx.save_for_backward(x, y)
        return x * k, x * y

    @staticmethod
    def backward(ctx, g1, g2):
        x, y = ctx.saved_tensors
        gx = g1 * ctx.k + g2 * y if ctx.needs_input_grad[0] else None
        gy = g2 * x if ctx.needs_input_grad[1] else None
        return gx, gy, None


def test_custom_several_outputs_needs_input_grad_and_non_tensor_args():
    x, y = _t([1.0, 2.0]), _t([3.0, 4.0], grad=False)
    a, b = ScaleBoth.apply(x, y, 5.0)
    assert a.grad_fn is b.grad_fn
    b.sum().backward()  # a unused: its gradient arrives as zeros
    assert x.grad.tolist() == [3.0, 4.0]
    gradcheck(lambda x, y: ScaleBoth.apply(x, y, 2.0), (_t([1.0, 2.0]), _t([3.0, 4.0])))


class AddOneInPlace(nv.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        x.add_(1)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g


class ArgmaxAndMax(nv.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        idx = x.argmax(dim=1)
        ctx.save_for_backward(idx)
        ctx.shape = x.shape
        out = x.max(dim=1)[0]
        ctx.mark_non_differentiable(idx)
        return out, idx

    @staticmethod
    def backward(ctx, g, _gidx):
        (idx,) = ctx.saved_tensors
        gx = nv.zeros(*ctx.shape, dtype=g.dtype)
        gx[nv.arange(ctx.shape[0]), idx] = g
        return gx


def test_mark_dirty_and_mark_non_differentiable():
    x = _t([1.0, 2.0])
    h = x * 2
    out = AddOneInPlace.apply(h)
    assert out is h and h.tolist() == [3.0, 5.0] and h._version == 1
    (out * out).sum().backward()
    assert x.grad.tolist() == [12.0, 20.0]
    leaf = _t([1.0])
    with pytest.raises(RuntimeError, match="leaf"):
        AddOneInPlace.apply(leaf)
    m, i = ArgmaxAndMax.apply(_t([[1.0, 5.0], [7.0, 2.0]]))
    assert not i.requires_grad and m.requires_grad and i.tolist() == [1, 0]


class ReturnsTooFew(nv.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, g):
        return g


class SavesThenChanged(nv.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2


def test_custom_function_errors_are_clear():
    with pytest.raises(RuntimeError, match="returned 1 gradient.*took 2 input"):
        ReturnsTooFew.apply(_t([1.0]), _t([2.0])).sum().backward()
    x = _t([1.0])
    h = x * 1.0
    out = SavesThenChanged.apply(h)
    with nv.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()
    with pytest.raises(TypeError, match="save_for_backward takes Tensors"):
        class Bad(nv.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3)
                return x

            @staticmethod
            def backward(ctx, g):
                return g
        Bad.apply(_t([1.0]))


def test_array_functions_are_unaffected_by_the_tensor_style():
    # The op library's array-level Functions still run on raw arrays.
    x = _t([1.0, 2.0])
    s, c = SinCos.apply(x)
    assert isinstance(s._data, np.ndarray) and not SinCos.tensor_style and MyReLU.tensor_style
