"""nerve.save / nerve.load: torch.save-shaped checkpoints stored as safetensors + JSON."""
import collections
import json

import numpy as np
import pytest

import nerve as nv
from nerve.io import load_safetensors, save_safetensors
from nerve.io.serialize import FORMAT, OBJECT_KEY


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, nv.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_nested_structures_round_trip_exactly(tmp_path):
    obj = {
        "t32": nv.randn(3, 4), "t64": nv.randn(2, dtype=nv.float64, requires_grad=True),
        "i64": nv.arange(5), "b": nv.tensor([True, False]), "scalar": nv.tensor(3.5),
        "empty": nv.zeros(0, 3), "arr": np.arange(6, dtype=np.int16).reshape(2, 3),
        "np_scalar": np.float64(1.25), "np_int": np.int32(-4), "np_bool": np.bool_(True),
        "ints": [1, -2, 10 ** 12], "floats": (0.1, float("inf"), -float("inf"), float("nan")),
        "flags": [True, False, None], "text": "héllo", "nested": {"deeper": [{"x": nv.ones(1)}, ()]},
        7: "int key", (1, "a"): "tuple key", None: 0, 2.5: "float key",
        "od": collections.OrderedDict([("z", 1), ("a", 2)]),
    }
    p = tmp_path / "ck.pt"
    assert nv.save(obj, p) == p
    _same(obj, nv.load(p))


def test_top_level_tensor_and_shared_tensor_stored_once(tmp_path):
    t = nv.randn(4)
    nv.save(t, tmp_path / "t.pt")
    _same(t, nv.load(tmp_path / "t.pt"))
    nv.save({"a": t, "b": [t]}, tmp_path / "s.pt")
    arrays, _ = load_safetensors(tmp_path / "s.pt")
    assert len(arrays) == 1
    back = nv.load(tmp_path / "s.pt")
    assert back["a"] is back["b"][0]


def test_the_file_is_plain_safetensors_with_a_json_structure(tmp_path):
    nv.save({"w": nv.ones(2), "step": 3}, tmp_path / "f.pt")
    arrays, meta = load_safetensors(tmp_path / "f.pt")
    assert meta["nerve.format"] == FORMAT
    assert json.loads(meta[OBJECT_KEY]) == {"type": "dict", "items": [
        ["w", {"type": "tensor", "key": "0", "requires_grad": False}], ["step", 3]]}
    assert list(arrays) == ["0"]
    safetensors = pytest.importorskip("safetensors.numpy")
    assert safetensors.load_file(str(tmp_path / "f.pt"))["0"].tolist() == [1.0, 1.0]


def test_model_state_dict_round_trip(tmp_path):
    nv.manual_seed(0)
    model = nv.nn.Sequential(nv.nn.Linear(3, 4), nv.nn.BatchNorm1d(4), nv.nn.Linear(4, 2))
    nv.save(model.state_dict(), tmp_path / "m.pt")
    other = nv.nn.Sequential(nv.nn.Linear(3, 4), nv.nn.BatchNorm1d(4), nv.nn.Linear(4, 2))
    other.load_state_dict(nv.load(tmp_path / "m.pt"))
    x = nv.randn(5, 3)
    model.eval(), other.eval()
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


L = nv.optim.lr_scheduler
PAIRS = [
    (lambda ps: nv.optim.Adam(ps, lr=0.05, amsgrad=True), lambda o: L.StepLR(o, step_size=3, gamma=0.5)),
    (lambda ps: nv.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
     lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=20)),
    (lambda ps: nv.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
     lambda o: L.ReduceLROnPlateau(o, patience=0, factor=0.5)),  # best = inf until the first step
    (lambda ps: nv.optim.NAdam(ps, lr=0.02, weight_decay=0.01),
     lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=3),
                                  L.ExponentialLR(o, gamma=0.9)], milestones=[3])),
    (lambda ps: nv.optim.Rprop(ps, lr=0.01), lambda o: L.LambdaLR(o, lambda e: 0.95 ** e)),
]


@pytest.mark.parametrize("make_opt, make_sched", PAIRS, ids=["adam-step", "sgd-onecycle", "rmsprop-plateau",
                                                             "nadam-sequential", "rprop-lambda"])
def test_optimizer_and_scheduler_resume_gives_identical_next_steps(tmp_path, make_opt, make_sched):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))

    def build():
        nv.manual_seed(1)
        model = nv.nn.Sequential(nv.nn.Linear(3, 5), nv.nn.Tanh(), nv.nn.Linear(5, 2)).double()
        opt = make_opt(list(model.parameters()))
        return model, opt, make_sched(opt)

    def train(model, opt, sched, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(nv.tensor(X)) - nv.tensor(Y)) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step(loss.item()) if isinstance(sched, L.ReduceLROnPlateau) else sched.step()

    model, opt, sched = build()
    if isinstance(sched, L.ReduceLROnPlateau):
        nv.save({"sched": sched.state_dict()}, tmp_path / "fresh.pt")  # inf survives the file
        assert nv.load(tmp_path / "fresh.pt")["sched"]["best"] == float("inf")
    train(model, opt, sched, 5)
    nv.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
             "epoch": 5}, tmp_path / "ck.pt")
    train(model, opt, sched, 6)
    model2, opt2, sched2 = build()
    ck = nv.load(tmp_path / "ck.pt")
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["opt"])
    sched2.load_state_dict(ck["sched"])
    assert ck["epoch"] == 5
    train(model2, opt2, sched2, 6)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


