"""The reverse pass itself: accumulation, freeing, hooks, grad modes, higher order."""
import numpy as np
import pytest

import nerve as nv
from nerve.autograd import count_nodes, gradcheck, to_dot


def test_chain_rule_sin_of_square():
    x = nv.tensor(np.linspace(-2, 2, 9), requires_grad=True)
    (x * x).sin().sum().backward()
    xs = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * xs * np.cos(xs ** 2), rtol=1e-12, atol=1e-12)


def test_three_function_composite_equals_product_of_local_jacobians():
    x = nv.tensor([0.3, -0.7], dtype=nv.float64, requires_grad=True)
    y = (x.exp() * 2.0 + 1.0).log()          # f3(f2(f1(x))) elementwise
    y.sum().backward()
    xs = x.numpy()
    expected = (1 / (2 * np.exp(xs) + 1)) * 2 * np.exp(xs)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_hand_derived_2_2_1_sigmoid_net_with_mse():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 1))
    W1, b1 = rng.standard_normal((2, 2)), rng.standard_normal(2)
    W2, b2 = rng.standard_normal((1, 2)), rng.standard_normal(1)
    ts = [nv.tensor(a, requires_grad=True) for a in (W1, b1, W2, b2)]

    def sig(z):
        return 1 / (1 + (-z).exp())

    h = sig(nv.functional.linear(nv.tensor(X), ts[0], ts[1]))
    out = nv.functional.linear(h, ts[2], ts[3])
    ((out - nv.tensor(y)) ** 2).mean().backward()
    # by hand
    z1 = X @ W1.T + b1
    a1 = 1 / (1 + np.exp(-z1))
    o = a1 @ W2.T + b2
    d_o = 2 * (o - y) / o.size
    gW2, gb2 = d_o.T @ a1, d_o.sum(0)
    d_a1 = d_o @ W2
    d_z1 = d_a1 * a1 * (1 - a1)
    gW1, gb1 = d_z1.T @ X, d_z1.sum(0)
    for t, g in zip(ts, (gW1, gb1, gW2, gb2)):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-12, atol=1e-14)


def test_gradients_accumulate_across_backward_calls():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_second_backward_through_freed_graph_raises_and_retain_graph_allows_it():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_saved_arrays_are_released_after_backward():
    x = nv.tensor(np.ones(3), requires_grad=True)
    y = x.exp()
    z = y.sum()
    assert y.grad_fn.saved
    z.backward()
    assert y.grad_fn.saved is None


def test_each_node_runs_backward_exactly_once():
    calls = []

    class Count(nv.Function):
        def forward(ctx, a):
            return a * 1.0

        def backward(ctx, grad):
            calls.append(1)
            return grad

    x = nv.tensor([1.0, 2.0], requires_grad=True)
    h = Count.apply(x)
    (h * h + h * 2 + h).sum().backward()   # h feeds four consumers
    assert len(calls) == 1
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 3)


def test_ten_thousand_op_chain_does_not_hit_recursion_limit():
    x = nv.tensor(1.0, dtype=nv.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_no_grad_and_enable_grad():
    x = nv.tensor([1.0], requires_grad=True)
    with nv.no_grad():
        y = x * 2
        with nv.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @nv.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = nv.tensor([2.0], requires_grad=True)
    y = x * x
    z = y.detach() * x
    z.backward()
    assert x.grad.item() == 4.0  # only the direct path


def test_register_hook_on_leaf_and_non_leaf():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x * 3
    h.register_hook(lambda g: g * 10)   # replaces the gradient flowing into h's node
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])
    np.testing.assert_array_equal(seen[0], [30.0, 30.0])


def test_retain_grad_keeps_non_leaf_gradient():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())


