"""Sequential, ModuleList, ModuleDict, Identity, Flatten, Unflatten."""
from collections import OrderedDict

import numpy as np
import pytest

import nerve as nv
from nerve import nn


def test_sequential_indexing_slicing_iteration():
    a, b, c = nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert [n for n, _ in tail.named_children()] == ["1", "2"]   # keys kept, as in torch
    x = nv.randn(5, 4)
    np.testing.assert_array_equal(seq(x)._data, c(b(a(x)))._data)
    with pytest.raises(IndexError, match="out of range"):
        seq[3]  # noqa: B018


def test_sequential_mutation_renumbers():
    seq = nn.Sequential(nn.Linear(2, 2))
    assert seq.append(nn.ReLU()) is seq
    seq.add(nn.Linear(2, 1))
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    seq.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "ReLU", "Linear"]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    popped = seq.pop(1)
    assert isinstance(popped, nn.ReLU) and len(seq) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    new = nn.Linear(2, 1)
    seq[1] = new
    assert seq[1] is new and seq.get_submodule("1") is new
    assert len(list(seq.parameters())) == 4
    both = seq + nn.Sequential(nn.Sigmoid())
    assert len(both) == 3


def test_sequential_from_ordered_dict_and_errors():
    seq = nn.Sequential(OrderedDict([("hidden", nn.Linear(3, 4)), ("act", nn.ReLU()), ("out", nn.Linear(4, 1))]))
    assert seq.hidden is seq[0] and seq["out"] is seq[2]
    assert [n for n, _ in seq.named_parameters()] == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    with pytest.raises(TypeError, match="did you mean ReLU\\(\\)"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU)
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(lambda x: x)


def test_module_list_and_dict_register_parameters():
    layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.Linear(4, 2))
    layers += [nn.ReLU()]
    assert len(layers) == 5 and isinstance(layers[-1], nn.ReLU)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    assert [n for n, _ in layers.named_parameters()][-2:] == ["3.weight", "3.bias"]
    with pytest.raises(NotImplementedError, match="iterate"):
        layers(nv.zeros(1, 4))

    heads = nn.ModuleDict({"digit": nn.Linear(16, 10), "parity": nn.Linear(16, 1)})
    assert list(heads) == ["digit", "parity"] and "digit" in heads
    heads["size"] = nn.Linear(16, 3)
    assert [n for n, _ in heads.named_parameters()][-1] == "size.bias"
    assert heads.pop("digit").out_features == 10 and len(heads) == 2
    with pytest.raises(KeyError, match="its keys are"):
        heads["nope"]  # noqa: B018

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    h = Holder()
    assert [n for n, _ in h.named_parameters()] == ["blocks.0.weight", "blocks.0.bias",
                                                    "blocks.1.weight", "blocks.1.bias"]
    assert h(nv.zeros(3, 2)).shape == (3, 2)


def test_identity_flatten_unflatten():
    x = nv.randn(4, 1, 28, 28)
    assert nn.Identity(54, unused="ok")(x) is x
    flat = nn.Flatten()(x)
    assert flat.shape == (4, 784)
    np.testing.assert_array_equal(flat._data, x._data.reshape(4, 784))
    assert nn.Flatten()(nv.randn(4, 28, 28)).shape == (4, 784)
    assert nn.Flatten()(nv.randn(4, 784)).shape == (4, 784)
    assert nn.Flatten(0, -1)(x).shape == (4 * 784,)
    assert nn.Flatten(2)(x).shape == (4, 1, 784)
    back = nn.Unflatten(1, (1, 28, 28))(flat)
    np.testing.assert_array_equal(back._data, x._data)
    assert nn.Unflatten(1, (-1, 28))(flat).shape == (4, 28, 28)
    with pytest.raises(RuntimeError, match="holds 100"):
        nn.Unflatten(1, (10, 10))(flat)
    # gradients flow through both
    x.requires_grad_()
    nn.Unflatten(1, (28, 28))(nn.Flatten()(x)).sum().backward()
    assert x.grad.shape == x.shape and np.all(x.grad._data == 1)


def test_parameter_list_and_dict():
    plist = nn.ParameterList([nv.ones(3), nn.Parameter(nv.zeros(2))])
    assert [n for n, _ in plist.named_parameters()] == ["0", "1"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in plist)
    plist.append(nv.zeros(4))
    assert len(plist) == 3 and plist[-1].shape == (4,)
    assert "(2): Parameter of shape (4,)" in repr(plist)

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nv.ones(2) for _ in range(3)])
            self.named = nn.ParameterDict({"gamma": nv.ones(2)})

        def forward(self, x):
            for s in self.scales:
                x = x * s
            return x * self.named["gamma"]

    h = Holder()
    assert [n for n, _ in h.named_parameters()] == ["scales.0", "scales.1", "scales.2", "named.gamma"]
    h(nv.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in h.parameters())
    h.named["beta"] = nv.zeros(2)
    assert "beta" in h.named and len(list(h.parameters())) == 5
    with pytest.raises(TypeError, match="Parameters or Tensors"):
        nn.ParameterList([1.0])
