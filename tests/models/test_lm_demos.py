"""Character language models on the bundled Python help text (spec rows 49, 36 and A53).

Seeded, small and quick: the recurrent models and a char-GPT go below the text's unigram
entropy, and temperature controls how adventurous the samples are. Measured figures are in
the comments (two shared CPU cores, seeds 0 / 1 / 2).

Not shown here: the char-GPT beating the recurrent models at an equal number of steps. No
setup tried reaches it at a test's number of steps, whether the models have equal parameter
counts or the GPT is made larger (below).

Constant learning rate first (batch 32, block 32, AdamW betas (0.9, 0.99), ~210 k parameters
each, seed 0), validation loss after 250 / 500 / 750 / 1,000 / 1,250 / 1,500 steps:

    GPT 4 layers, width 64, lr 6e-3     1.966  1.685  1.548  1.512  1.467  1.442   (erf GELU)
    LSTM 48→192, lr 1e-2                1.492  1.408  1.356  1.339  1.333  1.315
    RNN (tanh) 48→384, lr 3e-3          1.617  1.482  1.430  1.410  1.376  1.399

Out to 4,000 steps the LSTM levels off near 1.32-1.34 and the GPT passes it from 3,500 steps
on, but that comes from the LSTM's untuned schedule. So every figure below uses the nanoGPT
recipe for every model: linear warm-up over the first 10 % of the steps, cosine decay to
0.1 × lr, AdamW betas (0.9, 0.99), weight decay 0.1 on matrices only, no dropout, gradient
clipping 1.0, batch 32, the same random windows and held-out windows for the same seed
(examples/char_gpt_vs_lstm.py KIND LR STEPS SEED BLOCK; seconds are one run on one shared
CPU core, including the evaluation).

Equal parameters (~210 k), each model's best lr from {1e-3, 3e-3, 1e-2, 3e-2}, seed 0:

    block 32, 600 steps, lr  1e-3 / 3e-3 / 1e-2 / 3e-2:
                             LSTM 48→192 (210,679)    1.920 / 1.630 / 1.431 / 1.332
                             GPT 4×64    (208,704)    1.915 / 1.695 / 1.588 / 1.994
                             GPT 2×96    (236,832)    1.767 / 1.587 / 1.532 / 2.242
    block 64, 600 steps      LSTM  lr 1e-2 1.363, 3e-2 1.278, 1e-1 1.263
                             GPT 2×96 (239,904)   lr 3e-3 1.537, 1e-2 1.430
                             GPT 1×128 (219,904)  lr 3e-3 1.478, 1e-2 1.412, 3e-2 2.211
    block 64, 1,500 steps    LSTM 3e-2 1.195, GPT 1×128 1e-2 1.275, GPT 2×96 1e-2 1.270
    block 64, 3,000 steps    LSTM 3e-2 1.180, GPT 1×128 1e-2 1.274
    block 64, 600 steps, seeds 1 / 2: LSTM 3e-2 1.295 / 1.265, GPT 1×128 1e-2 1.405 / 1.393

Equal steps with a larger GPT (block 64 unless said; validation loss for seeds 0 / 1 / 2 where
three are given):

    model (parameters)          lr      steps   val loss                  s per run
    LSTM 48→192 (210,679)       3e-2    600     1.278 / 1.295 / 1.265     24
                                1e-1    600     1.263                     23
                                3e-2    1,500   1.195                     57
                                3e-2    3,000   1.180
    GPT 4×128 (814,720)         1e-3    600     1.613                     98
                                3e-3    600     1.451                     98
                                6e-3    600     1.406                     99
                                1e-2    600     1.399 / 1.420 / 1.392     100
                                1e-2    1,500   1.232 / 1.234 / 1.213     242
                                1e-2    3,000   1.228                     486
    GPT 6×128 (1,211,264)       6e-3    600     1.434                     146
                                1e-2    600     1.548                     148
    GPT 4×192 (1,811,904)       6e-3    600     1.394                     185
    LSTM 48→416 (823,319)       1e-2    600     1.227                     78
      (the GPT 4×128's size)    3e-2    600     1.187                     79
                                3e-2    1,500   1.154                     199
    RNN tanh 48→384 (211,255)   1e-3    600     1.620                     23
                                3e-3    600     1.401                     24
                                1e-2    600     1.325 / 1.329 / 1.317     24
                                3e-2    600     1.502                     25
                                1e-2    1,500   1.252 / 1.260 / 1.266     60
    block 128, 600 steps:       LSTM 48→192 3e-2 1.214 (48 s), GPT 4×128 (822,912 with
                                the longer position table) 1e-2 1.335 (212 s)

So at an equal number of steps the LSTM 48→192 stays ahead of every GPT tried: by 0.12-0.13
nats at 600 steps on each seed, 0.04 at 1,500 and 0.05 at 3,000, although the GPT 4×128 has
four times its parameters. Going deeper or wider (6×128, 4×192) or to block 128 leaves the GPT
near 1.33-1.43 at 600 steps, and from 1,500 to 3,000 steps it barely moves (1.232 → 1.228)
while the LSTM still improves. Giving the LSTM the GPT 4×128's parameter count helps the LSTM
(1.187 at 600 steps, 1.154 at 1,500), so the gap is the architecture at this budget (at most
6 million characters seen, 13 passes over the 465 k-character text), not the size. Against
the plain tanh RNN (the spec row's wording) the GPT 4×128 loses at 600 steps (1.399 / 1.420 /
1.392 against 1.325 / 1.329 / 1.317) and wins at 1,500 by 0.019 / 0.026 / 0.053, but only with
four times the parameters and ~250 s per run, far over a test's budget. No test here claims a
GPT win.
"""
import numpy as np
import pytest

