"""Module: registration, walking, state_dict, modes, freezing, hooks, dtype, repr."""
import copy

import numpy as np
import pytest

import nerve as nv
from nerve import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(4, 2)
        self.scale = nn.Parameter(nv.ones(2))
        self.register_buffer("steps", nv.zeros(1))
        self.register_buffer("cache", nv.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Block()
        self.head = nn.Linear(2, 1)

    def forward(self, x):
        return self.head(self.body(x))


def test_registration_and_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.scale", "body.fc1.weight", "body.fc1.bias", "body.fc2.weight",
                     "body.fc2.bias", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == ["body.steps", "body.cache"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.fc1", "body.act", "body.fc2", "head"]
    assert len(list(net.modules())) == 6 and len(list(net.children())) == 2
    assert net.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 2 + 2 + 1
    assert net.get_submodule("body.fc2") is net.body.fc2
    assert net.get_parameter("body.fc1.bias") is net.body.fc1.bias
    # attribute access is a plain lookup: the registered object itself
    assert net.body.scale is dict(net.named_parameters())["body.scale"]


def test_shared_parameter_listed_once_and_cache_follows_structure():
    a = nn.Linear(4, 4)
    net = nn.Sequential(a, nn.ReLU(), a)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.parameters())) == 2
    tied = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    tied[1].weight = tied[0].weight
    assert len(list(tied.parameters())) == 3
    tied.extra = nn.Parameter(nv.zeros(3))   # the cached list must see the new parameter
    assert len(list(tied.parameters())) == 4
    del tied.extra
    assert len(list(tied.parameters())) == 3
    tied[1].bias = None
    assert len(list(tied.parameters())) == 2


def test_a_module_called_twice_accumulates_both_contributions():
    lin = nn.Linear(3, 3).double()
    x = nv.randn(5, 3, dtype=nv.float64)
    lin(lin(x)).sum().backward()
    W, b = lin.weight._data, lin.bias._data
    h = x._data @ W.T + b
    g_out = np.ones((5, 3))
    g_h = g_out @ W
    expected = g_out.T @ h + g_h.T @ x._data
    np.testing.assert_allclose(lin.weight.grad._data, expected, rtol=1e-12)
    np.testing.assert_allclose(lin.bias.grad._data, g_out.sum(0) + g_h.sum(0), rtol=1e-12)


def test_assignment_rules_and_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.weight = nv.zeros(2, 2)
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    # as in PyTorch: a parameter's name takes only a Parameter or None (a Module is refused),
    # while a buffer's name may be re-assigned a Module, which moves it between registries
    with pytest.raises(TypeError, match="nn.Parameter"):
        m.weight = nn.Identity()
    m.register_buffer("scale", nv.ones(1))
    m.scale = nn.Identity()
    assert "scale" in m._modules and "scale" not in m._buffers

    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Forgot()
    with pytest.raises(AttributeError, match="did you mean 'weight'"):
        nn.Linear(2, 2).weights  # noqa: B018
    with pytest.raises(KeyError, match="may not contain"):
        m.register_buffer("a.b", nv.zeros(1))
    with pytest.raises(TypeError, match="Tensor"):
        m.register_buffer("arr", np.zeros(1))
    m.note = "plain"
    with pytest.raises(KeyError, match="plain attribute"):
        m.register_buffer("note", nv.zeros(1))
    with pytest.raises(KeyError, match="method or class attribute"):
        m.register_buffer("forward", nv.zeros(1))


def test_state_dict_round_trip_is_bit_identical():
    net = Net()
    net.body.steps._data[...] = 7
    sd = net.state_dict()
    assert list(sd) == ["body.scale", "body.steps", "body.fc1.weight", "body.fc1.bias",
                        "body.fc2.weight", "body.fc2.bias", "head.weight", "head.bias"]
    assert "body.cache" not in sd          # non-persistent buffer
    assert all(not v.requires_grad for v in sd.values())
    nv.manual_seed(123)
    other = Net()
    assert not np.array_equal(other.head.weight._data, net.head.weight._data)
    res = other.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    for k, v in other.state_dict().items():
        assert v._data.tobytes() == sd[k]._data.tobytes()
    # numpy arrays are accepted as values, and loading copies (no aliasing)
    third = Net()
    third.load_state_dict({k: v.numpy().copy() for k, v in sd.items()})
    np.testing.assert_array_equal(third.body.fc1.weight._data, net.body.fc1.weight._data)
    third.body.fc1.weight._data[...] = 0
    assert net.body.fc1.weight._data.any()


