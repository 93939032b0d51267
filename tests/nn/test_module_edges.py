"""Edge sweep of the ``nn.Module`` contract against PyTorch (the test oracle).

Each check builds the same thing with ``torch`` and with ``nerve`` through one function
that takes the library as ``L`` and compares what comes out: names, orders, values, and
whether (and with which exception type) the call fails.
"""
from collections import OrderedDict

import numpy as np
import pytest

import nerve as nv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def _run(fn, lib):
    try:
        return fn(lib)
    except Exception as e:  # noqa: BLE001  the exception type is part of the contract
        return ("raises", type(e).__name__)


def same(fn):
    """Run ``fn`` with torch and with nerve; both results (or exception types) must agree."""
    want, got = _run(fn, torch), _run(fn, nv)
    assert got == want, f"torch gave {want!r}, nerve gave {got!r}"
    return got


def _dt(t):
    return str(t.dtype).replace("torch.", "")


def _tied(L):
    class M(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = L.nn.Linear(2, 2)
            self.b = L.nn.Linear(2, 2)
            self.b.weight = self.a.weight      # a tied parameter
            self.c = self.a                    # a module used twice
    return M()


# ---------------------------------------------------------------- walking the tree
def test_names_orders_and_deduplication_of_tied_state():
    same(lambda L: [n for n, _ in _tied(L).named_parameters()])
    same(lambda L: [n for n, _ in _tied(L).named_parameters(remove_duplicate=False)])
    same(lambda L: [n for n, _ in _tied(L).named_modules()])
    same(lambda L: [n for n, _ in _tied(L).named_modules(remove_duplicate=False)])
    same(lambda L: [n for n, _ in _tied(L).named_children()])
    same(lambda L: len(list(_tied(L).parameters())))
    same(lambda L: list(_tied(L).state_dict()))
    same(lambda L: [n for n, _ in L.nn.Linear(2, 2).named_parameters(prefix="x", recurse=False)])
    same(lambda L: [n for n, _ in L.nn.Sequential(L.nn.Linear(2, 2)).named_modules(prefix="x")])
    same(lambda L: [n for n, _ in L.nn.Sequential(L.nn.BatchNorm1d(2)).named_buffers(prefix="p")])
    same(lambda L: [n for n, _ in L.nn.Sequential(L.nn.BatchNorm1d(2)).named_buffers(recurse=False)])


def _optional_state(L):
    m = L.nn.Linear(2, 2)
    m.register_buffer("scratch", L.zeros(2), persistent=False)
    m.register_buffer("absent", None)
    m.register_parameter("gone", None)
    return m


def test_state_dict_leaves_out_non_persistent_and_none_entries():
    same(lambda L: list(_optional_state(L).state_dict()))
    same(lambda L: [n for n, _ in _optional_state(L).named_buffers()])
    same(lambda L: [n for n, _ in _optional_state(L).named_parameters()])


# ---------------------------------------------------------------- loading
def test_load_state_dict_return_value_casting_assign_and_errors():
    def partial(L):
        r = L.nn.Linear(2, 2).load_state_dict({"weight": L.zeros(2, 2), "extra": L.zeros(1)},
                                              strict=False)
        return list(r.missing_keys), list(r.unexpected_keys), r._fields
    same(partial)
    same(lambda L: repr(L.nn.Linear(2, 2).load_state_dict(L.nn.Linear(2, 2).state_dict())))

    def cast(L):   # float64 values into float32 parameters: copied with a cast
        m = L.nn.Linear(2, 2)
        m.load_state_dict({"weight": L.tensor(np.full((2, 2), 1.5)), "bias": L.tensor(np.zeros(2))})
        return _dt(m.weight), float(m.weight.sum().item())
    same(cast)

    def assign(L):
        m = L.nn.Linear(2, 2)
        m.load_state_dict({"weight": L.tensor(np.ones((2, 2))), "bias": L.tensor(np.zeros(2))},
                          assign=True)
        return _dt(m.weight), type(m.weight).__name__, m.weight.requires_grad, len(list(m.parameters()))
    same(assign)
    # a wrong shape is an error even with strict=False; a missing key only with strict=True
    assert same(lambda L: L.nn.Linear(2, 2).load_state_dict(
        {"weight": L.zeros(3, 2), "bias": L.zeros(2)}, strict=False))[0] == "raises"
    assert same(lambda L: L.nn.Linear(2, 2).load_state_dict({"weight": L.zeros(2, 2)}))[0] == "raises"

    def tied(L):
        m = _tied(L)
        m.load_state_dict({k: L.ones(v.shape) * (i + 1) for i, (k, v) in enumerate(m.state_dict().items())})
        return float(m.b.weight.sum().item()), float(m.a.bias.sum().item())
    same(tied)

    def metadata(L):   # torch's _metadata attribute on the mapping is ignored
        sd = OrderedDict(L.nn.Linear(2, 2).state_dict())
        sd._metadata = {"": {"version": 1}}
        return list(L.nn.Linear(2, 2).load_state_dict(sd))
    same(metadata)

    def counter(L):
        m = L.nn.BatchNorm1d(2)
        sd = m.state_dict()
        sd["num_batches_tracked"] = L.tensor(5)
        m.load_state_dict(sd)
        return int(m.num_batches_tracked.item()), _dt(m.num_batches_tracked)
    same(counter)


# ---------------------------------------------------------------- modes, grads, dtype
def test_modes_grads_apply_and_dtype_conversion():
    def modes(L):
        m = L.nn.Sequential(L.nn.Dropout(), L.nn.Sequential(L.nn.Dropout()))
        m.eval()
        a = [x.training for x in m.modules()]
        m[1].train()
        return a + [x.training for x in m.modules()]
    same(modes)
    assert same(lambda L: L.nn.Linear(1, 1).train(1)) == ("raises", "ValueError")

    def frozen(L):
        m = L.nn.Linear(2, 2)
        return m.requires_grad_(False) is m, [p.requires_grad for p in m.parameters()]
    same(frozen)

    def zero(L):
        m = L.nn.Linear(2, 2)
        m(L.ones(1, 2)).sum().backward()
        m.zero_grad(set_to_none=False)
        kept = float(m.weight.grad.abs().sum().item())
        m.zero_grad()
        return kept, m.weight.grad
    same(zero)

    def order(L):
        seen = []
        m = L.nn.Sequential(L.nn.Linear(1, 1), L.nn.Sequential(L.nn.ReLU(), L.nn.Tanh()))
        m.apply(lambda x: seen.append(type(x).__name__))
        return seen
    same(order)

    def dtypes(L):
        m = L.nn.BatchNorm1d(2)
        m(L.ones(3, 2)).sum().backward()
        out = []
        for conv in (m.double, m.half, m.float):
            conv()
            out.append([_dt(t) for t in list(m.parameters()) + list(m.buffers())] + [_dt(m.weight.grad)])
        return out
    same(dtypes)
    assert same(lambda L: L.nn.Linear(1, 1).to(L.int64)) == ("raises", "TypeError")


# ---------------------------------------------------------------- registration
def test_registration_never_turns_one_kind_of_state_into_another():
    def buffer_over_param(L):
        L.nn.Linear(1, 1).register_buffer("weight", L.zeros(1))
    assert same(buffer_over_param) == ("raises", "KeyError")

    def param_over_buffer(L):
        L.nn.BatchNorm1d(1).register_parameter("running_mean", L.nn.Parameter(L.zeros(1)))
    assert same(param_over_buffer) == ("raises", "KeyError")

    def module_over_param(L):
        L.nn.Linear(1, 1).add_module("weight", L.nn.ReLU())
    assert same(module_over_param) == ("raises", "KeyError")

    def none_param_over_buffer(L):
        L.nn.BatchNorm1d(1).register_parameter("running_var", None)
    assert same(none_param_over_buffer) == ("raises", "KeyError")

    def plain_attr(L):
        m = L.nn.Linear(1, 1)
        m.foo = 3
        m.register_buffer("foo", L.zeros(1))
    assert same(plain_attr) == ("raises", "KeyError")
    assert same(lambda L: L.nn.Linear(1, 1).register_buffer("a.b", L.zeros(1))) == ("raises", "KeyError")
    assert same(lambda L: L.nn.Linear(1, 1).register_buffer("", L.zeros(1))) == ("raises", "KeyError")
    assert same(lambda L: L.nn.Linear(1, 1).register_buffer(3, L.zeros(1))) == ("raises", "TypeError")
    assert same(lambda L: L.nn.Linear(1, 1).add_module("a.b", L.nn.ReLU())) == ("raises", "KeyError")


def test_setattr_rules_match_torch():
    def module_onto_param(L):
        m = L.nn.Linear(1, 1)
        m.weight = L.nn.ReLU()
    assert same(module_onto_param) == ("raises", "TypeError")

    def tensor_onto_param(L):
        m = L.nn.Linear(1, 1)
        m.weight = L.zeros(1, 1)
    assert same(tensor_onto_param) == ("raises", "TypeError")

    def kinds(L):
        m = L.nn.BatchNorm1d(1)
        m.plain = L.zeros(1)                       # a plain attribute, not a buffer
        m.extra = L.nn.Parameter(L.zeros(1))
        m.running_mean = L.ones(1)                 # a buffer keeps its registration
        m.running_var = L.nn.ReLU()                # a buffer's name may become a module
        m.bias = None
        return ([n for n, _ in m.named_parameters()], [n for n, _ in m.named_buffers()],
                list(m._modules), list(m.state_dict()), "plain" in m._buffers)
    same(kinds)

    def delete(L):
        m = L.nn.Linear(1, 1)
        del m.weight
        return [n for n, _ in m.named_parameters()], hasattr(m, "weight")
    same(delete)


def test_get_submodule_parameter_buffer():
    seq = lambda L: L.nn.Sequential(L.nn.BatchNorm1d(3))  # noqa: E731
    same(lambda L: tuple(seq(L).get_buffer("0.running_var").shape))
    same(lambda L: tuple(seq(L).get_parameter("0.bias").shape))
    same(lambda L: type(seq(L).get_submodule("0")).__name__)
    for bad in (lambda L: seq(L).get_buffer("0.weight"), lambda L: seq(L).get_buffer("1.running_var"),
                lambda L: seq(L).get_parameter("0.foo"), lambda L: seq(L).get_submodule("0.weight")):
        assert same(bad) == ("raises", "AttributeError")


def test_repr_nesting_and_multiline_extra_repr():
    same(lambda L: repr(L.nn.Sequential(L.nn.Linear(1, 2), L.nn.Sequential(L.nn.ReLU()))))

    def multi(L):
        class M(L.nn.Module):
            def extra_repr(self):
                return "a=1\nb=2"
        return repr(M())
    same(multi)

    def with_child(L):
        class M(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.act = L.nn.ReLU()

            def extra_repr(self):
                return "a=1"
        return repr(M())
    same(with_child)


# ---------------------------------------------------------------- hooks
def test_forward_hook_options_prepend_kwargs_always_call():
    def prepend(L):
        m, log = L.nn.Linear(2, 2), []
        m.register_forward_pre_hook(lambda mod, a: log.append("pre1"))
        m.register_forward_pre_hook(lambda mod, a: log.append("pre0"), prepend=True)
        m.register_forward_hook(lambda mod, a, o: log.append("f1"))
        m.register_forward_hook(lambda mod, a, o: log.append("f0"), prepend=True)
        m(L.ones(1, 2))
        return log
    same(prepend)

    def kwargs(L):
        class M(L.nn.Module):
            def forward(self, x, scale=1.0):
                return x * scale
        m, log = M(), []
        m.register_forward_pre_hook(lambda mod, a, kw: (a, {**kw, "scale": kw["scale"] + 1}),
                                    with_kwargs=True)
        h = m.register_forward_hook(lambda mod, a, kw, o: log.append((kw["scale"], float(o.sum().item()))),
                                    with_kwargs=True)
        out = float(m(L.ones(2), scale=2.0).sum().item())
        h.remove()
        m(L.ones(2), scale=2.0)
        return out, log
    same(kwargs)

    def always(L):
        class Boom(L.nn.Module):
            def forward(self, x):
                raise RuntimeError("boom")
        m, log = Boom(), []
        m.register_forward_hook(lambda mod, a, o: log.append(("always", o)), always_call=True)
        m.register_forward_hook(lambda mod, a, o: log.append(("plain", o)))
        with pytest.raises(RuntimeError):
            m(L.ones(1))
        return log
    same(always)

    def replace_and_self_remove(L):
        m = L.nn.Linear(2, 2)
        with L.no_grad():
            m.weight.copy_(L.tensor([[1.0, 2.0], [3.0, 4.0]]))
            m.bias.zero_()
        calls = []

        def once(mod, a, o):
            calls.append(1)
            handle.remove()
            return o + 1
        m.register_forward_pre_hook(lambda mod, a: a[0] * 2)
        handle = m.register_forward_hook(once)
        first = m(L.ones(1, 2)).detach().tolist()
        return first, m(L.ones(1, 2)).detach().tolist(), calls
    same(replace_and_self_remove)


# ---------------------------------------------------------------- containers
def test_sequential_operations():
    def ops(L):
        s = L.nn.Sequential(L.nn.ReLU(), L.nn.Tanh(), L.nn.Sigmoid(), L.nn.ReLU6())
        r = [len(s), type(s[-1]).__name__, [type(x).__name__ for x in s[1:3]], list(s[1:3]._modules)]
        del s[1]
        r.append(list(s._modules))
        s.insert(1, L.nn.ELU())
        s.append(L.nn.GELU())
        s.extend([L.nn.SELU()])
        r.append([type(x).__name__ for x in s])
        del s[1:3]
        r.append((list(s._modules), [type(x).__name__ for x in s]))
        r.append(type(s.pop(0)).__name__)
        s[0] = L.nn.Tanh()
        r.append([type(x).__name__ for x in s])
        r.append(len(s + L.nn.Sequential(L.nn.ReLU())))
        return r
    same(ops)

    def named(L):
        s = L.nn.Sequential(OrderedDict([("a", L.nn.Linear(1, 1)), ("b", L.nn.ReLU())]))
        r = [list(s.state_dict()), type(s[0]).__name__, list(s[0:1]._modules)]
        s.append(L.nn.Tanh())
        r.append(list(s._modules))
        del s[0]
        r.append(list(s._modules))
        return r
    same(named)

    def in_place_add(L):
        s = L.nn.Sequential(L.nn.ReLU())
        alias = s
        s += L.nn.Sequential(L.nn.Tanh())
        return alias is s, [type(x).__name__ for x in alias]
    same(in_place_add)

    def repeat(L):
        s = L.nn.Sequential(L.nn.Linear(1, 1), L.nn.ReLU())
        t, u = s * 2, 2 * s
        return len(t), len(u), t[0] is t[2], list(t._modules), len(list(t.parameters()))
    same(repeat)


def test_module_list_and_dict_operations():
    def mlist(L):
        ml = L.nn.ModuleList([L.nn.Linear(1, 1), L.nn.ReLU()])
        r = [list(ml.state_dict())]
        ml.insert(0, L.nn.Tanh())
        ml.insert(10, L.nn.GELU())
        r.append([type(x).__name__ for x in ml])
        del ml[0:2]
        r.append(list(ml._modules))
        r.append(type(ml[1:]).__name__)
        ml += [L.nn.SELU()]
        r.append(type(ml.pop(1)).__name__)
        ml[-1] = L.nn.Sigmoid()
        r.append(([type(x).__name__ for x in ml], list(ml._modules)))
        return r
    same(mlist)

    def mdict(L):
        d = L.nn.ModuleDict({"b": L.nn.Linear(1, 1), "a": L.nn.ReLU()})
        r = [list(d.keys()), list(d.state_dict())]
        d.update([("c", L.nn.Tanh())])
        r.append(list(d))
        r.append(type(d.pop("b")).__name__)
        r.append((list(d), "a" in d))
        d["x"] = L.nn.Linear(1, 1)
        r.append(list(d.state_dict()))
        d.clear()
        return r + [len(d)]
    same(mdict)


def test_parameter_list_and_dict_operations():
    def plist(L):
        p = L.nn.ParameterList([L.nn.Parameter(L.ones(1)), L.zeros(2)])
        r = [list(p.state_dict()), type(p[1]).__name__, p[1].requires_grad]
        p.append(L.ones(3))
        p.extend([L.ones(4)])
        p[0] = L.ones(5)
        r += [list(p.state_dict()), type(p[1:]).__name__, p[-1].shape[0], p[0].shape[0]]
        return r
    same(plist)

    def pdict(L):
        # a plain dict is taken in sorted key order (torch does), which fixes parameters() order
        p = L.nn.ParameterDict({"b": L.nn.Parameter(L.ones(1)), "a": L.zeros(2)})
        r = [list(p.state_dict()), [tuple(v.shape) for v in p.parameters()], type(p["a"]).__name__]
        p.update({"d": L.ones(1), "c": L.ones(3)})
        r.append(list(p))
        p.update(OrderedDict([("z", L.ones(1)), ("y", L.ones(1))]))
        r.append(list(p))
        del p["b"]
        r.append((type(p.pop("a")).__name__, list(p.keys())))
        return r
    same(pdict)

    def nested(L):
        class M(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.d = L.nn.ParameterDict({"w": L.ones(2)})
                self.l = L.nn.ParameterList([L.ones(1)])
        return list(M().state_dict())
    same(nested)


def test_parameters_to_vector_round_trip():
    def flat(L):
        m = L.nn.Linear(2, 2)
        v = L.nn.utils.parameters_to_vector(m.parameters())
        L.nn.utils.vector_to_parameters(L.arange(6).float(), m.parameters())
        return tuple(v.shape), m.weight.detach().tolist(), m.bias.detach().tolist()
    same(flat)


def _arr(g, L):
    if g is None:
        return None
    return np.round(np.asarray(g.detach().numpy() if L is torch else g.numpy(), dtype=np.float64), 3).tolist()


def _net(L):
    w1 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=np.float32)
    w2 = np.array([[1.0, -2.0]], dtype=np.float32)
    net = L.nn.Sequential(L.nn.Linear(3, 2), L.nn.Tanh(), L.nn.Linear(2, 1))
    with L.no_grad():
        net[0].weight.copy_(L.tensor(w1))
        net[0].bias.copy_(L.tensor([0.1, -0.2]))
        net[2].weight.copy_(L.tensor(w2))
        net[2].bias.zero_()
    return net


@pytest.mark.filterwarnings("ignore::UserWarning")   # torch warns when no input requires grad
def test_full_backward_hooks_see_and_replace_the_same_gradients_as_torch():
    def run(L, x_grad, replace):
        net, log = _net(L), []

        def pre(mod, grad_output):
            log.append(("pre", type(mod).__name__, [_arr(g, L) for g in grad_output]))
            if replace:
                return tuple(g * 2 for g in grad_output)

        def full(mod, grad_input, grad_output):
            log.append(("full", type(mod).__name__, [_arr(g, L) for g in grad_input],
                        [_arr(g, L) for g in grad_output]))
            if replace and grad_input[0] is not None:
                return (grad_input[0] + 1,)
        handles = [net[1].register_full_backward_pre_hook(pre), net[1].register_full_backward_hook(full),
                   net[0].register_full_backward_hook(full), net.register_full_backward_hook(full)]
        x = L.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]], requires_grad=x_grad)
        net(x).pow(2).sum().backward()
        out = [log, _arr(net[0].weight.grad, L), _arr(net[0].bias.grad, L),
               _arr(x.grad, L) if x_grad else None]
        for h in handles:
            h.remove()
        net.zero_grad()
        net(x).sum().backward()   # removed hooks stay silent
        return out + [len(log)]
    same(lambda L: run(L, True, False))
    same(lambda L: run(L, False, False))
    same(lambda L: run(L, True, True))

    def two_outputs(L):
        class Split(L.nn.Module):
            def forward(self, x, y):
                return x * 2, x * y
        m, log = Split(), []
        m.register_full_backward_hook(
            lambda mod, gi, go: log.append(([_arr(g, L) for g in gi], [_arr(g, L) for g in go])))
        x = L.tensor([1.0, 2.0], requires_grad=True)
        a, b = m(x, L.tensor([3.0, 4.0]))
        (a.sum() + (b * b).sum()).backward()
        return log, _arr(x.grad, L)
    same(two_outputs)


