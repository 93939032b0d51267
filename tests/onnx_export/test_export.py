"""nerve.onnx.export: MLP, CNN, ResNet and LSTM files that onnxruntime runs to nerve's outputs (1e-5)."""
import numpy as np
import pytest

import nerve as nv
from nerve import models, nn
from nerve.onnx import UnsupportedModuleError, export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run_onnx(path, x, n_out=1):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {sess.get_inputs()[0].name: x})
    return outs if n_out > 1 else outs[0]


def _nerve(model, x):
    model.eval()
    with nv.no_grad():
        return model(nv.tensor(x)).numpy()


def _check(model, x, path, atol=1e-5, **kw):
    mode = model.training
    proto = export(model, nv.tensor(x), path, **kw)
    assert model.training == mode                               # the export restores the mode it found
    onnx.checker.check_model(onnx.load(str(path)))
    got = _run_onnx(path, x)
    want = _nerve(model, x)
    assert got.shape == want.shape and np.allclose(got, want, atol=atol, rtol=1e-5), np.abs(got - want).max()
    return proto


def test_mlp_with_dynamic_batch(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 8), nn.Tanh(),
                          nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8), nn.LeakyReLU(0.1), nn.Linear(8, 8), nn.SiLU(),
                          nn.Linear(8, 8), nn.ELU(), nn.Linear(8, 4), nn.Softmax(dim=1))
    model.train()
    x = np.random.default_rng(0).normal(size=(3, 3, 4)).astype(np.float32)
    proto = _check(model, x, tmp_path / "mlp.onnx", input_names=["x"], output_names=["probs"],
                   dynamic_axes={"x": {0: "batch"}, "probs": {0: "batch"}})
    assert [i.name for i in proto.graph.input] == ["x"] and [o.name for o in proto.graph.output] == ["probs"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    big = np.random.default_rng(1).normal(size=(7, 3, 4)).astype(np.float32)
    assert np.allclose(_run_onnx(tmp_path / "mlp.onnx", big), _nerve(model, big), atol=1e-5)
    assert "Dropout" not in {n.op_type for n in proto.graph.node}
    _check(nn.Sequential(nn.Dropout(0.3), nn.Identity()), x, tmp_path / "identity.onnx")   # output = input


def test_cnn_conv_pool_batchnorm(tmp_path):
    nv.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, stride=2, padding="valid", groups=2, bias=False), nn.ReLU6(),
                          nn.ZeroPad2d((1, 0, 2, 1)), nn.Conv2d(8, 6, 2, padding="same", dilation=2),
                          nn.AvgPool2d(2, stride=1, padding=1), nn.Hardtanh(-0.5, 0.5), nn.Flatten(),
                          nn.Linear(6 * 6 * 4, 10), nn.LogSoftmax(dim=1))
    bn = model[1]
    bn.running_mean._data[:] = np.linspace(-1, 1, 8)          # non-trivial statistics, as after training
    bn.running_var._data[:] = np.linspace(0.5, 2, 8)
    x = np.random.default_rng(2).normal(size=(2, 3, 12, 12)).astype(np.float32)
    _check(model, x, tmp_path / "cnn.onnx")
    lenet = models.lenet5()
    _check(lenet, np.random.default_rng(3).normal(size=(2, 1, 28, 28)).astype(np.float32), tmp_path / "lenet.onnx")
    for seed in (models.seed_cnn(image_size=16), models.seed_cnn_gap()):
        _check(seed, np.random.default_rng(4).normal(size=(2, 3, 16, 16)).astype(np.float32), tmp_path / "seed.onnx")


