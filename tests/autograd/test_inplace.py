"""In-place ops, version counters, views and ``.data``: PyTorch's contract.

Each silent-wrong-answer case from the engine-contract issue is here: an in-place write
to a tensor saved for backward must raise (naming the op), a leaf that requires grad must
not be changed while gradients are recorded, and the PyTorch tutorial update patterns
(``p -= lr * p.grad`` under no_grad, ``p.data.sub_(...)``) must really change ``p``.
"""
import numpy as np
import pytest

import nerve as nv
import nerve.nn as nn
import nerve.nn.functional as F



def _t(a, grad=False):
    return nv.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------- the three examples
def test_isub_under_no_grad_updates_the_parameter_and_the_loss_falls():
    nv.manual_seed(0)
    x = nv.randn(64, 3, dtype=nv.float64)
    y = x @ nv.tensor([1.0, -2.0, 0.5], dtype=nv.float64) + 0.3
    w = nv.zeros(3, dtype=nv.float64, requires_grad=True)
    b = nv.zeros((), dtype=nv.float64, requires_grad=True)
    first = None
    for _ in range(200):
        loss = ((x @ w + b - y) ** 2).mean()
        first = first if first is not None else loss.item()
        loss.backward()
        with nv.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad = None
            b.grad = None
    assert loss.item() < 1e-6 * first
    np.testing.assert_allclose(w.numpy(), [1.0, -2.0, 0.5], atol=1e-3)
    assert w.is_leaf and w.requires_grad


def test_data_is_a_detached_tensor_sharing_storage():
    p = nn.Parameter(nv.tensor([1.0, 2.0]))
    p.grad = nv.tensor([0.5, 0.5])
    d = p.data
    assert isinstance(d, nv.Tensor) and not d.requires_grad and d.grad_fn is None
    p.data -= 2 * p.grad
    assert p.tolist() == [0.0, 1.0]
    p.data.sub_(p.grad)
    assert p.tolist() == [-0.5, 0.5]
    assert float(p.data[1]) == 0.5
    assert float(nv.tensor(3.0).data) == 3.0
    p.data = nv.tensor([7.0, 8.0])  # swapping the storage
    assert p.tolist() == [7.0, 8.0] and p.requires_grad


def test_numpy_and_asarray_give_the_array():
    t = nv.tensor([[1.0, 2.0]])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and np.shares_memory(a, np.asarray(t))
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_fill_after_save_raises_naming_the_op():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    s = (y * 3).sum()
    y.fill_(0)
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation.*ExpBackward"):
        s.backward()  # exp saved its output, which fill_ overwrote (PyTorch names ExpBackward0)


def test_copy_into_saved_operand_raises():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    w = nv.tensor([3.0, 4.0])
    s = (x * w).sum()
    w.copy_(nv.tensor([0.0, 0.0]))
    with pytest.raises(RuntimeError, match="in-place"):
        s.backward()


def test_zero_on_a_used_leaf():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    s = (x * x).sum()
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        x.zero_()
    with nv.no_grad():
        x.zero_()  # allowed: it mutates the very array the graph saved ...
    assert x.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match=r"input \d .*MulBackward"):
        s.backward()  # ... so backward refuses it


def test_saved_output_modified_through_an_alias_raises():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()          # exp saves its output
    s = y.sum()
    y.detach().mul_(2)   # same storage, same version counter
    with pytest.raises(RuntimeError, match="its output of ExpBackward"):
        s.backward()


def test_optimizer_step_between_forward_and_backward_raises():
    lin = nn.Linear(3, 2)
    opt = nv.optim.SGD(lin.parameters(), lr=0.1)
    x = nv.randn(4, 3)
    lin(x).sum().backward()
    opt.step()  # the first step moves the parameters into the group's flat buffer
    loss = lin(x).sum()
    opt.step()  # changes the weight the new graph saved
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_unsaved_inputs_may_change():
    # add saves nothing, so changing its input afterwards is fine (as in PyTorch)
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    s = (h + 1).sum()
    h.add_(5)
    s.backward()
    assert x.grad.tolist() == [1.0, 1.0]


