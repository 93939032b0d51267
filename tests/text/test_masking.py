"""Masked-LM masking: the 15 % / 80-10-10 rates on a large batch, specials, labels, determinism."""
import numpy as np
import pytest

import nerve as nv
from nerve.text import Vocab, mask_tokens

VOCAB = Vocab.build([[f"w{i:02d}" for i in range(20)]])   # 5 specials + 20 ordinary ids
ORDINARY = np.arange(5, 25)


def _batch(rng, shape=(400, 512)):
    ids = rng.integers(5, 25, size=shape)
    ids[:, 0] = VOCAB.stoi["<bos>"]
    ids[:, -1] = VOCAB.stoi["<eos>"]
    ids[:, -40:-1] = VOCAB.stoi["<pad>"]
    return ids


def _within(observed, p, n, sds=5.0):
    sd = np.sqrt(p * (1 - p) / n)
    assert abs(observed - p) < sds * sd, (observed, p, sd)


def test_rates_on_a_large_batch():
    rng = np.random.default_rng(0)
    ids = _batch(rng)
    before = ids.copy()
    inputs, labels = mask_tokens(ids, VOCAB, mask_prob=0.15, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(ids, before)               # input left untouched
    assert inputs.shape == labels.shape == ids.shape

    special = np.isin(ids, VOCAB.special_ids)
    picked = labels != -100
    assert not (picked & special).any()                      # specials never picked
    np.testing.assert_array_equal(inputs[special], ids[special])
    np.testing.assert_array_equal(labels[picked], ids[picked])
    np.testing.assert_array_equal(inputs[~picked], ids[~picked])

    n_ord, n_pick = int((~special).sum()), int(picked.sum())
    _within(n_pick / n_ord, 0.15, n_ord)
    k = len(ORDINARY)
    as_mask = (inputs == VOCAB.stoi["<mask>"]) & picked
    changed = (inputs != ids) & picked & ~as_mask
    kept = (inputs == ids) & picked
    _within(as_mask.sum() / n_pick, 0.8, n_pick)
    _within(changed.sum() / n_pick, 0.1 * (1 - 1 / k), n_pick)  # a random draw can hit the original
    _within(kept.sum() / n_pick, 0.1 + 0.1 / k, n_pick)

    replaced = inputs[changed]
    assert np.isin(replaced, ORDINARY).all()                 # random tokens are ordinary tokens
    freq = np.bincount(replaced - 5, minlength=k) / len(replaced)
    assert np.abs(freq - 1 / k).max() < 5 * np.sqrt((1 / k) * (1 - 1 / k) / len(replaced))


def test_other_probabilities_and_edges():
    ids = _batch(np.random.default_rng(2), (50, 64))
    special = np.isin(ids, VOCAB.special_ids)
    _, labels = mask_tokens(ids, VOCAB, mask_prob=0.0, generator=np.random.default_rng(0))
    assert (labels == -100).all()
    inputs, labels = mask_tokens(ids, VOCAB, mask_prob=1.0, generator=np.random.default_rng(0))
    assert ((labels != -100) == ~special).all()
    _, labels = mask_tokens(ids, VOCAB, mask_prob=0.4, generator=np.random.default_rng(0))
    _within((labels != -100).sum() / (~special).sum(), 0.4, (~special).sum())
    with pytest.raises(ValueError):
        mask_tokens(ids, VOCAB, mask_prob=1.5)
    with pytest.raises(TypeError):
        mask_tokens(ids.astype(float), VOCAB)


def test_deterministic_with_a_generator_and_tensor_in_tensor_out():
    ids = _batch(np.random.default_rng(3), (8, 32))
    a = mask_tokens(ids, VOCAB, generator=nv.Generator().manual_seed(7))
    b = mask_tokens(ids, VOCAB, generator=nv.Generator().manual_seed(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    t_in, t_lab = mask_tokens(nv.tensor(ids), VOCAB, generator=np.random.default_rng(0))
    assert isinstance(t_in, nv.Tensor) and isinstance(t_lab, nv.Tensor)
    n_in, n_lab = mask_tokens(ids, VOCAB, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(t_in.numpy(), n_in)
    np.testing.assert_array_equal(t_lab.numpy(), n_lab)


def test_without_a_vocab():
    ids = np.array([[0, 3, 4, 5, 6]] * 100)
    inputs, labels = mask_tokens(ids, None, mask_prob=1.0, mask_id=1, vocab_size=7,
                                 special_ids=[0], generator=np.random.default_rng(0))
    assert (labels[:, 0] == -100).all() and (labels[:, 1:] == ids[:, 1:]).all()
    assert np.isin(inputs[:, 1:], [1, 2, 3, 4, 5, 6]).all()
    with pytest.raises(ValueError):
        mask_tokens(ids, None)
