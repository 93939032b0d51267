"""GPT (models/gpt.py): parameter arithmetic, causality, cached generation, tied head, torch parity."""
import numpy as np
import pytest

import nerve as nv
import nerve.nn.functional as F
from nerve import models
from nerve.bench.workloads import gpt_state, torch_gpt
from nerve.models import GPT, GPTConfig

SMALL = dict(vocab_size=13, block_size=10, n_layer=2, n_head=2, n_embd=16)


def _small(dtype=np.float64, seed=0, **kw):
    cfg = GPTConfig(**{**SMALL, **kw})
    model = GPT(cfg)
    if dtype == np.float64:
        model.double()
    model.load_state_dict(gpt_state(cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_embd, seed=seed,
                                    dtype=dtype))
    return model.eval()


def test_gpt2_small_config_counts_124_439_808_by_arithmetic():
    assert GPTConfig.gpt2().num_parameters() == 124_439_808
    assert models.config_param_table("gpt2").total == 124_439_808
    assert GPTConfig.gpt2_medium().num_parameters() == 354_823_168


def test_gpt2_small_builds_with_124_439_808_parameters(monkeypatch):
    """The real GPT-2 small module, every parameter array allocated at its shape; only the random
    fills are skipped (with them the build takes 4 s on an idle core and 14-35 s on a busy one)."""
    import nerve.nn.init as init

    for name in [n for n in dir(init) if n.endswith("_") and not n.startswith("_")]:
        monkeypatch.setattr(init, name, lambda t, *a, **k: t)
    model = GPT(GPTConfig.gpt2())
    assert model.num_parameters() == 124_439_808
    shapes = {n: tuple(p.shape) for n, p in model.named_parameters()}
    assert shapes["wte.weight"] == (50257, 768) and shapes["wpe.weight"] == (1024, 768)
    assert shapes["h.11.attn.c_attn.weight"] == (2304, 768) and shapes["h.11.mlp.c_proj.weight"] == (768, 3072)
    assert len(shapes) == 2 + 12 * 12 + 2
    assert model.lm_head_weight is model.wte.weight
    del model


@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"n_layer": 3, "n_head": 4, "n_embd": 8},
                                {"vocab_size": 65, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128}])
def test_arithmetic_equals_built_count(kw):
    cfg = GPTConfig(**{**SMALL, **kw})
    assert GPT(cfg).num_parameters() == cfg.num_parameters()


def test_char_gpt_default_count_in_docstring():
    assert models.get_model("char-gpt").num_parameters() == 809_856


def test_tied_head_counts_once_and_gets_the_sum_of_both_gradients():
    model = _small()
    names = [n for n, _ in model.named_parameters()]
    assert sum(1 for n in names if "wte" in n) == 1 and not any("lm_head" in n for n in names)
    ids = np.random.default_rng(1).integers(0, 13, (2, 6))
    # gradient through both uses ...
    model.zero_grad()
    model(ids).sum().backward()
    both = model.wte.weight.grad.numpy().copy()
    # ... equals the embedding use plus the head use, each measured with the other detached
    W = model.wte.weight
    x = model.drop(F.embedding(nv.tensor(ids), W) + model.wpe(nv.arange(6)))
    for i, b in enumerate(model.h):
        x = b(x)
    model.zero_grad()
    F.linear(model.ln_f(x), W.detach()).sum().backward()
    emb_part = W.grad.numpy().copy()
    model.zero_grad()
    with nv.no_grad():
        h = model.h[0](model.wte(nv.tensor(ids)) + model.wpe(nv.arange(6)))
        h = model.h[1](h)
        h = model.ln_f(h)
    F.linear(h, W).sum().backward()
    head_part = W.grad.numpy().copy()
    np.testing.assert_allclose(both, emb_part + head_part, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_causality_changing_token_t_plus_1_leaves_earlier_logits_exactly(dtype):
    model = _small(dtype)
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 13, (3, 10))
    with nv.no_grad():
        base = model(ids).numpy()
        for t in range(9):
            changed = ids.copy()
            changed[:, t + 1] = (changed[:, t + 1] + 1 + rng.integers(0, 12, 3)) % 13
            out = model(changed).numpy()
            assert np.array_equal(out[:, :t + 1], base[:, :t + 1]), t
            assert not np.allclose(out[:, t + 1], base[:, t + 1])


def test_cached_logits_equal_the_full_pass():
    model = _small(np.float64)
    ids = np.random.default_rng(3).integers(0, 13, (2, 10))
    with nv.no_grad():
        full = model(ids).numpy()
        # prefill 3, then one at a time
        cache = model.new_cache(2)
        parts = [model(ids[:, :3], cache).numpy()] + [model(ids[:, t:t + 1], cache).numpy() for t in range(3, 10)]
        one = np.concatenate(parts, axis=1)
        # prefill 4, then a chunk of 3 after it (the offset causal mask), then the rest
        cache = model.new_cache(2)
        parts = [model(ids[:, :4], cache).numpy(), model(ids[:, 4:7], cache).numpy(),
                 model(ids[:, 7:], cache).numpy()]
        chunks = np.concatenate(parts, axis=1)
    assert cache.length == 10
    np.testing.assert_allclose(one, full, rtol=0, atol=1e-12)
    np.testing.assert_allclose(chunks, full, rtol=0, atol=1e-12)
    with nv.no_grad(), pytest.raises(ValueError, match="exceed block_size"):
        model(ids[:, :1], cache)
    with pytest.raises(RuntimeError, match="no_grad"):
        model(ids[:, :1], model.new_cache(2))


