"""Interoperability edges with PyTorch and the safetensors reference library: files written by
torch of every dtype, nerve files read by torch, torch state dicts loaded by name into nerve
twins, damaged headers, load_state_dict's key/shape/dtype rules, and torch.save files using
the untyped storages of the newer dtypes."""
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.io import load_safetensors, load_torch, load_weights, save_safetensors, save_state_dict

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
pytestmark = pytest.mark.torch


def _torch_tensors():
    g = torch.Generator().manual_seed(0)
    out = {}
    for dt in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int16,
               torch.int32, torch.int64, torch.uint8):
        out[str(dt).split(".")[1]] = (torch.randn(3, 4, generator=g) * 60).to(dt)
    out["bool"] = torch.randn(3, 4, generator=g) > 0
    out["uint16"] = torch.tensor([0, 1000, 65535], dtype=torch.uint16)
    out["uint32"] = torch.tensor([0, 100000, 2**32 - 1], dtype=torch.uint32)
    out["uint64"] = torch.tensor([0, 10**12, 2**63 + 5], dtype=torch.uint64)
    out["scalar"] = torch.tensor(3.5)
    out["empty"] = torch.zeros(0, 3)
    out["empty_int"] = torch.zeros(2, 0, dtype=torch.int64)
    return out


def _as_numpy(t):
    return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()


def test_every_dtype_written_by_torch_reads_back_exactly(tmp_path):
    tensors = _torch_tensors()
    st_torch.save_file(tensors, str(tmp_path / "t.safetensors"), metadata={"source": "torch"})
    arrays, meta = load_safetensors(tmp_path / "t.safetensors")
    assert meta == {"source": "torch"}
    for k, t in tensors.items():
        want = _as_numpy(t)      # bfloat16 widens to float32, exactly
        assert arrays[k].dtype == want.dtype and arrays[k].shape == want.shape, k
        np.testing.assert_array_equal(arrays[k], want)


def test_torch_refuses_non_contiguous_tensors_and_nerve_stores_them_by_value(tmp_path):
    with pytest.raises(ValueError, match="non contiguous"):
        st_torch.save_file({"t": torch.randn(3, 4).t()}, str(tmp_path / "x.safetensors"))
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    src = {"transposed": base.T, "reversed": base[:, ::-1], "strided_be": np.arange(12, dtype=">i4").reshape(3, 4)[::2],
           "be_f64": np.linspace(-1, 1, 5).astype(">f8"), "be_f16": np.array([1.5, -2.0], ">f2"),
           "scalar": np.float64(2.5), "empty": np.zeros((0, 2), np.float32), "flags": np.array([True, False]),
           "u16": np.array([1, 65535], np.uint16), "f16": np.arange(6, dtype=np.float16).reshape(2, 3)}
    save_safetensors(src, tmp_path / "n.safetensors", {"note": "x"})
    back = st_torch.load_file(str(tmp_path / "n.safetensors"))
    for k, a in src.items():
        a = np.asarray(a)
        got = back[k].numpy()
        assert got.shape == a.shape and got.dtype == a.dtype.newbyteorder("="), k
        np.testing.assert_array_equal(got, a)


