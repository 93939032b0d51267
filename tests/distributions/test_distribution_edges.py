"""Edge cases of nerve.distributions against torch.distributions: parameter forms (Python
floats, 0-d, 1-d, broadcasting pairs), float32 and float64, extreme parameters and values,
argument validation, Independent, every registered KL pair, gradients of log_prob and rsample,
sample statistics, seeding, shapes and dtypes."""
import warnings

import numpy as np
import pytest

import nerve as nv
import nerve.distributions as ND
from nerve.distributions import Bernoulli, Categorical, Independent, Normal, kl_divergence

RNG = np.random.default_rng(20261205)


def _torch():
    return pytest.importorskip("torch")


def _tensors(arrays, dtype, grad):
    """The same arrays as nerve and as torch tensors of ``dtype``."""
    torch = _torch()
    ours = [nv.tensor(np.array(a, dtype=dtype), requires_grad=grad) for a in arrays]
    tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    theirs = [torch.tensor(np.array(a, dtype=dtype), dtype=tdt, requires_grad=grad) for a in arrays]
    return ours, theirs


def _tol(dtype):
    return dict(rtol=1e-6, atol=1e-9) if np.dtype(dtype) == np.float64 else dict(rtol=2e-5, atol=2e-6)


def _same(ours, theirs, dtype=np.float64, what=""):
    a = ours.numpy() if hasattr(ours, "numpy") else np.asarray(ours)
    b = theirs.detach().numpy()
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != torch's {b.dtype}"
    np.testing.assert_allclose(a, b, equal_nan=True, err_msg=what, **_tol(dtype))


