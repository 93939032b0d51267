"""The ONNX exporter: a walk over the module tree that emits ONNX nodes as it runs the model.

Each converter receives the module, the ONNX name of its input and the nerve Tensor that flows
there (the export runs the model on ``example_input`` alongside), emits nodes and initializers,
and returns the output's name and value. Running alongside gives every converter the exact
shapes it needs and lets the exporter check each step.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..autograd import Tensor, no_grad
from ..models.cnn import SeedCNN
from ..models.lenet import LeNet5
from ..models.resnet import BasicBlock, Bottleneck, ResNet

__all__ = ["export", "register_converter", "UnsupportedModuleError"]

DEFAULT_OPSET = 17


class UnsupportedModuleError(TypeError):
    """A module the exporter has no ONNX translation for (the message names it and its path)."""


def _onnx():
    try:
        import onnx  # noqa: PLC0415
        from onnx import helper, numpy_helper  # noqa: PLC0415
    except ImportError:
        raise ImportError("nerve.onnx needs the onnx package: pip install 'nerve[onnx]' "
                          "(or pip install onnx)") from None
    return onnx, helper, numpy_helper


class _Graph:
    """Nodes, initializers and fresh names."""

    def __init__(self, opset):
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.opset = opset
        self.nodes, self.inits, self._count = [], [], {}

    def name(self, base):
        k = self._count.get(base, 0)
        self._count[base] = k + 1
        return f"{base}_{k}" if k else base

    def const(self, array, base):
        name = self.name(base)
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def convert(self, module, name, value, path):
        """Emit a child module (for registered converters of composite modules); returns
        ``(output name, output value)``."""
        return _convert(self, module, name, value, path)

    def node(self, op, inputs, base, n_out=1, **attrs):
        outs = [self.name(f"{base}_out" if n_out == 1 else f"{base}_out{i}") for i in range(n_out)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outs, name=self.name(base), **attrs))
        return outs[0] if n_out == 1 else outs


def _run(module, value):
    out = module(value)
    if not isinstance(out, Tensor):
        raise UnsupportedModuleError(f"{type(module).__name__} returned {type(out).__name__}, not one Tensor")
    return out


def _pair(v):
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(a) for a in v)


def _np(t):
    return np.asarray(t.detach()._data) if isinstance(t, Tensor) else np.asarray(t)


# ----------------------------------------------------------------------------- leaf converters

def _linear(g, m, x, v, path):
    w, b = _np(m.weight), None if m.bias is None else _np(m.bias)
    if v.ndim == 2:
        ins = [x, g.const(w, f"{path}.weight")] + ([g.const(b, f"{path}.bias")] if b is not None else [])
        return g.node("Gemm", ins, path, transB=1)
    out = g.node("MatMul", [x, g.const(w.T, f"{path}.weight_t")], path)
    return out if b is None else g.node("Add", [out, g.const(b, f"{path}.bias")], path + ".add")


def _conv2d(g, m, x, v, path):
    if getattr(m, "padding_mode", "zeros") != "zeros":
        raise UnsupportedModuleError(f"{path}: Conv2d with padding_mode={m.padding_mode!r} cannot be exported; "
                                     "only zero padding is supported")
    k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
    if m.padding == "valid":
        pads = [0, 0, 0, 0]
    elif m.padding == "same":
        tot = [d[i] * (k[i] - 1) for i in range(2)]
        pads = [tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2]
    else:
        p = _pair(m.padding)
        pads = [p[0], p[1], p[0], p[1]]
    ins = [x, g.const(_np(m.weight), f"{path}.weight")]
    if m.bias is not None:
        ins.append(g.const(_np(m.bias), f"{path}.bias"))
    return g.node("Conv", ins, path, kernel_shape=list(k), strides=list(s), dilations=list(d), pads=pads,
                  group=int(m.groups))


def _pool_pads(p):
    p = _pair(p)
    return [p[0], p[1], p[0], p[1]]


def _maxpool(g, m, x, v, path):
    if getattr(m, "return_indices", False):
        raise UnsupportedModuleError(f"{path}: MaxPool2d(return_indices=True) cannot be exported")
    return g.node("MaxPool", [x], path, kernel_shape=list(_pair(m.kernel_size)), strides=list(_pair(m.stride)),
                  pads=_pool_pads(m.padding), dilations=list(_pair(m.dilation)), ceil_mode=int(bool(m.ceil_mode)))


def _avgpool(g, m, x, v, path):
    if getattr(m, "divisor_override", None):
        raise UnsupportedModuleError(f"{path}: AvgPool2d(divisor_override=...) cannot be exported")
    return g.node("AveragePool", [x], path, kernel_shape=list(_pair(m.kernel_size)),
                  strides=list(_pair(m.stride)), pads=_pool_pads(m.padding), ceil_mode=int(bool(m.ceil_mode)),
                  count_include_pad=int(bool(m.count_include_pad)))


def _adaptive_avg(g, m, x, v, path):
    h, w = v.shape[-2:]
    size = m.output_size
    if size is not None:
        size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        size = tuple(int(n) if n is not None else int(full) for n, full in zip(size, (h, w)))  # None keeps it
    if size != (1, 1):
        if size is None or h % size[0] or w % size[1]:
            raise UnsupportedModuleError(f"{path}: AdaptiveAvgPool2d({m.output_size}) on {h}x{w} maps cannot be "
                                         "exported (only output 1, or sizes that divide the input)")
        k = (h // size[0], w // size[1])
        return g.node("AveragePool", [x], path, kernel_shape=list(k), strides=list(k))
    return g.node("GlobalAveragePool", [x], path)


def _global_avg(g, m, x, v, path):
    out = g.node("GlobalAveragePool", [x], path)
    return out if m.keepdim else g.node("Flatten", [out], path + ".flatten", axis=1)


def _batchnorm(g, m, x, v, path):
    if m.running_mean is None:
        raise UnsupportedModuleError(f"{path}: BatchNorm without running statistics (track_running_stats=False) "
                                     "cannot be exported")
    c = m.num_features
    scale = _np(m.weight) if m.weight is not None else np.ones(c, np.float32)
    bias = _np(m.bias) if m.bias is not None else np.zeros(c, np.float32)
    dt = _np(m.running_mean).dtype
    ins = [x, g.const(scale.astype(dt), f"{path}.weight"), g.const(bias.astype(dt), f"{path}.bias"),
           g.const(_np(m.running_mean), f"{path}.running_mean"), g.const(_np(m.running_var), f"{path}.running_var")]
    return g.node("BatchNormalization", ins, path, epsilon=float(m.eps))


def _layernorm_nodes(g, m, x, dtype, path):
    if g.opset < 17:
        raise UnsupportedModuleError(f"{path}: LayerNorm needs opset 17 or newer (LayerNormalization); "
                                     f"got opset {g.opset}")
    ns = tuple(m.normalized_shape)
    w = _np(m.weight) if m.weight is not None else np.ones(ns, dtype)
    ins = [x, g.const(w, f"{path}.weight")]
    if getattr(m, "bias", None) is not None:
        ins.append(g.const(_np(m.bias), f"{path}.bias"))
    return g.node("LayerNormalization", ins, path, axis=-len(ns), epsilon=float(m.eps))


def _layernorm(g, m, x, v, path):
    return _layernorm_nodes(g, m, x, _np(v).dtype, path)


def _flatten(g, m, x, v, path):
    start, end = m.start_dim % v.ndim, m.end_dim % v.ndim
    if start == 1 and end == v.ndim - 1:
        return g.node("Flatten", [x], path, axis=1)
    # ONNX Flatten always gives a 2-D result, so any other (start, end) is a Reshape: axes
    # before start_dim are copied from the input (0, which keeps a dynamic batch size), the
    # merged span is -1 and the axes after end_dim keep their sizes.
    shape = [0] * start + [-1] + list(v.shape[end + 1:])
    return g.node("Reshape", [x, g.const(np.array(shape, np.int64), f"{path}.shape")], path)


def _pad2d(g, m, x, v, path):
    left, right, top, bottom = (int(p) for p in m.padding)
    nd = v.ndim
    begin = [0] * (nd - 2) + [top, left]
    end = [0] * (nd - 2) + [bottom, right]
    pads = g.const(np.array(begin + end, np.int64), f"{path}.pads")
    value = g.const(np.array(float(m.value), dtype=_np(v).dtype), f"{path}.value")
    return g.node("Pad", [x, pads, value], path, mode="constant")


def _identity(g, m, x, v, path):
    return x


def _softmax_like(op):
    def conv(g, m, x, v, path):
        dim = m.dim if m.dim is not None else (0 if v.ndim in (0, 1, 3) else 1)   # torch's implicit choice
        return g.node(op, [x], path, axis=int(dim % v.ndim))
    return conv


def _clip(g, lo, hi, x, v, path):
    dt = _np(v).dtype
    return g.node("Clip", [x, g.const(np.array(lo, dt), f"{path}.min"), g.const(np.array(hi, dt), f"{path}.max")],
                  path)


def _gelu(g, m, x, v, path):
    if m.approximate not in ("none", "tanh"):
        raise UnsupportedModuleError(f"{path}: GELU(approximate={m.approximate!r}) cannot be exported")
    if g.opset >= 20:
        return g.node("Gelu", [x], path, approximate=m.approximate)
    dt = _np(v).dtype
    if m.approximate == "tanh":   # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x], path + ".sq"), x], path + ".cube")
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(np.array(0.044715, dt), f"{path}.c")], path + ".cx3")],
                       path + ".inner")
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(np.array(math.sqrt(2 / math.pi), dt), f"{path}.k")],
                                   path + ".scale")], path + ".tanh")
        one_plus = g.node("Add", [t, g.const(np.array(1.0, dt), f"{path}.one")], path + ".add")
        half = g.node("Mul", [x, g.const(np.array(0.5, dt), f"{path}.half")], path + ".half")
        return g.node("Mul", [half, one_plus], path)
    scaled = g.node("Mul", [x, g.const(np.array(1 / math.sqrt(2), dt), f"{path}.rsqrt2")], path + ".scale")
    erf = g.node("Erf", [scaled], path + ".erf")
    one_plus = g.node("Add", [erf, g.const(np.array(1.0, dt), f"{path}.one")], path + ".add")
    half = g.node("Mul", [x, g.const(np.array(0.5, dt), f"{path}.half")], path + ".half")
    return g.node("Mul", [half, one_plus], path)


def _silu(g, m, x, v, path):
    return g.node("Mul", [x, g.node("Sigmoid", [x], path + ".sigmoid")], path)


def _softplus(g, m, x, v, path):
    dt = _np(v).dtype
    b = g.const(np.array(m.beta, dt), f"{path}.beta")
    scaled = g.node("Mul", [x, b], path + ".scale")
    sp = g.node("Div", [g.node("Softplus", [scaled], path + ".softplus"), b], path + ".div")
    # nerve (as torch) returns x itself where beta * x > threshold; with a small threshold that
    # differs from log(1 + e^(beta x)) / beta by far more than rounding, so the branch is kept.
    linear = g.node("Greater", [scaled, g.const(np.array(m.threshold, dt), f"{path}.threshold")], path + ".linear")
    return g.node("Where", [linear, x, sp], path)


_LEAVES = [
    (nn.Linear, _linear), (nn.Conv2d, _conv2d), (nn.MaxPool2d, _maxpool), (nn.AvgPool2d, _avgpool),
    (nn.AdaptiveAvgPool2d, _adaptive_avg), (nn.GlobalAvgPool2d, _global_avg),
    (nn.BatchNorm2d, _batchnorm), (nn.BatchNorm1d, _batchnorm), (nn.LayerNorm, _layernorm),
    (nn.Flatten, _flatten),
    (nn.Dropout, _identity), (nn.Identity, _identity), (nn.ConstantPad2d, _pad2d),
    (nn.ReLU6, lambda g, m, x, v, p: _clip(g, 0.0, 6.0, x, v, p)),
    (nn.Hardtanh, lambda g, m, x, v, p: _clip(g, float(m.min_val), float(m.max_val), x, v, p)),
    (nn.ReLU, lambda g, m, x, v, p: g.node("Relu", [x], p)),
    (nn.LeakyReLU, lambda g, m, x, v, p: g.node("LeakyRelu", [x], p, alpha=float(m.negative_slope))),
    (nn.Sigmoid, lambda g, m, x, v, p: g.node("Sigmoid", [x], p)),
    (nn.Tanh, lambda g, m, x, v, p: g.node("Tanh", [x], p)),
    (nn.ELU, lambda g, m, x, v, p: g.node("Elu", [x], p, alpha=float(m.alpha))),
    (nn.SELU, lambda g, m, x, v, p: g.node("Selu", [x], p)),
    (nn.Softmax, _softmax_like("Softmax")), (nn.LogSoftmax, _softmax_like("LogSoftmax")),
    (nn.GELU, _gelu), (nn.SiLU, _silu), (nn.Softplus, _softplus),
]


# ----------------------------------------------------------------------------- composite modules

def _chain(g, pairs, x, v, path):
    for name, child in pairs:
        x, v = _convert(g, child, x, v, f"{path}.{name}" if path else name)
    return x, v


def _sequential(g, m, x, v, path):
    return _chain(g, list(m.named_children()), x, v, path)


def _residual(g, m, x, v, path):
    names = ["conv1", "bn1", "relu", "conv2", "bn2"]
    if isinstance(m, Bottleneck):
        names = ["conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"]
    out, ov = _chain(g, [(n, getattr(m, n)) for n in names], x, v, path)
    if m.downsample is not None:
        short, _ = _convert(g, m.downsample, x, v, f"{path}.downsample")
    else:
        short = x
    added = g.node("Add", [out, short], f"{path}.add")
    return _convert(g, m.relu, added, _run(m, v), f"{path}.relu_out", value_given=True)


def _resnet_model(g, m, x, v, path):
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc"]
    return _chain(g, [(n, getattr(m, n)) for n in names], x, v, path)


def _seed_cnn(g, m, x, v, path):
    names = ["conv", "relu", "pool", "reduce", "fc1", "relu", "fc2"]
    return _chain(g, [(n, getattr(m, n)) for n in names], x, v, path)


def _lenet(g, m, x, v, path):
    return _chain(g, [(n, getattr(m, n)) for n in ("features", "flatten", "classifier")], x, v, path)


def _proj(g, x, w, b, path):
    """``x @ w.T + b`` on the last axis."""
    out = g.node("MatMul", [x, g.const(np.ascontiguousarray(w.T), f"{path}.weight_t")], path)
    return out if b is None else g.node("Add", [out, g.const(b, f"{path}.bias")], path + ".add")


def _self_attention(g, a, x, path):
    """MultiheadAttention(x, x, x) without masks, on batch-major x (N, S, E)."""
    if not a._qkv_same_embed_dim or a.bias_k is not None or a.add_zero_attn:
        raise UnsupportedModuleError(f"{path}: only plain self-attention (one packed in-projection, no bias_kv, "
                                     "no add_zero_attn) can be exported")
    E, h = a.embed_dim, a.num_heads
    d = E // h
    W = _np(a.in_proj_weight)
    B = None if a.in_proj_bias is None else _np(a.in_proj_bias)
    heads = g.const(np.array([0, 0, h, d], np.int64), f"{path}.heads_shape")
    qkv = []
    for i, nm in enumerate("qkv"):
        t = _proj(g, x, W[i * E:(i + 1) * E], None if B is None else B[i * E:(i + 1) * E], f"{path}.{nm}_proj")
        t = g.node("Reshape", [t, heads], f"{path}.{nm}_heads")
        qkv.append(g.node("Transpose", [t], f"{path}.{nm}_t", perm=[0, 2, 3, 1] if nm == "k" else [0, 2, 1, 3]))
    dt = W.dtype
    scores = g.node("MatMul", [qkv[0], qkv[1]], f"{path}.scores")                       # (N, h, S, S)
    scores = g.node("Mul", [scores, g.const(np.array(1 / math.sqrt(d), dt), f"{path}.scale")], f"{path}.scaled")
    attn = g.node("Softmax", [scores], f"{path}.softmax", axis=-1)
    ctx = g.node("MatMul", [attn, qkv[2]], f"{path}.context")                            # (N, h, S, d)
    ctx = g.node("Transpose", [ctx], f"{path}.context_t", perm=[0, 2, 1, 3])
    ctx = g.node("Reshape", [ctx, g.const(np.array([0, 0, E], np.int64), f"{path}.merge_shape")], f"{path}.merge")
    ob = None if a.out_proj.bias is None else _np(a.out_proj.bias)
    return _proj(g, ctx, _np(a.out_proj.weight), ob, f"{path}.out_proj")


def _encoder_layer_nodes(g, m, x, dtype, path):
    """One TransformerEncoderLayer on batch-major x."""
    gelu = None
    if m.activation is nn.functional.relu or type(m.activation) is nn.ReLU:
        act = "relu"
    elif m.activation is nn.functional.gelu:
        act, gelu = "gelu", nn.GELU()
    elif type(m.activation) is nn.GELU:     # a module activation, as torch also accepts
        act, gelu = "gelu", m.activation
    else:
        raise UnsupportedModuleError(f"{path}: a TransformerEncoderLayer with a custom activation cannot be exported")

    def ff(t):
        b1 = None if m.linear1.bias is None else _np(m.linear1.bias)
        b2 = None if m.linear2.bias is None else _np(m.linear2.bias)
        t = _proj(g, t, _np(m.linear1.weight), b1, f"{path}.linear1")
        if act == "relu":
            t = g.node("Relu", [t], f"{path}.relu")
        else:
            t = _gelu(g, gelu, t, np.zeros((), dtype), f"{path}.gelu")
        return _proj(g, t, _np(m.linear2.weight), b2, f"{path}.linear2")

    if m.norm_first:
        x = g.node("Add", [x, _self_attention(g, m.self_attn, _layernorm_nodes(g, m.norm1, x, dtype, f"{path}.norm1"),
                                              f"{path}.self_attn")], f"{path}.res1")
        return g.node("Add", [x, ff(_layernorm_nodes(g, m.norm2, x, dtype, f"{path}.norm2"))], f"{path}.res2")
    x = _layernorm_nodes(g, m.norm1, g.node("Add", [x, _self_attention(g, m.self_attn, x, f"{path}.self_attn")],
                                             f"{path}.res1"), dtype, f"{path}.norm1")
    return _layernorm_nodes(g, m.norm2, g.node("Add", [x, ff(x)], f"{path}.res2"), dtype, f"{path}.norm2")


def _transformer_encoder(g, m, x, v, path):
    """TransformerEncoderLayer or TransformerEncoder (self-attention without masks)."""
    layers = [m] if isinstance(m, nn.TransformerEncoderLayer) else list(m.layers)
    batch_first = layers[0].self_attn.batch_first
    if v.ndim != 3:
        raise UnsupportedModuleError(f"{path or '<model>'}: a transformer export needs a batched 3-D example input")
    dtype = _np(v).dtype
    if not batch_first:
        x = g.node("Transpose", [x], f"{path}.to_batch_major", perm=[1, 0, 2])
    for i, layer in enumerate(layers):
        x = _encoder_layer_nodes(g, layer, x, dtype, f"{path}.layers.{i}" if len(layers) > 1 else path or "layer")
    if not isinstance(m, nn.TransformerEncoderLayer) and m.norm is not None:
        x = _layernorm_nodes(g, m.norm, x, dtype, f"{path}.norm")
    if not batch_first:
        x = g.node("Transpose", [x], f"{path}.to_seq_major", perm=[1, 0, 2])
    return x, m(v)


_COMPOSITES = [
    (nn.TransformerEncoderLayer, _transformer_encoder), (nn.TransformerEncoder, _transformer_encoder),
    (BasicBlock, _residual), (Bottleneck, _residual), (ResNet, _resnet_model),
    (SeedCNN, _seed_cnn), (LeNet5, _lenet), (nn.Sequential, _sequential),
]


def _supported_names():
    return sorted({c.__name__ for c, _ in _LEAVES + _COMPOSITES} | {"LSTM"} | {c.__name__ for c in _REGISTERED})


_REGISTERED = {}


def register_converter(module_class, fn):
    """Teach the exporter a module class (matched exactly, not its subclasses).

    ``fn(graph, module, input_name, input_value, path)`` emits nodes with
    ``graph.node(op_type, inputs, base_name, **attributes)`` (returns the output name),
    ``graph.const(array, base_name)`` (an initializer; returns its name) and
    ``graph.convert(child, name, value, path)`` for supported children, and returns the name
    of the module's output; the exporter runs the module itself for the output value.
    """
    if not (isinstance(module_class, type) and issubclass(module_class, nn.Module)) or not callable(fn):
        raise TypeError("register_converter needs a Module subclass and a callable")
    _REGISTERED[module_class] = fn


def _convert(g, m, x, v, path, value_given=False):
    """Emit ``m`` applied to ``x`` (value ``v``); returns (output name, output value)."""
    where = path or "<model>"
    fn = _REGISTERED.get(type(m))
    if fn is not None:
        return fn(g, m, x, v, where), (v if value_given else _run(m, v))
    for cls, fn in _COMPOSITES:
        if type(m) is cls or (cls is nn.Sequential and isinstance(m, nn.Sequential)
                              and type(m).forward is nn.Sequential.forward):
            out, ov = fn(g, m, x, v, path)
            if not value_given:
                check = _run(m, v)
                if check.shape != ov.shape:
                    raise RuntimeError(f"{where}: exported shape {ov.shape} differs from the module's {check.shape}")
            return out, ov
    for cls, fn in _LEAVES:
        if isinstance(m, cls) and type(m).forward is cls.forward:
            out = fn(g, m, x, v, where)
            return out, v if value_given else _run(m, v)
    raise UnsupportedModuleError(
        f"cannot export {type(m).__module__}.{type(m).__name__} at {where}: nerve.onnx has no translation for it. "
        f"Supported modules: {', '.join(_supported_names())}; rewrite that part with them (or in a "
        "Sequential of them)")


def _lstm(g, m, x, v, path, batch_first):
    """nn.LSTM as the whole model: outputs (output, h_n, c_n)."""
    if getattr(m, "proj_size", 0):
        raise UnsupportedModuleError("LSTM with proj_size cannot be exported")
    if v.ndim != 3:
        raise UnsupportedModuleError("LSTM export needs a batched 3-D example input")
    H, dirs = m.hidden_size, 2 if m.bidirectional else 1
    if batch_first:
        x = g.node("Transpose", [x], "to_seq_major", perm=[1, 0, 2])
    hs, cs = [], []
    reorder = lambda w: np.concatenate([w[0:H], w[3 * H:4 * H], w[H:2 * H], w[2 * H:3 * H]])  # noqa: E731
    for k in range(m.num_layers):
        sfx = ["", "_reverse"][:dirs]
        W = np.stack([reorder(_np(getattr(m, f"weight_ih_l{k}{s}"))) for s in sfx])
        R = np.stack([reorder(_np(getattr(m, f"weight_hh_l{k}{s}"))) for s in sfx])
        parts = []
        for s in sfx:
            bi = getattr(m, f"bias_ih_l{k}{s}", None)
            bh = getattr(m, f"bias_hh_l{k}{s}", None)
            zero = np.zeros(4 * H, W.dtype)
            parts.append(np.concatenate([reorder(_np(bi)) if bi is not None else zero,
                                         reorder(_np(bh)) if bh is not None else zero]))
        B = np.stack(parts)
        y, yh, yc = g.node("LSTM", [x, g.const(W, f"lstm.l{k}.W"), g.const(R, f"lstm.l{k}.R"),
                                    g.const(B, f"lstm.l{k}.B")], f"lstm_l{k}", n_out=3, hidden_size=H,
                           direction="bidirectional" if dirs == 2 else "forward")
        hs.append(yh)
        cs.append(yc)
        t = g.node("Transpose", [y], f"lstm_l{k}.merge", perm=[0, 2, 1, 3])     # (T, N, dirs, H)
        x = g.node("Reshape", [t, g.const(np.array([0, 0, -1], np.int64), f"lstm_l{k}.shape")], f"lstm_l{k}.flat")
    if batch_first:
        x = g.node("Transpose", [x], "to_batch_major", perm=[1, 0, 2])
    h = hs[0] if len(hs) == 1 else g.node("Concat", hs, "h_n", axis=0)
    c = cs[0] if len(cs) == 1 else g.node("Concat", cs, "c_n", axis=0)
    out, (hn, cn) = m(v)
    return [(x, out), (h, hn), (c, cn)]


def _value_info(helper, onnx, name, value, dynamic):
    shape = list(value.shape)
    for axis, label in (dynamic or {}).items():
        if not -len(shape) <= axis < len(shape):
            raise ValueError(f"dynamic_axes[{name!r}] names axis {axis}, but {name} has {len(shape)} dimensions")
        shape[axis] = str(label)
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(_np(value).dtype))
    return helper.make_tensor_value_info(name, elem, shape)


def _check_output_ranks(onnx, helper, proto):
    """Shape inference on the graph with its outputs' shapes left open: each output must come
    out with the rank the model's output has. A translation that reshapes differently (as ONNX
    Flatten's always-2-D output once did) is an error here, not a silently different file.
    Only ranks are compared: onnx's inference of ceil_mode pooling sizes lacks torch's rule
    (which onnxruntime follows), so sizes would give false alarms."""
    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    want = {}
    for out in probe.graph.output:
        want[out.name] = len(out.type.tensor_type.shape.dim)
        out.type.tensor_type.ClearField("shape")
    inferred = onnx.shape_inference.infer_shapes(probe)
    for out in inferred.graph.output:
        t = out.type.tensor_type
        if t.HasField("shape") and len(t.shape.dim) != want[out.name]:
            raise RuntimeError(f"the exported graph gives output {out.name!r} {len(t.shape.dim)} dimensions but the "
                               f"model gives it {want[out.name]}; this is a bug in a converter, please report it")


def export(model, example_input, path, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=DEFAULT_OPSET, opset=None, check=True):
    """Write ``model`` as an ONNX file at ``path`` and return the ``onnx.ModelProto``.

    Args:
        model: a nerve Module built from the supported layers (see :mod:`nerve.onnx`).
        example_input: a Tensor (or array) of the input's shape and dtype; the model runs on it.
        path: the file to write (atomically: a temporary name, then a rename).
        input_names, output_names: names of the graph's input and output(s) (default
            ``["input"]`` and ``["output"]``; an exported LSTM has three outputs).
        dynamic_axes: ``{name: {axis: label}}`` (or ``{name: [axis, ...]}``) for sizes left free,
            e.g. ``{"input": {0: "batch"}, "output": {0: "batch"}}``.
        opset_version (or ``opset``): the ONNX operator set, 13 or newer (default 17).
        check: run ``onnx.checker`` on the model before writing it.

    Raises:
        UnsupportedModuleError: a module has no translation; the message names it and its path.
    """
    onnx, helper, _ = _onnx()
    opset = int(opset if opset is not None else opset_version)
    if opset < 13:
        raise ValueError(f"opset {opset} is too old; nerve.onnx writes opset 13 or newer")
    newest = onnx.defs.onnx_opset_version()
    if opset > newest:
        raise ValueError(f"opset {opset} is newer than the installed onnx package knows (up to {newest}); "
                         f"pass opset_version={newest} or lower, or upgrade onnx")
    from ..nn import Module  # noqa: PLC0415

    if not isinstance(model, Module):
        raise TypeError(f"export needs a nerve Module, got {type(model).__name__}")
    x = example_input if isinstance(example_input, Tensor) else Tensor(np.asarray(example_input))
    input_names = list(input_names or ["input"])
    if len(input_names) != 1:
        raise ValueError(f"nerve.onnx exports models with one input; got input_names={input_names}")
    dyn = {}
    for k, axes in (dynamic_axes or {}).items():
        dyn[k] = {int(a): f"{k}_dim{a}" for a in axes} if isinstance(axes, (list, tuple)) else \
            {int(a): lbl for a, lbl in axes.items()}
    unknown = set(dyn) - set(input_names) - set(output_names or ["output"])
    if unknown and not isinstance(model, nn.LSTM):
        raise ValueError(f"dynamic_axes names {sorted(unknown)}, which are neither inputs nor outputs")
    g = _Graph(opset)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            if isinstance(model, nn.LSTM) and type(model).forward is nn.LSTM.forward:
                results = _lstm(g, model, input_names[0], x, "lstm", model.batch_first)
            else:
                out, value = _convert(g, model, input_names[0], x, "")
                results = [(out, value)]
    finally:
        model.train(was_training)
    output_names = list(output_names or (["output"] if len(results) == 1 else ["output", "h_n", "c_n"]))
    if len(output_names) != len(results):
        raise ValueError(f"the model has {len(results)} outputs but output_names has {len(output_names)}")
    outputs = []
    for (name, value), want in zip(results, output_names):
        producer = next((n for n in g.nodes if name in n.output), None)
        if producer is None or name in output_names:    # the input itself, or an output used twice: copy it
            g.nodes.append(helper.make_node("Identity", [name], [want], name=g.name("output_identity")))
        elif name != want:                              # name the producing node's output as asked
            for n in g.nodes:
                for field in (n.input, n.output):
                    for i, ref in enumerate(field):
                        if ref == name:
                            field[i] = want
        outputs.append(_value_info(helper, onnx, want, value, dyn.get(want)))
    graph = helper.make_graph(g.nodes, "nerve_model", [_value_info(helper, onnx, input_names[0], x,
                                                                   dyn.get(input_names[0]))],
                              outputs, initializer=g.inits)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="nerve",
                              ir_version=helper.find_min_ir_version_for(opsets))
    if check:
        onnx.checker.check_model(proto)
        _check_output_ranks(onnx, helper, proto)
    from ..io.atomic import write_bytes  # noqa: PLC0415

    write_bytes(path, proto.SerializeToString())
    return proto