@pytest.mark.parametrize("bias", [True, False])
def test_cached_array_fast_path_matches_the_module_path_and_honours_hooks(bias):
    # The cached forward runs on raw arrays unless a hook or dropout needs the modules; a
    # forward hook anywhere switches it back to the module path, which must agree with it.
    nv.manual_seed(1)
    model = GPT(GPTConfig(**SMALL, bias=bias)).double().eval()
    ids = np.random.default_rng(4).integers(0, 13, (3, 9))

    def cached(m):
        cache = m.new_cache(3)
        parts = [m(ids[:, :4], cache).numpy(), m(ids[:, 4:6], cache).numpy()]
        parts += [m(ids[:, t:t + 1], cache).numpy() for t in range(6, 9)]
        return np.concatenate(parts, axis=1)

    with nv.no_grad():
        full = model(ids).numpy()
        fast = cached(model)
        calls = []
        handle = model.h[1].mlp.c_fc.register_forward_hook(lambda mod, args, out: calls.append(out.shape))
        slow = cached(model)
        handle.remove()
    assert len(calls) == 5 and calls[-1] == (3, 1, 4 * SMALL["n_embd"])
    np.testing.assert_allclose(fast, full, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_cached_forward_in_training_mode_still_applies_dropout():
    nv.manual_seed(2)
    model = GPT(GPTConfig(**SMALL, dropout=0.5)).double().train()
    ids = np.random.default_rng(5).integers(0, 13, (2, 4))
    with nv.no_grad():
        a = model(ids, model.new_cache(2)).numpy()
        b = model(ids, model.new_cache(2)).numpy()
        model.eval()
        c = model(ids, model.new_cache(2)).numpy()
        d = model(ids).numpy()
    assert not np.allclose(a, b)
    np.testing.assert_allclose(c, d, rtol=0, atol=1e-12)


def test_generate_with_and_without_cache_agree_past_the_block_size():
    model = _small(np.float64)
    prompt = np.array([[1, 2, 3], [4, 5, 6]])
    a = model.generate(prompt, 15, temperature=0)           # 18 > block_size 10: the window slides
    b = model.generate(prompt, 15, temperature=0, use_cache=False)
    assert a.shape == (2, 18) and np.array_equal(a.numpy(), b.numpy())
    s1 = model.generate(prompt, 12, temperature=1.0, top_k=5, generator=7).numpy()
    s2 = model.generate(prompt, 12, temperature=1.0, top_k=5, generator=7, use_cache=False).numpy()
    assert np.array_equal(s1, s2) and np.array_equal(s1[:, :3], prompt)
    assert s1.min() >= 0 and s1.max() < 13


def test_generate_rejects_bad_input():
    model = _small()
    with pytest.raises(ValueError, match=r"\[0, 13\)"):
        model.generate([[1, 13]], 2)
    with pytest.raises(ValueError, match="T ≥ 1"):
        model.generate(np.zeros((1, 0), np.int64), 2)
    with pytest.raises(ValueError, match="temperature"):
        model.generate([[1]], 2, temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        model.generate([[1]], 2, top_p=1.5)
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=10, n_head=4)


@pytest.mark.torch
def test_logits_and_gradients_match_torch():
    torch = pytest.importorskip("torch")
    cfg = GPTConfig(**SMALL)
    state = gpt_state(cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_embd, dtype=np.float64)
    ours = GPT(cfg).double()
    ours.load_state_dict(state)
    theirs = torch_gpt(cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd).double()
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    ids = np.random.default_rng(4).integers(0, 13, (3, 10))
    y = np.random.default_rng(5).integers(0, 13, 30)
    a = ours(ids)
    b = theirs(torch.from_numpy(ids))
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)
    F.cross_entropy(a.reshape(-1, 13), nv.tensor(y)).backward()
    torch.nn.functional.cross_entropy(b.reshape(-1, 13), torch.from_numpy(y)).backward()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)
    # the cached path against torch's cached twin
    cache, tcache = ours.new_cache(3), theirs.new_cache(3)
    with nv.no_grad(), torch.no_grad():
        ours(ids[:, :6], cache)
        theirs(torch.from_numpy(ids[:, :6]), tcache)
        np.testing.assert_allclose(ours(ids[:, 6:7], cache).numpy(),
                                   theirs(torch.from_numpy(ids[:, 6:7]), tcache).numpy(), rtol=1e-10, atol=1e-12)


def test_parameter_table_lines_add_up():
    table = models.config_param_table("gpt-2")
    text = table.format()
    assert "124,439,808" in text and "tied" in text and "shared" in text
    per_block = sum(line.count for line in table.lines if line.repeat == 12)
    assert per_block == 12 * 768 ** 2 + 13 * 768 == 7_087_872
    with pytest.raises(ValueError, match="unknown config 'gpt5'.*gpt2"):
        models.config_param_table("gpt5")