def _parity(fn, arrays, dtype=np.float64, grad=True, what=""):
    """``fn(D, *params)`` in nerve and torch: values, and the gradients of a weighted sum."""
    torch = _torch()
    ours, theirs = _tensors(arrays, dtype, grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, ref = fn(ND, *ours), fn(torch.distributions, *theirs)
        _same(out, ref, dtype, what)
        if not grad:
            return
        w = RNG.uniform(0.5, 1.5, size=tuple(out.shape)).astype(dtype)
        (out * nv.tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
    for i, (a, b) in enumerate(zip(ours, theirs)):
        ga = np.zeros(a.shape, dtype) if a.grad is None else a.grad.numpy()
        gb = np.zeros(tuple(b.shape), dtype) if b.grad is None else b.grad.numpy()
        np.testing.assert_allclose(ga, gb, equal_nan=True, err_msg=f"{what}: gradient of parameter {i}",
                                   **_tol(dtype))


def _value(D, a, dtype=np.float64):
    """``a`` as a value for ``log_prob`` in the library ``D`` (nerve or torch)."""
    if D is ND:
        return nv.tensor(np.array(a, dtype=dtype))
    torch = _torch()
    return torch.tensor(np.array(a, dtype=dtype))


def _index(D, a):
    if D is ND:
        return np.array(a, dtype=np.int64)
    torch = _torch()
    return torch.tensor(np.array(a, dtype=np.int64))


def _stats(D):
    return {"mean": D.mean, "variance": D.variance, "stddev": D.stddev}


# ------------------------------------------------------------------------ parameter forms
DTYPES = [np.float32, np.float64]
NORMAL_FORMS = {
    "0-d": ((), ()),
    "1-d": ((5,), (5,)),
    "broadcast (3,1)x(4,)": ((3, 1), (4,)),
    "broadcast ()x(2,3)": ((), (2, 3)),
}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", list(NORMAL_FORMS))
def test_normal_parameter_forms_match_torch(form, dtype):
    sl, ss = NORMAL_FORMS[form]
    loc, scale = RNG.normal(size=sl), RNG.uniform(0.3, 2.0, size=ss)
    shape = np.broadcast_shapes(sl, ss)
    x = RNG.normal(size=(2,) + shape) * 2
    _parity(lambda D, m, s, v: D.Normal(m, s).log_prob(v), [loc, scale, x], dtype, what="log_prob")
    _parity(lambda D, m, s: D.Normal(m, s).entropy(), [loc, scale], dtype, what="entropy")
    for name in ("mean", "variance", "stddev"):
        _parity(lambda D, m, s: getattr(D.Normal(m, s), name) * 1, [loc, scale], dtype, what=name)
    torch = _torch()
    (m, s), (tm, ts) = _tensors([loc, scale], dtype, False)
    d, td = Normal(m, s), torch.distributions.Normal(tm, ts)
    assert d.batch_shape == tuple(td.batch_shape) == shape and d.event_shape == ()
    for ss_ in [(), (4,), (2, 3)]:
        assert d.sample(ss_).shape == tuple(td.sample(ss_).shape) == ss_ + shape
        assert d.rsample(ss_).shape == ss_ + shape
        assert d.sample(ss_).dtype == np.dtype(dtype)


@pytest.mark.torch
def test_python_float_parameters_take_the_default_dtype_like_torch():
    torch = _torch()
    assert nv.get_default_dtype() == np.float32 and torch.get_default_dtype() == torch.float32
    cases = [
        (lambda D: D.Normal(0.5, 2.0).log_prob(_value(D, 1.25, np.float32)), "Normal.log_prob"),
        (lambda D: D.Normal(0.5, 2.0).entropy(), "Normal.entropy"),
        (lambda D: D.Normal(0.5, 2.0).variance, "Normal.variance"),
        (lambda D: D.Bernoulli(0.3).log_prob(_value(D, 1.0, np.float32)), "Bernoulli(probs).log_prob"),
        (lambda D: D.Bernoulli(logits=-1.7).log_prob(_value(D, 0.0, np.float32)), "Bernoulli(logits)"),
        (lambda D: D.Bernoulli(0.3).entropy(), "Bernoulli.entropy"),
        (lambda D: D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 2.0)), "KL(Normal, Normal)"),
        (lambda D: D.kl_divergence(D.Bernoulli(0.2), D.Bernoulli(0.7)), "KL(Bernoulli, Bernoulli)"),
    ]
    for make, what in cases:
        _same(make(ND), make(torch.distributions), np.float32, what)
    assert Normal(0.5, 2.0).batch_shape == () and Normal(0.5, 2.0).sample((3,)).dtype == np.float32
    # a Python number next to a float64 Tensor takes the Tensor's dtype (torch's broadcast_all)
    mixed = Normal(nv.tensor(np.zeros(2)), 1.0)
    assert mixed.scale.dtype == np.float64 and mixed.log_prob(0.5).dtype == np.float64
    # ... and so does one next to a float64 NumPy array (a float32 scale of 0.1 was off by 1e-7)
    for make in (lambda D, c: D.Normal(c([0.0, 1.0]), 0.1), lambda D, c: D.Bernoulli(logits=c([0.0, 1.0])),
                 lambda D, c: D.Normal(0.3, c([0.1, 2.0]))):
        d = make(ND, np.array)
        assert all(t.dtype == np.float64 for t in (getattr(d, "scale", None), getattr(d, "loc", None),
                                                   getattr(d, "logits", None)) if t is not None)
        ref = make(torch.distributions, lambda a: torch.tensor(a, dtype=torch.float64))
        x = np.array([0.0, 1.0]) if isinstance(d, Bernoulli) else np.array([0.3, 1.0])
        np.testing.assert_allclose(d.log_prob(x).numpy(), ref.log_prob(torch.tensor(x)).numpy(), rtol=1e-13)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_bernoulli_parameter_forms_match_torch(param, dtype):
    for shape, vshape in [((), ()), ((4,), (4,)), ((3, 1), (2, 3, 4))]:
        a = RNG.uniform(0.05, 0.95, size=shape) if param == "probs" else RNG.normal(size=shape) * 3
        bits = (RNG.random(vshape) < 0.5).astype(dtype)

        def make(D, t):
            return D.Bernoulli(**{param: t})

        _parity(lambda D, t: make(D, t).log_prob(_value(D, bits, dtype)), [a], dtype, what=f"log_prob {shape}")
        _parity(lambda D, t: make(D, t).entropy(), [a], dtype, what="entropy")
        _parity(lambda D, t: make(D, t).mean + make(D, t).variance + make(D, t).stddev, [a], dtype, what="moments")
        _parity(lambda D, t: make(D, t).logits * 1 + make(D, t).probs, [a], dtype, what="probs and logits")
        d = make(ND, nv.tensor(np.array(a, dtype=dtype)))
        assert d.batch_shape == shape and d.sample((2,)).shape == (2,) + shape
        assert d.sample().dtype == np.dtype(dtype)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_categorical_parameter_forms_match_torch(param, dtype):
    for shape, vshape in [((5,), ()), ((5,), (3,)), ((2, 5), (2,)), ((2, 5), (4, 1)), ((3, 1, 5), (2, 1, 1))]:
        a = RNG.uniform(0.1, 3.0, size=shape) if param == "probs" else RNG.normal(size=shape) * 2
        v = RNG.integers(0, 5, size=vshape)

        def make(D, t):
            return D.Categorical(**{param: t})

        _parity(lambda D, t: make(D, t).log_prob(_index(D, v)), [a], dtype, what=f"log_prob {shape} {vshape}")
        _parity(lambda D, t: make(D, t).entropy(), [a], dtype, what="entropy")
        _parity(lambda D, t: make(D, t).logits * 1 + make(D, t).probs, [a], dtype, what="probs and logits")
        d = make(ND, nv.tensor(np.array(a, dtype=dtype)))
        torch = _torch()
        td = make(torch.distributions, torch.tensor(np.array(a, dtype=dtype)))
        assert d.batch_shape == tuple(td.batch_shape) == shape[:-1] and d.event_shape == ()
        assert d.log_prob(v).shape == tuple(td.log_prob(torch.tensor(v)).shape)
        for st in ("mean", "variance", "stddev"):
            assert getattr(d, st).shape == shape[:-1] and np.isnan(getattr(d, st).numpy()).all()
        s = d.sample((7,))
        assert s.shape == (7,) + shape[:-1] and s.dtype == np.int64
        assert ((s.numpy() >= 0) & (s.numpy() < 5)).all()