class Custom:
    pass


@pytest.mark.parametrize("obj, where, what", [
    ({"a": [1, Custom()]}, r"obj\['a'\]\[1\]", "Custom"),
    ({"f": lambda x: x}, r"obj\['f'\]", "function"),
    ([np.array(["x"])], r"obj\[0\]", "dtype <U1"),
    ({"s": {1, 2}}, r"obj\['s'\]", "set"),
    ({object(): 1}, "key", "object"),
    (collections.defaultdict(list), "obj", "defaultdict"),
])
def test_unsupported_objects_are_named_with_their_place(tmp_path, obj, where, what):
    p = tmp_path / "bad.pt"
    with pytest.raises(TypeError, match=where) as e:
        nv.save(obj, p)
    assert what in str(e.value)
    assert not p.exists()  # nothing half-written


def test_a_failed_save_leaves_the_old_file(tmp_path):
    p = tmp_path / "ck.pt"
    nv.save({"v": 1}, p)
    with pytest.raises(TypeError):
        nv.save({"v": Custom()}, p)
    assert nv.load(p) == {"v": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["ck.pt"]


def test_load_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError):
        nv.load(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(ValueError, match="not a safetensors file"):
        nv.load(junk)
    nv.save({"a": 1}, tmp_path / "ok.pt")
    with pytest.raises(ValueError, match="weights_only"):
        nv.load(tmp_path / "ok.pt", weights_only=False)
    with pytest.raises(ValueError, match="map_location"):
        nv.load(tmp_path / "ok.pt", map_location="tpu")
    assert nv.load(tmp_path / "ok.pt", map_location="cpu") == {"a": 1}


def test_damaged_structure_is_a_clear_error(tmp_path):
    p = tmp_path / "d.pt"
    save_safetensors({"0": np.ones(1)}, p, {"nerve.format": FORMAT, OBJECT_KEY: '{"type": "evil"}'})
    with pytest.raises(ValueError, match="damaged nerve checkpoint"):
        nv.load(p)
    save_safetensors({"0": np.ones(1)}, p, {"nerve.format": FORMAT,
                                            OBJECT_KEY: '{"type": "tensor", "key": "7"}'})
    with pytest.raises(ValueError, match="damaged nerve checkpoint"):
        nv.load(p)


def test_foreign_safetensors_with_a_name_mapping(tmp_path):
    p = tmp_path / "hf.safetensors"
    save_safetensors({"model.encoder.weight": np.ones((2, 2), np.float32),
                      "model.encoder.bias": np.zeros(2, np.float32), "lm_head.weight": np.ones(1)}, p)
    plain = nv.load(p)
    assert list(plain) == ["model.encoder.weight", "model.encoder.bias", "lm_head.weight"]
    mapped = nv.load(p, rename={"model.encoder.weight": "0.weight", "model.encoder.bias": "0.bias"})
    assert list(mapped) == ["0.weight", "0.bias", "lm_head.weight"]
    dropped = nv.load(p, rename=lambda k: None if k.startswith("lm_head") else k.replace("model.encoder", "0"))
    model = nv.nn.Sequential(nv.nn.Linear(2, 2))
    model.load_state_dict(dropped)
    assert model[0].weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(ValueError, match="same name"):
        nv.load(p, rename=lambda k: "x")


def test_big_endian_and_strided_arrays_are_stored_by_value(tmp_path):
    be = np.arange(4, dtype=">f8")
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]
    t = nv.arange(12.0).reshape(3, 4).t()
    nv.save([be, strided, t], tmp_path / "x.pt")
    b, s, tt = nv.load(tmp_path / "x.pt")
    assert b.dtype == np.float64 and b.tolist() == [0.0, 1.0, 2.0, 3.0]
    np.testing.assert_array_equal(s, strided)
    np.testing.assert_array_equal(tt.numpy(), t.numpy())


def test_docstring_examples_run():
    import doctest

    import nerve.io.serialize
    r = doctest.testmod(nerve.io.serialize)
    assert r.failed == 0 and r.attempted > 0


def test_a_crash_during_the_write_leaves_the_old_file(tmp_path, monkeypatch):
    import os

    p = tmp_path / "ck.pt"
    nv.save({"v": nv.ones(3)}, p)

    def crash(src, dst):
        raise OSError("disk pulled out")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        nv.save({"v": nv.zeros(3)}, p)
    monkeypatch.undo()
    assert nv.load(p)["v"].tolist() == [1.0, 1.0, 1.0]
    assert [f.name for f in tmp_path.iterdir()] == ["ck.pt"]  # the temporary file is gone too