def test_autograd_grad_does_not_touch_dot_grad():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    w = nv.tensor([3.0, 4.0], requires_grad=True)
    (gx,) = nv.autograd.grad((x * w).sum(), x)
    np.testing.assert_array_equal(gx.numpy(), [3.0, 4.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_unused_input():
    x = nv.tensor([1.0], requires_grad=True)
    u = nv.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused"):
        nv.autograd.grad((x * 2).sum(), [x, u])
    gx, gu = nv.autograd.grad((x * 2).sum(), [x, u], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_third_derivative_of_cube():
    x = nv.tensor(1.5, dtype=nv.float64, requires_grad=True)
    (g1,) = nv.autograd.grad(x ** 3, x, create_graph=True)
    (g2,) = nv.autograd.grad(g1, x, create_graph=True)
    (g3,) = nv.autograd.grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == pytest.approx((3 * 1.5 ** 2, 6 * 1.5, 6.0))


def _mlp_loss(params, X, y):
    W1, b1, W2, b2 = params
    F = nv.functional
    h = F.linear(X, W1, b1).tanh()
    out = F.linear(h, W2, b2)
    return ((out - y) ** 2).mean()


def test_hessian_vector_product_of_small_mlp_matches_finite_differences():
    rng = np.random.default_rng(0)
    X, y = nv.tensor(rng.standard_normal((6, 3))), nv.tensor(rng.standard_normal((6, 2)))
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    theta = [rng.standard_normal(s) * 0.5 for s in shapes]
    v = [rng.standard_normal(s) for s in shapes]

    def grad_at(arrs):
        ps = [nv.tensor(a, requires_grad=True) for a in arrs]
        gs = nv.autograd.grad(_mlp_loss(ps, X, y), ps)
        return [g.numpy() for g in gs]

    ps = [nv.tensor(a, requires_grad=True) for a in theta]
    gs = nv.autograd.grad(_mlp_loss(ps, X, y), ps, create_graph=True)
    gv = sum((g * nv.tensor(vv)).sum() for g, vv in zip(gs, v))
    hvp = [h.numpy() for h in nv.autograd.grad(gv, ps)]
    eps = 1e-6
    plus = grad_at([t + eps * vv for t, vv in zip(theta, v)])
    minus = grad_at([t - eps * vv for t, vv in zip(theta, v)])
    for h, gp, gm in zip(hvp, plus, minus):
        np.testing.assert_allclose(h, (gp - gm) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_backward_on_non_scalar_needs_gradient():
    x = nv.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(1, 2\).*gradient"):
        (x * 2).backward()
    (x * 2).backward(nv.tensor([[1.0, 1.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 2.0]])


def test_backward_on_tensor_without_grad_explains():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        nv.tensor([1.0]).sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match=r"floating-point.*\.float\(\)"):
        nv.tensor([1, 2, 3], requires_grad=True)


def test_matmul_and_linear_shape_errors_name_both_shapes():
    with pytest.raises(RuntimeError, match=r"matmul.*\(3, 4\).*\(5, 6\)"):
        nv.randn(3, 4) @ nv.randn(5, 6)
    with pytest.raises(RuntimeError, match=r"linear.*\(32, 28, 28\).*flatten"):
        nv.functional.linear(nv.randn(32, 28, 28), nv.randn(16, 784))


def test_matmul_refuses_mixed_float_dtypes_like_torch():
    with pytest.raises(RuntimeError, match="same dtype"):
        nv.randn(2, 2) @ nv.randn(2, 2, dtype=nv.float64)


def test_mixed_int_float_promotes_like_torch():
    out = nv.tensor([1, 2]) * nv.tensor([0.5, 0.5])
    assert out.dtype == nv.float32


def test_float32_leaf_gets_float32_grad_from_float64_op():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    (x * nv.tensor([1.0, 1.0], dtype=nv.float64)).sum().backward()
    assert x.grad.dtype == nv.float32


def test_gradcheck_reports_wrong_backward():
    class Bad(nv.Function):
        def forward(ctx, a):
            return a * a

        def backward(ctx, grad):
            return grad  # wrong: should be 2a·grad

    x = nv.randn(3, dtype=nv.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
        gradcheck(lambda t: Bad.apply(t), [x])
    assert gradcheck(lambda t: Bad.apply(t), [x], raise_exception=False) is False


def test_graph_of_seed_forward_and_dot_export():
    W1, b1 = nv.randn(16, 784, requires_grad=True), nv.zeros(16, requires_grad=True)
    W2, b2 = nv.randn(16, 16, requires_grad=True), nv.zeros(16, requires_grad=True)
    W3, b3 = nv.randn(10, 16, requires_grad=True), nv.zeros(10, requires_grad=True)
    F = nv.functional
    x = nv.randn(4, 784)
    out = F.linear(F.maximum(F.linear(F.maximum(F.linear(x, W1, b1), 0.0), W2, b2), 0.0), W3, b3)
    assert count_nodes(out) == 5   # 3 linear + 2 maximum
    dot = to_dot(out, {"fc1.weight": W1})
    assert dot.startswith("digraph") and "LinearBackward" in dot and "fc1.weight" in dot
    assert dot.count("->") >= 10


def test_tpu_device_is_refused_with_the_supported_list():
    with pytest.raises(NotImplementedError, match="cpu, cuda"):
        nv.tensor([1.0], device="tpu")


def test_gpu_request_without_gpu_is_a_clear_error():
    if nv.backend.cupy_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CuPy"):
        nv.tensor([1.0], device="cuda")


class _PassThrough(nv.autograd.Function):
    """Array style, one output: hands its incoming gradient straight back."""

    def forward(ctx, x):
        return x.copy()

    def backward(ctx, g):
        return g


class _PassThroughOfTwo(nv.autograd.Function):
    """Array style, two outputs (the second a constant): the first's gradient goes straight back."""

    def forward(ctx, x):
        return x.copy(), np.ones_like(x)

    def backward(ctx, g, g_const):
        return g


@pytest.mark.parametrize("op", [_PassThrough, _PassThroughOfTwo], ids=["one output", "two outputs"])
def test_a_leaf_gradient_never_shares_memory_with_the_gradient_passed_in(op):
    """An op that passes its incoming gradient through unchanged must not make the leaf's
    .grad the caller's array (or another node's): a later in-place change to .grad (an
    optimizer's, a user's mul_) would reach back into it. Single- and several-output nodes."""
    x = nv.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = op.apply(x)
    first = out[0] if isinstance(out, tuple) else out
    g = nv.ones(3)
    first.backward(g)
    assert not np.shares_memory(x.grad.numpy(), g.numpy())
    x.grad.mul_(2)
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_hooked_leaves_given_one_gradient_array_get_their_own_grads():
    # add hands its incoming gradient to both inputs; two leaves with hooks reached that way
    # must not share one .grad array, even after a plain leaf was filled earlier in the pass
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    a = nv.tensor([1.0, 1.0], requires_grad=True)
    b = nv.tensor([2.0, 2.0], requires_grad=True)
    a.register_hook(lambda g: None)
    b.register_hook(lambda g: None)
    ((x * 3).sum() + ((a + b) * 2).sum()).backward()
    a.grad.zero_()
    assert b.grad.tolist() == [2.0, 2.0]
    assert x.grad.tolist() == [3.0, 3.0]