# ------------------------------------------------------------------------ extreme values
@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_extreme_scales_and_tails_match_torch(dtype):
    big = 1e30 if dtype == np.float64 else 1e15
    tiny = 1e-30 if dtype == np.float64 else 1e-15
    loc = [0.0, 0.0, 0.0, 1.0, -3.0, 2.0]
    scale = [tiny, tiny, big, big, 1.0, 0.5]
    x = [0.0, 0.0, 1e10, -1e10, 40.0, -1e6]
    x[1] = tiny * 3   # three standard deviations out at a tiny scale
    _parity(lambda D, m, s, v: D.Normal(m, s).log_prob(v), [loc, scale, x], dtype, what="tails")
    _parity(lambda D, m, s: D.Normal(m, s).entropy(), [loc, scale], dtype, what="entropy")
    _parity(lambda D, m, s, m2, s2: D.kl_divergence(D.Normal(m, s), D.Normal(m2, s2)),
            [loc, scale, x, scale[::-1]], dtype, what="KL across scales")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_bernoulli_probs_zero_and_one_are_clamped_like_torch(dtype):
    p = [0.0, 0.0, 1.0, 1.0, 0.5]
    bits = [0.0, 1.0, 0.0, 1.0, 1.0]
    _parity(lambda D, t: D.Bernoulli(probs=t).log_prob(_value(D, bits, dtype)), [p], dtype, what="log_prob")
    _parity(lambda D, t: D.Bernoulli(probs=t).logits * 1, [p], dtype, what="logits")
    _parity(lambda D, t: D.Bernoulli(probs=t).mean + D.Bernoulli(probs=t).variance, [p], dtype, what="moments")
    # torch loses the eps-sized entropy of a clamped p = 0 to cancellation; ours keeps it (|diff| <= eps)
    ent = Bernoulli(probs=nv.tensor(np.array(p, dtype=dtype))).entropy().numpy()
    np.testing.assert_allclose(ent, [0, 0, 0, 0, np.log(2)], atol=2 * np.finfo(dtype).eps, rtol=1e-6)
    lp = Bernoulli(probs=nv.tensor(np.array(p, dtype=dtype))).log_prob(nv.tensor(np.array(bits, dtype=dtype)))
    assert np.isfinite(lp.numpy()).all() and lp.numpy()[1] == pytest.approx(np.log(np.finfo(dtype).eps), rel=1e-3)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_bernoulli_large_logits_match_torch(dtype):
    ell = [1e4, 1e4, -1e4, -1e4, 40.0, -40.0, 700.0, -700.0]
    bits = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    _parity(lambda D, t: D.Bernoulli(logits=t).log_prob(_value(D, bits, dtype)), [ell], dtype, what="log_prob")
    _parity(lambda D, t: D.Bernoulli(logits=t).mean * 1, [ell], dtype, what="mean")
    _parity(lambda D, t, u: D.kl_divergence(D.Bernoulli(logits=t), D.Bernoulli(logits=u)),
            [ell, ell[::-1]], dtype, what="KL")
    # entropy: torch's value and ours differ only by rounding at the eps level
    ours = Bernoulli(logits=nv.tensor(np.array(ell, dtype=dtype))).entropy().numpy()
    torch = _torch()
    ref = torch.distributions.Bernoulli(logits=torch.tensor(np.array(ell, dtype=dtype))).entropy().numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-15 if dtype == np.float64 else 1e-6)