def test_bfloat16_round_trip_through_torch_and_nerve(tmp_path):
    ml_dtypes = pytest.importorskip("ml_dtypes")
    vals = torch.tensor([1.5, -2.25, 3.0e38, 1e-38, 0.1], dtype=torch.bfloat16)
    st_torch.save_file({"b": vals}, str(tmp_path / "t.safetensors"))
    arrays, _ = load_safetensors(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(arrays["b"], vals.float().numpy())
    save_safetensors({"b": vals.float().numpy().astype(ml_dtypes.bfloat16)}, tmp_path / "n.safetensors")
    back = st_torch.load_file(str(tmp_path / "n.safetensors"))["b"]
    assert back.dtype == torch.bfloat16 and torch.equal(back, vals)


class _Twins:
    @staticmethod
    def torch_model():
        class T(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = torch.nn.Embedding(11, 8, padding_idx=0)
                self.conv = torch.nn.Conv2d(1, 2, 3, padding=1)
                self.bn = torch.nn.BatchNorm2d(2)
                self.lstm = torch.nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)
                self.attn = torch.nn.MultiheadAttention(12, 3, batch_first=True)
                self.cross = torch.nn.MultiheadAttention(12, 2, kdim=8, vdim=8, batch_first=True)
                self.gru = torch.nn.GRU(12, 4, batch_first=True)
                self.fc = torch.nn.Linear(4, 3)

            def forward(self, ids):
                e = self.emb(ids)                                        # (N, S, 8)
                e = e + self.bn(self.conv(e[:, None])).mean(1)           # conv over (S, 8)
                h = self.lstm(e)[0]                                      # (N, S, 12)
                h = h + self.attn(h, h, h)[0] + self.cross(h, e, e)[0]
                return self.fc(self.gru(h)[0])

        return T()

    @staticmethod
    def nerve_model():
        class N(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(11, 8, padding_idx=0)
                self.conv = nn.Conv2d(1, 2, 3, padding=1)
                self.bn = nn.BatchNorm2d(2)
                self.lstm = nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)
                self.attn = nn.MultiheadAttention(12, 3, batch_first=True)
                self.cross = nn.MultiheadAttention(12, 2, kdim=8, vdim=8, batch_first=True)
                self.gru = nn.GRU(12, 4, batch_first=True)
                self.fc = nn.Linear(4, 3)

            def forward(self, ids):
                e = self.emb(ids)
                e = e + self.bn(self.conv(e[:, None])).mean(axis=1)
                h = self.lstm(e)[0]
                h = h + self.attn(h, h, h)[0] + self.cross(h, e, e)[0]
                return self.fc(self.gru(h)[0])

        return N()


@pytest.mark.parametrize("route", ["safetensors_file", "state_dict_arrays"])
def test_a_torch_state_dict_loads_by_name_into_the_nerve_twin(tmp_path, route):
    torch.manual_seed(0)
    t = _Twins.torch_model()
    ids = torch.randint(0, 11, (3, 5))
    t.train()
    t(ids)
    t(ids)                                       # running statistics and num_batches_tracked move
    t.eval()
    n = _Twins.nerve_model()
    assert list(n.state_dict()) == list(t.state_dict())          # the same names, in the same order
    if route == "safetensors_file":
        st_torch.save_file({k: v.contiguous() for k, v in t.state_dict().items()}, str(tmp_path / "t.safetensors"))
        load_weights(n, tmp_path / "t.safetensors")
    else:
        result = n.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
        assert result.missing_keys == [] and result.unexpected_keys == []
    assert int(n.bn.num_batches_tracked.numpy()) == 2 and n.bn.num_batches_tracked.numpy().dtype == np.int64
    n.eval()
    with torch.no_grad():
        want = t(ids).numpy()
    with nv.no_grad():
        got = n(nv.tensor(ids.numpy())).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _write_raw(path, header, body):
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


@pytest.mark.parametrize("with_bf16", [False, True])
@pytest.mark.parametrize("case,entries,body", [
    ("overlap", {"a": ("F32", [2], [0, 8]), "b": ("F32", [2], [4, 12])}, 12),
    ("past_end", {"a": ("F32", [4], [0, 16])}, 8),
    ("gap", {"a": ("F32", [2], [4, 12])}, 12),
    ("trailing", {"a": ("F32", [2], [0, 8])}, 16),
    ("shape", {"a": ("F32", [3], [0, 8])}, 8),
    ("dtype", {"a": ("F33", [2], [0, 8])}, 8),
    ("partial_element", {"a": ("F32", [1], [0, 6])}, 6),
])
def test_damaged_headers_are_errors_never_a_partial_load(tmp_path, with_bf16, case, entries, body):
    # with a bfloat16 entry the file takes nerve's widening path when NumPy lacks bfloat16
    header, shift = {}, 0
    if with_bf16:
        header["w"] = {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}
        shift = 4
    for k, (dt, shape, (b, e)) in entries.items():
        header[k] = {"dtype": dt, "shape": shape, "data_offsets": [b + shift, e + shift]}
    path = tmp_path / f"{case}.safetensors"
    _write_raw(path, header, b"\0" * (body + shift))
    with pytest.raises(ValueError, match=str(path.name)):
        load_safetensors(path)


def test_strict_loading_lists_missing_and_unexpected_keys_and_non_strict_returns_them():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
    sd = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    del sd["2.bias"], sd["1.running_var"]
    sd["3.weight"] = np.zeros(1, np.float32)
    with pytest.raises(RuntimeError) as e:
        model.load_state_dict(sd)
    msg = str(e.value)
    assert "missing keys" in msg and "'2.bias'" in msg and "'1.running_var'" in msg
    assert "unexpected keys" in msg and "'3.weight'" in msg and "strict=False" in msg
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.running_var", "2.bias"] and result.unexpected_keys == ["3.weight"]
    assert result == (["1.running_var", "2.bias"], ["3.weight"])


def test_a_shape_mismatch_raises_even_when_not_strict_and_loads_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    sd = {k: v + 1.0 for k, v in before.items()}
    sd["1.weight"] = np.zeros((1, 4), np.float32)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for '1.weight'.*\(1, 4\).*\(1, 3\)"):
            model.load_state_dict(sd, strict=strict)
        for k, v in model.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), before[k])      # nothing half-loaded


