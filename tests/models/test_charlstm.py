"""CharLSTM / CharRNN (models/charlstm.py): counts, state carrying, generation."""
import numpy as np
import pytest

import nerve as nv
from nerve import models
from nerve.models import CharLSTM, CharRNN


@pytest.mark.parametrize("cell, gates", [("lstm", 4), ("gru", 3), ("rnn", 1)])
@pytest.mark.parametrize("V, E, H, L", [(65, 64, 256, 1), (10, 4, 8, 2)])
def test_parameter_count_formula(cell, gates, V, E, H, L):
    m = CharRNN(V, E, H, L, cell=cell)
    rnn = gates * H * (E + H) + 2 * gates * H + (L - 1) * (gates * H * 2 * H + 2 * gates * H)
    assert m.num_parameters() == V * E + rnn + H * V + V


def test_default_char_lstm_count_in_docstring():
    assert models.get_model("char-lstm").num_parameters() == 350_593
    assert isinstance(models.get_model("char-rnn"), CharRNN)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_carried_state_gives_the_full_pass_logits(cell):
    nv.manual_seed(0)
    m = CharRNN(7, 5, 6, 2, cell=cell).double().eval()
    ids = np.random.default_rng(0).integers(0, 7, (3, 9))
    with nv.no_grad():
        full = m(ids).numpy()
        a, s = m(ids[:, :4], return_state=True)
        parts = [a.numpy()]
        for t in range(4, 9):
            a, s = m(ids[:, t:t + 1], s, return_state=True)
            parts.append(a.numpy())
    np.testing.assert_allclose(np.concatenate(parts, 1), full, rtol=0, atol=1e-12)


def test_generate_shapes_seeds_and_errors():
    nv.manual_seed(1)
    m = CharLSTM(vocab_size=9, embedding_dim=4, hidden_size=8)
    out = m.generate([[1, 2, 3]], 20, temperature=0.8, generator=5)
    assert out.shape == (1, 23) and out.numpy()[0, :3].tolist() == [1, 2, 3]
    assert np.array_equal(out.numpy(), m.generate([[1, 2, 3]], 20, temperature=0.8, generator=5).numpy())
    assert 0 <= out.numpy().min() and out.numpy().max() < 9
    assert m.training                                      # generate puts the mode back
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        m.generate([[9]], 3)
    with pytest.raises(ValueError, match="cell"):
        CharRNN(cell="transformer")


def test_greedy_generation_equals_full_passes():
    nv.manual_seed(2)
    m = CharRNN(7, 5, 16, cell="lstm").double()
    with nv.no_grad():
        for p in m.lstm.parameters():     # large recurrent weights: the history matters
            p.mul_(6.0)
    ids = np.array([[1, 2, 3, 4]])
    out = m.generate(ids, 10, temperature=0).numpy()
    ref = ids
    with nv.no_grad():
        for _ in range(10):   # re-read the whole sequence each step: no state carried
            ref = np.concatenate([ref, m(ref).numpy()[:, -1].argmax(-1)[:, None]], axis=1)
    assert np.array_equal(out, ref)