# ----------------------------------------------------- differentiable in-place on non-leaves
def test_inplace_chain_gradient_matches_out_of_place():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))

    def run(inplace):
        x, y = _t(a, True), _t(b, True)
        h = x * 2
        if inplace:
            h.mul_(y)        # mul saves h's old value: it must get a private copy
            h.add_(y, alpha=3)
            h.sub_(1.5)
            h.div_(2.0)
            h.pow_(2)
            h.clamp_(-1.0, 5.0)
            h.tanh_()
        else:
            h = ((((h * y + 3 * y) - 1.5) / 2.0) ** 2).clamp(-1.0, 5.0).tanh()
        (h * h).sum().backward()
        return h.numpy(), x.grad.numpy(), y.grad.numpy()

    for got, want in zip(run(True), run(False)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_augmented_assignment_records_like_the_method():
    x = _t([1.0, 2.0, 3.0], True)
    h = x * 1.0
    h *= x
    h += 1
    h /= 2
    h -= x
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [x_ - 1 for x_ in [1.0, 2.0, 3.0]])
    assert h.grad_fn.name() == "SubBackward"


def test_inplace_on_an_exp_output_raises_like_pytorch():
    x = _t([0.5, 1.0], True)
    y = x.exp()
    y.add_(1)  # exp's saved output is now wrong
    with pytest.raises(RuntimeError, match="ExpBackward"):
        y.sum().backward()


def test_setitem_is_differentiable():
    x = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
    v = _t([10.0, 20.0], True)
    h = x * 2
    h[:, 1] = v * v
    (h * _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0, 6.0], [8.0, 0.0, 12.0]])
    np.testing.assert_allclose(v.grad.numpy(), [2 * 10.0 * 2.0, 2 * 20.0 * 5.0])


def test_setitem_into_a_constant_buffer_builds_a_graph():
    w = _t([1.0, 2.0, 3.0], True)
    out = nv.zeros(3, 3, dtype=nv.float64)
    for i in range(3):
        out[i] = w * (i + 1)   # the RNN-loop pattern: buf[t] = h
    assert out.requires_grad and out.grad_fn is not None
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 6.0, 6.0])


def test_setitem_without_grad_is_a_plain_write():
    t = nv.zeros(2, 3)
    t[0, 1:] = 7.0
    t[1] = nv.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [[0.0, 7.0, 7.0], [1.0, 2.0, 3.0]] and t._version == 2
    with pytest.raises(RuntimeError, match="shape"):
        t[0] = nv.ones(4)


def test_masked_fill_index_fill_scatter_in_place():
    x = _t([[1.0, 2.0], [3.0, 4.0]], True)
    h = x * 1.0
    h.masked_fill_(nv.tensor([[True, False], [False, True]]), 0.0)
    h.index_fill_(1, nv.tensor([0]), -1.0)
    assert h.tolist() == [[-1.0, 2.0], [-1.0, 0.0]]
    h.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [0.0, 0.0]]
    s = nv.zeros(2, 3)
    s.scatter_(1, nv.tensor([[2], [0]]), 5.0)
    assert s.tolist() == [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]


