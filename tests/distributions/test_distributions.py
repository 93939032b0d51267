"""nerve.distributions against torch.distributions (values and gradients, float64), finite
differences, sampling statistics, shapes and argument checks."""
import numpy as np
import pytest

import nerve as nv
from nerve.autograd import gradcheck
from nerve.distributions import Bernoulli, Categorical, Independent, Normal, kl_divergence

RNG = np.random.default_rng(0)


def T(a, grad=False):
    return nv.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


# ------------------------------------------------------------------------ torch parity
def _grads(fn, arrays):
    """Values and gradients of sum(fn(*params)·w) in nerve and torch for the same arrays."""
    torch = pytest.importorskip("torch")
    w = RNG.normal(size=np.shape(fn(*[T(a) for a in arrays], lib="nerve").numpy()))
    ours = [T(a, True) for a in arrays]
    out = fn(*ours, lib="nerve")
    (out * nv.tensor(w)).sum().backward()
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    tout = fn(*theirs, lib="torch")
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, atol=1e-8)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-8)


def _D(lib):
    if lib == "nerve":
        import nerve.distributions as D
        return D
    import torch.distributions as D
    return D


MU, LOGS = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 4)) * 0.5
X = RNG.normal(size=(3, 4)) * 2
LOGITS = RNG.normal(size=(3, 5)) * 3
PROBS = RNG.uniform(0.05, 0.95, size=(3, 4))
BITS = (RNG.random((3, 4)) < 0.5).astype(np.float64)


@pytest.mark.torch
def test_normal_log_prob_entropy_kl_match_torch():
    _grads(lambda m, s, x, lib: _D(lib).Normal(m, s.exp()).log_prob(x), [MU, LOGS, X])
    _grads(lambda s, lib: _D(lib).Normal(0.0 * s, s.exp()).entropy(), [LOGS])
    _grads(lambda m, s, m2, s2, lib: _D(lib).kl_divergence(_D(lib).Normal(m, s.exp()), _D(lib).Normal(m2, s2.exp())),
           [MU, LOGS, X, LOGS[::-1].copy()])
    # Independent sums over the event axes
    _grads(lambda m, s, lib: _D(lib).kl_divergence(
        _D(lib).Independent(_D(lib).Normal(m, s.exp()), 1),
        _D(lib).Independent(_D(lib).Normal(0 * m, 1 + 0 * s), 1)), [MU, LOGS])
    _grads(lambda m, s, x, lib: _D(lib).Independent(_D(lib).Normal(m, s.exp()), 2).log_prob(x), [MU, LOGS, X])


@pytest.mark.torch
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_bernoulli_matches_torch(param):
    a = PROBS if param == "probs" else np.log(PROBS / (1 - PROBS)) * 3

    def make(t, lib):
        return _D(lib).Bernoulli(**{param: t})

    _grads(lambda t, lib: make(t, lib).log_prob(BITS if lib == "nerve" else __import__("torch").tensor(BITS)), [a])
    _grads(lambda t, lib: make(t, lib).entropy(), [a])
    _grads(lambda t, u, lib: _D(lib).kl_divergence(make(t, lib), make(u, lib)), [a, a[::-1].copy()])
    _grads(lambda t, lib: make(t, lib).mean + make(t, lib).variance, [a])


@pytest.mark.torch
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical_matches_torch(param):
    torch = pytest.importorskip("torch")
    a = np.exp(LOGITS) if param == "probs" else LOGITS
    v = np.array([[0, 4, 2], [1, 1, 3]])

    def make(t, lib):
        return _D(lib).Categorical(**{param: t})

    _grads(lambda t, lib: make(t, lib).log_prob(v if lib == "nerve" else torch.tensor(v)), [a])
    _grads(lambda t, lib: make(t, lib).entropy(), [a])
    _grads(lambda t, u, lib: _D(lib).kl_divergence(make(t, lib), make(u, lib)), [a, a[::-1].copy()])


