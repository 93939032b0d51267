"""Character language models on the bundled Python help text (spec rows 49, 36 and A53).

Seeded, small and quick: the recurrent models and a char-GPT go below the text's unigram
entropy, and temperature controls how adventurous the samples are. Measured figures are in
the comments (two shared CPU cores, seeds 0 / 1 / 2).

Not shown here: the char-GPT beating the recurrent models at an equal number of steps, which
no fair setup tried reaches at a test's number of steps (below). Measured (batch 32, block 32,
AdamW betas (0.9, 0.99), constant learning rate, ~210 k parameters each, seed 0), validation
loss after 250 / 500 / 750 / 1,000 / 1,250 / 1,500 steps:

    GPT 4 layers, width 64, lr 6e-3     1.966  1.685  1.548  1.512  1.467  1.442   (erf GELU)
    LSTM 48→192, lr 1e-2                1.492  1.408  1.356  1.339  1.333  1.315
    RNN (tanh) 48→384, lr 3e-3          1.617  1.482  1.430  1.410  1.376  1.399

and after 500 / 1,000 / ... / 4,000 steps:

    GPT (tanh GELU, as now)             1.703  1.499  1.437  1.388  1.350  1.334  1.321  1.306
    LSTM                                1.408  1.339  1.315  1.331  1.339  1.318  1.338  1.326

With a constant learning rate the LSTM levels off near 1.32-1.34 and the transformer passes it
from 3,500 steps on. That lead comes from the LSTM's untuned schedule, not from the architecture.
Given the nanoGPT recipe (linear warm-up over the first 10 % of steps, cosine decay to 0.1 × lr,
AdamW betas (0.9, 0.99), weight decay 0.1 on matrices only, no dropout, gradient clipping 1.0),
with the same recipe, batch 32, windows and token budget for both and each one's best lr from the
grid {1e-3, 3e-3, 1e-2, 3e-2} (at block 32; at block 64 the two best of it), the LSTM wins
(seed 0 unless said, validation loss on the same held-out windows; examples/char_gpt_vs_lstm.py):

    block 32, 600 steps, lr  1e-3 / 3e-3 / 1e-2 / 3e-2:
                             LSTM 48→192 (210,679)    1.920 / 1.630 / 1.431 / 1.332
                             GPT 4×64    (208,704)    1.915 / 1.695 / 1.588 / 1.994
                             GPT 2×96    (236,832)    1.767 / 1.587 / 1.532 / 2.242
    block 64, 600 steps      LSTM  lr 1e-2 1.363, 3e-2 1.278, (1e-1 1.263, outside the grid)
                             GPT 2×96 (239,904)   lr 3e-3 1.537, 1e-2 1.430
                             GPT 1×128 (219,904)  lr 3e-3 1.478, 1e-2 1.412, 3e-2 2.211
    block 64, 1,500 steps    LSTM 3e-2 1.195, GPT 1×128 1e-2 1.275, GPT 2×96 1e-2 1.270
    block 64, 3,000 steps    LSTM 3e-2 1.180, GPT 1×128 1e-2 1.274
    block 64, 600 steps, seeds 1 / 2: LSTM 3e-2 1.295 / 1.265, GPT 1×128 1e-2 1.405 / 1.393

So at this size (~210 k parameters) and a test's number of steps, no fair setup found here lets
the GPT win, and the test does not claim it.
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