def test_random_fills_are_seeded_and_refuse_grad_leaves():
    nv.manual_seed(3)
    a = nv.empty(1000).uniform_(-2, 2)
    nv.manual_seed(3)
    b = nv.empty(1000).uniform_(-2, 2)
    assert a.tolist() == b.tolist() and -2 <= a.min().item() and a.max().item() < 2
    n = nv.empty(20000, dtype=nv.float64).normal_(1.0, 0.5)
    assert abs(n.mean().item() - 1.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02
    w = nv.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.normal_()
    with nv.no_grad():
        w.normal_()  # the init pattern


# ------------------------------------------------------------------------- views
def test_views_share_storage_and_version():
    x = nv.zeros(3, 4)
    for v in (x[0], x.view(12), x.reshape(4, 3), x.t(), x.transpose(0, 1), x[:, 1:3],
              x.detach(), x.data, x.unsqueeze(0), x.squeeze()):
        before = x._version
        v.add_(1)
        assert x._version == v._version == before + 1
    assert x.sum().item() == 4 + 6 + 8 * 12  # x[0] has 4 elements, x[:, 1:3] 6, the rest 12


def test_write_through_a_view_is_seen_by_the_base_and_siblings():
    x = nv.arange(6.0).reshape(2, 3)
    row = x[1]
    col = x[:, 2]
    row.fill_(-1)
    assert x.tolist() == [[0.0, 1.0, 2.0], [-1.0, -1.0, -1.0]]
    assert col.tolist() == [2.0, -1.0]


def test_split_pieces_are_views():
    x = nv.arange(6.0)
    a, b = x.split(3)
    b.zero_()
    assert x.tolist() == [0.0, 1.0, 2.0, 0.0, 0.0, 0.0] and a._version == 1


def test_view_saved_then_base_changed_raises():
    x = _t([1.0, 2.0, 3.0, 4.0], True)
    h = x * 1.0
    v = h.view(2, 2)
    s = (v * v).sum()       # mul saves v, a view of h
    with nv.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        s.backward()


def test_writing_through_a_view_while_recording_updates_both_histories():
    x = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
    h = x * 1.0
    q = h[:, :2]
    q.mul_(3)                       # PyTorch's CopySlices: h's history gains the write
    h.view(-1)[5] = 0.0             # a write through a flattened view
    assert h.tolist() == [[3.0, 6.0, 3.0], [12.0, 15.0, 0.0]]
    (h.sum() + (q * q).sum()).backward()
    # d/dx of h.sum(): 3 on the first two columns, 1 on x[0, 2], 0 on the overwritten x[1, 2];
    # q*q adds 2 q * 3 = 18 x
    assert x.grad.tolist() == [[3.0 + 18.0, 3.0 + 36.0, 1.0], [3.0 + 72.0, 3.0 + 90.0, 0.0]]


def test_writing_through_a_view_of_a_grad_leaf_is_refused():
    w = _t([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="view of a leaf that requires grad"):
        w[0:1].mul_(2)


def test_a_copied_reshape_is_not_a_view():
    x = nv.zeros(3, 4).t()       # non-contiguous
    y = x.reshape(12)             # NumPy has to copy
    y.add_(1)
    assert x.sum().item() == 0.0 and x._version == 0


# ------------------------------------------------------------------- rules and errors
def test_dtype_and_shape_rules():
    i = nv.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="cannot be stored"):
        i.add_(1.5)
    i.add_(2)
    assert i.tolist() == [3, 4, 5]
    f = nv.zeros(3)
    with pytest.raises(RuntimeError, match="cannot change a tensor's shape"):
        f.add_(nv.ones(2, 3))
    f += nv.ones(1)  # broadcasting into f is fine
    assert f.tolist() == [1.0, 1.0, 1.0]


def test_grad_assignment_is_checked():
    p = nv.zeros(2, 3, requires_grad=True)
    with pytest.raises(TypeError, match="Tensor or None"):
        p.grad = 0
    with pytest.raises(TypeError, match="Tensor or None"):
        p.grad = np.zeros((2, 3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        p.grad = nv.zeros(3)
    p.grad = nv.ones(2, 3)
    (p * 2).sum().backward()
    assert p.grad.tolist() == [[3.0] * 3] * 2
    p.grad = None
    assert p.grad is None


def test_leaf_grads_never_share_storage():
    a = nv.tensor([1.0, 2.0], requires_grad=True)
    b = nv.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # add hands the same gradient array to both inputs
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0]


def test_zero_grad_then_backward_with_a_gradient_argument():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 10))
    out = net(nv.randn(1, 4))
    net.zero_grad()
    g = nv.randn(1, 10)
    out.backward(g)
    assert net[0].weight.grad.shape == (8, 4)
    g.zero_()  # the caller's gradient tensor is not aliased by any .grad
    assert float(net[2].bias.grad.abs().sum()) > 0