def test_bernoulli_infinite_logits_give_certain_outcomes():
    # logit +inf: x = 1 surely. torch returns NaN for log p(1) and the entropy here (0·inf); the
    # true values are log 1 = 0 and H = 0, which we keep, and -inf for the impossible outcome.
    d = Bernoulli(logits=nv.tensor([np.inf, np.inf, -np.inf, -np.inf]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lp = d.log_prob(nv.tensor([1.0, 0.0, 0.0, 1.0])).numpy()
        ent = d.entropy().numpy()
    np.testing.assert_array_equal(lp, [0.0, -np.inf, 0.0, -np.inf])
    np.testing.assert_array_equal(ent, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(d.mean.numpy(), [1.0, 1.0, 0.0, 0.0])
    assert set(np.unique(d.sample((50,)).numpy()[:, :2])) == {1.0}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_zero_class_unnormalised_and_large_logits_match_torch(dtype):
    probs = [[0.2, 0.0, 0.8], [0.0, 1.0, 0.0], [2.0, 3.0, 5.0]]   # a zero class, one-hot, unnormalised
    v = [1, 1, 2]
    _parity(lambda D, t: D.Categorical(probs=t).log_prob(_index(D, v)), [probs], dtype, what="log_prob at p=0")
    _parity(lambda D, t: D.Categorical(probs=t).entropy(), [probs], dtype, what="entropy with p=0")
    _parity(lambda D, t: D.Categorical(probs=t).probs * 1, [probs], dtype, what="normalised probs")
    big = [[1e4, 0.0, -1e4], [50.0, 50.0, -50.0]]
    _parity(lambda D, t: D.Categorical(logits=t).log_prob(_index(D, [[0, 1], [2, 2]])), [big], dtype,
            what="large logits")
    _parity(lambda D, t: D.Categorical(logits=t).entropy(), [big], dtype, what="entropy, large logits")


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_categorical_minus_inf_logits_match_torch(dtype):
    # a class ruled out by a -inf logit: the other classes keep finite log-probabilities (the
    # one-hot product 0·(-inf) made every log_prob of such a row NaN)
    ell = [[0.0, -np.inf, 1.0], [-np.inf, 2.0, 3.0]]
    for v in ([0, 2], [2, 1], [[0, 2], [1, 0]]):
        _parity(lambda D, t: D.Categorical(logits=t).log_prob(_index(D, v)), [ell], dtype, what=f"log_prob {v}")
    _parity(lambda D, t: D.Categorical(logits=t).entropy(), [ell], dtype, what="entropy")
    got = Categorical(logits=nv.tensor(np.array(ell, dtype=dtype))).log_prob(np.array([0, 2])).numpy()
    np.testing.assert_allclose(got, [-np.log1p(np.e), 3 - np.logaddexp(2, 3)], rtol=1e-6)
    c = Categorical(logits=nv.tensor(np.array(ell, dtype=dtype)))
    s = c.sample((2000,)).numpy()
    assert not (s[:, 0] == 1).any() and not (s[:, 1] == 0).any()


# ------------------------------------------------------------------------ validation
def _raises_both(make):
    """Both libraries raise ValueError (validation on by default)."""
    torch = _torch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # inf − inf while normalising bad logits
        with pytest.raises(ValueError):
            make(ND, nv.tensor)
    with pytest.raises(ValueError):
        make(torch.distributions, lambda a: torch.tensor(np.array(a, dtype=np.float64)))


BAD = {
    "Normal scale 0": lambda D, c: D.Normal(c(0.0), c(0.0)),
    "Normal scale < 0": lambda D, c: D.Normal(c([0.0, 0.0]), c([1.0, -1.0])),
    "Normal loc NaN": lambda D, c: D.Normal(c(np.nan), c(1.0)),
    "Normal scale NaN": lambda D, c: D.Normal(c(0.0), c(np.nan)),
    "Normal.log_prob NaN": lambda D, c: D.Normal(c(0.0), c(1.0)).log_prob(c([0.0, np.nan])),
    "Normal.cdf NaN": lambda D, c: D.Normal(c(0.0), c(1.0)).cdf(c([0.0, np.nan])),
    "Normal.log_prob shape": lambda D, c: D.Normal(c([0.0] * 3), c(1.0)).log_prob(c([0.0, 1.0])),
    "Bernoulli probs < 0": lambda D, c: D.Bernoulli(probs=c([0.5, -0.01])),
    "Bernoulli probs > 1": lambda D, c: D.Bernoulli(probs=c(1.01)),
    "Bernoulli probs NaN": lambda D, c: D.Bernoulli(probs=c(np.nan)),
    "Bernoulli logits NaN": lambda D, c: D.Bernoulli(logits=c(np.nan)),
    "Bernoulli both": lambda D, c: D.Bernoulli(probs=c(0.5), logits=c(0.0)),
    "Bernoulli.log_prob 0.5": lambda D, c: D.Bernoulli(probs=c(0.3)).log_prob(c(0.5)),
    "Bernoulli.log_prob 2": lambda D, c: D.Bernoulli(logits=c(0.3)).log_prob(c(2.0)),
    "Categorical probs < 0": lambda D, c: D.Categorical(probs=c([0.5, -0.1, 0.6])),
    "Categorical probs sum 0": lambda D, c: D.Categorical(probs=c([[0.5, 0.5], [0.0, 0.0]])),
    "Categorical probs inf": lambda D, c: D.Categorical(probs=c([np.inf, 1.0])),
    "Categorical 0-d": lambda D, c: D.Categorical(probs=c(1.0)),
    "Categorical logits NaN": lambda D, c: D.Categorical(logits=c([np.nan, 0.0])),
    "Categorical logits +inf": lambda D, c: D.Categorical(logits=c([np.inf, 0.0])),
    "Categorical logits all -inf": lambda D, c: D.Categorical(logits=c([[0.0, 1.0], [-np.inf, -np.inf]])),
    "Categorical.log_prob 3 of 3": lambda D, c: D.Categorical(probs=c([0.2, 0.3, 0.5])).log_prob(_index(D, 3)),
    "Categorical.log_prob -1": lambda D, c: D.Categorical(probs=c([0.2, 0.3, 0.5])).log_prob(_index(D, -1)),
    "Categorical.log_prob 1.5": lambda D, c: D.Categorical(probs=c([0.2, 0.3, 0.5])).log_prob(c(1.5)),
    "Categorical.log_prob shape": lambda D, c: D.Categorical(probs=c([[0.5, 0.5]] * 2)).log_prob(_index(D, [0, 1, 1])),
    "Independent ndims too many": lambda D, c: D.Independent(D.Normal(c([0.0, 1.0]), c(1.0)), 2),
    "Independent log_prob 0.5": lambda D, c: D.Independent(D.Bernoulli(c([0.2, 0.3])), 1).log_prob(c([0.5, 1.0])),
}


@pytest.mark.torch
@pytest.mark.parametrize("case", list(BAD))
def test_validation_raises_value_error_like_torch(case):
    _raises_both(BAD[case])


@pytest.mark.torch
def test_validation_is_on_by_default_and_can_be_turned_off():
    torch = _torch()
    TD = torch.distributions
    c = lambda a: torch.tensor(np.array(a, dtype=np.float64))  # noqa: E731
    # torch validates by default; so do we. Turned off, both compute the formula as it stands.
    assert Normal(0.0, 1.0)._validate_args and TD.Normal(0.0, 1.0)._validate_args
    pairs = [
        (lambda D, c: D.Normal(c(0.0), c(-2.0), validate_args=False).log_prob(c(1.0)), "negative scale"),
        (lambda D, c: D.Normal(c(0.0), c(1.0), validate_args=False).log_prob(c(np.nan)), "NaN value"),
        (lambda D, c: D.Bernoulli(probs=c([0.3, 0.6]), validate_args=False).log_prob(c([0.5, 0.25])), "soft labels"),
        (lambda D, c: D.Bernoulli(logits=c(1.3), validate_args=False).log_prob(c(2.0)), "value 2"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for make, what in pairs:
            _same(make(ND, lambda a: nv.tensor(np.array(a, dtype=np.float64))), make(TD, c), what=what)
    # the continuous relaxation: gradients w.r.t. the soft targets and the parameters
    _parity(lambda D, t, v: D.Bernoulli(logits=t, validate_args=False).log_prob(v), [[0.3, -2.0, 5.0], [0.2, 0.9, 0.5]],
            what="soft targets, logits")
    _parity(lambda D, t, v: D.Bernoulli(probs=t, validate_args=False).log_prob(v), [[0.3, 0.0, 1.0], [0.2, 0.9, 0.5]],
            what="soft targets, probs")
    # an index outside the classes is still an error without validation (torch's gather raises);
    # it must not wrap round to the last class
    with pytest.raises(IndexError, match="class index -1 is outside 0..2"):
        Categorical(probs=nv.tensor([0.2, 0.3, 0.5]), validate_args=False).log_prob(-1)
    with pytest.raises(RuntimeError):
        TD.Categorical(probs=c([0.2, 0.3, 0.5]), validate_args=False).log_prob(torch.tensor(-1))
    # Independent inherits its base's setting; its own flag does not switch the base's checks off
    with pytest.raises(ValueError):
        Independent(Bernoulli(nv.tensor([0.2, 0.3])), 1, validate_args=False).log_prob(nv.tensor([0.5, 1.0]))
    assert not Independent(Normal(nv.zeros(2), 1.0, validate_args=False), 1)._validate_args


# ------------------------------------------------------------------------ Independent
@pytest.mark.torch
@pytest.mark.parametrize("ndims", [0, 1, 2, 3])
def test_independent_reinterpreted_batch_ndims_match_torch(ndims):
    torch = _torch()
    loc, scale = RNG.normal(size=(2, 3, 4)), RNG.uniform(0.5, 2, size=(3, 4))
    x = RNG.normal(size=(5, 1, 3, 4))
    _parity(lambda D, m, s, v: D.Independent(D.Normal(m, s), ndims).log_prob(v), [loc, scale, x], what="log_prob")
    _parity(lambda D, m, s: D.Independent(D.Normal(m, s), ndims).entropy(), [loc, scale], what="entropy")
    _parity(lambda D, m, s: D.Independent(D.Normal(m, s), ndims).stddev * 1, [loc, scale], what="stddev")
    d = Independent(Normal(nv.tensor(loc), nv.tensor(scale)), ndims)
    td = torch.distributions.Independent(torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale)), ndims)
    assert d.batch_shape == tuple(td.batch_shape) and d.event_shape == tuple(td.event_shape)
    assert d.batch_shape + d.event_shape == (2, 3, 4)
    assert d.sample((6,)).shape == tuple(td.sample((6,)).shape) == (6, 2, 3, 4)
    assert d.mean.shape == d.variance.shape == (2, 3, 4) and d.has_rsample
    p = RNG.uniform(0.1, 0.9, size=(2, 3))
    bits = (RNG.random((2, 3)) < 0.5).astype(np.float64)
    if ndims <= 2:
        _parity(lambda D, t: D.Independent(D.Bernoulli(t), ndims).log_prob(_value(D, bits)), [p], what="Bernoulli")
        assert not Independent(Bernoulli(nv.tensor(p)), ndims).has_rsample


# ------------------------------------------------------------------------ KL
KL_PAIRS = {
    "Normal": lambda D, a, b: (D.Normal(a[0], a[1]), D.Normal(b[0], b[1])),
    "Bernoulli probs": lambda D, a, b: (D.Bernoulli(probs=a[0]), D.Bernoulli(probs=b[0])),
    "Bernoulli logits/probs": lambda D, a, b: (D.Bernoulli(logits=a[0]), D.Bernoulli(probs=b[0])),
    "Categorical probs": lambda D, a, b: (D.Categorical(probs=a[0]), D.Categorical(probs=b[0])),
    "Categorical logits": lambda D, a, b: (D.Categorical(logits=a[0]), D.Categorical(logits=b[0])),
    "Independent Normal": lambda D, a, b: (D.Independent(D.Normal(a[0], a[1]), 1), D.Independent(D.Normal(b[0], b[1]), 1)),
    "Independent Bernoulli": lambda D, a, b: (D.Independent(D.Bernoulli(a[0]), 2), D.Independent(D.Bernoulli(b[0]), 2)),
}


def _kl_args(name):
    if name.startswith("Normal") or name == "Independent Normal":
        return [RNG.normal(size=(3, 1)), RNG.uniform(0.3, 2, size=(4,))], [RNG.normal(size=(4,)), RNG.uniform(0.3, 2, size=(3, 4))]
    # Bernoulli parameters of one shape: torch's Bernoulli KL fails to broadcast (see below)
    if name.startswith("Bernoulli logits"):
        return [RNG.normal(size=(3, 4)) * 3], [RNG.uniform(0.05, 0.95, size=(3, 4))]
    if name == "Independent Bernoulli":
        return [RNG.uniform(0.05, 0.95, size=(2, 3, 4))], [RNG.uniform(0.05, 0.95, size=(2, 3, 4))]
    if name.startswith("Bernoulli"):
        return [RNG.uniform(0.05, 0.95, size=(3, 4))], [RNG.uniform(0.05, 0.95, size=(3, 4))]
    if name.startswith("Categorical probs"):
        return [RNG.uniform(0.1, 2, size=(3, 1, 5))], [RNG.uniform(0.1, 2, size=(4, 5))]
    return [RNG.normal(size=(3, 1, 5)) * 2], [RNG.normal(size=(4, 5)) * 2]


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pair", list(KL_PAIRS))
def test_kl_every_registered_pair_matches_torch_with_broadcasting(pair, dtype):
    a, b = _kl_args(pair)
    k = len(a)

    def fn(D, *ts):
        p, q = KL_PAIRS[pair](D, ts[:k], ts[k:])
        return D.kl_divergence(p, q)

    _parity(fn, a + b, dtype, what=f"KL {pair}")


@pytest.mark.torch
def test_bernoulli_kl_broadcasts_where_torch_raises():
    # torch 2.13 indexes t1[q.probs == 0] with an unbroadcast mask and raises IndexError for
    # parameters of different shapes; we broadcast, and agree with torch on the expanded pair
    torch = _torch()
    p = np.array([[0.0], [0.3], [1.0]])
    q = np.array([0.0, 0.2, 1.0, 0.7])
    TD = torch.distributions
    with pytest.raises(IndexError):
        TD.kl_divergence(TD.Bernoulli(torch.tensor(p)), TD.Bernoulli(torch.tensor(q)))
    pe, qe = np.broadcast_arrays(p, q)
    ref = TD.kl_divergence(TD.Bernoulli(torch.tensor(pe.copy())), TD.Bernoulli(torch.tensor(qe.copy())))
    _same(kl_divergence(Bernoulli(nv.tensor(p)), Bernoulli(nv.tensor(q))), ref, what="broadcast Bernoulli KL")


@pytest.mark.torch
def test_kl_at_the_edges_of_the_support_matches_torch():
    _parity(lambda D, p, q: D.kl_divergence(D.Bernoulli(probs=p), D.Bernoulli(probs=q)),
            [[0.0, 0.3, 1.0, 0.5, 0.0, 1.0], [0.2, 0.0, 0.9, 1.0, 0.0, 1.0]], what="Bernoulli p, q in {0, 1}")
    _parity(lambda D, p, q: D.kl_divergence(D.Categorical(probs=p), D.Categorical(probs=q)),
            [[[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]], [[0.3, 0.3, 0.4], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0]]],
            what="Categorical with zero classes")
    # (a -inf logit of p's is left out here: torch's gradient is NaN there, ours is finite, see
    # tests/models/test_generative_edges2.py)
    ell = [[2.0, 0.0, 3.0]]
    other = [[3.0, 2.0, -np.inf]]
    _parity(lambda D, p, q: D.kl_divergence(D.Categorical(logits=p), D.Categorical(logits=q)), [ell, other],
            what="Categorical with -inf logits")
    # the same distribution: exactly zero
    for d in [Normal(nv.tensor([0.3, -1.0]), nv.tensor([1e-3, 1e3])), Bernoulli(nv.tensor([0.0, 0.4, 1.0])),
              Categorical(nv.tensor([[0.0, 0.25, 0.75]]))]:
        assert np.abs(kl_divergence(d, d).numpy()).max() < 1e-12


@pytest.mark.torch
def test_unregistered_kl_pairs_raise_not_implemented_like_torch():
    torch = _torch()
    TD = torch.distributions
    pairs = [
        lambda D, c: (D.Normal(c(0.0), c(1.0)), D.Bernoulli(c(0.5))),
        lambda D, c: (D.Bernoulli(c(0.5)), D.Categorical(c([0.5, 0.5]))),
        lambda D, c: (D.Independent(D.Normal(c([0.0]), c(1.0)), 1), D.Normal(c([0.0]), c(1.0))),
        lambda D, c: (D.Normal(c([0.0]), c(1.0)), D.Independent(D.Normal(c([0.0]), c(1.0)), 1)),
        lambda D, c: (D.Independent(D.Normal(c(np.zeros((2, 3))), c(1.0)), 1),
                      D.Independent(D.Normal(c(np.zeros((2, 3))), c(1.0)), 2)),
    ]
    for make in pairs:
        with pytest.raises(NotImplementedError):
            kl_divergence(*make(ND, lambda a: nv.tensor(np.array(a, dtype=np.float64))))
        with pytest.raises(NotImplementedError):
            TD.kl_divergence(*make(TD, lambda a: torch.tensor(np.array(a, dtype=np.float64))))


# ------------------------------------------------------------------------ rsample gradients
class _FixedNoise(np.random.Generator):
    """A generator whose ``standard_normal`` hands back given noise (torch's, here)."""

    def __init__(self, eps):
        super().__init__(np.random.PCG64(0))
        self.eps = eps

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        assert tuple(size) == self.eps.shape
        return self.eps.copy()


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_rsample_gradients_match_torch_autograd(dtype):
    torch = _torch()
    loc, scale = RNG.normal(size=(3, 1)), RNG.uniform(0.2, 2.0, size=(4,))
    (m, s), (tm, ts) = _tensors([loc, scale], dtype, True)
    torch.manual_seed(0)
    tz = torch.distributions.Normal(tm, ts).rsample((5,))
    eps = ((tz - tm) / ts).detach().numpy().astype(np.float64)
    z = Normal(m, s).rsample((5,), generator=_FixedNoise(eps))
    _same(z, tz, dtype, "draw")
    w = RNG.normal(size=(5, 3, 4)).astype(dtype)
    # a non-linear loss through the draw, as in a VAE's decoder
    ((z * z).sin() * nv.tensor(w)).sum().backward()
    ((tz * tz).sin() * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), tm.grad.numpy(), **_tol(dtype))
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), **_tol(dtype))
    assert not Normal(m, s).sample((2,)).requires_grad
    # Independent passes rsample through
    zi = Independent(Normal(m, s), 1).rsample((5,), generator=_FixedNoise(eps))
    np.testing.assert_array_equal(zi.numpy(), z.numpy())