def test_load_state_dict_reports_every_problem_in_one_error():
    net = Net()
    sd = dict(net.state_dict())
    del sd["head.bias"]                                    # missing
    sd["head.extra"] = nv.zeros(3)                         # unexpected
    sd["body.fc1.weight"] = nv.zeros(5, 3)                 # wrong shape
    with pytest.raises(RuntimeError) as info:
        Net().load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys" in msg and "'head.bias'" in msg
    assert "unexpected keys" in msg and "'head.extra'" in msg
    assert "size mismatch for 'body.fc1.weight'" in msg and "(5, 3)" in msg and "(4, 3)" in msg
    assert "strict=False" in msg
    # strict=False still refuses a wrong shape ...
    with pytest.raises(RuntimeError, match="size mismatch"):
        Net().load_state_dict(sd, strict=False)
    # ... and otherwise reports what it skipped
    sd["body.fc1.weight"] = net.body.fc1.weight
    fresh = Net()
    res = fresh.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["head.extra"]
    np.testing.assert_array_equal(fresh.body.fc1.weight._data, net.body.fc1.weight._data)


def test_load_casts_to_the_parameter_dtype():
    m = nn.Linear(2, 2)
    m.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert m.weight.dtype == np.float32 and m.weight._data.sum() == 4


def test_train_eval_flags_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.body.train()
    assert net.body.fc1.training and not net.training
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")


def test_frozen_parameters_stay_bit_identical_after_a_hand_sgd_step():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    net[0].requires_grad_(False)
    frozen = {n: p._data.copy() for n, p in net.named_parameters() if n.startswith("0.")}
    live = {n: p._data.copy() for n, p in net.named_parameters() if n.startswith("2.")}
    x, y = nv.randn(16, 4), nv.randn(16, 2)
    loss = ((net(x) - y) ** 2).mean()
    loss.backward()
    with nv.no_grad():
        for p in net.parameters():
            if p.grad is not None:
                p._data -= 0.1 * p.grad._data
    for n, p in net.named_parameters():
        if n in frozen:
            assert p.grad is None
            assert p._data.tobytes() == frozen[n].tobytes()
        else:
            assert not np.array_equal(p._data, live[n])
    assert net.num_parameters(trainable_only=True) == 8 * 2 + 2
    net.unfreeze()
    assert net.num_parameters(trainable_only=True) == net.num_parameters()
    net.freeze("2")
    assert [n for n, p in net.named_parameters() if not p.requires_grad] == ["2.weight", "2.bias"]


def test_zero_grad_and_apply():
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 1))
    net(nv.randn(2, 3)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad._data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    order = []
    net.apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "Linear", "Sequential"]


def test_to_double_float_keep_parameter_identity():
    net = Net()
    net(nv.randn(2, 3)).sum().backward()
    w = net.head.weight
    assert net.double() is net
    assert net.head.weight is w and w.dtype == np.float64 and w.grad.dtype == np.float64
    assert net.body.steps.dtype == np.float64
    out = net(nv.randn(2, 3, dtype=nv.float64))
    assert out.dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.to(nv.float64)
    assert w.dtype == np.float64
    net.to("cpu", nv.float32)
    assert w.dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        net.to(nv.int64)
    with pytest.raises(NotImplementedError, match="TPU"):
        net.to("tpu")


def test_forward_hooks_and_fast_path():
    lin = nn.Linear(2, 2)
    assert lin._has_hooks is False
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(nv.randn(3, 2))
    expected = lin.bias._data + 1
    np.testing.assert_allclose(out._data, np.broadcast_to(expected, (3, 2)), rtol=1e-6)
    assert calls == [(3, 2)]
    h1.remove()
    h2.remove()
    assert lin._has_hooks is False
    x = nv.randn(3, 2)
    np.testing.assert_allclose(lin(x)._data, x._data @ lin.weight._data.T + lin.bias._data, rtol=1e-6)


