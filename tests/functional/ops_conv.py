"""Rows for convolution, pooling, normalization, resampling and dropout.

The NumPy references here are deliberately naive (explicit loops over output positions)
so they share no code with the im2col implementation they check.
"""
import numpy as np
import torch_twin as T

import nerve as nv
import nerve.functional as F
from optable import Op, distinct, positive


# ---------------------------------------------------------------- naive references
def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def same_pads(kernel, dilation):
    return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]


def conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation by a loop over output pixels and output channels."""
    s, d = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "same":
        pads = same_pads((kh, kw), d)
    elif padding == "valid":
        pads = [(0, 0), (0, 0)]
    else:
        pads = [(p, p) for p in _pair(padding)]
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + pads)
    N, C, H, W = xp.shape
    O, Cg = w.shape[:2]
    Ho = (H - d[0] * (kh - 1) - 1) // s[0] + 1
    Wo = (W - d[1] * (kw - 1) - 1) // s[1] + 1
    out = np.zeros((N, O, Ho, Wo))
    per = O // groups
    for o in range(O):
        g = o // per
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[:, g * Cg:(g + 1) * Cg, i * s[0]:i * s[0] + d[0] * (kh - 1) + 1:d[0],
                           j * s[1]:j * s[1] + d[1] * (kw - 1) + 1:d[1]]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out.astype(x.dtype)


def conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pad = padding if isinstance(padding, str) else (0, padding)
    out = conv2d_ref(x[:, :, None], w[:, :, None], b, (1, stride), pad, (1, dilation), groups)
    return out[:, :, 0]


def conv_transpose2d_ref(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Scatter each input pixel's weighted kernel into the output, then crop the padding."""
    s, p, op, d = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    N, Cin, H, W = x.shape
    _, Og, kh, kw = w.shape
    Hf = (H - 1) * s[0] + d[0] * (kh - 1) + 1 + op[0]
    Wf = (W - 1) * s[1] + d[1] * (kw - 1) + 1 + op[1]
    full = np.zeros((N, Og * groups, Hf, Wf))
    per = Cin // groups
    for c in range(Cin):
        g = c // per
        for i in range(H):
            for j in range(W):
                full[:, g * Og:(g + 1) * Og, i * s[0]:i * s[0] + d[0] * (kh - 1) + 1:d[0],
                     j * s[1]:j * s[1] + d[1] * (kw - 1) + 1:d[1]] += x[:, c, i, j][:, None, None, None] * w[c]
    out = full[:, :, p[0]:Hf - p[0], p[1]:Wf - p[1]]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out.astype(x.dtype)


def pool2d_ref(x, k, s=None, p=0, d=1, ceil_mode=False, kind="max", count_include_pad=True):
    """Max or average pooling by a loop over output pixels (PyTorch's window rules)."""
    k, p, d = _pair(k), _pair(p), _pair(d)
    s = k if s is None else _pair(s)
    N, C, H, W = x.shape
    outs = [F.pool_output_size(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip((H, W), k, s, p, d)]
    out = np.zeros((N, C, *outs))
    for i in range(outs[0]):
        for j in range(outs[1]):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            hs = [h0 + a * d[0] for a in range(k[0])]
            ws = [w0 + a * d[1] for a in range(k[1])]
            hin = [h for h in hs if 0 <= h < H]
            win = [w for w in ws if 0 <= w < W]
            block = x[:, :, hin][:, :, :, win].astype(np.float64)
            if kind == "max":
                out[:, :, i, j] = block.max(axis=(2, 3))
            else:
                he = min(h0 + k[0], H + p[0])
                we = min(w0 + k[1], W + p[1])
                div = (he - h0) * (we - w0) if count_include_pad else len(hin) * len(win)
                out[:, :, i, j] = block.sum(axis=(2, 3)) / div
    return out.astype(x.dtype)


def norm_ref(x, axes, eps=1e-5):
    x64 = x.astype(np.float64)
    m = x64.mean(axis=axes, keepdims=True)
    v = x64.var(axis=axes, keepdims=True)
    return (x64 - m) / np.sqrt(v + eps)


def lrn_ref(x, size, alpha=1e-4, beta=0.75, k=1.0):
    C = x.shape[1]
    x64 = x.astype(np.float64)
    out = np.empty_like(x64)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        s = (x64[:, lo:hi] ** 2).sum(axis=1)
        out[:, c] = x64[:, c] / (k + alpha / size * s) ** beta
    return out.astype(x.dtype)


# ---------------------------------------------------------------- rows
def _conv_row(name, shapes, stride=1, padding=0, dilation=1, groups=1, bias=True):
    if bias:
        fn = lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups)  # noqa: E731
        ref = lambda x, w, b: conv2d_ref(x, w, b, stride, padding, dilation, groups)  # noqa: E731
        tw = T.nnf("conv2d", stride=stride, padding=padding, dilation=dilation, groups=groups)
    else:
        fn = lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups)  # noqa: E731
        ref = lambda x, w: conv2d_ref(x, w, None, stride, padding, dilation, groups)  # noqa: E731
        tw = T.nnf("conv2d", stride=stride, padding=padding, dilation=dilation, groups=groups)
    return Op(name, fn, ref, shapes, torch=tw, fwd_rtol32=1e-5, fwd_atol32=1e-5)


