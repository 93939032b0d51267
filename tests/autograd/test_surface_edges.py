"""Edge cases of the autograd user surface and of nn.utils, against PyTorch.

Each case runs the same small program with ``m = nerve`` and ``m = torch`` and compares what
comes out: gradients, hook calls, retained gradients, clipped norms, packed sequences. The
cases are the ones where a framework can give a plausible but different answer without an
error (a hook run once per use instead of once, a retained gradient taken before the hooks,
a decorator that does not reach into a generator ...).
"""
import math
import warnings

import numpy as np
import pytest

import nerve as nv

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch


def _t(m, v, rg=False):
    return m.tensor(v, dtype=m.float64, requires_grad=rg)


def _np(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [_np(v) for v in x]
    if isinstance(x, (nv.Tensor, torch.Tensor)):
        return np.asarray(x.detach().numpy())
    return x


def _same(program, atol=1e-12):
    """Run ``program(m)`` for nerve and torch and compare the results (nested lists of tensors,
    numbers, strings, None)."""
    a, b = program(nv), program(torch)

    def cmp(x, y, where):
        if isinstance(x, (list, tuple)):
            assert isinstance(y, (list, tuple)) and len(x) == len(y), f"{where}: {x!r} vs {y!r}"
            for i, (u, v) in enumerate(zip(x, y)):
                cmp(u, v, f"{where}[{i}]")
        elif x is None or isinstance(x, (str, bool)):
            assert x == y, f"{where}: nerve {x!r}, torch {y!r}"
        else:
            np.testing.assert_allclose(_np(x), _np(y), atol=atol, rtol=1e-10, err_msg=where)

    cmp(a, b, "result")
    return a


# ----------------------------------------------------------------------------- tensor hooks
def test_a_leaf_hook_runs_once_on_the_summed_gradient_of_every_use():
    def prog(m):
        x = _t(m, [3.0, 4.0], True)
        seen = []
        x.register_hook(lambda g: seen.append(g.detach().clone()))
        x.register_hook(lambda g: g / (g * g).sum().sqrt())   # not linear: per-use calls differ
        (x * 2 + x * x + x.sum()).sum().backward()
        return [seen, x.grad]

    seen, _ = _same(prog)
    assert len(seen) == 1


def test_a_leaf_hook_runs_as_soon_as_its_last_use_has_delivered():
    def prog(m):
        a = _t(m, [1.0, 2.0], True)
        w = _t(m, [3.0, 4.0], True)
        events = []
        h = a * 2
        h.register_hook(lambda g: events.append("h"))
        w.register_hook(lambda g: events.append("w"))      # w's only use is the last op
        a.register_hook(lambda g: events.append("a"))
        (h * w).sum().backward()
        return " ".join(events)

    assert _same(prog) == "w h a"          # in backward order, not all at the end


def test_leaf_hooks_in_order_add_one_only_once():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        order = []
        x.register_hook(lambda g: order.append("double") or g * 2)
        x.register_hook(lambda g: order.append("plus1") or g + 1)
        (x * x + x).sum().backward()
        return [" ".join(order), x.grad]

    _same(prog)


def test_leaf_hooks_in_autograd_grad_and_with_a_leaf_root():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        x.register_hook(lambda g: g + 1)
        (g1,) = m.autograd.grad((x * x + 3 * x).sum(), x)
        x.backward(_t(m, [5.0, 6.0]))      # the leaf itself is the root
        return [g1, x.grad]

    _same(prog)


def test_non_leaf_hooks_replace_keep_and_remove():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        y = x * 3
        calls = []
        y.register_hook(lambda g: calls.append("none"))        # returns None: keeps g
        h = y.register_hook(lambda g: g * 100)
        y.register_hook(lambda g: g - 1)
        h.remove()
        h.remove()                                               # twice is harmless
        (y * y + y).sum().backward()
        return [" ".join(calls), x.grad]

    _same(prog)


def test_retain_grad_sees_the_gradient_after_every_hook_and_only_once():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        y = x * 3
        y.retain_grad()
        y.retain_grad()                       # again: still one copy of the gradient
        y.register_hook(lambda g: g * 2)      # registered after retain_grad, runs before it
        z = (y * y).sum()
        z.backward(retain_graph=True)
        first = y.grad.clone()
        z.backward()                          # a retained gradient accumulates
        return [first, y.grad, x.grad, y.retains_grad, x.retains_grad]

    _same(prog)


def test_retain_grad_follows_an_in_place_op_but_other_hooks_stay():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        y = x * 2
        y.retain_grad()
        seen = []
        y.register_hook(lambda g: seen.append(g.detach().clone()))   # the value before mul_
        z = y + 1                                                     # used before the write
        y.mul_(3)
        ((z * _t(m, [2.0, 3.0])).sum() + (y * _t(m, [1.0, 10.0])).sum()).backward()
        v = (x * 2)[0]
        v.retain_grad()
        v._base.mul_(5)                                               # the view's history is replayed
        (v * 7).backward()
        w = x * 2
        w.retain_grad()
        w[0].mul_(3)                                                  # written through a view
        (w * _t(m, [1.0, 10.0])).sum().backward()
        return [y.grad, seen, v.grad, w.grad, x.grad]

    _same(prog)


def test_retain_grad_on_a_tensor_without_grad_is_refused():
    for m in (nv, torch):
        with pytest.raises(RuntimeError, match="retain_grad"):
            _t(m, [1.0]).retain_grad()
    x = nv.tensor([1.0], requires_grad=True)
    x.retain_grad()                           # a leaf that requires grad: nothing to do
    assert x.grad is None and not x.retains_grad


def test_reading_grad_of_a_non_leaf_warns_like_torch():
    for m in (nv, torch):
        x = _t(m, [1.0, 2.0], True)
        y = x * 3
        (y * y).sum().backward()
        with pytest.warns(UserWarning, match="non-leaf"):
            assert y.grad is None
        y2 = x * 3
        y2.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert y2.grad is None and x.grad is not None   # retained, or a leaf: silent


def test_a_hook_that_changes_the_shape_is_refused_naming_it():
    def shrink(g):
        return g[:1]

    for m in (nv, torch):
        x = _t(m, [1.0, 2.0], True)
        y = x * 3
        y.register_hook(shrink)
        with pytest.raises(RuntimeError, match="shrink"):
            (y * y).sum().backward()


def test_hooks_under_create_graph_are_differentiated_through():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        w = _t(m, [3.0, -1.0], True)
        y = x * x
        y.register_hook(lambda g: g * w)
        (gx,) = m.autograd.grad(y.sum(), x, create_graph=True)
        gxx, gw = m.autograd.grad((gx * gx).sum(), [x, w])
        return [gx, gxx, gw]

    _same(prog)


def test_post_accumulate_grad_hooks_step_inside_backward():
    def prog(m):
        w = _t(m, [1.0, 2.0], True)
        b = _t(m, [0.5], True)
        seen = []

        def step(p):                       # an optimizer step fused into backward
            seen.append(p.grad.clone())
            with m.no_grad():
                p.add_(p.grad * -0.1)
            p.grad = None

        handle = w.register_post_accumulate_grad_hook(step)
        b.register_post_accumulate_grad_hook(step)
        x = _t(m, [3.0, 4.0])
        ((w * x).sum() + (w * w).sum() + b * 3).sum().backward()   # w used twice: one call
        first = [w.clone(), b.clone(), w.grad, len(seen)]
        m.autograd.grad((w * x).sum(), w)                          # fills no .grad: no call
        ((w * x).sum() + b).sum().backward(inputs=[w])             # only w accumulates
        handle.remove()
        (w * x).sum().backward()
        return first + [len(seen), b.grad, w.grad,
                        sorted([t.tolist() for t in seen], key=len)]

    _same(prog)
    for m in (nv, torch):
        with pytest.raises(RuntimeError, match="non-leaf|leaf tensors only"):
            (_t(m, [1.0], True) * 2).register_post_accumulate_grad_hook(lambda p: None)


# ---------------------------------------------------------------------------- backward options
def test_backward_inputs_fills_only_those_including_a_non_leaf():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        w = _t(m, [3.0, 4.0], True)
        y = x * w
        z = (y * y).sum()
        z.backward(inputs=[y, w], retain_graph=True)
        first = [x.grad, w.grad, y.grad.clone()]
        z.backward(inputs=y)
        return first + [y.grad]

    _same(prog)


def test_only_the_part_of_the_graph_that_was_asked_for_runs():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        w = _t(m, [3.0, 4.0], True)
        seen = []
        x.register_hook(lambda g: seen.append("x"))
        w.register_hook(lambda g: seen.append("w"))
        y = x * 2
        y.register_hook(lambda g: seen.append("y"))
        y.retain_grad()
        z = y * w
        z.register_hook(lambda g: seen.append("z"))
        loss = (z * z).sum()
        (gw,) = m.autograd.grad(loss, w, retain_graph=True)      # y and x lie off the path to w
        (gz,) = m.autograd.grad(loss, z, retain_graph=True)      # nothing below z is needed
        loss.backward(inputs=[w], retain_graph=True)
        after_inputs = [" ".join(seen), x.grad, y.grad]
        loss.backward()                                           # now everything runs
        return [gw, gz] + after_inputs + [" ".join(seen), x.grad, y.grad, w.grad]

    _same(prog)


def test_backward_inputs_errors():
    for m in (nv, torch):
        x = _t(m, [1.0, 2.0], True)
        with pytest.raises(RuntimeError, match="empty|at least one"):
            (x * x).sum().backward(inputs=[])


def test_gradient_argument_takes_the_outputs_dtype_and_accumulates():
    def prog(m):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)      # float32
        y = x * x
        y.retain_grad()
        y.backward(gradient=_t(m, [[1.0, 0.0], [2.0, 3.0]]), retain_graph=True)   # float64
        y.backward(gradient=_t(m, [[1.0, 1.0], [1.0, 1.0]]))
        return [x.grad, y.grad, str(y.grad.dtype).replace("torch.", "")]

    _same(prog)