def test_forward_of_a_2_2_1_net_equals_the_hand_computation():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1)).double()
    net.load_state_dict({"0.weight": np.array([[0.5, -1.0], [2.0, 0.25]]), "0.bias": np.array([0.1, -0.2]),
                         "2.weight": np.array([[1.5, -0.5]]), "2.bias": np.array([0.3])})
    x = np.array([1.0, 2.0])
    h = 1 / (1 + np.exp(-(np.array([0.5 - 2.0, 2.0 + 0.5]) + np.array([0.1, -0.2]))))
    expected = 1.5 * h[0] - 0.5 * h[1] + 0.3
    assert abs(net(nv.tensor(x[None], dtype=nv.float64)).item() - expected) < 1e-14


def test_deepcopy_gives_independent_parameters():
    net = Net()
    twin = copy.deepcopy(net)
    assert isinstance(twin.head.weight, nn.Parameter)
    np.testing.assert_array_equal(twin.head.weight._data, net.head.weight._data)
    twin.head.weight._data[...] = 0
    assert net.head.weight._data.any()
    assert len(list(twin.parameters())) == len(list(net.parameters()))
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    tied_twin = copy.deepcopy(tied)
    assert tied_twin[1].weight is tied_twin[0].weight and tied_twin[0].weight is not tied[0].weight


@pytest.mark.torch
def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10, bias=False),
                         nn.LeakyReLU(0.2), nn.Softmax(dim=1))
    theirs = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 16), torch.nn.ReLU(),
                                 torch.nn.Linear(16, 10, bias=False), torch.nn.LeakyReLU(0.2),
                                 torch.nn.Softmax(dim=1))
    assert repr(ours) == repr(theirs)
    assert repr(Net()).startswith("Net(\n  (body): Block(\n    (fc1): Linear(in_features=3")


def test_parameter_basics():
    p = nn.Parameter(nv.zeros(2))
    assert p.requires_grad and p.is_leaf and repr(p).startswith("Parameter containing:")
    assert not nn.Parameter(nv.zeros(2), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating"):
        nn.Parameter(nv.tensor([1, 2]))
    y = p * 2
    assert type(y) is nv.Tensor
    arr = np.zeros(3, dtype=np.float32)
    assert nn.Parameter(nv.from_numpy(arr))._data is arr   # shares the Tensor's array


@pytest.mark.torch
def test_state_dict_keys_match_torch_for_shared_and_tied_modules():
    torch = pytest.importorskip("torch")
    a = nn.Linear(3, 3)
    ours = nn.Sequential(a, nn.ReLU(), a, nn.Linear(3, 3))
    ours[3].weight = ours[0].weight
    ta = torch.nn.Linear(3, 3)
    theirs = torch.nn.Sequential(ta, torch.nn.ReLU(), ta, torch.nn.Linear(3, 3))
    theirs[3].weight = theirs[0].weight
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # a torch checkpoint loads (values converted to numpy), and parameters stay shared
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours[0].weight._data, ta.weight.detach().numpy())
    assert ours[3].weight is ours[0].weight and len(list(ours.parameters())) == 3


def test_module_to_gpu_and_back():
    from nerve import backend

    if not backend.cupy_available():
        pytest.skip("needs CuPy and a CUDA GPU")
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = nv.randn(5, 4)
    cpu_out = net(x)._data
    w = net[0].weight
    net.to("cuda")
    assert net[0].weight is w and w.device == "cuda"
    gpu_out = net(x.to("cuda"))
    np.testing.assert_allclose(gpu_out.numpy(), cpu_out, rtol=1e-5, atol=1e-6)
    gpu_out.sum().backward()
    assert net[2].bias.grad.device == "cuda"
    assert net.summary((4,)).total_params == 4 * 3 + 3 + 3 * 2 + 2
    net.cpu()
    assert w.device == "cpu" and net[2].bias.grad.device == "cpu"
    np.testing.assert_allclose(net(x)._data, cpu_out, rtol=1e-6)


def test_load_with_assign_takes_the_stored_arrays():
    m = nn.Linear(2, 2)
    w = np.arange(4.0).reshape(2, 2)
    m.load_state_dict({"weight": w, "bias": np.zeros(2)}, assign=True)
    assert m.weight.dtype == np.float64 and m.weight._data is w   # shared, as torch shares storage
    np.testing.assert_array_equal(m.weight._data, w)
