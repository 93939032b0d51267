"""The benchmark workloads, each built identically in nerve and in PyTorch.

A workload builder takes the framework name and returns ``(step, info)``: ``step()`` runs one
unit of work (a training step or an inference pass) and ``info`` says how many samples and
floating-point operations one step does. Both frameworks start from the same weights.
"""
from __future__ import annotations

import functools

import numpy as np

SEED = 0


def _dense_flops(sizes, batch, train=True):
    """Multiply-adds of an MLP step: forward 2·B·in·out per layer; backward twice that,
    except the first layer, which needs no input gradient."""
    f = sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if not train:
        return f
    b = sum(4 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:])) - 2 * batch * sizes[0] * sizes[1]
    return f + b


def _mlp_weights(sizes, seed=SEED):
    """Torch-default-like init (U(±1/√fan_in)), fixed seed, float32."""
    rng = np.random.default_rng(seed)
    out = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1 / np.sqrt(a)
        out[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (b, a)).astype(np.float32)
        out[f"{2 * i}.bias"] = rng.uniform(-bound, bound, b).astype(np.float32)
    return out


@functools.lru_cache(maxsize=None)
def _data(batch, features, classes=10, seed=SEED, shape=None):
    """Synthetic inputs and labels, cached: both frameworks read the very same arrays, and the
    memory measurement creates them before its baseline (they are not framework memory)."""
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch,) + (shape or (features,)), dtype=np.float32)
    y = rng.integers(0, classes, batch).astype(np.int64)
    return x, y


def _with_data(build, *data_args, **data_kwargs):
    """Attach ``prepare()``: make the workload's input data ahead of the memory baseline."""
    build.prepare = lambda: _data(*data_args, **data_kwargs)
    return build


# ------------------------------------------------------------------ builders
def _nerve_mlp(sizes):
    import nerve.nn as nn  # noqa: PLC0415

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    model.load_state_dict(_mlp_weights(sizes))
    return model


def _torch_mlp(sizes):
    import torch  # noqa: PLC0415

    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in _mlp_weights(sizes).items()})
    return model


def _optimizer(fw, params, name, lr):
    if fw == "nerve":
        import nerve.optim as optim  # noqa: PLC0415
    else:
        import torch.optim as optim  # noqa: PLC0415
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    raise ValueError(name)


def train_step_builder(fw, model, x, y, opt):
    """One forward, loss, backward and update, the same in both frameworks."""
    if fw == "nerve":
        import nerve as nv  # noqa: PLC0415
        import nerve.nn.functional as F  # noqa: PLC0415

        xt, yt = nv.from_numpy(x), nv.from_numpy(y)
    else:
        import torch  # noqa: PLC0415
        import torch.nn.functional as F  # noqa: PLC0415

        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def mlp_train(sizes, batch, opt_name, lr):
    def build(fw):
        model = _nerve_mlp(sizes) if fw == "nerve" else _torch_mlp(sizes)
        x, y = _data(batch, sizes[0])
        opt = _optimizer(fw, model.parameters(), opt_name, lr)
        return train_step_builder(fw, model, x, y, opt), {
            "samples": batch, "flops": _dense_flops(sizes, batch)}

    return _with_data(build, batch, sizes[0])


def mlp_infer(sizes, batch):
    def build(fw):
        x, _ = _data(batch, sizes[0])
        if fw == "nerve":
            import nerve as nv  # noqa: PLC0415

            model = _nerve_mlp(sizes).eval()
            xt = nv.from_numpy(x)

            def step():
                with nv.no_grad():
                    return model(xt)
        else:
            import torch  # noqa: PLC0415

            model = _torch_mlp(sizes).eval()
            xt = torch.from_numpy(x)

            def step():
                with torch.no_grad():
                    return model(xt)

        return step, {"samples": batch, "flops": _dense_flops(sizes, batch, train=False)}

    return _with_data(build, batch, sizes[0])


