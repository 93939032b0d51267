"""A tiny encoder-decoder nn.Transformer learns to reverse digit sequences (greedy decoding,
exact match on sequences it never saw), and its cross-attention, drawn with
nerve.viz.plot_attention, runs along the anti-diagonal: output step i reads input T-1-i."""
import numpy as np
import pytest

import nerve as nv
from nerve import functional as F
from nerve import nn, optim

T, V, BOS = 8, 10, 10          # sequence length, digits 0-9, the decoder's start token


class Reverser(nn.Module):
    """Digits in, the same digits reversed out: nn.Transformer (1 encoder and 1 decoder
    layer) with a learned position table shared by source and target."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.src_emb = nn.Embedding(V, d)
        self.tgt_emb = nn.Embedding(V + 1, d)
        self.pos = nn.LearnedPositionalEmbedding(T, d, batch_first=True, std=1.0)
        self.transformer = nn.Transformer(d, heads, 1, 1, 2 * d, dropout=0.0, batch_first=True)
        self.out = nn.Linear(d, V)
        self.scale = d ** 0.5

    def forward(self, src, tgt_in):
        L = tgt_in.shape[1]
        s = self.pos(self.src_emb(src) * self.scale)
        t = self.pos(self.tgt_emb(tgt_in) * self.scale)
        mask = nn.Transformer.generate_square_subsequent_mask(L)
        return self.out(self.transformer(s, t, tgt_mask=mask))

    def generate(self, src):
        """Greedy decoding, one token per step."""
        out = np.full((src.shape[0], 1), BOS)
        with nv.no_grad():
            for _ in range(T):
                logits = self(nv.tensor(src), nv.tensor(out)).numpy()
                out = np.concatenate([out, logits[:, -1].argmax(-1)[:, None]], 1)
        return out[:, 1:]


def train_reverser(seed=0, steps=800, batch=64):
    nv.manual_seed(seed)
    model = Reverser()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / steps)   # linear decay to 0
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        src = rng.integers(0, V, (batch, T))
        tgt = src[:, ::-1]
        tgt_in = np.concatenate([np.full((batch, 1), BOS), tgt[:, :-1]], 1)   # teacher forcing
        logits = model(nv.tensor(src), nv.tensor(tgt_in))
        loss = F.cross_entropy(logits.reshape(-1, V), nv.tensor(tgt.reshape(-1).copy()))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def cross_attention(model, src, tgt):
    """Per-head weights (N, heads, T, T) of the decoder's attention over the encoder output,
    on the teacher-forced target: the decoder layer's own inputs, caught by a pre-hook and
    passed again with need_weights=True."""
    layer = model.transformer.decoder.layers[0].multihead_attn
    seen = []
    handle = layer.register_forward_pre_hook(lambda m, args: seen.append(args))
    tgt_in = np.concatenate([np.full((len(tgt), 1), BOS), tgt[:, :-1]], 1)
    with nv.no_grad():
        model(nv.tensor(src), nv.tensor(tgt_in))
        handle.remove()
        q, k, v = seen[0]
        return layer(q, k, v, need_weights=True, average_attn_weights=False)[1].numpy()


def plot_reverser_attention(model, path, seed=5):
    src = np.random.default_rng(seed).integers(0, V, (1, T))
    w = cross_attention(model, src, src[:, ::-1])[0]          # (heads, T_out, T_in)
    labels_in = [str(d) for d in src[0]]
    labels_out = [str(d) for d in src[0, ::-1]]
    return nv.viz.plot_attention(np.concatenate([w, w.mean(0, keepdims=True)]), path,
                                 x_labels=labels_in, y_labels=labels_out,
                                 title="decoder cross-attention of a trained reverser",
                                 head_titles=[f"head {h}" for h in range(w.shape[0])] + ["mean"])


@pytest.fixture(scope="module")
def reverser():
    return train_reverser(seed=0)


@pytest.mark.slow
def test_transformer_reverses_unseen_sequences(reverser):
    test = np.random.default_rng(999).integers(0, V, (500, T))
    pred = reverser.generate(test)
    exact = (pred == test[:, ::-1]).all(1).mean()
    # measured (800 steps): seed 0 0.996, seed 3 1.000; with 500 steps seed 0 fell to 0.938
    assert exact >= 0.95, exact


@pytest.mark.slow
def test_cross_attention_is_anti_diagonal_and_plots(reverser, tmp_path):
    src = np.random.default_rng(3).integers(0, V, (200, T))
    w = cross_attention(reverser, src, src[:, ::-1]).mean(1)     # (N, T_out, T_in), heads averaged
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    anti = np.eye(T)[::-1].astype(bool)                            # (i, T-1-i)
    # measured (seed 0): the largest weight sits on the anti-diagonal in 89 % of the rows;
    # mean weight 0.52 there against 0.069 elsewhere
    assert (w.argmax(-1) == np.arange(T)[::-1]).mean() >= 0.75
    assert w[:, anti].mean() > 4 * w[:, ~anti].mean()
    path = plot_reverser_attention(reverser, tmp_path / "attention.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