import nerve as nv
import nerve.nn.functional as F
from nerve import models, optim
from nerve.text import CharCorpus, unigram_entropy


@pytest.fixture(scope="module")
def corpus():
    return CharCorpus.help_topics(val_fraction=0.1)


def train(model, corpus, steps, lr, seed=0, batch=32, block=32, warmup=0):
    """``steps`` AdamW steps on random training windows (the same windows for the same seed),
    with a linear warm-up of the learning rate over ``warmup`` steps."""
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.99))
    rng = np.random.default_rng(seed)
    V = len(corpus.vocab)
    for step in range(steps):
        if warmup:
            for group in opt.param_groups:
                group["lr"] = lr * min(1.0, (step + 1) / warmup)
        x, y = corpus.get_batch("train", batch, block, rng)
        loss = F.cross_entropy(model(x).reshape(-1, V), nv.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def val_loss(model, corpus, block=32, batches=8, batch=32):
    """Mean next-character cross-entropy (nats) on fixed windows of the held-out tail."""
    rng = np.random.default_rng(123)
    V, total = len(corpus.vocab), 0.0
    model.eval()
    with nv.no_grad():
        for _ in range(batches):
            x, y = corpus.get_batch("val", batch, block, rng)
            total += float(F.cross_entropy(model(x).reshape(-1, V), nv.tensor(y.reshape(-1))).item())
    model.train()
    return total / batches


@pytest.fixture(scope="module")
def lstm(corpus):
    nv.manual_seed(0)
    return train(models.CharLSTM(len(corpus.vocab), 32, 128), corpus, steps=80, lr=1e-2)


@pytest.mark.slow
def test_char_lstm_goes_below_the_unigram_entropy(corpus, lstm):
    h = unigram_entropy(corpus.text)              # 3.2499 nats/char (Python 3.11's topics)
    loss = val_loss(lstm, corpus)
    # measured: 1.901 / 1.929 / 1.955 for seeds 0 / 1 / 2 (99,527 parameters, 80 steps)
    assert loss < h - 0.8, (loss, h)


@pytest.mark.slow
def test_char_rnn_goes_below_the_unigram_entropy(corpus):
    nv.manual_seed(0)
    rnn = train(models.CharRNN(len(corpus.vocab), 32, 192, cell="rnn"), corpus, steps=80, lr=3e-3)
    loss = val_loss(rnn, corpus)
    # measured: 2.110 / 2.171 / 2.281 for seeds 0 / 1 / 2 (66,567 parameters, 80 steps)
    assert loss < unigram_entropy(corpus.text) - 0.6, loss


@pytest.mark.slow
def test_lower_temperature_gives_lower_entropy_samples(corpus, lstm):
    vocab = corpus.vocab
    prompt = vocab.encode_text("The ")[None]
    n = 300
    measured = {}
    for t in (0.5, 1.0, 1.5):
        ids = lstm.generate(prompt, n, temperature=t, generator=np.random.default_rng(1)).numpy()
        assert ids.shape == (1, 4 + n)
        text = vocab.decode_text(ids[0])
        assert text.startswith("The ") and len(text) == 4 + n and set(text) <= set(vocab.itos)
        # the entropy of the distributions the characters were drawn from, along the sampled path
        with nv.no_grad():
            logits = lstm(ids[:, :-1]).numpy()[0, 3:] / t
        p = np.exp(logits - logits.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        measured[t] = (float(-(p * np.log(p + 1e-30)).sum(-1).mean()), unigram_entropy(text[4:]))
    # measured (seed 0): entropy of the sampling distribution 1.136 / 2.376 / 3.298 nats and of the
    # sampled characters 2.597 / 3.090 / 3.641 nats at temperature 0.5 / 1.0 / 1.5
    assert measured[0.5][0] < measured[1.0][0] < measured[1.5][0], measured
    assert measured[0.5][1] < measured[1.0][1] < measured[1.5][1], measured


@pytest.mark.slow
def test_char_gpt_goes_below_the_unigram_entropy(corpus):
    nv.manual_seed(0)
    gpt = models.GPT(models.GPTConfig(vocab_size=len(corpus.vocab), block_size=32, n_layer=2, n_head=4,
                                      n_embd=64))
    train(gpt, corpus, steps=120, lr=6e-3, warmup=30)
    loss = val_loss(gpt, corpus)
    # measured: 2.176 / 2.436 / 2.275 for seeds 0 / 1 / 2 (unigram entropy 3.250), 108,736 parameters
    assert loss < unigram_entropy(corpus.text) - 0.6, loss
    text = corpus.vocab.decode_text(gpt.generate(corpus.vocab.encode_text("def ")[None], 40, temperature=0.8,
                                                 top_k=20, generator=0).numpy()[0])
    assert text.startswith("def ") and len(text) == 44