def test_a_gradient_that_is_not_a_tensor_is_a_type_error():
    x = nv.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"gradient must be a Tensor of the output's shape \(2,\), got float"):
        (x * 2).backward(gradient=2.0)


def test_the_element_that_does_not_require_grad_is_named():
    for m in (nv, torch):
        x = _t(m, [1.0, 2.0], True)
        with pytest.raises(RuntimeError, match="element 1 of tensors"):
            m.autograd.grad([(x * x).sum(), _t(m, 2.0)], x)


def test_autograd_backward_of_several_roots():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        m.autograd.backward([(x * x).sum(), x * 3], grad_tensors=[None, _t(m, [1.0, 10.0])])
        m.autograd.backward((x ** 3).sum())
        return x.grad

    _same(prog)
    x = nv.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="2 grad_tensors for 1 tensors"):
        nv.autograd.backward([x * 2], grad_tensors=[None, None])


def test_autograd_grad_grad_outputs_materialize_and_unused():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        u = _t(m, [5.0], True)
        y = x * x
        g1 = m.autograd.grad([y, y.sum()], x, grad_outputs=[_t(m, [1.0, 10.0]), None],
                             retain_graph=True)
        g2 = m.autograd.grad(y.sum(), [x, u, x], materialize_grads=True, retain_graph=True)
        g3 = m.autograd.grad(y.sum(), [u, x], allow_unused=True)
        return [g1, g2, g3]

    _same(prog)
    x = nv.tensor([1.0], requires_grad=True)
    u = nv.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(2,\)\) was not used"):
        nv.autograd.grad((x * 2).sum(), [x, u])
    with pytest.raises(ValueError, match="allow_unused"):
        nv.autograd.grad((x * 2).sum(), x, allow_unused=False, materialize_grads=True)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_records_even_under_no_grad():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        y = (x * x * x).sum()          # x used three times: the sums at x must be recorded too
        with m.no_grad():
            (g,) = m.autograd.grad(y, x, create_graph=True)
            y.backward(create_graph=True)
        (gg,) = m.autograd.grad(g.sum() + x.grad.sum(), x)
        return [g, gg, g.requires_grad]

    _same(prog)


