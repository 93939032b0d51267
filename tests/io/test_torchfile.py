"""Reading PyTorch .pt files without torch: real torch.save output loads, hostile pickles
are refused before anything in them runs, and a PyTorch ResNet-18 gives the same logits."""
import collections
import os
import pickle
import zipfile

import numpy as np
import pytest

import nerve as nv
from nerve.io import UnsafePickleError, load_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def _check(t, ref):
    assert isinstance(t, nv.Tensor)
    ref = ref.detach()
    assert t.shape == tuple(ref.shape)
    np.testing.assert_array_equal(t.numpy(), ref.numpy())
    assert t.dtype == ref.numpy().dtype


@pytest.mark.parametrize("legacy", [False, True])
def test_tensors_of_every_standard_dtype_and_layout(tmp_path, legacy):
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, generator=g)
    sd = collections.OrderedDict([
        ("f32", torch.randn(3, 4, generator=g)),
        ("f64", torch.randn(5, dtype=torch.float64, generator=g)),
        ("f16", torch.randn(3, generator=g).half()),
        ("i64", torch.arange(-3, 7)), ("i32", torch.arange(4, dtype=torch.int32)),
        ("i16", torch.arange(3, dtype=torch.int16)), ("i8", torch.tensor([-1, 2], dtype=torch.int8)),
        ("u8", torch.tensor([0, 255], dtype=torch.uint8)), ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)), ("empty", torch.zeros(0, 3)),
        ("transposed", base.t()), ("strided", base[::2, 1::3]), ("row", base[2]),
        ("offset", base.view(-1)[5:11].view(2, 3)),
        ("expanded", torch.randn(3, 1, generator=g).expand(3, 4)),
    ])
    sd["shared_a"] = base
    sd["shared_b"] = base[1:3]  # same storage as shared_a
    p = tmp_path / "t.pt"
    torch.save(sd, p, _use_new_zipfile_serialization=not legacy)
    got = load_torch(p)
    assert type(got) is collections.OrderedDict and list(got) == list(sd)
    for k, v in sd.items():
        if v.dtype == torch.float16:
            np.testing.assert_array_equal(got[k].numpy(), v.numpy())
        else:
            _check(got[k], v)
    assert nv.load(p)["transposed"].tolist() == base.t().tolist()  # nerve.load recognises it


@pytest.mark.parametrize("legacy", [False, True])
def test_bfloat16_widens_exactly_and_nested_containers(tmp_path, legacy):
    x = torch.randn(5).bfloat16()
    obj = {"bf": x, "list": [torch.ones(2), (3, "s", None, True, 1.5)], "size": torch.Size([2, 3]),
           "dtype": torch.float64, "param": torch.nn.Parameter(torch.zeros(2)), "bytes": b"\x00\xffab",
           "nested": {"deep": {"t": torch.arange(3)}}, 4: {1, 2}, "dev": torch.device("cuda", 1),
           "counts": collections.Counter("abca"), "ba": bytearray(b"xy"), "z": 1 + 2j}
    p = tmp_path / "n.pth"
    torch.save(obj, p, _use_new_zipfile_serialization=not legacy)
    got = nv.load(p)
    assert got["bf"].dtype == np.float32
    np.testing.assert_array_equal(got["bf"].numpy(), x.float().numpy())
    assert got["list"][1] == (3, "s", None, True, 1.5) and got["size"] == (2, 3)
    assert got["dtype"] == np.float64 and got["bytes"] == b"\x00\xffab" and got[4] == {1, 2}
    assert got["param"].requires_grad and got["param"].tolist() == [0.0, 0.0]
    assert got["nested"]["deep"]["t"].tolist() == [0, 1, 2]
    assert got["dev"] == nv.device("cuda:1") and isinstance(got["dev"], nv.device)
    assert got["counts"] == collections.Counter("abca") and got["ba"] == bytearray(b"xy")
    assert got["z"] == 1 + 2j


