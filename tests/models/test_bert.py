"""BERT: parameter counts (a real bert-base build and the arithmetic table), parity with a
hand-written PyTorch transcription of transformers' BertModel (and with transformers itself
when it is installed), the padding mask, the tied MLM decoder, configs."""
import doctest

import numpy as np
import pytest

import nerve as nv
from nerve import models
from nerve.models import bert
from nerve.models.bert import BertConfig, BertForMaskedLM, BertModel, convert_hf_state_dict, param_table


def _total(rows):
    return sum(r.total for r in rows)


@pytest.mark.slow   # ~2 s alone, up to ~10 s on a loaded machine (110M random draws)
def test_bert_base_builds_with_the_published_count():
    net = BertModel(BertConfig())
    assert net.num_parameters() == 109_482_240          # transformers' BertModel (with pooler)
    assert _total(param_table(BertConfig())) == 109_482_240
    assert models.get_model("bert-base").config == BertConfig()
    # BertForMaskedLM: no pooler; transform + LayerNorm + decoder bias; decoder weight tied
    assert _total(param_table("bert-base", pooler=False, mlm_head=True)) == 109_514_298


SMALL = [dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=24, max_position_embeddings=20, type_vocab_size=3),
         dict(vocab_size=31, hidden_size=12, num_hidden_layers=1, num_attention_heads=3,
              intermediate_size=7, max_position_embeddings=9, type_vocab_size=1, pad_token_id=None)]


@pytest.mark.parametrize("kw", SMALL)
def test_param_table_equals_real_builds(kw):
    cfg = BertConfig(**kw)
    assert BertModel(cfg).num_parameters() == _total(param_table(cfg))
    assert BertModel(cfg, add_pooling_layer=False).num_parameters() == _total(param_table(cfg, pooler=False))
    mlm = BertForMaskedLM(cfg)
    assert mlm.num_parameters() == _total(param_table(cfg, pooler=False, mlm_head=True))
    per_layer = [r for r in param_table(cfg) if r.component.startswith("layer")]
    assert all(r.repeat == cfg.num_hidden_layers for r in per_layer)
    one_layer = BertModel(cfg).encoder.layers[0]
    assert sum(r.count for r in per_layer) == sum(p.numel() for p in one_layer.parameters())


def test_init_follows_bert():
    nv.manual_seed(0)
    net = BertModel(BertConfig(**SMALL[0], hidden_dropout_prob=0.0))
    w = net.embeddings.word_embeddings.weight.numpy()
    assert np.all(w[0] == 0)                                       # the padding row
    assert abs(w[1:].std() - 0.02) < 0.003
    layer = net.encoder.layers[0]
    assert abs(layer.self_attn.in_proj_weight.numpy().std() - 0.02) < 0.004
    assert np.all(layer.linear1.bias.numpy() == 0) and np.all(layer.norm1.weight.numpy() == 1)
    nv.manual_seed(0)
    again = BertModel(BertConfig(**SMALL[0], hidden_dropout_prob=0.0))
    np.testing.assert_array_equal(again.encoder.layers[1].linear2.weight.numpy(),
                                  net.encoder.layers[1].linear2.weight.numpy())


def _inputs(r, cfg, N=3, L=7):
    ids = r.integers(1, cfg.vocab_size, (N, L))
    types = r.integers(0, cfg.type_vocab_size, (N, L))
    mask = np.ones((N, L), np.int64)
    mask[1, -3:] = 0
    mask[2, -1:] = 0
    ids[mask == 0] = 0
    return ids, types, mask