@pytest.mark.torch
def test_edge_probabilities_match_torch():
    torch = pytest.importorskip("torch")
    p, q = [0.0, 0.3, 1.0, 0.5], [0.2, 0.0, 0.9, 1.0]
    for kind in ("Bernoulli",):
        ours = kl_divergence(Bernoulli(probs=T(p)), Bernoulli(probs=T(q))).numpy()
        ref = torch.distributions.kl_divergence(torch.distributions.Bernoulli(probs=torch.tensor(p, dtype=torch.float64)),
                                                torch.distributions.Bernoulli(probs=torch.tensor(q, dtype=torch.float64)))
        np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-6, atol=1e-8), kind
    cp, cq = [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], [[0.3, 0.3, 0.4], [0.5, 0.5, 0.0]]
    ours = kl_divergence(Categorical(probs=T(cp)), Categorical(probs=T(cq))).numpy()
    ref = torch.distributions.kl_divergence(torch.distributions.Categorical(probs=torch.tensor(cp, dtype=torch.float64)),
                                            torch.distributions.Categorical(probs=torch.tensor(cq, dtype=torch.float64)))
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-6)
    assert ours[1] == np.inf
    np.testing.assert_allclose(Categorical(probs=T(cp)).entropy().numpy(),
                               torch.distributions.Categorical(probs=torch.tensor(cp, dtype=torch.float64)).entropy().numpy())
    # huge logits stay finite
    big = Bernoulli(logits=T([1e4, -1e4]))
    assert np.isfinite(big.log_prob(T([0.0, 1.0])).numpy()).all()
    np.testing.assert_allclose(big.log_prob(T([1.0, 0.0])).numpy(), [0.0, 0.0], atol=1e-12)


def test_normal_kl_equals_closed_form():
    m1, s1, m2, s2 = 0.3, 0.7, -1.1, 1.9
    expected = np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5
    got = float(kl_divergence(Normal(T(m1), T(s1)), Normal(T(m2), T(s2))))
    assert got == pytest.approx(expected, rel=1e-12)
    # KL of a distribution with itself is 0; VAE's KL to N(0, I)
    assert float(kl_divergence(Normal(T(m1), T(s1)), Normal(T(m1), T(s1)))) == pytest.approx(0.0, abs=1e-15)
    mu, logvar = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    vae = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum(1)
    q = Independent(Normal(T(mu), T(np.exp(0.5 * logvar))), 1)
    p = Independent(Normal(T(np.zeros((5, 3))), T(np.ones((5, 3)))), 1)
    np.testing.assert_allclose(kl_divergence(q, p).numpy(), vae, rtol=1e-12)


# ------------------------------------------------------------------------ finite differences
def test_gradcheck_log_prob_entropy_kl_and_rsample():
    m, s, x = T(MU[0], True), T(np.exp(LOGS[0]), True), T(X[0], True)
    assert gradcheck(lambda m, s, x: Normal(m, s).log_prob(x), [m, s, x])
    assert gradcheck(lambda s: Normal(0.0, s).entropy(), [s])
    assert gradcheck(lambda m, s: kl_divergence(Normal(m, s), Normal(T(X[1]), T(np.exp(LOGS[1])))), [m, s])
    # the reparameterised draw: the same ε for every evaluation (a fresh seeded generator)
    assert gradcheck(lambda m, s: Normal(m, s).rsample((2,), generator=np.random.default_rng(1)), [m, s])
    lg = T(LOGITS[0], True)
    assert gradcheck(lambda t: Categorical(logits=t).entropy(), [lg])
    assert gradcheck(lambda t: Categorical(logits=t).log_prob(np.array([1, 3])), [lg])
    assert gradcheck(lambda t: kl_divergence(Categorical(logits=t), Categorical(logits=T(LOGITS[1]))), [lg])
    pb = T(PROBS[0], True)
    assert gradcheck(lambda t: Bernoulli(probs=t).log_prob(T(BITS[0])), [pb])
    assert gradcheck(lambda t: Bernoulli(logits=t).entropy(), [lg])
    assert gradcheck(lambda t: kl_divergence(Bernoulli(probs=t), Bernoulli(probs=T(PROBS[1]))), [pb])


def test_rsample_gradient_is_the_reparameterisation():
    m, s = T([0.5, -1.0], True), T([2.0, 0.3], True)
    z = Normal(m, s).rsample(generator=np.random.default_rng(3))
    eps = np.random.default_rng(3).standard_normal(2)
    np.testing.assert_allclose(z.numpy(), m.numpy() + s.numpy() * eps)
    z.sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(s.grad.numpy(), eps)
    assert Normal(m, s).sample().grad_fn is None and not Normal(m, s).sample().requires_grad