def _convT_row(name, shapes, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return Op(name, lambda x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation),
              lambda x, w, b: conv_transpose2d_ref(x, w, b, stride, padding, output_padding, groups, dilation),
              shapes, torch=T.nnf("conv_transpose2d", stride=stride, padding=padding,
                                  output_padding=output_padding, groups=groups, dilation=dilation),
              fwd_atol32=1e-5)


def _conv1d_row(name, shapes, stride=1, padding=0, dilation=1, groups=1):
    return Op(name, lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
              lambda x, w, b: conv1d_ref(x, w, b, stride, padding, dilation, groups), shapes,
              torch=T.nnf("conv1d", stride=stride, padding=padding, dilation=dilation, groups=groups),
              fwd_atol32=1e-5)


def _max_row(name, shapes, k, s=None, p=0, d=1, ceil_mode=False):
    return Op(name, lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode),
              lambda x: pool2d_ref(x, k, s, p, d, ceil_mode, "max"), shapes, domain=distinct,
              torch=T.nnf("max_pool2d", kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode))


def _avg_row(name, shapes, k, s=None, p=0, ceil_mode=False, count_include_pad=True):
    return Op(name, lambda x: F.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad),
              lambda x: pool2d_ref(x, k, s, p, 1, ceil_mode, "avg", count_include_pad), shapes,
              torch=T.nnf("avg_pool2d", kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode,
                          count_include_pad=count_include_pad))


def _bn_eval(x, w, b):
    C = x.shape[1]
    rm = np.linspace(-0.5, 0.5, C)
    rv = np.linspace(0.5, 2.0, C)
    return rm, rv


def _bn_eval_fn(x, w, b):
    rm, rv = _bn_eval(x, w, b)
    return F.batch_norm(x, nv.tensor(rm), nv.tensor(rv), w, b, training=False)


def _bn_eval_ref(x, w, b):
    rm, rv = _bn_eval(x, w, b)
    sh = (1, -1) + (1,) * (x.ndim - 2)
    return ((x - rm.reshape(sh)) / np.sqrt(rv.reshape(sh) + 1e-5) * w.reshape(sh) + b.reshape(sh)).astype(x.dtype)


def _bn_eval_torch(x, w, b):
    rm, rv = _bn_eval(x, w, b)
    t = T.torch()
    return t.nn.functional.batch_norm(x, t.tensor(rm, dtype=x.dtype), t.tensor(rv, dtype=x.dtype), w, b,
                                      training=False)


def _affine_ref(axes):
    """Reference for per-channel affine norms; axes=None means batch norm's (0, 2, 3, ...)."""
    def ref(x, w, b):
        y = norm_ref(x, (0,) + tuple(range(2, x.ndim)) if axes is None else axes)
        sh = (1, -1) + (1,) * (x.ndim - 2)
        return (y * w.reshape(sh) + b.reshape(sh)).astype(x.dtype)
    return ref


def _gn_ref(G):
    def ref(x, w, b):
        N, C = x.shape[:2]
        y = norm_ref(x.reshape(N, G, -1), (2,)).reshape(x.shape)
        sh = (1, -1) + (1,) * (x.ndim - 2)
        return (y * w.reshape(sh) + b.reshape(sh)).astype(x.dtype)
    return ref