def test_padding_changes_nothing_for_the_real_tokens():
    cfg = BertConfig(**SMALL[0], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    net = BertModel(cfg, dtype=np.float64)
    r = np.random.default_rng(0)
    ids = r.integers(1, cfg.vocab_size, (1, 5))
    types = r.integers(0, cfg.type_vocab_size, (1, 5))
    short = net(ids, token_type_ids=types)
    padded_ids = np.concatenate([ids, [[0, 0, 0]]], 1)
    padded_types = np.concatenate([types, [[0, 0, 0]]], 1)
    mask = np.array([[1] * 5 + [0] * 3])
    long = net(padded_ids, attention_mask=mask, token_type_ids=padded_types)
    np.testing.assert_allclose(long.last_hidden_state.numpy()[:, :5], short.last_hidden_state.numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(long.pooler_output.numpy(), short.pooler_output.numpy(), rtol=1e-12,
                               atol=1e-12)
    unmasked = net(padded_ids, token_type_ids=padded_types).last_hidden_state.numpy()[:, :5]
    assert np.abs(unmasked - short.last_hidden_state.numpy()).max() > 1e-3   # the mask mattered


def test_mlm_decoder_is_tied_and_gets_both_gradients():
    cfg = BertConfig(**SMALL[0])
    mlm = BertForMaskedLM(cfg)
    emb = mlm.bert.embeddings.word_embeddings.weight
    assert mlm.cls.decoder.weight is emb
    assert sum(p is emb for p in mlm.parameters()) == 1
    ids = np.array([[2, 5, 6, 7, 3]])
    labels = np.full((1, 5), -100)
    labels[0, 2] = 6
    loss = mlm.loss(mlm(ids), labels)
    loss.backward()
    g = emb.grad.numpy()
    # output side: every row gets a softmax gradient; input side adds to rows 2, 5, 6, 7, 3
    assert np.all(np.abs(g).sum(1) > 0)
    assert loss.item() == pytest.approx(np.log(cfg.vocab_size), rel=0.05)   # ≈ uniform at init


def test_weights_round_trip_through_safetensors_and_stay_tied(tmp_path):
    cfg = BertConfig(**SMALL[0])
    a, b = BertForMaskedLM(cfg).eval(), BertForMaskedLM(cfg).eval()
    nv.io.save_state_dict(a, tmp_path / "mlm.safetensors")
    b.load_state_dict(nv.io.load_state_dict(tmp_path / "mlm.safetensors"))
    ids = np.array([[2, 5, 6, 7, 3]])
    np.testing.assert_array_equal(a(ids).numpy(), b(ids).numpy())
    assert b.cls.decoder.weight is b.bert.embeddings.word_embeddings.weight


def test_config_json_round_trip_and_errors(tmp_path):
    cfg = BertConfig.preset("bert-mini", vocab_size=1000)
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads) == (256, 4, 4)
    path = cfg.save(tmp_path / "config.json")
    assert BertConfig.load(path) == cfg
    assert BertConfig.from_dict({**cfg.to_dict(), "model_type": "bert"}) == cfg   # unknown keys ignored
    with pytest.raises(ValueError, match="multiple of num_attention_heads"):
        BertConfig(hidden_size=10, num_attention_heads=3)
    with pytest.raises(ValueError, match="hidden_act"):
        BertConfig(hidden_act="swish")
    with pytest.raises(ValueError, match="unknown BERT preset"):
        BertConfig.preset("bert-huge")
    net = BertModel(BertConfig(**SMALL[0]))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        net(np.zeros((1, 21), np.int64))
    with pytest.raises(ValueError, match="attention_mask"):
        net(np.zeros((1, 4), np.int64), attention_mask=np.ones((1, 5)))
    with pytest.raises(ValueError, match="batch dimension"):
        net(np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="token ids"):
        net(nv.zeros(1, 1, 28, 28))
    with pytest.raises(TypeError, match="integer token ids"):
        net(nv.zeros(2, 4))
    with pytest.raises(ValueError, match="masked_lm=True"):
        convert_hf_state_dict({"cls.predictions.bias": np.zeros(3)})


def test_docstring_examples():
    result = doctest.testmod(bert, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# ------------------------------------------------------------------ PyTorch oracles

def _torch_bert_class(torch):
    """transformers' BertModel / BertForMaskedLM written out in torch (their parameter names,
    their math: separate q/k/v, additive −∞-like padding mask, erf gelu, post-LN)."""
    tnn = torch.nn

    class Layer(tnn.Module):
        def __init__(self, H, A, I, eps):
            super().__init__()
            self.A = A
            self.attention = tnn.Module()
            self.attention.self = tnn.Module()
            for n in ("query", "key", "value"):
                setattr(self.attention.self, n, tnn.Linear(H, H))
            self.attention.output = tnn.Module()
            self.attention.output.dense = tnn.Linear(H, H)
            self.attention.output.LayerNorm = tnn.LayerNorm(H, eps=eps)
            self.intermediate = tnn.Module()
            self.intermediate.dense = tnn.Linear(H, I)
            self.output = tnn.Module()
            self.output.dense = tnn.Linear(I, H)
            self.output.LayerNorm = tnn.LayerNorm(H, eps=eps)

        def forward(self, x, add_mask):
            N, L, H = x.shape
            d = H // self.A
            sa = self.attention.self

            def heads(t):
                return t.view(N, L, self.A, d).transpose(1, 2)

            q, k, v = heads(sa.query(x)), heads(sa.key(x)), heads(sa.value(x))
            scores = q @ k.transpose(-1, -2) / d ** 0.5 + add_mask
            ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(N, L, H)
            x = self.attention.output.LayerNorm(x + self.attention.output.dense(ctx))
            h = torch.nn.functional.gelu(self.intermediate.dense(x))
            return self.output.LayerNorm(x + self.output.dense(h))

    class TorchBert(tnn.Module):
        def __init__(self, c, pooler=True):
            super().__init__()
            H = c.hidden_size
            self.embeddings = tnn.Module()
            self.embeddings.word_embeddings = tnn.Embedding(c.vocab_size, H, padding_idx=c.pad_token_id)
            self.embeddings.position_embeddings = tnn.Embedding(c.max_position_embeddings, H)
            self.embeddings.token_type_embeddings = tnn.Embedding(c.type_vocab_size, H)
            self.embeddings.LayerNorm = tnn.LayerNorm(H, eps=c.layer_norm_eps)
            self.encoder = tnn.Module()
            self.encoder.layer = tnn.ModuleList(
                [Layer(H, c.num_attention_heads, c.intermediate_size, c.layer_norm_eps)
                 for _ in range(c.num_hidden_layers)])
            if pooler:
                self.pooler = tnn.Module()
                self.pooler.dense = tnn.Linear(H, H)

        def forward(self, ids, mask, types):
            e = self.embeddings
            pos = torch.arange(ids.shape[1])[None]
            x = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(pos)
                            + e.token_type_embeddings(types))
            add_mask = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            for layer in self.encoder.layer:
                x = layer(x, add_mask)
            pooled = torch.tanh(self.pooler.dense(x[:, 0])) if hasattr(self, "pooler") else None
            return x, pooled

    return TorchBert


def _randomise(module, torch, r):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(0.3 * r.standard_normal(tuple(p.shape))))
            if p.ndim == 1 and p.shape[0] > 1:
                p.add_(1.0 if r.random() < 0.5 else 0.0)


