"""Next-token sampling (models/sampling.py): temperature, top-k, top-p."""
import numpy as np
import pytest

from nerve.models.sampling import filter_logits, sample_logits

P = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])


def _kept(logits, **kw):
    return np.isfinite(filter_logits(logits, **kw))


def test_top_k_keeps_the_k_largest_and_ties():
    z = np.log(P)[None]
    assert _kept(z, top_k=1).tolist() == [[True, False, False, False, False, False]]
    assert _kept(z, top_k=3).tolist() == [[True, True, True, False, False, False]]
    assert _kept(z, top_k=6).all() and _kept(z, top_k=100).all()
    tied = np.array([[1.0, 2.0, 2.0, 0.0]])
    assert _kept(tied, top_k=1).tolist() == [[False, True, True, False]]
    kept = filter_logits(z, top_k=3)
    np.testing.assert_array_equal(kept[0, :3], z[0, :3])      # the kept logits are untouched


def test_top_p_keeps_the_smallest_prefix_reaching_p():
    z = np.log(P[::-1])[None]        # order must not matter: most probable last here
    # cumulative in rank order: 0.4, 0.65, 0.80, 0.90, 0.96, 1.0
    for p, n in [(0.1, 1), (0.4, 1), (0.41, 2), (0.65, 2), (0.66, 3), (0.8, 3), (0.85, 4), (0.97, 6), (1.0, 6)]:
        kept = _kept(z, top_p=p)[0][::-1]
        assert kept.tolist() == [True] * n + [False] * (6 - n), (p, kept)


def test_rows_are_filtered_independently_and_top_k_goes_first():
    z = np.log(np.stack([P, P[::-1]]))
    kept = _kept(z, top_k=2, top_p=0.7)      # after top-k the two left are 0.615 / 0.385
    assert kept.tolist() == [[True, True, False, False, False, False],
                             [False, False, False, False, True, True]]
    assert _kept(z, top_k=2, top_p=0.6).sum() == 2     # 0.615 ≥ 0.6: one token per row


def test_sampling_frequencies_follow_the_filtered_distribution():
    z = np.tile(np.log(P), (20000, 1))
    draws = sample_logits(z, top_k=3, generator=0)
    freq = np.bincount(draws, minlength=6) / len(draws)
    expect = np.r_[P[:3] / P[:3].sum(), 0, 0, 0]
    np.testing.assert_allclose(freq, expect, atol=0.015)
    draws = sample_logits(z, top_p=0.66, generator=1)
    freq = np.bincount(draws, minlength=6) / len(draws)
    np.testing.assert_allclose(freq, np.r_[P[:3] / P[:3].sum(), 0, 0, 0], atol=0.015)
    freq = np.bincount(sample_logits(z, generator=2), minlength=6) / len(z)
    np.testing.assert_allclose(freq, P, atol=0.015)


def test_temperature_sharpens_and_zero_is_greedy():
    z = np.tile(np.log(P), (20000, 1))

    def entropy(t):
        f = np.bincount(sample_logits(z, temperature=t, generator=3), minlength=6) / len(z)
        f = f[f > 0]
        return -(f * np.log(f)).sum()

    assert entropy(0.5) < entropy(1.0) < entropy(2.0)
    assert (sample_logits(z[:5], temperature=0) == 0).all()
    a = sample_logits(z[:50], generator=np.random.default_rng(9))
    b = sample_logits(z[:50], generator=np.random.default_rng(9))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kw, msg", [({"temperature": -0.1}, "temperature"), ({"temperature": float("nan")}, "temperature"),
                                     ({"top_k": 0}, "top_k"), ({"top_k": 1.5}, "top_k"),
                                     ({"top_p": 0.0}, "top_p"), ({"top_p": 1.2}, "top_p")])
def test_bad_arguments_are_one_line_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        sample_logits(np.zeros((1, 3)), **kw)