def test_values_are_cast_to_the_models_dtypes_as_torch_copy_does():
    bn = nn.BatchNorm1d(3)
    sd = {k: v.numpy().astype(np.float64) + 0.123456789 for k, v in bn.state_dict().items()}
    sd["num_batches_tracked"] = np.array(7.0)
    sd["running_mean"] = np.array([1, 2, 3])                       # ints into a float buffer
    bn.load_state_dict(sd)
    assert bn.weight.dtype == np.float32 and bn.num_batches_tracked.numpy().dtype == np.int64
    np.testing.assert_array_equal(bn.weight.numpy(), sd["weight"].astype(np.float32))
    assert int(bn.num_batches_tracked.numpy()) == 7
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, 2.0, 3.0])


def test_non_persistent_buffers_stay_out_of_the_state_dict():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("kept", nv.zeros(2))
            self.register_buffer("scratch", nv.ones(2), persistent=False)

    m = M()
    assert list(m.state_dict()) == ["kept"]
    assert m.load_state_dict({"kept": np.ones(2)}) == ([], [])
    assert m.load_state_dict({"kept": np.ones(2), "scratch": np.zeros(2)}, strict=False) == ([], ["scratch"])
    np.testing.assert_array_equal(m.scratch.numpy(), [1.0, 1.0])