def test_resnet_with_add_and_global_average_pool(tmp_path):
    nv.manual_seed(1)
    model = models.resnet18(num_classes=5)
    for m in model.modules():                                  # random BN statistics and affine terms
        if isinstance(m, nn.BatchNorm2d):
            r = np.random.default_rng(m.num_features)
            m.running_mean._data[:] = r.normal(0, 0.1, m.num_features)
            m.running_var._data[:] = r.uniform(0.5, 1.5, m.num_features)
            m.weight._data[:] = r.uniform(0.5, 1.5, m.num_features)
    x = np.random.default_rng(5).normal(size=(2, 3, 32, 32)).astype(np.float32)
    proto = _check(model, x, tmp_path / "resnet18.onnx")
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Add") == 8 and "GlobalAveragePool" in ops and ops.count("Conv") == 20
    block = models.resnet.Bottleneck(16, 8, stride=2)
    block.eval()
    _check(block, np.random.default_rng(6).normal(size=(1, 16, 8, 8)).astype(np.float32), tmp_path / "bneck.onnx")


@pytest.mark.parametrize("batch_first,bidirectional,layers", [(True, False, 1), (False, True, 2)])
def test_lstm(tmp_path, batch_first, bidirectional, layers):
    nv.manual_seed(2)
    lstm = nn.LSTM(5, 7, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional)
    x = np.random.default_rng(7).normal(size=(3, 4, 5)).astype(np.float32)
    path = tmp_path / "lstm.onnx"
    export(lstm, nv.tensor(x), path, input_names=["seq"], output_names=["out", "h", "c"])
    got = _run_onnx(path, x, n_out=3)
    with nv.no_grad():
        out, (h, c) = lstm(nv.tensor(x))
    for a, b in zip(got, (out, h, c)):
        assert a.shape == b.shape and np.allclose(a, b.numpy(), atol=1e-5)


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x) * 2


def test_unsupported_module_is_named_with_its_path_and_nothing_is_written(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), _Custom()))
    path = tmp_path / "bad.onnx"
    with pytest.raises(UnsupportedModuleError, match=r"_Custom at 1\.1"):
        export(model, nv.zeros(1, 3), path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="opset"):
        export(nn.Linear(2, 2), nv.zeros(1, 2), tmp_path / "x.onnx", opset_version=9)
    with pytest.raises(ValueError, match="outputs"):
        export(nn.Linear(2, 2), nv.zeros(1, 2), tmp_path / "x.onnx", output_names=["a", "b"])
    with pytest.raises(TypeError, match="Module"):
        export(lambda v: v, nv.zeros(1, 2), tmp_path / "x.onnx")


@pytest.mark.parametrize("batch_first,norm_first,activation", [(True, False, "relu"), (False, True, "gelu")])
def test_transformer_encoder_layer(tmp_path, batch_first, norm_first, activation):
    nv.manual_seed(3)
    layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.1, activation=activation,
                                       batch_first=batch_first, norm_first=norm_first)
    x = np.random.default_rng(8).normal(size=(2, 5, 16)).astype(np.float32)
    proto = _check(layer, x, tmp_path / "enc.onnx")
    assert {"LayerNormalization", "Softmax"} <= {n.op_type for n in proto.graph.node}
    stack = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(16))
    _check(stack, x, tmp_path / "stack.onnx", dynamic_axes={"input": {0: "a", 1: "b"}, "output": {0: "a", 1: "b"}})
    longer = np.random.default_rng(9).normal(size=(3, 7, 16)).astype(np.float32)
    assert np.allclose(_run_onnx(tmp_path / "stack.onnx", longer), _nerve(stack, longer), atol=1e-5)
    with pytest.raises(UnsupportedModuleError, match="opset 17"):
        export(layer, nv.tensor(x), tmp_path / "old.onnx", opset_version=16)


def test_register_converter_teaches_a_custom_module(tmp_path):
    from nerve.onnx import exporter
    from nerve.onnx import register_converter

    def doubled(g, m, x, v, path):
        out, _ = g.convert(m.lin, x, v, f"{path}.lin")
        return g.node("Mul", [out, g.const(np.array(2.0, np.float32), f"{path}.two")], path)

    register_converter(_Custom, doubled)
    try:
        model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), _Custom()))
        _check(model, np.random.default_rng(0).normal(size=(2, 3)).astype(np.float32), tmp_path / "custom.onnx")
    finally:
        exporter._REGISTERED.pop(_Custom)
    with pytest.raises(TypeError):
        register_converter(int, doubled)