def test_discrete_distributions_have_no_rsample():
    for d in [Bernoulli(nv.tensor([0.3])), Categorical(nv.tensor([0.3, 0.7])),
              Independent(Bernoulli(nv.tensor([0.3, 0.6])), 1)]:
        assert d.has_rsample is False
        with pytest.raises(NotImplementedError, match="does not implement rsample"):
            d.rsample()
    assert Normal(0.0, 1.0).has_rsample and Independent(Normal(nv.zeros(2), 1.0), 1).has_rsample


# ------------------------------------------------------------------------ sampling
def _within(x, mean, var, what, k=4.0):
    """The sample mean within k standard errors, and the sample variance too (its standard
    error taken from the fourth central moment of the draws)."""
    n = x.shape[0]
    m = x.mean(0)
    assert (np.abs(m - mean) <= k * np.sqrt(var / n) + 1e-12).all(), f"{what}: mean {m} vs {mean}"
    v = x.var(0)
    mu4 = ((x - m) ** 4).mean(0)
    se = np.sqrt(np.maximum(mu4 - v ** 2, 0) / n)
    assert (np.abs(v - var) <= k * se + 1e-12).all(), f"{what}: variance {v} vs {var}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_sample_statistics_over_200k_draws(dtype):
    n = 200_000
    nv.manual_seed(11)
    loc = np.array([[1.0], [-2.0]], dtype=dtype)
    scale = np.array([0.5, 3.0, 1e-3], dtype=dtype)
    d = Normal(nv.tensor(loc), nv.tensor(scale))
    x = d.sample((n,)).numpy().astype(np.float64)
    assert x.shape == (n, 2, 3) and d.sample().dtype == np.dtype(dtype)
    _within(x, d.mean.numpy(), d.variance.numpy().astype(np.float64), "Normal")
    xr = d.rsample((n,)).numpy().astype(np.float64)
    _within(xr, d.mean.numpy(), d.variance.numpy().astype(np.float64), "Normal.rsample")
    b = Bernoulli(nv.tensor(np.array([0.0, 0.01, 0.5, 0.93, 1.0], dtype=dtype)))
    xb = b.sample((n,)).numpy().astype(np.float64)
    assert set(np.unique(xb)) <= {0.0, 1.0} and (xb[:, 0] == 0).all() and (xb[:, 4] == 1).all()
    _within(xb, b.mean.numpy(), b.variance.numpy().astype(np.float64), "Bernoulli")
    bl = Bernoulli(logits=nv.tensor(np.array([-3.0, 0.0, 2.0], dtype=dtype)))
    _within(bl.sample((n,)).numpy().astype(np.float64), bl.mean.numpy(), bl.variance.numpy(), "Bernoulli(logits)")
    # Categorical: each class frequency is a Bernoulli mean; a zero class is never drawn
    p = np.array([[0.1, 0.0, 0.3, 0.6], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]], dtype=dtype)
    c = Categorical(nv.tensor(p * 7))   # unnormalised
    xc = c.sample((n,)).numpy()
    assert xc.dtype == np.int64 and xc.shape == (n, 3)
    onehot = (xc[..., None] == np.arange(4)).astype(np.float64)
    _within(onehot, p, p * (1 - p), "Categorical")
    assert not (xc[:, 0] == 1).any() and (xc[:, 2] == 3).all()