@pytest.mark.torch
def test_matches_a_torch_transcription_of_transformers_bert_with_gradients():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    try:
        cfg = BertConfig(**SMALL[0], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        theirs = _torch_bert_class(torch)(cfg)
        r = np.random.default_rng(1)
        _randomise(theirs, torch, r)
        ours = BertModel(cfg, dtype=np.float64)
        ours.load_state_dict(convert_hf_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()}))
        ids, types, mask = _inputs(r, cfg)
        h, pooled = theirs(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
        out = ours(ids, attention_mask=mask, token_type_ids=types)
        np.testing.assert_allclose(out.last_hidden_state.numpy(), h.detach().numpy(), rtol=1e-10,
                                   atol=1e-10)
        np.testing.assert_allclose(out.pooler_output.numpy(), pooled.detach().numpy(), rtol=1e-10,
                                   atol=1e-10)
        gh = r.standard_normal(h.shape)
        gp = r.standard_normal(pooled.shape)
        ((h * torch.from_numpy(gh)).sum() + (pooled * torch.from_numpy(gp)).sum()).backward()
        ((out.last_hidden_state * nv.tensor(gh)).sum() + (out.pooler_output * nv.tensor(gp)).sum()).backward()
        want = convert_hf_state_dict({k: p.grad.numpy() for k, p in theirs.named_parameters()})
        mine = dict(ours.named_parameters())
        assert set(want) == set(mine)
        for k, g in want.items():
            np.testing.assert_allclose(mine[k].grad.numpy(), g, rtol=1e-9, atol=1e-10, err_msg=k)
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.torch
def test_matches_transformers_when_installed():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    kw = dict(SMALL[0], hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    theirs = transformers.BertForMaskedLM(transformers.BertConfig(**kw)).eval()
    r = np.random.default_rng(2)
    _randomise(theirs.bert, torch, r)
    with torch.no_grad():
        theirs.cls.predictions.bias.normal_()
    cfg = BertConfig.from_dict(theirs.config.to_dict())
    assert cfg == BertConfig(**kw)
    ours = BertForMaskedLM(cfg)
    ours.load_state_dict(convert_hf_state_dict(
        {k: v.detach().numpy() for k, v in theirs.state_dict().items()}, masked_lm=True))
    assert ours.num_parameters() == theirs.num_parameters()
    ids, types, mask = _inputs(r, cfg)
    with torch.no_grad():
        res = theirs(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                     token_type_ids=torch.from_numpy(types), output_hidden_states=True)
    h = ours.bert(ids, attention_mask=mask, token_type_ids=types).last_hidden_state.numpy()
    np.testing.assert_allclose(h, res.hidden_states[-1].numpy(), rtol=1e-4, atol=1e-4)
    logits = ours(ids, attention_mask=mask, token_type_ids=types).numpy()
    np.testing.assert_allclose(logits, res.logits.numpy(), rtol=1e-4, atol=1e-4)
    base = transformers.BertModel(transformers.BertConfig(**kw))
    assert BertModel(cfg).num_parameters() == base.num_parameters()


# ------------------------------------------------------------------ a tiny BERT learns a grammar

# Each animal has one colour and one food, so in "this grey cat eats fish" every word is implied
# by the others twice over: the noun by its colour and its food, "this"/"these" by the noun's
# and the verb's number, and so on. Two clauses per sentence give 24² = 576 sentences; 116 of
# them are held out.
ANIMALS = [("cat", "cats", "grey", "fish"), ("dog", "dogs", "brown", "bones"),
           ("cow", "cows", "white", "grass"), ("frog", "frogs", "green", "flies"),
           ("bear", "bears", "black", "honey"), ("fox", "foxes", "red", "mice"),
           ("owl", "owls", "tawny", "voles"), ("bee", "bees", "yellow", "pollen"),
           ("goat", "goats", "beige", "weeds"), ("mole", "moles", "dark", "worms"),
           ("panda", "pandas", "pied", "bamboo"), ("koala", "koalas", "silver", "leaves")]


def _clause(a, plural):
    sg, pl, colour, food = ANIMALS[a]
    return ["these" if plural else "this", colour, pl if plural else sg, "eat" if plural else "eats", food]


@pytest.mark.slow
def test_tiny_bert_predicts_masked_words_of_held_out_sentences():
    from nerve import optim
    from nerve.text import Vocab, mask_tokens

    sents = [_clause(a, p) + ["and"] + _clause(b, q)
             for a in range(12) for p in (0, 1) for b in range(12) for q in (0, 1)]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(sents))
    vocab = Vocab.build(sents)
    bos, eos = vocab.id_of("<bos>"), vocab.id_of("<eos>")     # BERT's [CLS] and [SEP]
    ids = np.array([[bos] + vocab.encode(s) + [eos] for s in sents])
    train, test = ids[order[:460]], ids[order[460:]]
    nv.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, max_position_embeddings=ids.shape[1], hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0, pad_token_id=vocab.id_of("<pad>"))
    model = BertForMaskedLM(cfg)
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    g = np.random.default_rng(1)
    for _ in range(300):
        inputs, labels = mask_tokens(train[g.integers(0, len(train), 64)], vocab, generator=g)
        loss = model.loss(model(inputs), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    g = np.random.default_rng(123)
    hits = total = 0
    with nv.no_grad():
        for _ in range(10):        # ten maskings of the held-out sentences, BERT's 15 % / 80-10-10
            inputs, labels = mask_tokens(test, vocab, generator=g)
            pred = model(inputs).numpy().argmax(-1)
            picked = labels != -100
            hits += (pred[picked] == labels[picked]).sum()
            total += picked.sum()
    # measured: 0.972 over ~1900 masked tokens (standalone runs with other seeds: 0.976, 0.969)
    assert hits / total >= 0.9, hits / total