@pytest.mark.torch
def test_inplace_semantics_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 5)), rng.normal(size=(5,))

    def program(lib, x, y):
        h = x.sigmoid() * 1.0
        h[1:3] = y * 2          # differentiable setitem
        h.mul_(y)
        h.add_(x, alpha=0.5)
        h.clamp_(min=-0.5)
        h[0, 0] = 3.0
        return (h ** 2).sum()

    xn, yn = _t(a, True), _t(b, True)
    program(nv, xn, yn).backward()
    xt = torch.tensor(a, requires_grad=True)
    yt = torch.tensor(b, requires_grad=True)
    program(torch, xt, yt).backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(yn.grad.numpy(), yt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.torch
def test_the_same_cases_raise_in_torch_and_nerve():
    torch = pytest.importorskip("torch")
    for lib in (nv, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        s = (y * 3).sum()
        y.fill_(0)
        with pytest.raises(RuntimeError):
            s.backward()
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError):
            x.zero_()


def test_an_op_that_used_a_tensor_before_an_inplace_write_keeps_its_old_history():
    # add saves nothing, so it may use h before h.mul_(3); its gradient must still flow
    # through h's old history (d(h_old + 1)/dx = 1), as PyTorch's graph edges do
    x = _t([1.0, 2.0, 3.0], True)
    h = x * 1.0
    y = h + 1
    h.mul_(3)
    (y.sum() + h.sum()).backward()
    assert x.grad.tolist() == [4.0, 4.0, 4.0]
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward"  # the x * 1.0, not the mul_


def test_a_view_made_before_its_base_changed_is_replayed():
    x = _t([[1.0, 2.0, 3.0]], True)
    h = x * 1.0
    w = h[0]          # a view: its values become 3x after the write below
    early = w * 1.0   # used before the write: keeps the old history (d/dx = 1)
    h.mul_(3)
    assert w.tolist() == [3.0, 6.0, 9.0]
    (early.sum() + w.sum()).backward()  # w is used after the write: d/dx = 3 (PyTorch's replay)
    assert x.grad.tolist() == [[4.0, 4.0, 4.0]]


def test_indexing_one_element_gives_a_zero_dim_view():
    x = nv.tensor([1.0, 2.0, 3.0])
    w = x[1]
    assert w.shape == () and w._base is x
    w.fill_(7)
    assert x.tolist() == [1.0, 7.0, 3.0]


@pytest.mark.torch
def test_rebase_with_earlier_consumers_matches_torch():
    torch = pytest.importorskip("torch")
    v = np.array([0.5, -1.0, 2.0])

    def program(x):
        h = x * 2
        a = h.exp()         # saves its output, not h
        b = h + 1           # saves nothing
        h.mul_(x)           # rebase: later uses see h * x
        c = h.sin()
        return (a + b * 3 + c).sum()

    xn, xt = _t(v, True), torch.tensor(v, requires_grad=True)
    program(xn).backward()
    program(xt).backward()
    np.testing.assert_allclose(xn.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_backward_from_a_replayed_view():
    x = _t([[1.0, 2.0]], True)
    h = x * 1.0
    w = h[0]
    h.mul_(5)
    assert w.grad_fn.name() == "TakeFlatBackward"  # made again from the new h
    w.backward(_t([1.0, 1.0], False))
    assert x.grad.tolist() == [[5.0, 5.0]]


@pytest.mark.torch
def test_ops_that_used_a_tensor_before_detach_in_place_keep_its_history():
    torch = pytest.importorskip("torch")
    for lib in (nv, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        y = h + 1               # used before detach_: still a function of x
        h.detach_()
        z = h * 3               # used after: a constant
        (y.sum() + z.sum()).backward()
        assert x.grad.tolist() == [2.0, 2.0] and h.is_leaf and not h.requires_grad


def test_random_fill_of_a_used_non_leaf_keeps_the_old_history_for_earlier_users():
    x = _t([1.0, 2.0], True)
    h = x * 2
    y = h * 1.0
    h.normal_()             # h now holds constants
    assert h.requires_grad  # (its history is a fill: no gradient reaches x through it)
    (y.sum() + h.sum()).backward()
    assert x.grad.tolist() == [2.0, 2.0]