def lenet5_train(batch):
    """LeNet-5 on 1×28×28: conv 1→6 5×5 pad 2, ReLU, max-pool 2, conv 6→16 5×5, ReLU, max-pool 2,
    120, 84, 10; SGD with momentum."""

    def build(fw):
        rng = np.random.default_rng(SEED)
        shapes = {"0.weight": (6, 1, 5, 5), "0.bias": (6,), "3.weight": (16, 6, 5, 5), "3.bias": (16,),
                  "7.weight": (120, 400), "7.bias": (120,), "9.weight": (84, 120), "9.bias": (84,),
                  "11.weight": (10, 84), "11.bias": (10,)}
        fan = {"0": 25, "3": 150, "7": 400, "9": 120, "11": 84}
        state = {k: rng.uniform(-1, 1, s).astype(np.float32) / np.sqrt(fan[k.split(".")[0]])
                 for k, s in shapes.items()}
        x, y = _data(batch, None, shape=(1, 28, 28))
        if fw == "nerve":
            import nerve.nn as nn  # noqa: PLC0415
        else:
            import torch.nn as nn  # noqa: PLC0415
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        if fw == "nerve":
            model.load_state_dict(state)
        else:
            import torch  # noqa: PLC0415

            model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        opt = _optimizer(fw, model.parameters(), "momentum", 0.01)
        # conv FLOPs: 2·B·C_out·H_out·W_out·C_in·k² forward, ×3 with backward (first conv: ×2)
        conv = 2 * batch * (6 * 28 * 28 * 1 * 25 * 2 + 16 * 10 * 10 * 6 * 25 * 3)
        return train_step_builder(fw, model, x, y, opt), {
            "samples": batch, "flops": conv + _dense_flops([400, 120, 84, 10], batch)}

    return _with_data(build, batch, None, shape=(1, 28, 28))


def elementwise_chain(n=1000):
    """A small elementwise chain: y = sum(tanh(x·w + b)² · exp(−x)), forward and backward."""

    def build(fw):
        rng = np.random.default_rng(SEED)
        arrs = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
        if fw == "nerve":
            import nerve as nv  # noqa: PLC0415

            x, w, b = (nv.tensor(a, requires_grad=True) for a in arrs)
        else:
            import torch  # noqa: PLC0415

            x, w, b = (torch.tensor(a, requires_grad=True) for a in arrs)

        def step():
            x.grad = w.grad = b.grad = None
            y = ((x * w + b).tanh() ** 2 * (-x).exp()).sum()
            y.backward()
            return y

        return step, {"samples": n, "flops": 12 * n}

    return build


def unbind_join(rows=256, cols=64):
    """Unbind a (rows, cols) tensor into rows, re-join half of them, fwd+bwd: the cost of an op
    with many outputs (one node whose backward is one stack, not one node per row)."""

    def build(fw):
        a = np.random.default_rng(SEED).standard_normal((rows, cols)).astype(np.float32)
        if fw == "nerve":
            import nerve as lib  # noqa: PLC0415
        else:
            import torch as lib  # noqa: PLC0415
        x = lib.tensor(a, requires_grad=True)

        def step():
            x.grad = None
            ps = x.unbind(0)
            s = lib.stack(ps[::2]).sum() + ps[3].sum() * 2
            s.backward()
            return s

        return step, {"samples": rows, "flops": 2 * rows * cols}

    return build


def _seq_data(T, batch, features, classes=10, seed=SEED):
    """A (T, N, features) float32 sequence batch and N labels, cached like ``_data``."""
    x, y = _data(batch, None, classes, seed, shape=(T, features))
    return np.ascontiguousarray(x.transpose(1, 0, 2)), y