def test_optimizer_state_dict_from_torch_loads(tmp_path):
    w = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([w], lr=0.1)
    w.sum().backward()
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "o.pt")
    got = nv.load(tmp_path / "o.pt")
    assert got["param_groups"][0]["lr"] == 0.1 and got["param_groups"][0]["betas"] == (0.9, 0.999)
    _check(got["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


# ------------------------------------------------------------------------ hostile files
class _Payload:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _hostile_pickles(marker):
    import builtins
    import subprocess
    cmd = f"touch {marker}"
    yield "os.system", pickle.dumps({"w": _Payload(os.system, (cmd,))}, protocol=2)
    yield "builtins.eval", pickle.dumps(_Payload(builtins.eval, (f"open({str(marker)!r}, 'w')",)), protocol=2)
    yield "builtins.exec", pickle.dumps(_Payload(builtins.exec, (f"open({str(marker)!r}, 'w')",)), protocol=4)
    yield "subprocess.Popen", pickle.dumps([_Payload(subprocess.Popen, (["touch", str(marker)],))], protocol=2)
    # protocol 0 text opcodes: GLOBAL via 'c', and INST
    yield "posix.system", f"cos\nsystem\n(S'{cmd}'\ntR.".encode()
    yield "INST", f"(S'{cmd}'\nios\nsystem\n.".encode()
    # a module pickle itself would import: an arbitrary GLOBAL that is harmless but not allowed
    yield "nerve.io.save", b"\x80\x02cnerve.io\nsave\nq\x00."
    # an allowed name smuggling a call through OrderedDict's arguments still cannot reach os
    yield "collections.OrderedDict + os", pickle.dumps(
        collections.OrderedDict(w=_Payload(os.system, (cmd,))), protocol=2)


def _zip_with(pkl, path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def test_hostile_pickles_are_refused_without_running(tmp_path):
    marker = tmp_path / "PWNED"
    for name, pkl in _hostile_pickles(marker):
        zpath = tmp_path / "evil.pt"
        _zip_with(pkl, zpath)
        with pytest.raises(UnsafePickleError, match="refusing to load") as e:
            nv.load(zpath)
        assert "Nothing in the file was run" in str(e.value)
        assert not marker.exists(), name
        raw = tmp_path / "evil_raw.pt"
        raw.write_bytes(pkl)
        with pytest.raises(ValueError):
            load_torch(raw)
        assert not marker.exists(), name
    # the same payloads do run through plain pickle: the test would see a real attack
    pickle.loads(next(_hostile_pickles(marker))[1])
    assert marker.exists()


def test_refusal_names_the_global(tmp_path):
    _zip_with(pickle.dumps(_Payload(os.system, ("true",)), protocol=2), tmp_path / "e.pt")
    with pytest.raises(UnsafePickleError, match=r"asks for (posix|os)\.system"):
        load_torch(tmp_path / "e.pt")


def test_crafted_strides_cannot_read_outside_a_storage(tmp_path):
    t = torch.arange(6.0)
    torch.save({"t": t}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as z:
        files = {n: z.read(n) for n in z.namelist()}
    pkl_name = next(n for n in files if n.endswith("data.pkl"))
    pkl = files[pkl_name]
    # shape (6,) stride (1,) -> shape (6,) stride (100,): reaches far past the 6-element storage
    assert pkl.count(b"K\x06\x85") >= 1 and pkl.count(b"K\x01\x85") == 1
    files[pkl_name] = pkl.replace(b"K\x01\x85", b"Kd\x85")
    with zipfile.ZipFile(tmp_path / "bad.pt", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    with pytest.raises(UnsafePickleError, match="past the end of its storage"):
        load_torch(tmp_path / "bad.pt")


def test_zero_strides_cannot_expand_into_a_memory_bomb(tmp_path):
    torch.save({"t": torch.ones(1).expand(2 ** 40)}, tmp_path / "bomb.pt")  # 4 bytes on disk
    with pytest.raises(UnsafePickleError, match="refusing to allocate"):
        load_torch(tmp_path / "bomb.pt")


def test_damaged_files_are_clear_errors(tmp_path):
    torch.save({"t": torch.arange(100.0)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as z:
        files = {n: z.read(n) for n in z.namelist()}
    data = next(n for n in files if n.endswith("data/0"))
    files[data] = files[data][:40]
    with zipfile.ZipFile(tmp_path / "trunc.pt", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    with pytest.raises(ValueError, match="truncated"):
        load_torch(tmp_path / "trunc.pt")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="not a torch.save archive"):
        load_torch(tmp_path / "other.zip")


# ------------------------------------------------------------------- ResNet-18 parity
def _torch_resnet18():
    """ResNet-18 built from torch.nn with torchvision's module names (no torchvision)."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                nn.BatchNorm2d(cout))

        def forward(self, x):
            idt = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + idt)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            widths, cin = [64, 128, 256, 512], 64
            for i, w in enumerate(widths):
                stride = 1 if i == 0 else 2
                setattr(self, f"layer{i + 1}", nn.Sequential(Block(cin, w, stride), Block(w, w, 1)))
                cin = w
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet18()


def test_pytorch_resnet18_state_dict_gives_the_same_logits(tmp_path):
    from nerve.models import resnet18
    torch.manual_seed(0)
    ref = _torch_resnet18()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so eval mode matters
        for m in ref.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.num_batches_tracked.fill_(7)
    ref.eval()
    p = tmp_path / "resnet18.pth"
    torch.save(ref.state_dict(), p)
    model = resnet18()
    sd = nv.load(p)
    assert list(sd) == list(ref.state_dict())
    assert set(sd) == set(model.state_dict())
    model.load_state_dict(sd)
    model.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    with nv.no_grad():
        got = model(nv.tensor(x)).numpy()
    assert got.shape == (2, 1000)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_safetensors_written_by_torch_with_bfloat16_and_a_name_mapping(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    lin = torch.nn.Linear(3, 2)
    half = torch.randn(4).bfloat16()
    st.save_file({"encoder.proj.weight": lin.weight.detach(), "encoder.proj.bias": lin.bias.detach(),
                  "extra.h": half}, str(tmp_path / "m.safetensors"))
    got = nv.load(tmp_path / "m.safetensors", rename=lambda k: k.replace("encoder.proj.", "0."))
    np.testing.assert_array_equal(got["extra.h"].numpy(), half.float().numpy())
    model = nv.nn.Sequential(nv.nn.Linear(3, 2))
    model.load_state_dict({k: v for k, v in got.items() if k.startswith("0.")})
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(model(nv.tensor(x)).detach().numpy(),
                               lin(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_bfloat16_is_widened_also_when_numpy_knows_bfloat16(tmp_path):
    """onnx (and JAX) import ml_dtypes, which gives NumPy a bfloat16 type; safetensors then hands
    such arrays back as that type, which nerve does not compute in: they are widened the same way."""
    pytest.importorskip("ml_dtypes")
    import ml_dtypes  # noqa: F401
    st = pytest.importorskip("safetensors.torch")
    h = torch.randn(5).bfloat16()
    st.save_file({"h": h}, str(tmp_path / "b.safetensors"))
    got = nv.load(tmp_path / "b.safetensors")["h"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.numpy(), h.float().numpy())
