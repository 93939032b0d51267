"""Edge cases of nerve.onnx.export checked against onnxruntime: layer options whose ONNX
translation differs from the obvious one (Flatten spans, Softplus threshold, pooling ceil
mode, adaptive pooling with None), batch sizes other than the example's, and clear refusals."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn
from nerve.onnx import UnsupportedModuleError, export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

_DYN = {"input": {0: "batch"}, "output": {0: "batch"}}


def _export_and_compare(model, shape, path, batches=(1, 3), dynamic=True, **kw):
    """Export on an example of ``shape``, then run other batch sizes through both."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    mode = model.training
    export(model, nv.tensor(x), path, dynamic_axes=_DYN if dynamic else None, **kw)
    assert model.training == mode                    # the export puts back the mode it found
    onnx.checker.check_model(onnx.load(str(path)))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for b in (batches if dynamic else (shape[0],)):
        xb = rng.normal(size=(b, *shape[1:])).astype(np.float32)
        got = sess.run(None, {"input": xb})[0]
        with nv.no_grad():
            want = model(nv.tensor(xb)).numpy()
        assert got.shape == want.shape, (got.shape, want.shape)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("start,end,dynamic", [(2, -1, True), (1, 2, True), (2, 3, True), (0, 1, False),
                                               (0, 2, False), (0, -1, False), (1, -1, True)])
def test_flatten_of_any_span_keeps_torchs_shape(tmp_path, start, end, dynamic):
    # ONNX Flatten always returns 2-D: Flatten(start_dim=2) used to come out as (N*C, H*W)
    model = nn.Sequential(nn.Flatten(start, end))
    _export_and_compare(model, (2, 3, 4, 5), tmp_path / "f.onnx", dynamic=dynamic)


def test_flatten_start_dim_2_feeding_a_linear_layer(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Flatten(start_dim=2), nn.Linear(16, 5), nn.ReLU())
    _export_and_compare(model, (2, 2, 4, 4), tmp_path / "f.onnx")


@pytest.mark.parametrize("beta,threshold", [(1.0, 1.0), (2.0, 0.5), (1.0, 20.0), (0.5, 3.0)])
def test_softplus_keeps_its_linear_branch_above_the_threshold(tmp_path, beta, threshold):
    # nerve (as torch) returns x itself where beta*x > threshold; a plain ONNX Softplus did not
    model = nn.Sequential(nn.Linear(4, 6), nn.Softplus(beta=beta, threshold=threshold))
    with nv.no_grad():
        model[0].weight._data *= 4          # inputs on both sides of the threshold
    _export_and_compare(model, (5, 4), tmp_path / "s.onnx")


@pytest.mark.parametrize("size", [(None, 1), (2, None), 3, (None, None)])
def test_adaptive_average_pool_with_none_keeps_that_axis(tmp_path, size):
    _export_and_compare(nn.Sequential(nn.AdaptiveAvgPool2d(size)), (2, 2, 6, 6), tmp_path / "a.onnx")


@pytest.mark.parametrize("layer", [
    nn.MaxPool2d(3, 2, ceil_mode=True), nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
    nn.MaxPool2d(2, dilation=2), nn.AvgPool2d(3, 2, ceil_mode=True),
    nn.AvgPool2d(3, 2, padding=1, ceil_mode=True),
    nn.AvgPool2d(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
    # on width 7 torch drops the last ceil_mode window (it would start in the padding)
    nn.MaxPool2d(2, 2, padding=1, ceil_mode=True), nn.AvgPool2d(2, 2, padding=1, ceil_mode=True),
    nn.Conv2d(2, 3, 4, padding="same"), nn.Conv2d(2, 3, (2, 4), padding="same", dilation=(3, 1)),
    nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0)), nn.ConstantPad2d((1, -1, 0, 2), 3.0),
    nn.Softmax(dim=-1), nn.LogSoftmax(dim=2), nn.LayerNorm([6, 7], elementwise_affine=False),
    nn.LayerNorm(7, bias=False), nn.ELU(alpha=2.0), nn.SELU(), nn.Hardtanh(-0.3, 0.2),
], ids=lambda m: repr(m).replace(" ", ""))
def test_layer_options_match_onnxruntime_at_several_batch_sizes(tmp_path, layer):
    _export_and_compare(nn.Sequential(layer), (2, 2, 6, 7), tmp_path / "l.onnx")


