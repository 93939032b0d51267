"""summary(): per-layer rows with the arithmetic, totals, memory, and no side effects."""
import io

import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.nn.summary import param_arithmetic


def test_seed_net_rows_and_totals():
    net = models.get_model("seed-mlp")
    s = net.summary((1, 28, 28))
    weighted = [r for r in s.rows if r.num_params]
    assert [r.num_params for r in weighted] == [12_560, 272, 170]
    assert [r.arithmetic for r in weighted] == ["784×16 + 16 = 12,560", "16×16 + 16 = 272",
                                                "16×10 + 10 = 170"]
    assert [r.type for r in s.rows] == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [r.output_shape for r in s.rows] == [(1, 784), (1, 16), (1, 16), (1, 16), (1, 16), (1, 10)]
    assert s.total_params == 13_002 and s.trainable_params == 13_002 and s.non_trainable_params == 0
    assert s.param_bytes == 13_002 * 4
    assert s.num_layers == 3 and s.layer_counts == {"Linear": 3}
    text = str(s)
    for needle in ["Total params: 13,002", "Trainable params: 13,002", "Non-trainable params: 0",
                   "784×16 + 16 = 12,560", "52,008 bytes (50.79 KiB)", "Layers with weights: 3 (3 Linear)",
                   "holds no weights"]:
        assert needle in text, needle
    assert repr(s) == text
    # the same through nn.summary, with a batch and a flat input
    s2 = nn.summary(net, (784,), batch_size=32)
    assert s2.rows[-1].output_shape == (32, 10) and s2.total_params == 13_002


def test_frozen_parameters_are_counted_as_non_trainable():
    net = models.mlp([3, 4, 1])
    net[0].requires_grad_(False)
    s = net.summary((3,))
    assert s.total_params == 21 and s.trainable_params == 5 and s.non_trainable_params == 16
    assert "Non-trainable params: 16" in str(s)
    assert "3×4 + 4 = 16 (frozen)" in str(s) and "4×1 + 1 = 5 (frozen)" not in str(s)


def test_summary_has_no_side_effects():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    net[2].eval()
    state = nv.get_rng_state()
    net.summary((4,))
    assert net.training and net[0].training and not net[2].training
    assert all(not m._has_hooks for m in net.modules())
    assert nv.get_rng_state() == state
    assert all(p.grad is None for p in net.parameters())


def test_arithmetic_is_generic():
    assert param_arithmetic([(6, 1, 5, 5), (6,)]) == "6×1×5×5 + 6 = 156"
    assert param_arithmetic([(16, 784), (16,)]) == "784×16 + 16 = 12,560"
    assert param_arithmetic([(16, 784)]) == "784×16 = 12,544"
    assert param_arithmetic([(3,)]) == "3"
    assert param_arithmetic([]) == "0"


def test_nested_custom_module_shared_layer_and_tuple_output():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(nv.ones(3))
            self.fc = nn.Linear(3, 3)
            self.unused = nn.Linear(3, 3)   # never called: no row, but counted in the totals

        def forward(self, x):
            h = self.fc(self.fc(x)) * self.scale
            return h, h.sum(1)

    net = nn.Sequential(nn.Linear(2, 3), Twice())
    s = nn.summary(net, input_data=nv.zeros(5, 2))
    names = [(r.name, r.type, r.shared) for r in s.rows]
    assert names == [("0", "Linear", False), ("1", "Twice", False), ("1.fc", "Linear", False),
                     ("1.fc", "Linear", True)]
    assert s.rows[1].output_shape == [(5, 3), (5,)] and s.rows[1].num_params == 3
    assert s.rows[3].num_params == 0 and "shared" in str(s)
    assert s.total_params == 9 + 3 + 12 + 12
    assert s.input_shape == (2,)


def test_print_uses_rich_on_a_terminal_and_plain_text_otherwise():
    pytest.importorskip("rich")
    s = models.mlp([784, 16, 16, 10]).summary((784,))
    plain = io.StringIO()
    s.print(file=plain)
    assert plain.getvalue().strip() == str(s)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    s.print(file=term)
    out = term.getvalue()
    assert "12,560" in out and "Total params: 13,002" in out and out != plain.getvalue()


def test_summary_errors():
    with pytest.raises(ValueError, match="input_shape"):
        nn.summary(nn.Linear(2, 2))
    with pytest.raises(TypeError, match="nn.Module"):
        nn.summary(lambda x: x, (2,))
    with pytest.raises(RuntimeError, match="did you forget Flatten"):
        nn.Sequential(nn.Linear(784, 16)).summary((28, 28))


def test_float64_model_summary():
    net = models.mlp([4, 2]).double()
    s = net.summary(4)
    assert s.param_bytes == 10 * 8 and np.dtype(np.float64).itemsize == 8


def test_conv_layer_arithmetic_in_a_real_summary():
    if not hasattr(nn, "Conv2d"):
        pytest.skip("nn.Conv2d not available yet")
    net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 24 * 24, 10))
    s = net.summary((1, 28, 28))
    assert s.rows[0].arithmetic == "6×1×5×5 + 6 = 156" and s.rows[0].output_shape == (1, 6, 24, 24)
    assert s.rows[-1].arithmetic == "3456×10 + 10 = 34,570"
    assert s.total_params == 156 + 34_570 and s.layer_counts == {"Conv2d": 1, "Linear": 1}
