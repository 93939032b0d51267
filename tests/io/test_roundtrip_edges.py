"""Weights through files and back: exact arrays and dtypes in the awkward cases."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.io import load_safetensors, load_state_dict, load_weights, save_safetensors, save_state_dict
from nerve.optim._flat import FlatGroup

EDGE_ARRAYS = {
    "scalar_f32": np.array(1.5, np.float32),
    "empty": np.zeros((0, 3), np.float32),
    "half": (np.arange(6, dtype=np.float16) / 3).reshape(2, 3),
    "double_transposed": np.arange(12, dtype=np.float64).reshape(3, 4).T,
    "reversed": np.arange(5, dtype=np.float32)[::-1],
    "int64_scalar": np.array(-(2 ** 40), np.int64),
    "mask": np.array([[True, False], [False, True]]),
    "bytes": np.arange(3, dtype=np.uint8),
    "specials": np.array([-0.0, np.nan, np.inf, -np.inf, np.finfo(np.float32).tiny / 2], np.float32),
}


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == np.ascontiguousarray(b).tobytes()


def test_edge_arrays_round_trip_through_safetensors_and_nerve_save(tmp_path):
    save_safetensors(EDGE_ARRAYS, tmp_path / "a.safetensors")
    got, _ = load_safetensors(tmp_path / "a.safetensors")
    assert list(got) == list(EDGE_ARRAYS)
    for k, v in EDGE_ARRAYS.items():
        assert _same(got[k], np.ascontiguousarray(v) if v.ndim else v), k
    nv.save({k: nv.tensor(v) for k, v in EDGE_ARRAYS.items()}, tmp_path / "b.pt")
    back = nv.load(tmp_path / "b.pt")
    for k, v in EDGE_ARRAYS.items():
        assert _same(back[k].numpy(), v), k


class Buffers(nn.Module):
    """Parameters and buffers of every dtype a state dict carries."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("steps", nv.tensor(np.array(0, np.int64)))
        self.register_buffer("mask", nv.tensor(np.zeros((2, 2), bool)))
        self.register_buffer("halves", nv.tensor(np.zeros(3, np.float16)))
        self.register_buffer("doubles", nv.tensor(np.zeros((2, 0), np.float64)))

    def forward(self, x):
        return self.bn(self.fc(x))


def test_module_buffers_of_every_dtype_round_trip(tmp_path):
    nv.manual_seed(0)
    m = Buffers()
    m(nv.randn(5, 3))  # BatchNorm running stats and num_batches_tracked move
    m.steps._data[...] = 2 ** 40 + 3
    m.mask._data[0, 1] = True
    m.halves._data[...] = np.array([0.1, -2.5, 65504], np.float16)
    save_state_dict(m, tmp_path / "m.safetensors")
    fresh = Buffers()
    load_weights(fresh, tmp_path / "m.safetensors")
    want, got = m.state_dict(), fresh.state_dict()
    assert list(got) == list(want)
    for k in want:
        assert _same(got[k].numpy(), want[k].numpy()), k
    assert int(fresh.bn.num_batches_tracked.numpy()) == 1 and fresh.bn.num_batches_tracked.numpy().dtype == np.int64


@pytest.mark.parametrize("assign", [False, True])
def test_parameters_living_in_the_optimizers_flat_buffer_save_and_load(tmp_path, assign):
    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = nv.randn(6, 4)

    def step():
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()

    step()
    flat = next(iter(opt._flat.values()))
    assert isinstance(flat, FlatGroup) and np.shares_memory(model[0].weight.numpy(), flat.P)
    save_state_dict(model, tmp_path / "w.safetensors")
    saved = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert all(_same(load_state_dict(tmp_path / "w.safetensors")[k], v) for k, v in saved.items())

    step()  # the live model moves on; loading the file must bring it back, optimizer included
    moments = opt.state_dict()
    model.load_state_dict({k: nv.tensor(v) for k, v in load_state_dict(tmp_path / "w.safetensors").items()},
                          assign=assign)
    assert all(_same(v.numpy(), saved[k]) for k, v in model.state_dict().items())
    step()  # the update must start from the loaded weights, not from what the flat buffer held
    nv.manual_seed(5)
    twin = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    twin.load_state_dict({k: nv.tensor(v) for k, v in saved.items()})
    twin_opt = optim.Adam(twin.parameters(), lr=0.1)
    twin_opt.load_state_dict(moments)
    (twin(x) ** 2).mean().backward()
    twin_opt.step()
    for (k, a), b in zip(model.state_dict().items(), twin.state_dict().values()):
        assert _same(a.numpy(), b.numpy()), k