def recurrent_train(kind, input_size, hidden, T, batch):
    """A one-layer ``kind`` (LSTM or GRU) over a (T, N, input) sequence, a Linear(hidden, 10)
    head on the last hidden state, cross-entropy and one Adam step; PyTorch's default init drawn
    once (U(±1/√hidden)) and loaded into both frameworks."""
    G = 4 if kind == "LSTM" else 3

    def build(fw):
        rng = np.random.default_rng(SEED)
        k = 1 / np.sqrt(hidden)
        shapes = {"rnn.weight_ih_l0": (G * hidden, input_size), "rnn.weight_hh_l0": (G * hidden, hidden),
                  "rnn.bias_ih_l0": (G * hidden,), "rnn.bias_hh_l0": (G * hidden,),
                  "head.weight": (10, hidden), "head.bias": (10,)}
        state = {n: rng.uniform(-k, k, s).astype(np.float32) for n, s in shapes.items()}
        x, y = _seq_data(T, batch, input_size)
        if fw == "nerve":
            import nerve as lib  # noqa: PLC0415
            import nerve.nn as nn  # noqa: PLC0415
        else:
            import torch as lib  # noqa: PLC0415
            import torch.nn as nn  # noqa: PLC0415

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = getattr(nn, kind)(input_size, hidden)
                self.head = nn.Linear(hidden, 10)

            def forward(self, seq):
                out, _ = self.rnn(seq)
                return self.head(out[-1])

        model = Net()
        model.load_state_dict(state if fw == "nerve" else {n: lib.from_numpy(v) for n, v in state.items()})
        opt = _optimizer(fw, model.parameters(), "adam", 1e-3)
        step = train_step_builder(fw, model, x, y, opt)

        # GEMMs: input projections 2·T·N·D·GH and recurrent 2·T·N·H·GH forward; backward twice
        # that, less the input gradient the first layer does not need
        fwd = 2 * T * batch * G * hidden * (input_size + hidden)
        return step, {"samples": batch, "flops": 3 * fwd - 2 * T * batch * G * hidden * input_size}

    return _with_data(build, batch, None, shape=(T, input_size))


ACTIVATIONS = {"ACT-RELU": "relu", "ACT-SIGMOID": "sigmoid", "ACT-TANH": "tanh", "ACT-GELU": "gelu"}


def activation(name, n=1 << 20):
    """One activation forward and backward over ``n`` float32 elements (spec row A27: what
    ReLU saves against the smooth ones, measured rather than asserted)."""

    def build(fw):
        rng = np.random.default_rng(SEED)
        a = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        if fw == "nerve":
            import nerve as nv  # noqa: PLC0415
            import nerve.nn.functional as F  # noqa: PLC0415

            x, gt = nv.tensor(a, requires_grad=True), nv.tensor(g)
        else:
            import torch  # noqa: PLC0415
            import torch.nn.functional as F  # noqa: PLC0415

            x, gt = torch.tensor(a, requires_grad=True), torch.tensor(g)
        fn = getattr(F, name)

        def step():
            x.grad = None
            y = fn(x)
            y.backward(gt)
            return y

        return step, {"samples": n, "flops": n, "elements": n}

    return build