def test_batchnorm1d_on_sequences_and_without_affine(tmp_path):
    bn = nn.BatchNorm1d(3)
    bn.running_mean._data[:] = [0.5, -1.0, 2.0]
    bn.running_var._data[:] = [0.25, 4.0, 1.5]
    bn.train()                                   # exported in eval mode, as torch's default
    _export_and_compare(nn.Sequential(bn), (2, 3, 5), tmp_path / "b.onnx")
    _export_and_compare(nn.Sequential(nn.BatchNorm1d(3, affine=False)), (2, 3), tmp_path / "b2.onnx")


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_sequence_major_transformer_layer_with_a_dynamic_batch_axis(tmp_path, activation):
    nv.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=activation, batch_first=False, layer_norm_eps=1e-3)
    x = np.random.default_rng(0).normal(size=(4, 2, 8)).astype(np.float32)
    export(layer, nv.tensor(x), tmp_path / "t.onnx",
           dynamic_axes={"input": {1: "batch"}, "output": {1: "batch"}})
    sess = ort.InferenceSession(str(tmp_path / "t.onnx"), providers=["CPUExecutionProvider"])
    layer.eval()
    for b in (1, 3):
        xb = np.random.default_rng(b).normal(size=(4, b, 8)).astype(np.float32)
        with nv.no_grad():
            want = layer(nv.tensor(xb)).numpy()
        np.testing.assert_allclose(sess.run(None, {"input": xb})[0], want, atol=1e-5)


def test_lstm_with_dynamic_batch_and_time(tmp_path):
    nv.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True)
    export(lstm, nv.randn(2, 5, 3), tmp_path / "l.onnx",
           dynamic_axes={"input": {0: "b", 1: "t"}, "output": {0: "b", 1: "t"}, "h_n": {1: "b"}, "c_n": {1: "b"}})
    sess = ort.InferenceSession(str(tmp_path / "l.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(1, 2, 3), (4, 7, 3)]:
        xb = np.random.default_rng(1).normal(size=shape).astype(np.float32)
        out, h, c = sess.run(None, {"input": xb})
        with nv.no_grad():
            w_out, (w_h, w_c) = lstm(nv.tensor(xb))
        for got, want in ((out, w_out), (h, w_h), (c, w_c)):
            np.testing.assert_allclose(got, want.numpy(), atol=1e-5)


def test_every_accepted_opset_writes_a_model_that_runs(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 3), nn.Softmax(dim=1))
    for opset in (13, 17, 20):
        _export_and_compare(model, (2, 4), tmp_path / f"o{opset}.onnx", opset_version=opset)
    proto = onnx.load(str(tmp_path / "o13.onnx"))
    assert proto.opset_import[0].version == 13


def test_clear_refusals_name_the_layer_or_value(tmp_path):
    x = nv.randn(2, 2, 5, 5)
    cases = [(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect")), "padding_mode='reflect'"),
             (nn.Sequential(nn.Conv2d(2, 2, 1), nn.Embedding(4, 2)), "Embedding at 1"),
             (nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), "divisor_override"),
             (nn.Sequential(nn.AdaptiveAvgPool2d(3)), "AdaptiveAvgPool2d(3)")]
    for model, words in cases:
        with pytest.raises(UnsupportedModuleError, match=words.replace("(", r"\(").replace(")", r"\)")):
            export(model, x, tmp_path / "bad.onnx")
    assert not (tmp_path / "bad.onnx").exists()
    newest = onnx.defs.onnx_opset_version()
    with pytest.raises(ValueError, match=f"opset {newest + 5} is newer"):
        export(nn.Sequential(nn.ReLU()), x, tmp_path / "bad.onnx", opset_version=newest + 5)
    with pytest.raises(ValueError, match="opset 12 is too old"):
        export(nn.Sequential(nn.ReLU()), x, tmp_path / "bad.onnx", opset_version=12)
    with pytest.raises(UnsupportedModuleError, match="LayerNorm needs opset 17"):
        export(nn.Sequential(nn.LayerNorm(5)), x, tmp_path / "bad.onnx", opset_version=16)


@pytest.mark.parametrize("opset", [17, 20])
def test_gelu_tanh_approximation_exports_as_itself(tmp_path, opset):
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(approximate="tanh"))
    with nv.no_grad():
        model[0].weight._data *= 3
    _export_and_compare(model, (5, 4), tmp_path / "g.onnx", opset_version=opset)
    exact = nn.Sequential(nn.GELU())
    x = np.linspace(-4, 4, 9, dtype=np.float32)[None]
    assert np.abs(model[1](nv.tensor(x)).numpy() - exact(nv.tensor(x)).numpy()).max() > 1e-4  # they differ