def test_sampling_is_reproducible_with_the_seed():
    d = [Normal(nv.tensor([0.0, 1.0]), 2.0), Bernoulli(nv.tensor([0.2, 0.7])), Categorical(nv.tensor([0.2, 0.3, 0.5])),
         Independent(Normal(nv.zeros(2, 3), 1.0), 1)]

    def draw_all():
        return [x.sample((4,)).numpy() for x in d] + [d[0].rsample((3,)).numpy()]

    nv.manual_seed(3)
    a = draw_all()
    nv.manual_seed(3)
    b = draw_all()
    c = draw_all()
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))
    for x in d:
        g1, g2 = nv.Generator().manual_seed(9), nv.Generator().manual_seed(9)
        assert np.array_equal(x.sample((5,), generator=g1).numpy(), x.sample((5,), generator=g2).numpy())


def test_sample_shape_forms():
    d = Normal(nv.zeros(3, 1), nv.ones(2))
    assert d.sample().shape == (3, 2)
    assert d.sample(4).shape == (4, 3, 2)
    assert d.sample([2, 1]).shape == (2, 1, 3, 2)
    assert d.sample((0,)).shape == (0, 3, 2)
    assert Categorical(nv.ones(2, 3)).sample(()).shape == (2,)
    assert Bernoulli(0.5).sample((2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match="non-negative"):
        d.sample((-1,))


class _FixedUniform(np.random.Generator):
    """A generator whose ``random`` returns one given value everywhere."""

    def __init__(self, u):
        super().__init__(np.random.PCG64(0))
        self.u = u

    def random(self, size=None, dtype=np.float64, out=None):
        return np.full(size, self.u)


def test_uniform_draws_at_the_ends_of_zero_unit_pick_a_positive_category():
    # the largest double below 1 and 0 itself: the last and the first category with positive
    # weight, in every row, never an index past the end or a zero-weight class
    w = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    top, first = [1, 2, 0, 2], [0, 1, 0, 2]
    for u, want in [(1 - 2.0 ** -53, top), (0.0, first)]:
        # nv.multinomial offsets row r's draws by r, and u + r rounded up to r + 1 (index 3, or
        # the next row's first category)
        got = nv.multinomial(nv.tensor(w), 2, replacement=True, generator=_FixedUniform(u)).numpy()
        np.testing.assert_array_equal(got, np.repeat(np.array(want)[:, None], 2, axis=1))
        c = Categorical(nv.tensor(w)).sample((2,), generator=_FixedUniform(u)).numpy()
        np.testing.assert_array_equal(c, [want, want])
    b = Bernoulli(nv.tensor(np.array([0.0, 1e-300, 1.0]))).sample(generator=_FixedUniform(0.0)).numpy()
    np.testing.assert_array_equal(b, [0.0, 1.0, 1.0])
    b = Bernoulli(nv.tensor(np.array([0.0, 1.0 - 2.0 ** -53, 1.0]))).sample(generator=_FixedUniform(1 - 2.0 ** -53)).numpy()
    np.testing.assert_array_equal(b, [0.0, 0.0, 1.0])


# ------------------------------------------------------------------------ expand
EXPANDS = {
    "Normal": (lambda D, a, b: D.Normal(a, b), lambda: [RNG.normal(size=(3, 1)), RNG.uniform(0.5, 2, size=(1,))],
               lambda: RNG.normal(size=(2, 3, 4))),
    "Bernoulli probs": (lambda D, a: D.Bernoulli(probs=a), lambda: [RNG.uniform(0.1, 0.9, size=(3, 1))],
                        lambda: (RNG.random((2, 3, 4)) < 0.5).astype(np.float64)),
    "Bernoulli logits": (lambda D, a: D.Bernoulli(logits=a), lambda: [RNG.normal(size=(3, 1))],
                         lambda: (RNG.random((2, 3, 4)) < 0.5).astype(np.float64)),
    "Categorical": (lambda D, a: D.Categorical(logits=a), lambda: [RNG.normal(size=(3, 1, 5))],
                    lambda: RNG.integers(0, 5, size=(2, 3, 4))),
    "Independent": (lambda D, a, b: D.Independent(D.Normal(a, b), 1), lambda: [RNG.normal(size=(3, 1, 6)), np.ones(6)],
                    lambda: RNG.normal(size=(2, 3, 4, 6))),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", list(EXPANDS))
def test_expand_matches_torch(name):
    torch = _torch()
    make, params, value = EXPANDS[name]
    arrays, v = params(), value()

    def val(D):
        if name == "Categorical":
            return _index(D, v)
        return _value(D, v)

    _parity(lambda D, *ts: make(D, *ts).expand((2, 3, 4)).log_prob(val(D)), arrays, what="log_prob")
    _parity(lambda D, *ts: make(D, *ts).expand((2, 3, 4)).entropy(), arrays, what="entropy")
    ours, theirs = _tensors(arrays, np.float64, False)
    d, td = make(ND, *ours).expand((2, 3, 4)), make(torch.distributions, *theirs).expand((2, 3, 4))
    assert d.batch_shape == tuple(td.batch_shape) == (2, 3, 4) and d.event_shape == tuple(td.event_shape)
    assert d.sample((5,)).shape == tuple(td.sample((5,)).shape)
    assert type(d) is type(make(ND, *ours)) and d._validate_args
    with pytest.raises(ValueError, match="cannot be expanded"):
        make(ND, *ours).expand((2, 4))
    with pytest.raises(RuntimeError):
        make(torch.distributions, *theirs).expand((2, 4))


# ------------------------------------------------------------------------ cdf / icdf
@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_cdf_and_icdf_match_torch(dtype):
    loc, scale = RNG.normal(size=(3, 1)), RNG.uniform(0.3, 2.0, size=(4,))
    x = RNG.normal(size=(2, 3, 4)) * 2
    p = RNG.uniform(1e-4, 1 - 1e-4, size=(2, 3, 4))
    p[0, 0, :] = [0.5, 1e-3, 0.999, 0.25]
    _parity(lambda D, m, s, v: D.Normal(m, s).cdf(v), [loc, scale, x], dtype, what="cdf")
    # the quantile's gradient grows like 1/φ(z), so float32 gets a looser check
    tol = _tol(dtype) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-5)
    torch = _torch()
    (m, s, q), (tm, ts, tq) = _tensors([loc, scale, p], dtype, True)
    out, ref = Normal(m, s).icdf(q), torch.distributions.Normal(tm, ts).icdf(tq)
    assert out.shape == tuple(ref.shape) and out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), **tol)
    out.sum().backward()
    ref.sum().backward()
    for a, b in [(m, tm), (s, ts), (q, tq)]:
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    # the round trip, and the ends of [0, 1]
    d = Normal(nv.tensor(np.array(loc, dtype=dtype)), nv.tensor(np.array(scale, dtype=dtype)))
    np.testing.assert_allclose(d.cdf(d.icdf(nv.tensor(p.astype(dtype)))).numpy(), p, **tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ends = Normal(0.0, 1.0).icdf(nv.tensor([0.0, 1.0, 1.5, -0.5])).numpy()
        tends = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([0.0, 1.0, 1.5, -0.5])).numpy()
    np.testing.assert_array_equal(ends, tends)   # -inf, inf, nan, nan


