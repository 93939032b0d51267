"""PyTorch names the ported programs and the official examples use, added while porting (issue 18)."""
import pytest

import nerve as nv


def test_backends_flags_are_settable_and_report_no_cudnn_or_mps():
    saved = nv.backends.cudnn.benchmark, nv.backends.cudnn.deterministic
    try:
        nv.backends.cudnn.benchmark = True
        nv.backends.cudnn.deterministic = True
        assert nv.backends.cudnn.benchmark is True and nv.backends.cudnn.deterministic is True
    finally:
        nv.backends.cudnn.benchmark, nv.backends.cudnn.deterministic = saved
    assert nv.backends.cudnn.is_available() is False and nv.backends.cudnn.version() is None
    assert nv.backends.mps.is_available() is False and nv.backends.mps.is_built() is False
    import nerve.backends.cudnn as cudnn  # `import torch.backends.cudnn as cudnn`, renamed
    assert cudnn is nv.backends.cudnn


def test_cuda_manual_seed_checks_the_seed_and_leaves_the_host_stream_alone():
    nv.manual_seed(5)
    a = nv.randn(3).tolist()
    nv.manual_seed(5)
    nv.cuda.manual_seed(123)
    nv.cuda.manual_seed_all(123)
    assert nv.randn(3).tolist() == a
    with pytest.raises(ValueError, match="non-negative integer"):
        nv.cuda.manual_seed(-1)


def test_initial_seed_is_the_last_manual_seed():
    nv.manual_seed(7)
    state = nv.get_rng_state()
    nv.manual_seed(42)
    assert nv.initial_seed() == 42
    nv.set_rng_state(state)           # a restored state keeps the current seed, as in PyTorch
    assert nv.initial_seed() == 42
    nv.manual_seed(0)
    assert nv.initial_seed() == 0


def test_is_tensor_and_numel():
    t = nv.zeros(2, 3)
    assert nv.is_tensor(t) and not nv.is_tensor([1.0]) and not nv.is_tensor(t.numpy())
    assert nv.numel(t) == 6
    with pytest.raises(TypeError, match="expects a Tensor"):
        nv.numel([1, 2])


def test_set_num_threads_caps_blas():
    pytest.importorskip("threadpoolctl")
    before = nv.get_num_threads()
    try:
        nv.set_num_threads(1)
        assert nv.get_num_threads() == 1
    finally:
        nv.set_num_threads(max(before, 1))
    with pytest.raises(ValueError, match="positive integer"):
        nv.set_num_threads(0)


def test_backends_docstring_example_runs():
    import doctest

    import nerve.backends
    result = doctest.testmod(nerve.backends)
    assert result.attempted > 0 and result.failed == 0


def test_pixel_shuffle_layers_invert_each_other_and_reject_bad_shapes():
    x = nv.arange(2 * 3 * 4 * 6, dtype=nv.float64).reshape(2, 3, 4, 6)
    down = nv.nn.PixelUnshuffle(2)(x)
    assert down.shape == (2, 12, 2, 3)
    assert (nv.nn.PixelShuffle(2)(down) == x).all().item()
    with pytest.raises(ValueError, match="divisible by 4"):
        nv.nn.PixelShuffle(2)(nv.zeros(1, 6, 2, 2))
    with pytest.raises(ValueError, match="positive integer"):
        nv.nn.functional.pixel_shuffle(x, 0)


def test_cosine_similarity_layer_matches_torch_including_tiny_vectors():
    torch = pytest.importorskip("torch")
    import numpy as np
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    a[0] = [1e-9, 0, 0, 0, 0]       # below eps: its norm is clamped
    b[1] = a[1] * 1e-6              # tiny but parallel: still 1
    got = nv.nn.CosineSimilarity(dim=1)(nv.tensor(a), nv.tensor(b)).numpy()
    want = torch.nn.CosineSimilarity(dim=1)(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="do not broadcast"):
        nv.nn.functional.cosine_similarity(nv.zeros(2, 3), nv.zeros(4, 3))


def test_bernoulli_draws_ones_with_the_given_probabilities():
    import numpy as np
    nv.manual_seed(3)
    probs = nv.tensor(np.repeat([0.0, 0.25, 0.9, 1.0], 40000).reshape(4, 40000), dtype=nv.float64)
    x = nv.bernoulli(probs)
    assert x.dtype == nv.float64 and x.shape == (4, 40000) and not x.requires_grad
    means = x.numpy().mean(1)
    sigma = np.sqrt(np.array([0.0, 0.25 * 0.75, 0.9 * 0.1, 0.0]) / 40000)
    assert np.all(np.abs(means - [0.0, 0.25, 0.9, 1.0]) <= 4 * sigma + 1e-12)
    nv.manual_seed(3)
    assert (nv.bernoulli(probs) == x).all().item()                      # seeded: reproducible
    assert nv.bernoulli(nv.zeros(5), p=1.0).tolist() == [1.0] * 5        # a float p overrides input
    g = nv.Generator().manual_seed(0)
    assert nv.bernoulli(nv.full((3,), 0.5), generator=g).shape == (3,)
    with pytest.raises(ValueError, match=r"in \[0, 1\], got 1.5"):
        nv.bernoulli(nv.tensor([0.2, 1.5]))