def test_load_weights_into_the_optimizers_flat_buffer_keeps_training_the_loaded_values(tmp_path):
    nv.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    opt = optim.SGD(model.parameters(), lr=0.5)
    x = nv.randn(6, 4)

    def step(m, o):
        o.zero_grad()
        (m(x) ** 2).mean().backward()
        o.step()

    nv.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    save_state_dict(other, tmp_path / "w.safetensors")
    step(model, opt)                                  # parameters are now views of the flat buffer
    load_weights(model, tmp_path / "w.safetensors")
    step(model, opt)
    twin_opt = optim.SGD(other.parameters(), lr=0.5)
    step(other, twin_opt)                             # one plain SGD step from the file's values
    for (k, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_of_unsigned_dtypes_on_untyped_storages_loads(tmp_path, legacy):
    base = torch.tensor([0, 7, 65535, 300, 12, 9], dtype=torch.uint16)
    obj = {"u16": base[1:5].view(2, 2).t(), "u32": torch.tensor([1, 2**32 - 1], dtype=torch.uint32),
           "u64": torch.tensor([[3, 2**63 + 1]], dtype=torch.uint64), "f": torch.arange(3.0)}
    torch.save(obj, tmp_path / "u.pt", _use_new_zipfile_serialization=not legacy)
    got = load_torch(tmp_path / "u.pt")
    for k, t in obj.items():
        assert got[k].dtype == t.numpy().dtype and got[k].shape == tuple(t.shape), k
        np.testing.assert_array_equal(got[k].numpy(), t.numpy())


def test_dtypes_numpy_cannot_hold_are_a_clear_error_and_untyped_storages_run_nothing(tmp_path):
    torch.save({"f8": torch.tensor([1.0, 2.0]).to(torch.float8_e4m3fn)}, tmp_path / "f8.pt")
    with pytest.raises(ValueError, match="torch.float8_e4m3fn tensors, which nerve cannot represent"):
        load_torch(tmp_path / "f8.pt")
    # a pickle that calls the (allowed) UntypedStorage name is refused, not run
    evil = b"\x80\x02ctorch.storage\nUntypedStorage\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03."
    with zipfile.ZipFile(tmp_path / "e.pt", "w") as z:
        z.writestr("e/data.pkl", evil)
    with pytest.raises(ValueError):
        load_torch(tmp_path / "e.pt")
    # the bytes are a real call: with another callable in that place, plain pickle runs it
    assert pickle.loads(evil.replace(b"torch.storage\nUntypedStorage", b"builtins\nlist")) == ["l", "s"]


@pytest.mark.parametrize("case,entries,body", [
    ("overlap", {"a": ("F32", [2], [0, 8]), "b": ("F32", [2], [4, 12])}, 12),
    ("gap", {"a": ("F32", [2], [4, 12])}, 12),
    ("trailing", {"a": ("F32", [2], [0, 8])}, 16),
    ("past_end", {"a": ("F32", [4], [0, 16])}, 8),
    ("partial_element", {"a": ("F32", [1], [0, 6])}, 6),
])
def test_nerves_own_bfloat16_reader_checks_the_layout_as_the_reference_does(tmp_path, case, entries, body):
    # nerve reads bfloat16 itself when NumPy lacks the type; it must be as strict as safetensors
    from nerve.io.tensors import _load_widening_bfloat16
    header = {"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}
    for k, (dt, shape, (b, e)) in entries.items():
        header[k] = {"dtype": dt, "shape": shape, "data_offsets": [b + 4, e + 4]}
    path = tmp_path / f"{case}.safetensors"
    _write_raw(path, header, b"\0" * (body + 4))
    with pytest.raises(ValueError, match=str(path.name)):
        _load_widening_bfloat16(path)
    good = tmp_path / "good.safetensors"
    _write_raw(good, {"w": header["w"], "a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
               struct.pack("<2H", 0x3FC0, 0xC010) + np.array([1.5, -2.0], "<f4").tobytes())
    arrays, _ = _load_widening_bfloat16(good)
    np.testing.assert_array_equal(arrays["w"], [1.5, -2.25])
    np.testing.assert_array_equal(arrays["a"], [1.5, -2.0])


def test_loading_weights_after_a_forward_pass_stops_its_backward_as_torch_does():
    # load_state_dict writes in place (as torch's copy_); a graph built on the old values
    # must not silently backpropagate through the loaded ones
    nv.manual_seed(0)
    model = nn.Linear(3, 2)
    x = nv.randn(4, 3, requires_grad=True)
    loss = model(x).sum()
    model.load_state_dict({"weight": np.ones((2, 3), np.float32), "bias": np.zeros(2, np.float32)})
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()
    tm = torch.nn.Linear(3, 2)
    tx = torch.randn(4, 3, requires_grad=True)
    tloss = tm(tx).sum()
    tm.load_state_dict({"weight": torch.ones(2, 3), "bias": torch.zeros(2)})
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tloss.backward()
    model(x).sum().backward()                     # a fresh graph uses the loaded weights
    np.testing.assert_array_equal(x.grad.numpy(), np.full((4, 3), 2.0, np.float32))


def test_a_nerve_weight_file_loads_by_name_into_the_torch_twin(tmp_path):
    nv.manual_seed(3)
    n = _Twins.nerve_model()
    ids = np.random.default_rng(0).integers(0, 11, (3, 5))
    n.train()
    n(nv.tensor(ids))                            # running statistics move
    n.eval()
    save_state_dict(n, tmp_path / "n.safetensors")
    sd = st_torch.load_file(str(tmp_path / "n.safetensors"))
    assert sd["bn.num_batches_tracked"].dtype == torch.int64 and int(sd["bn.num_batches_tracked"]) == 1
    t = _Twins.torch_model()
    assert t.load_state_dict(sd) == ([], [])     # torch's strict load: every name matches
    t.eval()
    with torch.no_grad():
        want = t(torch.tensor(ids)).numpy()
    with nv.no_grad():
        got = n(nv.tensor(ids)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_dtype_numpy_cannot_hold_is_named(tmp_path):
    st_torch.save_file({"ok": torch.ones(2), "q": torch.tensor([1.0, 2.0]).to(torch.float8_e4m3fn)},
                       str(tmp_path / "f8.safetensors"))
    with pytest.raises(ValueError, match="tensor 'q' has dtype F8_E4M3, which nerve cannot read"):
        load_safetensors(tmp_path / "f8.safetensors")


def test_load_weights_accepts_a_scalar_stored_with_shape_one_as_load_state_dict_does(tmp_path):
    bn = nn.BatchNorm1d(2)
    sd = {k: v.numpy().copy() for k, v in bn.state_dict().items()}
    sd["num_batches_tracked"] = np.array([5])        # how older checkpoints stored scalars
    save_safetensors(sd, tmp_path / "old.safetensors")
    for source in (sd, tmp_path / "old.safetensors"):
        bn.num_batches_tracked._data[...] = 0
        load_weights(bn, source)
        assert bn.num_batches_tracked.shape == () and int(bn.num_batches_tracked.numpy()) == 5
    sd["num_batches_tracked"] = np.array([5, 6])
    with pytest.raises(Exception, match=r"num_batches_tracked: the state dict has \(2,\)"):
        load_weights(bn, sd)