def test_load_state_dict_takes_a_one_element_vector_into_a_scalar_buffer():
    def old_checkpoint(L):   # older torch saved num_batches_tracked with shape (1,)
        m = L.nn.BatchNorm1d(2)
        sd = m.state_dict()
        sd["num_batches_tracked"] = L.tensor([5])
        m.load_state_dict(sd)
        return int(m.num_batches_tracked.item()), tuple(m.num_batches_tracked.shape)
    same(old_checkpoint)
    assert same(lambda L: L.nn.BatchNorm1d(2).load_state_dict(
        {**L.nn.BatchNorm1d(2).state_dict(), "num_batches_tracked": L.tensor([5, 6])}))[0] == "raises"


def test_type_casts_integer_buffers_too_unlike_to():
    def cast(L, how):
        m = L.nn.BatchNorm1d(2)
        getattr(m, how)(L.float64)
        return [_dt(t) for t in list(m.parameters()) + list(m.buffers())]
    same(lambda L: cast(L, "type"))
    same(lambda L: cast(L, "to"))


def test_load_state_dict_assign_shares_the_state_dicts_storage():
    def shared(L):
        m = L.nn.Linear(2, 2)
        src = {"weight": L.ones(2, 2), "bias": L.ones(2)}
        m.load_state_dict(src, assign=True)
        src["weight"].mul_(3)                     # seen through the model's parameter
        with L.no_grad():
            m.bias.add_(1)                        # and the other way round
        return float(m.weight.sum().item()), float(src["bias"].sum().item()), m.weight.requires_grad
    same(shared)

    def trains(L):   # a parameter taken over from a plain tensor still learns
        m = L.nn.Linear(2, 1)
        m.load_state_dict({"weight": L.tensor([[1.0, 2.0]]), "bias": L.tensor([0.5])}, assign=True)
        opt = L.optim.SGD(m.parameters(), lr=0.1)
        m(L.tensor([[1.0, -1.0]])).pow(2).sum().backward()
        opt.step()
        return m.weight.detach().tolist(), m.bias.detach().tolist()
    same(trains)


