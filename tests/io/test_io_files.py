"""nerve.io: safetensors and JSON files, atomic writes, weight loading with clear errors."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import nerve as nv
from nerve.io import (StateDictError, atomic_write, load_json, load_safetensors, load_state_dict,
                      load_weights, save_json, save_safetensors, save_state_dict)


def test_safetensors_roundtrip_keeps_dtypes_shapes_order_and_metadata(tmp_path):
    arrays = {
        "z.last": np.arange(6, dtype=np.float32).reshape(2, 3),
        "layers.10.w": np.random.default_rng(0).normal(size=(3, 4)),
        "layers.2.w": np.array([1, -2, 3], dtype=np.int64),
        "mask": np.array([True, False]),
        "pixels": np.arange(4, dtype=np.uint8),
        "scalar": np.array(2.5, dtype=np.float64),
    }
    path = save_safetensors(arrays, tmp_path / "a.safetensors", {"note": "hi"})
    loaded, meta = load_safetensors(path)
    assert list(loaded) == list(arrays)  # saved order, not safetensors' sorted order
    assert meta == {"note": "hi"}
    for k, v in arrays.items():
        assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape
        np.testing.assert_array_equal(loaded[k], v)


def test_safetensors_accepts_tensors_and_noncontiguous_arrays(tmp_path):
    t = nv.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    save_safetensors({"t": t, "T": np.arange(6.0).reshape(2, 3).T}, tmp_path / "t.safetensors")
    loaded, _ = load_safetensors(tmp_path / "t.safetensors")
    np.testing.assert_array_equal(loaded["t"], t._data)
    np.testing.assert_array_equal(loaded["T"], np.arange(6.0).reshape(2, 3).T)


def test_file_is_readable_by_the_reference_library(tmp_path):
    from safetensors.numpy import load_file

    save_safetensors({"w": np.ones((2, 2), np.float32)}, tmp_path / "w.safetensors")
    np.testing.assert_array_equal(load_file(str(tmp_path / "w.safetensors"))["w"], np.ones((2, 2)))


@pytest.mark.parametrize("content", [b"", b"hello, this is text and not weights",
                                     b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00}\x94.",  # a pickle
                                     b"\x10\x00\x00\x00\x00\x00\x00\x00[1, 2, 3]       "])
def test_a_file_that_is_not_safetensors_is_reported_as_such(tmp_path, content):
    p = tmp_path / "x.safetensors"
    p.write_bytes(content)
    with pytest.raises(ValueError, match="not a (valid )?safetensors file"):
        load_safetensors(p)


def test_truncated_safetensors_file_is_reported(tmp_path):
    p = save_safetensors({"w": np.ones(1000, np.float32)}, tmp_path / "w.safetensors")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 100])
    with pytest.raises(ValueError, match="safetensors"):
        load_safetensors(p)


def test_missing_file_and_directory_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_safetensors(tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError, match="directory"):
        load_safetensors(tmp_path)


def test_bad_arguments_name_the_problem(tmp_path):
    with pytest.raises(TypeError, match="str to str"):
        save_safetensors({"w": np.ones(2)}, tmp_path / "w.safetensors", {"epoch": 3})
    with pytest.raises(TypeError, match="names must be strings"):
        save_safetensors({1: np.ones(2)}, tmp_path / "w.safetensors")
    with pytest.raises(TypeError, match="'w'"):
        save_safetensors({"w": [1, 2]}, tmp_path / "w.safetensors")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_safetensors({"w": np.ones(2)}, tmp_path / "missing" / "w.safetensors")


def test_json_roundtrip_with_numpy_values_and_clear_syntax_error(tmp_path):
    obj = {"lr": np.float32(0.5), "epochs": np.int64(3), "sizes": np.array([784, 16]), "name": "x"}
    save_json(obj, tmp_path / "c.json")
    assert load_json(tmp_path / "c.json") == {"lr": 0.5, "epochs": 3, "sizes": [784, 16], "name": "x"}
    (tmp_path / "bad.json").write_text('{"a": 1,,}')
    with pytest.raises(ValueError, match=r"bad.json is not valid JSON \(line 1"):
        load_json(tmp_path / "bad.json")
    with pytest.raises(TypeError, match="cannot write object"):
        save_json({"f": object()}, tmp_path / "o.json")
    assert not (tmp_path / "o.json").exists()


def test_atomic_write_keeps_old_file_when_the_block_fails(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(p, "w") as f:
            f.write("new, half")
            raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from nerve.io import atomic_write
    path, payload, ready = sys.argv[1], open(sys.argv[2], "rb").read(), Path(sys.argv[3])
    with atomic_write(path) as f:
        for i in range(0, len(payload), 4096):
            f.write(payload[i:i + 4096])
            f.flush()
            if i == 16 * 4096:  # 64 KiB are on disk: say so, and wait there to be killed
                ready.write_text("writing")
                time.sleep(120)
""")