def test_tied_weights_stay_tied_after_a_round_trip(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x).tanh())

    nv.manual_seed(1)
    m = Tied()
    save_state_dict(m, tmp_path / "t.safetensors")  # written under both names, like torch.save
    assert set(load_state_dict(tmp_path / "t.safetensors")) >= {"a.weight", "b.weight"}
    fresh = Tied()
    load_weights(fresh, tmp_path / "t.safetensors")
    assert fresh.a.weight is fresh.b.weight and _same(fresh.a.weight.numpy(), m.a.weight.numpy())
    opt = optim.SGD(fresh.parameters(), lr=0.5)
    fresh(nv.ones(2, 3)).sum().backward()
    opt.step()
    assert fresh.a.weight is fresh.b.weight  # one tensor, trained once per step
    nv.save(m.state_dict(), tmp_path / "t.pt")
    fresh2 = Tied()
    fresh2.load_state_dict(nv.load(tmp_path / "t.pt"))
    assert fresh2.a.weight is fresh2.b.weight and _same(fresh2.b.weight.numpy(), m.b.weight.numpy())


class _TorchTwin:
    """The same small network in PyTorch and in nerve (Conv2d, BatchNorm2d, 2-layer LSTM, tied
    Linear layers)."""

    @staticmethod
    def torch_model(torch):
        class T(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
                self.bn = torch.nn.BatchNorm2d(3)
                self.lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
                self.fc = torch.nn.Linear(4, 4)
                self.fc2 = torch.nn.Linear(4, 4)
                self.fc2.weight = self.fc.weight

            def forward(self, x):
                h = self.bn(self.conv(x)).mean(dim=3).transpose(1, 2)
                return self.fc2(self.fc(self.lstm(h)[0]))

        return T()

    @staticmethod
    def nerve_model():
        class N(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(2, 3, 3, padding=1)
                self.bn = nn.BatchNorm2d(3)
                self.lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
                self.fc = nn.Linear(4, 4)
                self.fc2 = nn.Linear(4, 4)
                self.fc2.weight = self.fc.weight

            def forward(self, x):
                h = self.bn(self.conv(x)).mean(axis=3).transpose(1, 2)
                return self.fc2(self.fc(self.lstm(h)[0]))

        return N()


@pytest.mark.torch
@pytest.mark.parametrize("writer", ["save_file", "save_model"])
def test_a_safetensors_file_written_by_pytorch_loads_into_the_nerve_twin(tmp_path, writer):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    t = _TorchTwin.torch_model(torch)
    t(torch.randn(5, 2, 6, 6))  # BatchNorm statistics move
    t.eval()
    path = tmp_path / "t.safetensors"
    if writer == "save_file":  # every name, shared tensors copied apart
        st_torch.save_file({k: v.clone().contiguous() for k, v in t.state_dict().items()}, str(path))
    else:  # save_model keeps one name per shared tensor (here fc.weight, not fc2.weight)
        st_torch.save_model(t, str(path))
    n = _TorchTwin.nerve_model()
    load_weights(n, path)
    n.eval()
    assert n.fc.weight is n.fc2.weight
    assert int(n.bn.num_batches_tracked.numpy()) == 1
    x = np.random.default_rng(0).normal(size=(2, 2, 6, 6)).astype(np.float32)
    want = t(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(n(nv.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)


def test_a_name_missing_for_a_weight_that_is_not_shared_is_still_refused(tmp_path):
    m = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    sd = {k: v.numpy() for k, v in m.state_dict().items() if k != "1.weight"}
    save_safetensors(sd, tmp_path / "w.safetensors")
    with pytest.raises(nv.io.StateDictError, match=r"missing 1 tensor\(s\): 1.weight"):
        load_weights(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)), tmp_path / "w.safetensors")


def test_a_flipped_bit_in_a_nerve_save_file_is_an_error_naming_the_file(tmp_path):
    nv.manual_seed(0)
    model = nn.Linear(6, 5)
    path = tmp_path / "w.pt"
    nv.save({"model": model.state_dict(), "epoch": 3}, path)
    assert nv.load(path)["epoch"] == 3
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # inside the last array: still well-formed safetensors, just another number
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{path.name} is damaged: its arrays no longer match the SHA-256"):
        nv.load(path)
    # a plain safetensors file written elsewhere carries no digest and loads as before
    save_safetensors({"w": np.ones(3, np.float32)}, tmp_path / "plain.safetensors")
    assert nv.load(tmp_path / "plain.safetensors")["w"].tolist() == [1.0, 1.0, 1.0]


def test_a_flipped_bit_in_a_weight_file_is_an_error_naming_the_file(tmp_path):
    nv.manual_seed(0)
    model = nn.Linear(6, 5)
    path = tmp_path / "w.safetensors"
    save_state_dict(model, path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="w.safetensors is damaged: its arrays no longer match the SHA-256"):
        load_weights(nn.Linear(6, 5), path)


def test_a_bfloat16_array_saved_by_nerve_loads_widened_without_a_false_damage_report(tmp_path):
    """The recorded SHA-256 covers the bytes as stored (bfloat16); loading checks it before
    widening to float32, so an intact file is never reported damaged."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from nerve.io.tensors import load_safetensors, save_safetensors

    a = np.array([1.5, -2.25, 3.0], dtype=ml_dtypes.bfloat16)
    path = save_safetensors({"w": a}, tmp_path / "b.safetensors")
    arrays, _ = load_safetensors(path)
    assert arrays["w"].dtype == np.float32
    np.testing.assert_array_equal(arrays["w"], a.astype(np.float32))