def _seeded(fn, seed=3):
    def call(*xs):
        nv.manual_seed(seed)
        return fn(*xs)
    return call


def _interp_rows():
    rows = []
    for name, size, sf, mode, ac in [
            ("nearest_x2", None, 2, "nearest", None), ("nearest_size", (7, 3), None, "nearest", None),
            ("bilinear_x2", None, 2, "bilinear", False), ("bilinear_x2_ac", None, 2, "bilinear", True),
            ("bilinear_size", (3, 7), None, "bilinear", False), ("bilinear_size_ac", (3, 7), None, "bilinear", True),
            ("bilinear_frac", None, 1.7, "bilinear", False)]:
        rows.append(Op(f"interpolate_{name}", lambda x, size=size, sf=sf, mode=mode, ac=ac:
                       F.interpolate(x, size, sf, mode, ac), shapes=[((2, 2, 4, 5),)],
                       torch=T.nnf("interpolate", size=size, scale_factor=sf, mode=mode, align_corners=ac)))
    rows.append(Op("interpolate_linear_1d", lambda x: F.interpolate(x, 7, mode="linear"), shapes=[((2, 2, 4),)],
                   torch=T.nnf("interpolate", size=7, mode="linear")))
    return rows


X = (2, 4, 6, 6)
ROWS = [
    # conv2d over a grid of stride / padding / dilation / groups (A36, #11, #61, #71)
    _conv_row("conv2d", [(X, (3, 4, 3, 3), (3,)), ((1, 4, 5, 7), (2, 4, 2, 3), (2,))]),
    _conv_row("conv2d_nobias", [(X, (3, 4, 3, 3))], bias=False),
    _conv_row("conv2d_stride2_pad1", [(X, (3, 4, 3, 3), (3,)), ((1, 4, 7, 6), (2, 4, 2, 2), (2,))], 2, 1),
    _conv_row("conv2d_stride_3x2_pad_1x2", [(X, (2, 4, 3, 2), (2,))], (3, 2), (1, 2)),
    _conv_row("conv2d_dilation2", [(X, (3, 4, 3, 3), (3,))], 1, 2, 2),
    _conv_row("conv2d_groups2", [(X, (4, 2, 3, 3), (4,))], 1, 1, 1, 2),
    _conv_row("conv2d_depthwise", [(X, (4, 1, 3, 3), (4,))], 1, 1, 1, 4),
    _conv_row("conv2d_depthwise_strided_dilated", [(X, (4, 1, 2, 3), (4,))], (2, 1), (1, 2), (1, 2), 4),
    _conv_row("conv2d_channel_multiplier", [(X, (8, 1, 3, 3), (8,))], 2, 1, 1, 4),
    _conv_row("conv2d_same_odd", [(X, (3, 4, 3, 3), (3,))], 1, "same"),
    _conv_row("conv2d_same_even", [(X, (3, 4, 2, 4), (3,))], 1, "same"),
    _conv_row("conv2d_same_dilated", [(X, (2, 4, 2, 3), (2,))], 1, "same", 2),
    _conv_row("conv2d_valid", [(X, (3, 4, 3, 3), (3,))], 1, "valid"),
    _conv_row("conv2d_1x1", [(X, (5, 4, 1, 1), (5,))]),
    _conv_row("conv2d_all", [((2, 4, 9, 8), (4, 2, 3, 2), (4,))], 2, (2, 1), (1, 2), 2),
    _conv1d_row("conv1d", [((2, 3, 9), (4, 3, 3), (4,))]),
    _conv1d_row("conv1d_strided_dilated", [((2, 4, 11), (4, 2, 3), (4,))], 2, 1, 2, 2),
    _conv1d_row("conv1d_same_even", [((2, 3, 8), (2, 3, 4), (2,))], 1, "same"),
    _convT_row("conv_transpose2d", [((2, 3, 4, 4), (3, 2, 3, 3), (2,))]),
    _convT_row("conv_transpose2d_stride2", [((2, 3, 4, 3), (3, 2, 4, 4), (2,))], 2, 1),
    _convT_row("conv_transpose2d_outpad", [((2, 3, 3, 4), (3, 2, 3, 3), (2,))], 2, 1, 1),
    _convT_row("conv_transpose2d_groups_dil", [((2, 4, 3, 3), (4, 1, 3, 2), (2,))], (2, 1), (1, 0), (1, 0), 2, 2),
    Op("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1),
       lambda x, w, b: conv_transpose2d_ref(x[:, :, None], w[:, :, None], b, (1, 2), (0, 1), (0, 1))[:, :, 0],
       [((2, 3, 5), (3, 2, 3), (2,))], fwd_atol32=1e-5,
       torch=T.nnf("conv_transpose1d", stride=2, padding=1, output_padding=1)),
    Op("unfold", lambda x: F.unfold(x, (2, 3), 1, 1, 2), shapes=[((2, 3, 5, 6),)],
       torch=T.nnf("unfold", kernel_size=(2, 3), dilation=1, padding=1, stride=2)),
    Op("fold", lambda x: F.fold(x, (5, 6), 2, 1, 0, 1), shapes=[((2, 12, 20),)],
       torch=T.nnf("fold", output_size=(5, 6), kernel_size=2, dilation=1, padding=0, stride=1)),
    Op("pad_reflect", lambda x: F.pad(x, (2, 1, 1, 3), "reflect"),
       lambda x: np.pad(x, [(0, 0), (0, 0), (1, 3), (2, 1)], mode="reflect"), shapes=[((2, 3, 4, 5),)],
       torch=T.nnf("pad", pad=(2, 1, 1, 3), mode="reflect")),
    Op("pad_replicate", lambda x: F.pad(x, (2, 1, 1, 3), "replicate"),
       lambda x: np.pad(x, [(0, 0), (0, 0), (1, 3), (2, 1)], mode="edge"), shapes=[((2, 3, 4, 5),)],
       torch=T.nnf("pad", pad=(2, 1, 1, 3), mode="replicate")),
    Op("pad_circular", lambda x: F.pad(x, (2, 1, 1, 3), "circular"),
       lambda x: np.pad(x, [(0, 0), (0, 0), (1, 3), (2, 1)], mode="wrap"), shapes=[((2, 3, 4, 5),)],
       torch=T.nnf("pad", pad=(2, 1, 1, 3), mode="circular")),
    # pooling (#38, #47, A40)
    _max_row("max_pool2d", [((2, 3, 6, 6),), ((1, 2, 5, 7),)], 2),
    _max_row("max_pool2d_overlap", [((2, 3, 7, 6),)], 3, 2, 1),
    _max_row("max_pool2d_ceil", [((2, 3, 7, 6),)], 2, 2, 1, 1, True),
    _max_row("max_pool2d_dilated", [((2, 2, 8, 7),)], (2, 3), (2, 1), (1, 0), 2),
    Op("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1), shapes=[((2, 3, 9),)], domain=distinct,
       torch=T.nnf("max_pool1d", kernel_size=3, stride=2, padding=1)),
    _avg_row("avg_pool2d", [((2, 3, 6, 6),), ((1, 2, 5, 7),)], 2),
    _avg_row("avg_pool2d_pad", [((2, 3, 7, 6),)], 3, 2, 1),
    _avg_row("avg_pool2d_pad_exclude", [((2, 3, 7, 6),)], 3, 2, 1, False, False),
    _avg_row("avg_pool2d_ceil", [((2, 3, 7, 6),)], 2, 2, 1, True),
    _avg_row("avg_pool2d_ceil_exclude", [((2, 3, 7, 8),)], 3, 2, 1, True, False),
    Op("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1), shapes=[((2, 3, 9),)],
       torch=T.nnf("avg_pool1d", kernel_size=3, stride=2, padding=1)),
    Op("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), shapes=[((2, 3, 7, 5),), ((1, 2, 6, 4),)],
       torch=T.nnf("adaptive_avg_pool2d", output_size=(3, 2))),
    Op("adaptive_avg_pool2d_1", lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: x.mean(axis=(2, 3), keepdims=True),
       shapes=[((2, 3, 4, 5),)], torch=T.nnf("adaptive_avg_pool2d", output_size=1)),
    Op("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 3), shapes=[((2, 3, 7),)],
       torch=T.nnf("adaptive_avg_pool1d", output_size=3)),
    Op("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 2)), shapes=[((2, 3, 6, 4),)],
       domain=distinct, torch=T.nnf("adaptive_max_pool2d", output_size=(3, 2))),
    Op("adaptive_max_pool2d_uneven", lambda x: F.adaptive_max_pool2d(x, (3, 2)), shapes=[((2, 3, 5, 3),)],
       domain=distinct, torch=T.nnf("adaptive_max_pool2d", output_size=(3, 2))),
    Op("upsample", lambda x: F.upsample(x, scale_factor=2), shapes=[((2, 2, 3, 4),)],
       torch=T.nnf("interpolate", scale_factor=2)),
    Op("global_avg_pool2d", F.global_avg_pool2d, lambda x: x.mean(axis=(2, 3)), shapes=[((2, 3, 4, 5),)],
       torch=lambda x: x.mean(dim=(2, 3))),
    *_interp_rows(),
    # normalization (#6, #31, #97, layer / group norm)
    Op("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
       _affine_ref(None), [((4, 3, 3, 2), (3,), (3,))],
       torch=lambda x, w, b: T.torch().nn.functional.batch_norm(x, None, None, w, b, training=True)),
    Op("batch_norm_train_1d", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
       _affine_ref(None), [((6, 3), (3,), (3,)), ((3, 2, 4), (2,), (2,))],
       torch=lambda x, w, b: T.torch().nn.functional.batch_norm(x, None, None, w, b, training=True)),
    Op("batch_norm_eval", _bn_eval_fn, _bn_eval_ref, [((4, 3, 3, 2), (3,), (3,))], torch=_bn_eval_torch),
    Op("instance_norm", lambda x, w, b: F.instance_norm(x, weight=w, bias=b), _affine_ref((2, 3)),
       [((2, 3, 3, 4), (3,), (3,))],
       torch=lambda x, w, b: T.torch().nn.functional.instance_norm(x, weight=w, bias=b)),
    Op("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
       lambda x, w, b: (norm_ref(x, (-2, -1)) * w + b).astype(x.dtype), [((2, 3, 4), (3, 4), (3, 4))],
       torch=lambda x, w, b: T.torch().nn.functional.layer_norm(x, (3, 4), w, b)),
    Op("layer_norm_plain", lambda x: F.layer_norm(x, 5), lambda x: norm_ref(x, (-1,)).astype(x.dtype),
       shapes=[((3, 5),), ((2, 2, 5),)], torch=lambda x: T.torch().nn.functional.layer_norm(x, (5,))),
    Op("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), _gn_ref(2), [((2, 4, 3, 3), (4,), (4,))],
       torch=lambda x, w, b: T.torch().nn.functional.group_norm(x, 2, w, b)),
    Op("local_response_norm", lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 1.0),
       lambda x: lrn_ref(x, 3, 0.5, 0.75, 1.0), shapes=[((2, 5, 3, 2),)],
       torch=T.nnf("local_response_norm", size=3, alpha=0.5, beta=0.75, k=1.0)),
    Op("local_response_norm_alexnet", lambda x: F.local_response_norm(x, 5, 1e-4, 0.75, 2.0),
       lambda x: lrn_ref(x, 5, 1e-4, 0.75, 2.0), shapes=[((2, 7, 3, 2),)],
       torch=T.nnf("local_response_norm", size=5, alpha=1e-4, beta=0.75, k=2.0)),
    Op("local_response_norm_default", lambda x: F.local_response_norm(x, 4),
       lambda x: lrn_ref(x, 4), shapes=[((2, 6, 5),)], domain=positive,
       torch=T.nnf("local_response_norm", size=4)),
    # dropout: the mask is re-drawn from the same seed on every call, so the function is
    # deterministic for finite differences; the mask itself is tested in test_dropout.py.
    Op("dropout", _seeded(lambda x: F.dropout(x, 0.3)), shapes=[((4, 5),)]),
    Op("dropout2d", _seeded(lambda x: F.dropout2d(x, 0.5)), shapes=[((2, 4, 3, 3),)]),
    Op("dropout1d", _seeded(lambda x: F.dropout1d(x, 0.5)), shapes=[((2, 4, 5),)]),
    Op("dropout3d", _seeded(lambda x: F.dropout3d(x, 0.5)), shapes=[((2, 3, 2, 2, 2),)]),
    Op("dropconnect_linear", _seeded(lambda x, w, b: F.dropconnect_linear(x, w, b, 0.4)),
       shapes=[((3, 4), (5, 4), (5,))]),
]
