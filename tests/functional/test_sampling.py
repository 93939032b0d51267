"""multinomial, randint, randperm and nerve.Generator: torch's argument forms, seeding, and
the frequencies the draws must have."""
import doctest

import numpy as np
import pytest

import nerve as nv


def _z(counts, n, p):
    """Largest |z-score| of observed counts against Binomial(n, p) per category."""
    p = np.asarray(p, dtype=np.float64)
    sd = np.sqrt(n * p * (1 - p))
    return np.max(np.abs(counts - n * p) / np.where(sd > 0, sd, 1))


def test_with_replacement_frequencies_match_the_weights():
    nv.manual_seed(1)
    w = np.array([0.5, 0.0, 1.5, 2.0, 1.0])
    n = 200_000
    s = nv.multinomial(nv.tensor(w), n, replacement=True)
    assert s.shape == (n,) and s.dtype == nv.int64
    counts = np.bincount(s.numpy(), minlength=5)
    assert counts[1] == 0
    assert _z(counts, n, w / w.sum()) < 5


def test_without_replacement_first_and_second_draw_frequencies():
    # Sequential draws without replacement: P(first = i) = p_i and
    # P(second = j) = Σ_{i≠j} p_i p_j / (1 − p_i).
    g = nv.Generator().manual_seed(7)
    w = np.array([1.0, 2.0, 3.0, 4.0])
    p = w / w.sum()
    N = 100_000
    s = nv.tensor(w).expand(N, 4).multinomial(2, generator=g).numpy()
    assert s.shape == (N, 2) and (s[:, 0] != s[:, 1]).all()
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    assert _z(np.bincount(s[:, 0], minlength=4), N, p) < 5
    assert _z(np.bincount(s[:, 1], minlength=4), N, second) < 5


def test_without_replacement_draws_every_positive_category_once():
    s = nv.multinomial(nv.tensor([[0.0, 2.0, 1.0, 0.0, 5.0]] * 3), 3)
    assert sorted(s[0].tolist()) == [1, 2, 4] and all(sorted(r) == [1, 2, 4] for r in s.tolist())


def test_seeding_makes_draws_reproducible_globally_and_per_generator():
    w = nv.tensor([1.0, 2.0, 3.0])
    nv.manual_seed(5)
    a = (nv.multinomial(w, 10, True).tolist(), nv.randint(10, (5,)).tolist(), nv.randperm(6).tolist())
    nv.manual_seed(5)
    b = (nv.multinomial(w, 10, True).tolist(), nv.randint(10, (5,)).tolist(), nv.randperm(6).tolist())
    assert a == b
    g1, g2 = nv.Generator().manual_seed(11), nv.Generator().manual_seed(11)
    assert nv.multinomial(w, 3, generator=g1).tolist() == nv.multinomial(w, 3, generator=g2).tolist()
    assert g1.initial_seed() == 11
    state = g1.get_state()
    x = nv.randn(3, generator=g1).tolist()
    g1.set_state(state)
    assert nv.randn(3, generator=g1).tolist() == x
    assert nv.rand(2, generator=np.random.default_rng(0)).shape == (2,)


def test_multinomial_errors_are_torch_like():
    with pytest.raises(RuntimeError, match="cannot draw 4 samples without replacement from 3"):
        nv.multinomial(nv.tensor([1.0, 1.0, 1.0]), 4)
    with pytest.raises(RuntimeError, match="only 1 categories with positive weight"):
        nv.multinomial(nv.tensor([0.0, 1.0, 0.0]), 2)
    with pytest.raises(RuntimeError, match="non-negative"):
        nv.multinomial(nv.tensor([-1.0, 1.0]), 1)
    with pytest.raises(RuntimeError, match="positive sum"):
        nv.multinomial(nv.tensor([[1.0, 1.0], [0.0, 0.0]]), 1, True)
    with pytest.raises(RuntimeError, match="1-D .* or 2-D"):
        nv.multinomial(nv.ones(2, 2, 2), 1)
    with pytest.raises(TypeError, match="generator must be"):
        nv.multinomial(nv.ones(2), 1, generator=3)


@pytest.mark.parametrize("call,lo,hi,shape", [
    (lambda: nv.randint(10, (3,)), 0, 10, (3,)),
    (lambda: nv.randint(3, 10, (2, 2)), 3, 10, (2, 2)),
    (lambda: nv.randint(low=2, high=5, size=(4,)), 2, 5, (4,)),
    (lambda: nv.randint(5, size=(2, 3)), 0, 5, (2, 3)),
    (lambda: nv.randint(-4, 0, size=[6]), -4, 0, (6,)),
    (lambda: nv.randint(2, (0,)), 0, 2, (0,)),
    (lambda: nv.randint(high=3, size=()), 0, 3, ()),
])
def test_randint_argument_forms(call, lo, hi, shape):
    x = call()
    assert x.shape == shape and x.dtype == nv.int64
    a = x.numpy()
    assert ((a >= lo) & (a < hi)).all()


def test_randint_forms_agree_with_torch():
    torch = pytest.importorskip("torch")
    for args, kw in [((10, (3,)), {}), ((3, 10, (2, 2)), {}), ((), dict(low=2, high=5, size=(4,))),
                     ((5,), dict(size=(2, 3)))]:
        assert tuple(nv.randint(*args, **kw).shape) == tuple(torch.randint(*args, **kw).shape)


def test_randint_covers_its_range_uniformly_and_rejects_bad_forms():
    nv.manual_seed(0)
    counts = np.bincount(nv.randint(2, 7, (50_000,)).numpy() - 2, minlength=5)
    assert _z(counts, 50_000, [0.2] * 5) < 5
    with pytest.raises(TypeError, match="missing 'size'"):
        nv.randint(10)
    with pytest.raises(RuntimeError, match="low < high"):
        nv.randint(5, 5, (2,))
    assert nv.randint(0, 3, (4,), dtype=nv.int32).dtype == nv.int32


def test_randperm_is_a_permutation_with_uniform_first_element():
    nv.manual_seed(2)
    p = nv.randperm(7)
    assert sorted(p.tolist()) == list(range(7)) and p.dtype == nv.int64
    firsts = np.bincount([nv.randperm(4)[0].item() for _ in range(8000)], minlength=4)
    assert _z(firsts, 8000, [0.25] * 4) < 5
    assert nv.randperm(0).shape == (0,)
    with pytest.raises(ValueError, match="randperm: n must be a non-negative integer"):
        nv.randperm(-1)


@pytest.mark.parametrize("name", ["nerve.functional.sampling", "nerve.random", "nerve.creation"])
def test_docstring_examples(name):
    import importlib

    res = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