def test_second_derivatives_of_a_small_mlp_match_torch():
    rng = np.random.default_rng(3)
    W1, b1 = rng.standard_normal((5, 3)), rng.standard_normal(5)
    W2, b2 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    X = rng.standard_normal((4, 3))

    def prog(m):
        w1, c1, w2, c2 = (_t(m, a, True) for a in (W1, b1, W2, b2))
        x = _t(m, X, True)
        h = m.tanh(x @ w1.T + c1)
        out = m.nn.functional.softplus(h @ w2.T + c2)
        loss = (out * out).sum() + (h.sigmoid() * x.sum(1, keepdim=True)).mean()
        grads = m.autograd.grad(loss, [w1, c1, w2, x], create_graph=True)
        pen = sum((g * g).sum() for g in grads)              # gradient penalty
        second = m.autograd.grad(pen, [w1, c1, w2, c2, x])
        return list(grads) + list(second)

    _same(prog, atol=1e-10)


# --------------------------------------------------------------------------------- grad modes
@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode"])
def test_a_decorated_generator_runs_every_step_in_the_mode(name):
    def prog(m):
        outer = m.enable_grad if name == "no_grad" else m.no_grad
        x = _t(m, [1.0], True)

        @getattr(m, name)()
        def gen():
            got = yield (x * 2).requires_grad, m.is_inference_mode_enabled()
            yield got, (x * 3).requires_grad

        with outer():
            g = gen()
            first = next(g)
            between = (x * 4).requires_grad                 # the caller's mode in between
            second = g.send("hi")
        return [list(first), between, list(second)]

    _same(prog)