def test_normal_cdf_and_icdf_keep_the_far_tails():
    # torch's ½(1 + erf) is 0 below about -8.3σ and its √2·erfinv(2p − 1) is -inf for p < 1.1e-16;
    # these tails follow from erfc, to within a few ulps
    import math
    special = pytest.importorskip("scipy.special")
    z = np.array([-38.0, -30.0, -20.0, -10.0, -8.5, -3.0, 0.0, 2.0, 8.0])
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in z])   # Φ(-38) = 2.9e-316, subnormal
    np.testing.assert_allclose(Normal(nv.tensor(0.0, dtype=nv.float64), 1.0).cdf(nv.tensor(z)).numpy(),
                               ref, rtol=1e-13)
    p = np.array([5e-324, 1e-310, 1e-300, 1e-200, 1e-100, 1e-20, 1e-10, 0.3, 0.5, 0.9, 1 - 2.0 ** -53])
    got = Normal(nv.tensor(1.0, dtype=nv.float64), 2.0).icdf(nv.tensor(p)).numpy()
    np.testing.assert_allclose(got, 1.0 + 2.0 * special.ndtri(p), rtol=1e-14)
    # the gradient with respect to p is 1/φ(z)
    q = nv.tensor(np.array([1e-20, 0.2, 0.5]), requires_grad=True)
    Normal(nv.tensor(0.0, dtype=nv.float64), 1.0).icdf(q).sum().backward()
    zq = special.ndtri(q.numpy())
    np.testing.assert_allclose(q.grad.numpy(), np.sqrt(2 * np.pi) * np.exp(zq ** 2 / 2), rtol=1e-12)