def test_killed_writer_leaves_previous_file_intact(tmp_path):
    target = tmp_path / "model.safetensors"
    old = {"w": np.arange(10, dtype=np.float32)}
    save_safetensors(old, target)
    # A valid new file of ~2 MB; the writer stops after its first 64 KiB until it is killed, so
    # the kill lands mid-write however loaded the machine is.
    staging = tmp_path / "staging"
    staging.mkdir()
    save_safetensors({"w": np.ones(500_000, np.float32)}, staging / "new.safetensors")
    script = staging / "writer.py"
    script.write_text(WRITER)
    ready = staging / "ready"
    proc = subprocess.Popen([sys.executable, str(script), str(target), str(staging / "new.safetensors"),
                             str(ready)])
    try:
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None and not ready.exists():
            time.sleep(0.01)
        if not ready.exists():
            pytest.fail(f"the writer never reached 64 KiB (exit status {proc.poll()})")
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert temps and temps[0].stat().st_size > 64 * 1024
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    loaded, _ = load_safetensors(target)
    np.testing.assert_array_equal(loaded["w"], old["w"])
    # The half-written temp file is hidden and never matches the real name or suffix.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.safetensors.")
    assert [p.name for p in tmp_path.glob("*.safetensors")] == ["model.safetensors"]


def _model():
    from nerve import nn

    return nn.Linear(3, 4)


def test_state_dict_roundtrip_is_bit_identical(tmp_path):
    src, dst = _model(), _model()
    for i, t in enumerate(src.state_dict().values()):
        t._data[...] = np.random.default_rng(i).normal(size=t.shape)
    save_state_dict(src, tmp_path / "m.safetensors")
    assert set(load_state_dict(tmp_path / "m.safetensors")) == set(src.state_dict())
    load_weights(dst, tmp_path / "m.safetensors")
    for k, v in src.state_dict().items():
        assert dst.state_dict()[k]._data.tobytes() == v._data.tobytes()


def test_loading_mismatched_weights_lists_every_problem(tmp_path):
    model = _model()
    sd = {k: v._data.copy() for k, v in model.state_dict().items()}
    weight_name = next(k for k in sd if k.endswith("weight"))
    bias_name = next(k for k in sd if k.endswith("bias"))
    sd[weight_name] = np.zeros((5, 3), np.float32)
    del sd[bias_name]
    sd["extra.weight"] = np.zeros(2, np.float32)
    save_safetensors(sd, tmp_path / "bad.safetensors")
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    with pytest.raises(StateDictError) as e:
        load_weights(model, tmp_path / "bad.safetensors")
    msg = str(e.value)
    assert f"missing 1 tensor(s): {bias_name}" in msg
    assert "unexpected 1 tensor(s): extra.weight" in msg
    assert f"{weight_name}: " in msg and "(5, 3)" in msg and "(4, 3)" in msg
    for k, v in model.state_dict().items():  # nothing half-loaded
        np.testing.assert_array_equal(v._data, before[k])
    with pytest.raises(ValueError, match="not a safetensors file"):
        (tmp_path / "w.pt").write_bytes(b"PK\x03\x04 a zip archive")
        load_weights(model, tmp_path / "w.pt")


def test_json_is_strict_non_finite_numbers_become_null(tmp_path):
    import json

    import numpy as np

    from nerve.io import load_json, save_json
    obj = {"loss": float("nan"), "hist": [1.0, float("inf")], "arr": np.array([-np.inf, 2.0]),
           "scalar": np.float32("nan"), "ok": 0.5, "n": 3}
    path = save_json(obj, tmp_path / "x.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda t: (_ for _ in ()).throw(ValueError(t)))
    assert load_json(path) == {"loss": None, "hist": [1.0, None], "arr": [None, 2.0], "scalar": None,
                               "ok": 0.5, "n": 3}