def test_set_grad_enabled_as_a_decorator_and_bare_no_grad():
    def prog(m):
        x = _t(m, [1.0], True)

        @m.set_grad_enabled(False)
        def off():
            return (x * 2).requires_grad

        @m.no_grad
        def bare():
            return (x * 2).requires_grad

        @m.enable_grad
        def on():
            return (x * 2).requires_grad

        after_decorating = m.is_grad_enabled()             # decorating switched nothing
        with m.no_grad():
            inside = on()
        return [after_decorating, off(), bare(), inside, m.is_grad_enabled(), off.__name__]

    _same(prog)


def test_nested_modes_and_plain_calls():
    def prog(m):
        x = _t(m, [1.0], True)
        out = []
        with m.no_grad():
            out.append((x * 1).requires_grad)
            with m.set_grad_enabled(True):
                out.append((x * 1).requires_grad)
                with m.inference_mode():
                    out.append((x * 1).requires_grad)
                out.append((x * 1).requires_grad)
            out.append(m.is_grad_enabled())
        with m.inference_mode():
            with m.enable_grad():          # grad mode on, but inference mode still records nothing
                out += [m.is_grad_enabled(), (x * 1).requires_grad]
                with m.inference_mode(False):
                    out.append((x * 1).requires_grad)
            out.append(m.is_grad_enabled())
        m.set_grad_enabled(False)
        out.append((x * 1).requires_grad)
        m.set_grad_enabled(True)
        out.append(m.is_grad_enabled())
        return out

    _same(prog)


def test_requires_grad_and_detach_semantics():
    def prog(m):
        x = _t(m, [1.0, 2.0], True)
        y = x * x
        d = y.detach()
        d.add_(1)                                  # shares storage with y
        y.sum().backward()                         # x*x saved x, not y: still fine
        return [y, x.grad, d.requires_grad, d.is_leaf, d.grad_fn is None]

    _same(prog)
    for m in (nv, torch):
        y = _t(m, [1.0], True) * 2
        with pytest.raises(RuntimeError, match="leaf"):
            y.requires_grad_(False)
        z = _t(m, [1.0], True).exp()
        z.detach().mul_(2)                         # exp saved its output: backward refuses
        with pytest.raises(RuntimeError, match="modified by an in-?place operation"):
            z.sum().backward()


# ------------------------------------------------------------------------------ indexing grads
def test_indexing_gradients_with_duplicates_masks_and_scatters():
    def prog(m):
        x = _t(m, [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], True)
        w = _t(m, np.arange(1.0, 7.0).reshape(2, 3))
        outs = [
            (x[m.tensor([0, 0, 1])] * 2).sum(),
            (x[[0, 0, 1], [2, 2, 0]] * _t(m, [1.0, 2.0, 3.0])).sum(),
            (x[:, [1, 1]] * _t(m, [[1.0, 2.0], [3.0, 4.0]])).sum(),
            (x[x > 0] ** 2).sum(),
            (x.gather(1, m.tensor([[0, 0], [2, 1]])) * _t(m, [[1.0, 2.0], [3.0, 4.0]])).sum(),
            (x.index_select(1, m.tensor([2, 2, 0])) * 3).sum(),
            (x.masked_fill(x > 1.5, 0.0) * w).sum(),
        ]
        src = _t(m, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
        outs.append((x.scatter_add(0, m.tensor([[0, 0, 1], [0, 1, 1]]), src) * w).sum())
        outs.append((x.index_add(0, m.tensor([1, 1]), src, alpha=2.0) * w).sum())
        outs.append((x.index_put((m.tensor([0, 0]),), src, accumulate=True) * w).sum())
        y = x * 1
        y[m.tensor([1, 0])] = src.flip(0)
        outs.append((y * w).sum())
        grads = [m.autograd.grad(o, [x, src], allow_unused=True, retain_graph=True) for o in outs]
        return [outs, grads]

    _same(prog)


# ------------------------------------------------------------------------------ clip_grad_norm_
def _params(m, grads, dtype):
    ps = []
    for g in grads:
        p = m.zeros(np.shape(g) if g is not None else (2,), dtype=dtype, requires_grad=True)
        if g is not None:
            p.grad = m.tensor(np.asarray(g), dtype=dtype)
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 0.5, 0, -math.inf, "inf"])
def test_clip_grad_norm_orders_none_grads_and_returned_dtype(norm_type):
    grads = [np.array([1.0, 0.0, -3.0]), None, np.array([[2.0, 0.0], [0.5, 4.0]])]

    def prog(m):
        ps = _params(m, grads, m.float32)
        total = m.nn.utils.clip_grad_norm_(ps, 1.5, norm_type=norm_type)
        return [total, str(total.dtype).replace("torch.", ""), [p.grad for p in ps]]

    _same(prog, atol=1e-6)


