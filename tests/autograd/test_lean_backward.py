"""``loss.backward()`` takes a lean pass (engine.backward_scalar) while no leaf hook exists and
no history was rebased: the node loop follows the graph as a chain instead of sorting it. It must
give exactly what engine.run_backward (full setup, sorted order) gives in every case it accepts,
and hand the rest to run_backward.

Both flags are process-wide and never reset (a test elsewhere that registers a leaf hook turns
the lean pass off for the rest of the run), so these tests clear them while they run.
"""
import numpy as np
import pytest

import nerve as nv
from nerve.autograd import engine, tensor


@pytest.fixture
def lean(monkeypatch):
    """Both passes available; count the lean passes actually taken."""
    saved = tensor._LEAF_HOOKS[0], tensor._REBASED[0]
    tensor._LEAF_HOOKS[0] = tensor._REBASED[0] = False
    taken = []
    real = engine._plain_pass

    def counting(*a):
        taken.append(1)
        return real(*a)

    monkeypatch.setattr(engine, "_plain_pass", counting)
    yield taken
    tensor._LEAF_HOOKS[0], tensor._REBASED[0] = saved


class Cube(nv.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2


def _mlp(leaves):
    x, w1, w2, b = leaves
    h = (x @ w1.t() + b[:, 0]).relu()                     # (3, 3)
    return nv.functional.cross_entropy(nv.functional.linear(h, w2), nv.tensor([0, 2, 1]))


def _shared(leaves):
    a, b = leaves[:2]
    return (a + b + a * a).sum()  # add passes one gradient straight to both leaves


def _split_middle(leaves):
    a = leaves[0]
    p, q = a.split(2, dim=0)  # one node, two outputs, both used
    return (p.exp().sum() * 2 + q.tanh().sum())


def _split_root(leaves):
    a = leaves[0]
    return (a * 2).sum(dim=1).unbind()[1]  # the root is one output of a two-output node


def _unused_output(leaves):
    a = leaves[0]
    p, _ = a.chunk(2, dim=1)  # the other output gets zeros
    return p.sigmoid().sum()


def _mixed_dtype(leaves):
    a = leaves[0]  # float32 leaf in a float64 op: its grad comes back float64, kept float32
    out = a * nv.tensor(np.linspace(1, 2, 6).reshape(3, 2))
    assert out.dtype == nv.float64
    return out.sum()


def _tensor_style(leaves):
    return Cube.apply(leaves[0]).sum()


def _nonleaf_hook(leaves):
    a = leaves[0]
    h = a * 3
    h.register_hook(lambda g: g * 10)
    return (h * h).mean()


def _reused_subgraph(leaves):
    a, b = leaves[:2]
    h = (a * b).tanh()
    return (h * h).sum() + h.sum() * 2  # a node whose gradient arrives twice


CASES = [_mlp, _shared, _split_middle, _split_root, _unused_output, _mixed_dtype, _tensor_style,
         _nonleaf_hook, _reused_subgraph]


def _leaves():
    rng = np.random.default_rng(1)
    shapes = [(3, 2), (3, 2), (4, 3), (3, 2)]
    return [nv.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("build", CASES, ids=lambda f: f.__name__.strip("_"))
def test_lean_pass_equals_the_general_loop(lean, build):
    general, fast = _leaves(), _leaves()
    loss_g = build(general)
    engine.run_backward((loss_g,), (None,))
    assert not lean
    loss_f = build(fast)
    loss_f.backward()
    assert lean, "loss.backward() should have taken the lean pass"
    for g, f in zip(general, fast):
        if g.grad is None:
            assert f.grad is None
            continue
        assert f.grad.dtype == g.grad.dtype == f.dtype
        np.testing.assert_array_equal(f.grad.numpy(), g.grad.numpy())


def test_lean_pass_accumulates_and_gives_each_leaf_its_own_array(lean):
    a, b = _leaves()[:2]
    ((a + b) * 2).sum().backward()
    a.grad.zero_()  # must not reach b.grad: add handed both the same incoming array
    np.testing.assert_array_equal(b.grad.numpy(), np.full((3, 2), 2.0))
    (a * 2 + b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 2), 2.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((3, 2), 3.0))
    assert len(lean) == 2


def test_lean_pass_raises_on_a_saved_tensor_changed_in_place(lean):
    a = _leaves()[0]
    y = a.exp()
    s = (y * 3).sum()
    with nv.no_grad():
        y.fill_(0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        s.backward()
    assert lean


def test_lean_pass_frees_the_graph_unless_retained(lean):
    a = _leaves()[0]
    s = (a.exp() * a).sum()
    s.backward(retain_graph=True)
    s.backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * (np.exp(a.numpy()) * (1 + a.numpy())), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        s.backward()


def test_lean_pass_runs_queued_callbacks_once_at_the_end(lean):
    a = _leaves()[0]
    seen = []
    h = a * 2
    h.register_hook(lambda g: engine.queue_callback(lambda: seen.append(a.grad is not None)))
    h.sum().backward()
    assert seen == [True] and lean


def test_leaf_hooks_and_rebased_histories_take_the_general_loop(lean):
    a = _leaves()[0]
    tensor._LEAF_HOOKS[0] = True
    (a * 2).sum().backward()
    tensor._LEAF_HOOKS[0] = False
    tensor._REBASED[0] = True
    (a * 2).sum().backward()
    assert not lean
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 2), 4.0))