@pytest.mark.parametrize("activation", ["relu_module", "gelu_module", "gelu_tanh_module"])
def test_transformer_layer_with_a_module_activation(tmp_path, activation):
    act = {"relu_module": nn.ReLU(), "gelu_module": nn.GELU(), "gelu_tanh_module": nn.GELU(approximate="tanh")}
    nv.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=act[activation], batch_first=True)
    _export_and_compare(layer, (2, 4, 8), tmp_path / "t.onnx")
    with pytest.raises(UnsupportedModuleError, match="custom activation"):
        export(nn.TransformerEncoderLayer(8, 2, 16, activation=nn.Tanh(), batch_first=True), nv.randn(2, 4, 8),
               tmp_path / "bad.onnx")


class _FlattenFrom2(nn.Module):
    def forward(self, x):
        return x.reshape(x.shape[0], x.shape[1], -1)


def test_a_converter_whose_graph_has_other_shapes_than_the_model_is_an_error(tmp_path):
    from nerve.onnx import register_converter
    # a wrong translation (ONNX Flatten is always 2-D): caught by strict shape inference
    register_converter(_FlattenFrom2, lambda g, m, x, v, path: g.node("Flatten", [x], path, axis=2))
    with pytest.raises(RuntimeError, match="gives output .output. 2 dimensions but the model gives it 3"):
        export(nn.Sequential(_FlattenFrom2()), nv.randn(2, 3, 4, 5), tmp_path / "bad.onnx",
               dynamic_axes=_DYN)
    assert not (tmp_path / "bad.onnx").exists()
    export(nn.Sequential(_FlattenFrom2()), nv.randn(2, 3, 4, 5), tmp_path / "bad.onnx", check=False)


def test_transformer_encoder_with_dynamic_batch_and_sequence_length(tmp_path):
    nv.manual_seed(0)
    model = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True), 2)
    x = np.random.default_rng(0).normal(size=(2, 4, 8)).astype(np.float32)
    export(model, nv.tensor(x), tmp_path / "te.onnx",
           dynamic_axes={"input": {0: "b", 1: "s"}, "output": {0: "b", 1: "s"}})
    sess = ort.InferenceSession(str(tmp_path / "te.onnx"), providers=["CPUExecutionProvider"])
    model.eval()
    for shape in [(1, 1, 8), (3, 9, 8)]:
        xb = np.random.default_rng(1).normal(size=shape).astype(np.float32)
        with nv.no_grad():
            want = model(nv.tensor(xb)).numpy()
        np.testing.assert_allclose(sess.run(None, {"input": xb})[0], want, atol=1e-5)