# ------------------------------------------------------------------------ sampling statistics
def test_sampling_statistics():
    nv.manual_seed(0)
    n = 100_000
    d = Normal(T([1.0, -2.0]), T([0.5, 3.0]))
    x = d.sample((n,)).numpy()
    assert x.shape == (n, 2)
    assert (np.abs(x.mean(0) - [1.0, -2.0]) < 4 * np.array([0.5, 3.0]) / np.sqrt(n)).all()
    np.testing.assert_allclose(x.var(0), d.variance.numpy(), rtol=0.02)
    np.testing.assert_allclose(d.stddev.numpy(), [0.5, 3.0])
    b = Bernoulli(probs=T([0.1, 0.5, 0.9]))
    xb = b.sample((n,)).numpy()
    assert set(np.unique(xb)) <= {0.0, 1.0}
    np.testing.assert_allclose(xb.mean(0), b.mean.numpy(), atol=0.006)
    np.testing.assert_allclose(xb.var(0), b.variance.numpy(), atol=0.006)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    c = Categorical(probs=T(p))
    xc = c.sample((n,)).numpy()
    assert xc.dtype == np.int64
    np.testing.assert_allclose(np.bincount(xc, minlength=4) / n, p, atol=0.006)
    ind = Independent(Normal(T(np.zeros((3, 2))), T(np.ones((3, 2)))), 1)
    assert ind.sample((7,)).shape == (7, 3, 2) and ind.rsample().shape == (3, 2)


def test_sampling_is_seeded():
    d = Normal(T(0.0), T(1.0))
    nv.manual_seed(5)
    a = d.sample((4,)).numpy()
    nv.manual_seed(5)
    assert np.array_equal(a, d.sample((4,)).numpy())
    g = nv.Generator().manual_seed(2)
    assert np.array_equal(Categorical(logits=T(LOGITS)).sample((3,), generator=g).numpy(),
                          Categorical(logits=T(LOGITS)).sample((3,), generator=nv.Generator().manual_seed(2)).numpy())


# ------------------------------------------------------------------------ shapes and errors
def test_shapes():
    d = Normal(T(np.zeros((4, 1))), T(np.ones(3)))
    assert d.batch_shape == (4, 3) and d.event_shape == ()
    assert d.sample((2, 5)).shape == (2, 5, 4, 3)
    c = Categorical(logits=T(np.zeros((2, 6))))
    assert c.batch_shape == (2,) and c.event_shape == () and c.sample((3,)).shape == (3, 2)
    assert np.isnan(c.mean.numpy()).all() and c.variance.shape == (2,)
    i = Independent(Normal(T(np.zeros((2, 3, 4))), 1.0), 2)
    assert i.batch_shape == (2,) and i.event_shape == (3, 4)
    assert i.log_prob(T(np.zeros((2, 3, 4)))).shape == (2,) and i.entropy().shape == (2,)
    assert Normal(0.0, 1.0).log_prob(0.0).dtype == nv.get_default_dtype()
    assert Normal(T(0.0), 1.0).log_prob(0.0).dtype == np.float64


def test_argument_errors():
    with pytest.raises(ValueError, match="scale must be positive"):
        Normal(0.0, T([1.0, -1.0]))
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        Bernoulli(probs=0.5, logits=0.0)
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        Categorical()
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\], got 1.5"):
        Bernoulli(probs=T([0.5, 1.5]))
    with pytest.raises(ValueError, match="non-negative"):
        Categorical(probs=T([0.5, -0.1]))
    with pytest.raises(ValueError, match="values 0 or 1, got 0.5"):
        Bernoulli(probs=0.3).log_prob(0.5)
    assert np.isfinite(float(Bernoulli(probs=0.3, validate_args=False).log_prob(0.5)))
    with pytest.raises(ValueError, match="class index 7 is outside 0..2"):
        Categorical(logits=T([0.0, 0.0, 0.0])).log_prob(7)
    with pytest.raises(ValueError, match="does not broadcast"):
        Normal(T(np.zeros(3)), 1.0).log_prob(T(np.zeros(4)))
    with pytest.raises(ValueError, match="do not broadcast"):
        Normal(T(np.zeros(3)), T(np.ones(2)))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims must be an integer from 0 to 1"):
        Independent(Normal(T(np.zeros(3)), 1.0), 2)
    with pytest.raises(TypeError, match="must be a Tensor, an array or a number"):
        Normal("a", 1.0)
    with pytest.raises(NotImplementedError, match=r"\(Normal, Bernoulli\)"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(probs=0.5))
    with pytest.raises(NotImplementedError, match="Bernoulli does not implement rsample"):
        Bernoulli(probs=0.5).rsample()
    with pytest.raises(NotImplementedError, match="Categorical does not implement rsample"):
        Categorical(logits=T([0.0, 1.0])).rsample()
    with pytest.raises(ValueError, match="same number of classes"):
        kl_divergence(Categorical(logits=T([0.0, 1.0])), Categorical(logits=T([0.0, 1.0, 2.0])))


@pytest.mark.parametrize("name", ["normal", "bernoulli", "categorical", "independent", "kl"])
def test_docstring_examples(name):
    import doctest
    import importlib
    mod = importlib.import_module(f"nerve.distributions.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