def test_load_state_dict_assign_copies_a_read_only_array():
    w = np.ones((2, 2), dtype=np.float32)
    w.flags.writeable = False                     # as a memory-mapped checkpoint gives it
    m = nv.nn.Linear(2, 2)
    m.load_state_dict({"weight": w, "bias": np.zeros(2, np.float32)}, assign=True)
    assert m.weight._data is not w and m.weight._data.flags.writeable
    m.weight.data.mul_(2)                         # training can write to it
    assert float(m.weight.sum().item()) == 8.0 and w.sum() == 4.0


def _counting(L):
    class Counter(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = L.nn.Linear(1, 1)
            self.steps = 0

        def get_extra_state(self):
            return {"steps": self.steps}

        def set_extra_state(self, state):
            self.steps = state["steps"]
    return Counter


def test_extra_state_is_saved_and_restored():
    def round_trip(L):
        Counter = _counting(L)
        a = L.nn.Sequential(Counter(), L.nn.ReLU())
        a[0].steps = 7
        sd = a.state_dict()
        b = L.nn.Sequential(Counter(), L.nn.ReLU())
        r = b.load_state_dict(sd)
        return list(sd), sd["0._extra_state"], b[0].steps, list(r.missing_keys)
    same(round_trip)

    def missing(L):
        sd = {k: v for k, v in L.nn.Sequential(_counting(L)()).state_dict().items() if "extra" not in k}
        r = L.nn.Sequential(_counting(L)()).load_state_dict(sd, strict=False)
        return list(r.missing_keys), list(r.unexpected_keys)
    same(missing)

    def unexpected(L):   # a plain module does not take an '_extra_state' entry
        sd = {**L.nn.Linear(1, 1).state_dict(), "_extra_state": 3}
        return list(L.nn.Linear(1, 1).load_state_dict(sd, strict=False).unexpected_keys)
    same(unexpected)


def test_set_submodule_and_parameter_list_iadd():
    def swap(L):
        net = L.nn.Sequential(L.nn.Linear(1, 2), L.nn.Sequential(L.nn.ReLU(), L.nn.Linear(2, 1)))
        net.set_submodule("1.0", L.nn.Tanh())
        net.set_submodule("1.extra", L.nn.Sigmoid())
        return repr(net), [n for n, _ in net.named_parameters()]
    same(swap)
    assert same(lambda L: L.nn.Sequential(L.nn.Linear(1, 1)).set_submodule("0.weight", L.nn.ReLU())) \
        == ("raises", "AttributeError")
    assert same(lambda L: L.nn.Sequential(L.nn.Linear(1, 1)).set_submodule("2.a", L.nn.ReLU())) \
        == ("raises", "AttributeError")
    assert same(lambda L: L.nn.Sequential(L.nn.Linear(1, 1)).set_submodule("x", L.nn.ReLU(), strict=True)) \
        == ("raises", "AttributeError")
    assert same(lambda L: L.nn.Sequential(L.nn.Linear(1, 1)).set_submodule("", L.nn.ReLU())) \
        == ("raises", "ValueError")

    def grow(L):
        p = L.nn.ParameterList([L.ones(1)])
        alias = p
        p += [L.ones(2)]
        return alias is p, list(p.state_dict())
    same(grow)


def test_train_calls_each_childs_own_train():
    def frozen_bn(L):
        class Backbone(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = L.nn.Linear(2, 2)
                self.bn = L.nn.BatchNorm1d(2)

            def train(self, mode=True):   # a common pattern: BatchNorm stays in eval mode
                super().train(mode)
                self.bn.eval()
                return self

            def forward(self, x):
                return self.bn(self.fc(x))
        net = L.nn.Sequential(Backbone(), L.nn.ReLU())
        net.eval()
        net.train()
        before = net[0].bn.running_mean.tolist()
        net(L.tensor([[1.0, 2.0], [3.0, -4.0]]))
        return [m.training for m in net.modules()], net[0].bn.running_mean.tolist() == before
    same(frozen_bn)


def test_missing_attribute_hint_is_built_only_when_the_message_is_read(monkeypatch):
    """getattr(module, name, default) and hasattr() run every training step (the Trainer asks
    whether the model wraps another); the "did you mean" search over every name cost 0.2 ms
    each time and made `nerve train` 50 % slower. It runs only when the message is read."""
    import pickle

    from nerve.nn import module as module_mod

    calls = []
    real = module_mod.difflib.get_close_matches
    monkeypatch.setattr(module_mod.difflib, "get_close_matches",
                        lambda *a, **k: calls.append(a) or real(*a, **k))
    layer = nv.nn.Linear(3, 4)
    assert getattr(layer, "wraps_module", False) is False and not hasattr(layer, "weigth")
    assert calls == []
    with pytest.raises(AttributeError, match=r"has no attribute 'weigth'; did you mean 'weight'\?") as info:
        layer.weigth  # noqa: B018
    assert len(calls) == 1
    err = info.value
    assert type(err).__name__ == "AttributeError" and err.args == (str(err),)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is AttributeError and str(again) == str(err)
