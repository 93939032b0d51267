"""Char-GPT against char-LSTM at an equal number of steps on the bundled Python help text.

One training run per call, with the nanoGPT recipe for both models: linear warm-up over the
first 10 % of the steps, cosine decay to 0.1 × lr, AdamW betas (0.9, 0.99), weight decay 0.1
on matrices only, gradient clipping 1.0, batch 32, the same random windows for the same seed.
Prints one JSON line with the validation loss on fixed held-out windows. The figures it gave
are in tests/models/test_lm_demos.py. Run

    python examples/char_gpt_vs_lstm.py KIND LR STEPS SEED BLOCK
    python examples/char_gpt_vs_lstm.py lstm 3e-2 600 0 64
    python examples/char_gpt_vs_lstm.py g4x128 3e-3 600 0 64

KIND names the model and its shape:

    lstm            the reference CharLSTM, embedding 48, hidden 192 (~210 k parameters)
    lstmExH         a CharLSTM with embedding E and hidden size H, e.g. lstm64x512
    rnnExH          the plain tanh char-RNN (CharRNN, cell 'rnn'), e.g. rnn48x384
    gLxC            a GPT of L layers, width C, 4 heads, no dropout, e.g. g1x128, g4x128
"""
import json
import math
import re
import sys
import time

import numpy as np
import nerve as nv
import nerve.nn.functional as F
from nerve import models, optim
from nerve.text import CharCorpus

corpus = CharCorpus.help_topics(val_fraction=0.1)
V = len(corpus.vocab)


def build(kind, block):
    """The model KIND names (see the module docstring)."""
    if kind == "lstm":
        kind = "lstm48x192"
    match = re.fullmatch(r"(lstm|rnn|g)(\d+)x(\d+)", kind)
    if match is None:
        raise ValueError(f"unknown model kind {kind!r}; use lstm, lstmExH, rnnExH or gLxC (e.g. g4x128)")
    family, a, b = match.group(1), int(match.group(2)), int(match.group(3))
    if family == "g":
        return models.GPT(models.GPTConfig(vocab_size=V, block_size=block, n_layer=a, n_head=4, n_embd=b,
                                           dropout=0.0))
    return models.CharRNN(V, a, b, cell=family)


def val_loss(model, block, batches=8, batch=32):
    """Mean cross-entropy on 8 fixed batches of held-out windows."""
    rng = np.random.default_rng(123)
    total = 0.0
    model.eval()
    with nv.no_grad():
        for _ in range(batches):
            x, y = corpus.get_batch("val", batch, block, rng)
            total += float(F.cross_entropy(model(x).reshape(-1, V), nv.tensor(y.reshape(-1))).item())
    model.train()
    return total / batches


def run(kind, lr, steps, seed, block, batch=32, warmup_frac=0.1, evals=()):
    """Train one model; return it and {step: validation loss}."""
    nv.manual_seed(seed)
    m = build(kind, block)
    decay = [p for p in m.parameters() if p.ndim >= 2]
    rest = [p for p in m.parameters() if p.ndim < 2]
    opt = optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                      lr=lr, betas=(0.9, 0.99))
    rng = np.random.default_rng(seed)
    W = max(1, int(warmup_frac * steps))
    out = {}
    for step in range(steps):
        if step < W:
            f = (step + 1) / W
        else:
            f = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - W) / (steps - W)))
        for g in opt.param_groups:
            g["lr"] = lr * f
        x, y = corpus.get_batch("train", batch, block, rng)
        loss = F.cross_entropy(m(x).reshape(-1, V), nv.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        nv.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        if step + 1 in evals:
            out[step + 1] = round(val_loss(m, block), 4)
    out[steps] = round(val_loss(m, block), 4)
    return m, out


if __name__ == "__main__":
    kind, lr, steps, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    block = int(sys.argv[5])
    t = time.time()
    m, out = run(kind, lr, steps, seed, block)
    print(json.dumps({"kind": kind, "lr": lr, "steps": steps, "seed": seed, "block": block,
                      "params": m.num_parameters(), "val": out, "s": round(time.time() - t, 1)}), flush=True)