def test_clip_grad_norm_single_tensor_generator_and_mixed_dtypes():
    def prog(m):
        a = _params(m, [np.array([3.0, 4.0])], m.float64)[0]
        t1 = m.nn.utils.clip_grad_norm_(a, 0.0)                  # max_norm 0 zeroes
        ps = _params(m, [np.array([1.0, 2.0])], m.float32) + _params(m, [np.array([3.0, 4.0])],
                                                                     m.float64)
        t2 = m.nn.utils.clip_grad_norm_((p for p in ps), 1.0)
        return [t1, a.grad, t2, str(t2.dtype).replace("torch.", ""), [p.grad for p in ps],
                [str(p.grad.dtype).replace("torch.", "") for p in ps]]

    _same(prog, atol=1e-6)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_clip_grad_norm_with_a_nonfinite_gradient(bad):
    def prog(m):
        ps = _params(m, [np.array([1.0, bad]), np.array([3.0, 4.0])], m.float64)
        total = m.nn.utils.clip_grad_norm_(ps, 1.0)
        return [total, [p.grad for p in ps]]

    _same(prog)
    for m in (nv, torch):
        ps = _params(m, [np.array([1.0, bad])], m.float64)
        with pytest.raises(RuntimeError, match="(?i)non-?finite|is nan|is inf"):
            m.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_get_total_norm_and_clip_grads_with_norm_are_the_two_halves(norm_type):
    grads = [np.array([1.0, 0.0, -3.0]), None, np.array([[2.0, 0.0], [0.5, 4.0]])]

    def prog(m):
        a = _params(m, grads, m.float64)
        b = _params(m, grads, m.float64)
        total = m.nn.utils.get_total_norm([p.grad for p in a if p.grad is not None],
                                          norm_type=norm_type)
        m.nn.utils.clip_grads_with_norm_(a, 1.5, total)
        whole = m.nn.utils.clip_grad_norm_(b, 1.5, norm_type=norm_type)
        none = m.nn.utils.get_total_norm([])
        return [total, whole, [p.grad for p in a], [p.grad for p in b], none,
                str(none.dtype).replace("torch.", "")]

    _same(prog)
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the tensors is nan"):
        nv.nn.utils.get_total_norm([nv.tensor([math.nan])], error_if_nonfinite=True)


def test_clip_grad_value_and_empty_parameters():
    def prog(m):
        ps = _params(m, [np.array([3.0, -4.0, 0.5]), None, np.array([math.nan, -1.0])], m.float32)
        m.nn.utils.clip_grad_value_(ps, 2)
        empty = m.nn.utils.clip_grad_norm_([], 1.0)
        return [[p.grad for p in ps], empty, str(empty.dtype).replace("torch.", "")]

    _same(prog)