def transformer_encoder_train(d_model, nhead, seq, batch, ff=None):
    """One TransformerEncoderLayer (post-norm, ReLU, dropout 0, batch_first), MSE to a fixed
    target, Adam: one training step. Both frameworks load the same weights by torch's keys."""
    ff = ff or 4 * d_model
    shapes = {"self_attn.in_proj_weight": (3 * d_model, d_model), "self_attn.in_proj_bias": (3 * d_model,),
              "self_attn.out_proj.weight": (d_model, d_model), "self_attn.out_proj.bias": (d_model,),
              "linear1.weight": (ff, d_model), "linear1.bias": (ff,),
              "linear2.weight": (d_model, ff), "linear2.bias": (d_model,),
              "norm1.weight": (d_model,), "norm1.bias": (d_model,),
              "norm2.weight": (d_model,), "norm2.bias": (d_model,)}

    def build(fw):
        rng = np.random.default_rng(SEED)
        state = {k: (1.0 + 0.1 * rng.standard_normal(s) if k.startswith("norm") and k.endswith("weight")
                     else rng.uniform(-1, 1, s) / np.sqrt(s[-1])).astype(np.float32)
                 for k, s in shapes.items()}
        x = _data(batch, None, shape=(seq, d_model))[0]
        target = _data(batch, None, shape=(seq, d_model), seed=SEED + 7)[0]
        if fw == "nerve":
            import nerve as nv  # noqa: PLC0415
            import nerve.nn as nn  # noqa: PLC0415
            import nerve.nn.functional as F  # noqa: PLC0415

            wrap = nv.from_numpy
        else:
            import torch  # noqa: PLC0415
            import torch.nn as nn  # noqa: PLC0415
            import torch.nn.functional as F  # noqa: PLC0415

            wrap = torch.from_numpy
            state = {k: torch.from_numpy(v) for k, v in state.items()}
        model = nn.TransformerEncoderLayer(d_model, nhead, ff, dropout=0.0, batch_first=True)
        model.load_state_dict(state)
        opt = _optimizer(fw, model.parameters(), "adam", 1e-3)
        xt, yt = wrap(x), wrap(target)

        def step():
            loss = F.mse_loss(model(xt), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        # matmul FLOPs: projections 4·d², feed-forward 2·d·ff per token, attention 2·L·d per
        # token (scores and mix); ×2 for multiply-add, ×3 with backward
        tokens = batch * seq
        flops = 3 * 2 * tokens * (4 * d_model * d_model + 2 * d_model * ff + 2 * seq * d_model)
        return step, {"samples": batch, "flops": flops}

    return _with_data(build, batch, None, shape=(seq, d_model))


def gpt_state(vocab, block, n_layer, n_embd, seed=SEED, dtype=np.float32):
    """GPT weights by nerve's (and the torch twin's) keys, drawn as GPT-2 initializes them:
    N(0, 0.02), residual projections N(0, 0.02/√(2L)), LayerNorm weights near 1, small biases."""
    rng = np.random.default_rng(seed)
    C = n_embd
    shapes = {"wte.weight": (vocab, C), "wpe.weight": (block, C)}
    for i in range(n_layer):
        p = f"h.{i}."
        shapes.update({p + "ln_1.weight": (C,), p + "ln_1.bias": (C,),
                       p + "attn.c_attn.weight": (3 * C, C), p + "attn.c_attn.bias": (3 * C,),
                       p + "attn.c_proj.weight": (C, C), p + "attn.c_proj.bias": (C,),
                       p + "ln_2.weight": (C,), p + "ln_2.bias": (C,),
                       p + "mlp.c_fc.weight": (4 * C, C), p + "mlp.c_fc.bias": (4 * C,),
                       p + "mlp.c_proj.weight": (C, 4 * C), p + "mlp.c_proj.bias": (C,)})
    shapes.update({"ln_f.weight": (C,), "ln_f.bias": (C,)})
    out = {}
    for k, s in shapes.items():
        if k.endswith("ln_1.weight") or k.endswith("ln_2.weight") or k == "ln_f.weight":
            a = 1.0 + 0.1 * rng.standard_normal(s)
        elif k.endswith("bias"):
            a = 0.02 * rng.standard_normal(s)
        elif k.endswith("c_proj.weight"):
            a = rng.standard_normal(s) * 0.02 / np.sqrt(2 * n_layer)
        else:
            a = rng.standard_normal(s) * 0.02
        out[k] = a.astype(dtype)
    return out


def torch_gpt(vocab, block, n_layer, n_head, n_embd):
    """The PyTorch twin of ``nerve.models.GPT`` (same layout, same state-dict keys, tied head),
    with an optional key/value cache (``new_cache``: per-layer key and value tensors and a length)."""
    import torch  # noqa: PLC0415
    import torch.nn as nn  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415

    C, H = n_embd, n_head

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)

        def forward(self, x, cache=None, layer=0):
            N, T, _ = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(N, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            if cache is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:   # store the new keys and values; a prefill from 0 is causal, one new token sees all
                p = cache["length"]
                cache["k"][layer][:, :, p:p + T] = k
                cache["v"][layer][:, :, p:p + T] = v
                y = F.scaled_dot_product_attention(q, cache["k"][layer][:, :, :p + T],
                                                   cache["v"][layer][:, :, :p + T], is_causal=T > 1)
            return self.c_proj(y.transpose(1, 2).reshape(N, T, C))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(C), Attn(), nn.LayerNorm(C)
            self.mlp = nn.Sequential()
            self.mlp.add_module("c_fc", nn.Linear(C, 4 * C))
            self.mlp.add_module("gelu", nn.GELU(approximate="tanh"))
            self.mlp.add_module("c_proj", nn.Linear(4 * C, C))

        def forward(self, x, cache=None, layer=0):
            x = x + self.attn(self.ln_1(x), cache, layer)
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, C), nn.Embedding(block, C)
            self.h = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(C)

        def new_cache(self, batch):
            shape, dtype = (batch, H, block, C // H), self.wte.weight.dtype
            return {"k": [torch.zeros(shape, dtype=dtype) for _ in range(n_layer)],
                    "v": [torch.zeros(shape, dtype=dtype) for _ in range(n_layer)], "length": 0}

        def forward(self, idx, cache=None):
            T = idx.shape[1]
            start = 0 if cache is None else cache["length"]
            x = self.wte(idx) + self.wpe(torch.arange(start, start + T))
            for i, b in enumerate(self.h):
                x = b(x, cache, i)
            if cache is not None:
                cache["length"] += T
            return F.linear(self.ln_f(x), self.wte.weight)

    return TorchGPT()


def gpt_train(vocab, block, n_layer, n_head, n_embd, batch):
    """One training step of a small GPT (pre-LN, causal SDPA, tanh-GELU MLP, tied head): next-token
    cross-entropy over (N·T, V) and one AdamW step (weight decay 0.01)."""

    def build(fw):
        state = gpt_state(vocab, block, n_layer, n_embd)
        rng = np.random.default_rng(SEED + 3)
        seq = rng.integers(0, vocab, (batch, block + 1))
        x, y = seq[:, :-1].copy(), seq[:, 1:].reshape(-1).copy()
        if fw == "nerve":
            import nerve as lib  # noqa: PLC0415
            import nerve.nn.functional as F  # noqa: PLC0415
            import nerve.optim as optim  # noqa: PLC0415
            from nerve.models import GPT, GPTConfig  # noqa: PLC0415

            model = GPT(GPTConfig(vocab, block, n_layer, n_head, n_embd))
            model.load_state_dict(state)
        else:
            import torch as lib  # noqa: PLC0415
            import torch.nn.functional as F  # noqa: PLC0415
            import torch.optim as optim  # noqa: PLC0415

            model = torch_gpt(vocab, block, n_layer, n_head, n_embd)
            model.load_state_dict({k: lib.from_numpy(v) for k, v in state.items()})
        opt = optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        xt, yt = lib.from_numpy(x), lib.from_numpy(y)

        def step():
            loss = F.cross_entropy(model(xt).reshape(-1, vocab), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        tokens, C = batch * block, n_embd
        # per token: 12C² (projections and MLP) + 2·T·C (scores and mix) + C·V (head); ×2 multiply-add, ×3 with backward
        flops = 3 * 2 * tokens * (n_layer * (12 * C * C + 2 * block * C) + C * vocab)
        return step, {"samples": batch, "flops": flops}

    return build


def gpt_decode(vocab, block, n_layer, n_head, n_embd, batch, context):
    """One cached generation step: ``context`` positions already hold keys and values, one new
    token per sequence goes through the model, and the most likely next token is picked. The
    cache is rewound to ``context`` after each step, so every step does the same work."""

    def build(fw):
        state = gpt_state(vocab, block, n_layer, n_embd)
        rng = np.random.default_rng(SEED + 5)
        prompt = rng.integers(0, vocab, (batch, context))
        last = rng.integers(0, vocab, (batch, 1))
        if fw == "nerve":
            import nerve as nv  # noqa: PLC0415
            from nerve.models import GPT, GPTConfig  # noqa: PLC0415

            model = GPT(GPTConfig(vocab, block, n_layer, n_head, n_embd)).eval()
            model.load_state_dict(state)
            cache = model.new_cache(batch)
            with nv.no_grad():
                model(prompt, cache)
            tok = nv.from_numpy(last)

            def step():
                with nv.no_grad():
                    cache.length = context
                    logits = model(tok, cache)
                return logits.numpy()[:, -1].argmax(-1)
        else:
            import torch  # noqa: PLC0415

            model = torch_gpt(vocab, block, n_layer, n_head, n_embd).eval()
            model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
            cache = model.new_cache(batch)
            with torch.no_grad():
                model(torch.from_numpy(prompt), cache)
            tok = torch.from_numpy(last)

            def step():
                with torch.no_grad():
                    cache["length"] = context
                    logits = model(tok, cache)
                return logits[:, -1].argmax(-1).numpy()

        C = n_embd
        flops = 2 * batch * (n_layer * (12 * C * C + 2 * (context + 1) * C) + C * vocab)
        return step, {"samples": batch, "flops": flops}

    return build


WORKLOADS = {
    "W1": ("784-16-16-10 ReLU, batch 10, SGD (train step)", mlp_train([784, 16, 16, 10], 10, "sgd", 0.01)),
    "W2": ("784-16-16-10 ReLU, batch 64, SGD momentum 0.9", mlp_train([784, 16, 16, 10], 64, "momentum", 0.01)),
    "W3": ("784-512-256-10 ReLU, batch 128, Adam", mlp_train([784, 512, 256, 10], 128, "adam", 1e-3)),
    "W4": ("LeNet-5, batch 64, SGD momentum", lenet5_train(64)),
    "W5": ("LSTM 64→128, sequence 32, batch 32, Linear head, Adam (train step)",
           recurrent_train("LSTM", 64, 128, 32, 32)),
    "W5G": ("GRU 64→128, sequence 32, batch 32, Linear head, Adam (train step)",
            recurrent_train("GRU", 64, 128, 32, 32)),
    "W6": ("TransformerEncoderLayer d_model 128, 4 heads, ff 512, seq 64, batch 16, Adam",
           transformer_encoder_train(128, 4, 64, 16)),
    "W7": ("W2 network, forward only, batch 10,000", mlp_infer([784, 16, 16, 10], 10_000)),
    "W8": ("GPT 4 layers, d 128, 4 heads, block 64, vocab 65, batch 16, AdamW (train step)",
           gpt_train(65, 64, 4, 4, 128, 16)),
    "G1": ("GPT of W8, one cached generation step: 1 new token after 63 cached, batch 8, greedy",
           gpt_decode(65, 64, 4, 4, 128, 8, 63)),
    "C1": ("elementwise chain, 1,000 elements, fwd+bwd", elementwise_chain(1000)),
    "U1": ("unbind 256 rows of 64, stack half of them back, fwd+bwd", unbind_join(256, 64)),
    **{k: (f"{v} forward+backward, 2^20 float32 elements", activation(v)) for k, v in ACTIVATIONS.items()},
    "E1": ("one MNIST epoch of `nerve train` (data pipeline included) vs PyTorch DataLoader loop",
           None),
}

# Per-workload runner settings: E1's "step" is a whole epoch.
SETTINGS = {"E1": {"reps": 3, "warmup_s": 0.0, "rep_s": 0.0, "mem_steps": 1}}


def _e1():
    from .e2e import mnist_epoch  # noqa: PLC0415

    return mnist_epoch()


WORKLOADS["E1"] = (WORKLOADS["E1"][0], _e1())

QUICK = {
    "W1": mlp_train([784, 16, 16, 10], 10, "sgd", 0.01),
    "W2": mlp_train([784, 16, 16, 10], 16, "momentum", 0.01),
    "W3": mlp_train([64, 32, 16, 10], 8, "adam", 1e-3),
    "W4": lenet5_train(2),
    "W5": recurrent_train("LSTM", 8, 16, 5, 4),
    "W5G": recurrent_train("GRU", 8, 16, 5, 4),
    "W6": transformer_encoder_train(16, 2, 8, 2),
    "W7": mlp_infer([784, 16, 16, 10], 100),
    "W8": gpt_train(11, 8, 2, 2, 16, 2),
    "G1": gpt_decode(11, 8, 2, 2, 16, 2, 7),
    "C1": elementwise_chain(100),
    "U1": unbind_join(16, 8),
    **{k: activation(v, 1000) for k, v in ACTIVATIONS.items()},
}


def _e1_quick():
    from .e2e import mnist_epoch  # noqa: PLC0415

    return mnist_epoch(limit=512)


QUICK["E1"] = _e1_quick()