# --------------------------------------------------------------- parameters as one vector
def test_parameters_to_vector_and_back():
    def prog(m):
        a = _t(m, [[1.0, 2.0], [3.0, 4.0]], True)
        b = _t(m, 5.0, True)
        v = m.nn.utils.parameters_to_vector([a, b])
        (v * _t(m, [1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
        p, q = m.zeros(2, 2, dtype=m.float64), m.zeros(3, dtype=m.float64)
        m.nn.utils.vector_to_parameters(m.arange(7, dtype=m.float64), [p, q])
        return [v, a.grad, b.grad, p, q]

    _same(prog)
    with pytest.raises(ValueError, match="6 elements but the parameters hold 7"):
        nv.nn.utils.vector_to_parameters(nv.zeros(6), [nv.zeros(2, 2), nv.zeros(3)])
    with pytest.raises(ValueError, match="8 elements but the parameters hold 7"):  # torch: silent
        nv.nn.utils.vector_to_parameters(nv.zeros(8), [nv.zeros(2, 2), nv.zeros(3)])


# ----------------------------------------------------------------------------------- rnn utils
_RNG = np.random.default_rng(0)
_SEQS = [_RNG.standard_normal((n, 2)) for n in (2, 4, 1, 3)]
_LENS = [2, 4, 1, 3]


def _seqs(m, rg=False):
    return [_t(m, s, rg) for s in _SEQS]


def _packed(p):
    return [p.data, p.batch_sizes, p.sorted_indices, p.unsorted_indices]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    def prog(m):
        return m.nn.utils.rnn.pad_sequence(_seqs(m), batch_first=batch_first, padding_value=-1.5,
                                           padding_side=side)

    _same(prog)


@pytest.mark.parametrize("lengths_as", ["list", "tensor"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_round_trip_in_the_original_order(lengths_as, batch_first):
    def prog(m):
        xs = _seqs(m, rg=True)
        padded = m.nn.utils.rnn.pad_sequence(xs, batch_first=batch_first)
        lengths = _LENS if lengths_as == "list" else m.tensor(_LENS)
        pk = m.nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=batch_first,
                                                 enforce_sorted=False)
        out, lens = m.nn.utils.rnn.pad_packed_sequence(pk, batch_first=batch_first,
                                                       padding_value=9.0, total_length=6)
        w = m.tensor(np.arange(out.numel()).reshape(tuple(out.shape)) % 5, dtype=m.float64)
        (out * w).sum().backward()
        return _packed(pk) + [out, lens, [x.grad for x in xs]]

    _same(prog)


def test_pack_sequence_sorted_and_unsorted():
    def prog(m):
        srt = sorted(_seqs(m), key=lambda s: -s.shape[0])
        a = m.nn.utils.rnn.pack_sequence(srt)                   # already sorted: no indices
        b = m.nn.utils.rnn.pack_sequence(_seqs(m), enforce_sorted=False)
        back = m.nn.utils.rnn.unpack_sequence(b)
        return _packed(a) + _packed(b) + [back]

    _same(prog)


def test_a_packed_sequence_built_with_sorted_indices_only_unpacks_in_the_callers_order():
    def prog(m):
        pk = m.nn.utils.rnn.pack_sequence(_seqs(m), enforce_sorted=False)
        rebuilt = m.nn.utils.rnn.PackedSequence(pk.data * 2, pk.batch_sizes, pk.sorted_indices)
        padded, lens = m.nn.utils.rnn.pad_packed_sequence(rebuilt, batch_first=True)
        return _packed(rebuilt) + [padded, lens, _packed(rebuilt._replace(data=pk.data))]

    _same(prog)


def test_pack_padded_sequence_refusals():
    for m in (nv, torch):
        padded = m.nn.utils.rnn.pad_sequence(_seqs(m))
        with pytest.raises(RuntimeError, match="(?i)sorted|decreasing"):
            m.nn.utils.rnn.pack_padded_sequence(padded, _LENS)
        with pytest.raises(RuntimeError, match="greater than 0|between 1"):
            m.nn.utils.rnn.pack_padded_sequence(padded, [2, 0, 1, 3], enforce_sorted=False)
        pk = m.nn.utils.rnn.pack_padded_sequence(padded, _LENS, enforce_sorted=False)
        with pytest.raises(ValueError, match="total_length"):
            m.nn.utils.rnn.pad_packed_sequence(pk, total_length=3)
    # torch packs a length longer than the padded batch without a word; nerve refuses
    with pytest.raises(RuntimeError, match="between 1 and the padded length 4"):
        nv.nn.utils.rnn.pack_padded_sequence(nv.nn.utils.rnn.pad_sequence(_seqs(nv)), [2, 5, 1, 3],
                                             enforce_sorted=False)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_layers_on_an_unsorted_packed_batch(kind, bidirectional):
    tm = getattr(torch.nn, kind)(2, 3, num_layers=2, bidirectional=bidirectional,
                                 batch_first=True).double()
    nm = getattr(nv.nn, kind)(2, 3, num_layers=2, bidirectional=bidirectional,
                              batch_first=True).double()
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    for k, p in nm.named_parameters():
        p._data[...] = sd[k]
    D = 2 if bidirectional else 1
    H0 = _RNG.standard_normal((2 * D, 4, 3))

    def prog(m):
        mod = nm if m is nv else tm
        xs = _seqs(m, rg=True)
        h0 = _t(m, H0, True)
        state = (h0, h0 * 0.5) if kind == "LSTM" else h0
        pk = m.nn.utils.rnn.pack_sequence(xs, enforce_sorted=False)
        out, hn = mod(pk, state)
        y, lens = m.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        hs = list(hn) if kind == "LSTM" else [hn]
        loss = (y * y).sum() + sum((h * (i + 2.0)).sum() for i, h in enumerate(hs))
        loss.backward()
        return [out.data, y, lens] + hs + [[x.grad for x in xs], h0.grad]

    _same(prog, atol=1e-10)


# ------------------------------------------------------------------------- functional_call
def _tied(m):
    class Tied(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = m.nn.Embedding(5, 3)
            self.dec = m.nn.Linear(3, 5, bias=False)
            self.dec.weight = self.emb.weight

        def forward(self, i, scale=1.0):
            return self.dec(self.emb(i)) * scale

    mod = Tied().double()
    with m.no_grad():
        mod.emb.weight.copy_(m.tensor(np.arange(15.0).reshape(5, 3) / 10, dtype=m.float64))
    return mod


def _fcall(m):
    return nv.nn.utils.functional_call if m is nv else torch.func.functional_call


def test_functional_call_with_tied_weights_args_tuple_and_kwargs():
    def prog(m):
        mod = _tied(m)
        w = _t(m, np.ones((5, 3)), True)
        i = m.tensor([1, 2])
        a = _fcall(m)(mod, {"emb.weight": w}, i)                       # both tied uses see w
        b = _fcall(m)(mod, {"dec.weight": w * 2}, (i,), {"scale": 0.5})
        c = _fcall(m)(mod, {"emb.weight": w}, (i,), tie_weights=False)
        (a.sum() + b.sum()).backward()
        return [a, b, c, w.grad, mod.emb.weight, mod.emb.weight.grad]

    _same(prog)


def test_functional_call_strict_and_conflicting_tied_values():
    for m in (nv, torch):
        mod = _tied(m)
        w = _t(m, np.ones((5, 3)))
        with pytest.raises(ValueError, match="emb.weight"):
            _fcall(m)(mod, {"emb.weight": w, "dec.weight": w * 2}, m.tensor([1]))
        lin = m.nn.Linear(2, 1).double()
        with pytest.raises(RuntimeError, match="bias"):
            _fcall(m)(lin, {"weight": _t(m, [[1.0, 2.0]])}, _t(m, [[1.0, 1.0]]), strict=True)


# ---------------------------------------------------------------------------- spectral_norm
@pytest.mark.parametrize("layer,shape", [("Linear", (3, 5)), ("ConvTranspose2d", (2, 2, 4, 4))])
def test_spectral_norm_from_nn_utils_matches_torch_step_by_step(layer, shape):
    args = (5, 4) if layer == "Linear" else (2, 3, 3)
    tm = torch.nn.utils.spectral_norm(getattr(torch.nn, layer)(*args).double(), n_power_iterations=2)
    nm = nv.nn.utils.spectral_norm(getattr(nv.nn, layer)(*args).double(), n_power_iterations=2)
    nm.load_state_dict({k: nv.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = _RNG.standard_normal(shape)

    def prog(m):
        mod = nm if m is nv else tm
        out = []
        for _ in range(2):                              # power iteration runs in training
            xt = _t(m, x, True)
            y = mod(xt)
            (y * y).sum().backward()
            out += [y, xt.grad, mod.weight_orig.grad.clone(), mod.weight_u.clone(), mod.weight_v.clone()]
        mod.eval()
        out.append(mod(_t(m, x)))
        m.nn.utils.remove_spectral_norm(mod)
        return out + [mod.weight, " ".join(sorted(mod.state_dict()))]

    _same(prog, atol=1e-10)
