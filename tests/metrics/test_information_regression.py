"""Log loss, entropy, KL, perplexity and the regression metrics against scikit-learn and scipy."""
import numpy as np
import pytest

import nerve as nv
from nerve import metrics as M

sk = pytest.importorskip("sklearn.metrics")


def probs(rng, n, c):
    p = rng.random((n, c)) ** 3
    return p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", range(10))
def test_log_loss_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 50)
    y[:3] = [0, 1, 2]
    p = probs(rng, 50, 3)
    p[0] = [0.0, 1.0, 0.0]  # a confident mistake: clipped to eps, not infinite
    assert M.log_loss(y, p) == pytest.approx(sk.log_loss(y, p), rel=1e-12)
    assert M.log_loss(y, p, normalize=False) == pytest.approx(
        sk.log_loss(y, p, normalize=False), rel=1e-12)
    yb = rng.integers(0, 2, 50)
    pb = rng.random(50)
    assert M.log_loss(yb, pb) == pytest.approx(sk.log_loss(yb, pb), rel=1e-12)
    # a class absent from y_true needs labels=
    y2 = np.where(y == 2, 0, y)
    assert M.log_loss(y2, p, labels=[0, 1, 2]) == pytest.approx(
        sk.log_loss(y2, p, labels=[0, 1, 2]), rel=1e-12)
    with pytest.raises(ValueError, match="3 columns but there are 2 classes"):
        M.log_loss(y2, p)


def test_log_loss_errors_teach():
    with pytest.raises(ValueError, match="apply softmax"):
        M.log_loss([0, 1], [[2.0, -1.0], [0.3, 0.7]])
    with pytest.raises(ValueError, match="rows of y_prob must sum to 1"):
        M.log_loss([0, 1], [[0.5, 0.6], [0.3, 0.7]])
    with pytest.raises(ValueError, match="only the class"):
        M.log_loss([1, 1], [[0.2, 0.8], [0.3, 0.7]])
    with pytest.raises(ValueError, match="log_loss: y_true has 2 samples but y_prob has 1"):
        M.log_loss([0, 1], [[0.2, 0.8]])
    with pytest.raises(ValueError, match="log_loss: y_true is empty"):
        M.log_loss([], np.zeros((0, 2)))


def test_entropy_matches_scipy_and_identities():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for k in (2, 5, 17):
        assert M.entropy(np.full(k, 1 / k)) == pytest.approx(np.log(k), abs=1e-12)
        one_hot = np.eye(k)[1]
        assert M.entropy(one_hot) == 0.0
    P = rng.random((6, 7))
    P[0, :3] = 0  # zeros follow 0 log 0 = 0
    Q = rng.random((6, 7))
    for base in (None, 2, 10):
        np.testing.assert_allclose(M.entropy(P, base=base),
                                   stats.entropy(P, base=base, axis=1), rtol=0, atol=1e-12)
        np.testing.assert_allclose(M.kl_divergence(P, Q, base=base),
                                   stats.entropy(P, Q, base=base, axis=1), rtol=0, atol=1e-12)
        # cross-entropy = entropy + KL
        np.testing.assert_allclose(M.cross_entropy(P, Q, base=base),
                                   M.entropy(P, base=base) + M.kl_divergence(P, Q, base=base),
                                   rtol=0, atol=1e-12)
    assert M.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf
    assert M.kl_divergence([0.3, 0.7], [0.3, 0.7]) == 0.0
    assert M.entropy(nv.tensor([0.5, 0.5]), base=2) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="non-negative"):
        M.entropy([0.5, -0.5])
    with pytest.raises(ValueError, match="entropy: p is empty"):
        M.entropy([])


def test_perplexity_from_nll_and_from_log_probs():
    rng = np.random.default_rng(0)
    p = rng.random(100) * 0.9 + 0.05  # probabilities of the actual next tokens
    lp = np.log(p)
    expected = np.exp(-lp.mean())
    assert M.perplexity(-lp.mean()) == pytest.approx(expected, rel=1e-12)
    assert M.perplexity(-lp) == pytest.approx(expected, rel=1e-12)
    assert M.perplexity(log_probs=lp) == pytest.approx(expected, rel=1e-12)
    assert M.perplexity(log_probs=lp / np.log(2), base=2) == pytest.approx(expected, rel=1e-12)
    # uniform over k tokens gives k; a mask drops padding
    assert M.perplexity(log_probs=np.full(10, -np.log(7))) == pytest.approx(7.0)
    mask = np.arange(100) < 60
    assert M.perplexity(log_probs=lp, mask=mask) == pytest.approx(np.exp(-lp[:60].mean()))
    with pytest.raises(ValueError, match="exactly one of"):
        M.perplexity()
    with pytest.raises(ValueError, match="perplexity: the token list is empty"):
        M.perplexity(log_probs=[])


@pytest.mark.parametrize("shape", [(40,), (40, 3)])
@pytest.mark.parametrize("multioutput", ["uniform_average", "raw_values"])
def test_regression_metrics_match_sklearn(shape, multioutput):
    rng = np.random.default_rng(1)
    yt = rng.normal(size=shape)
    yp = yt + 0.3 * rng.normal(size=shape)
    kw = dict(multioutput=multioutput)
    for ours, ref in ((M.mean_squared_error, sk.mean_squared_error),
                      (M.mean_absolute_error, sk.mean_absolute_error),
                      (M.r2_score, sk.r2_score),
                      (M.root_mean_squared_error, sk.root_mean_squared_error)):
        np.testing.assert_allclose(ours(yt, yp, **kw), ref(yt, yp, **kw), rtol=1e-12, atol=1e-14)
    if len(shape) == 2:
        assert M.r2_score(yt, yp, multioutput="variance_weighted") == pytest.approx(
            sk.r2_score(yt, yp, multioutput="variance_weighted"), rel=1e-12)


def test_r2_constant_target():
    assert M.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == sk.r2_score([2.0] * 3, [2.0] * 3) == 1.0
    assert M.r2_score([2.0, 2.0, 2.0], [1.0, 2.0, 2.0]) == sk.r2_score([2.0] * 3, [1, 2, 2]) == 0.0


@pytest.mark.parametrize("fn", [M.mean_squared_error, M.mean_absolute_error, M.r2_score,
                                M.root_mean_squared_error])
def test_regression_empty_and_mismatched(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: y_true is empty"):
        fn([], [])
    with pytest.raises(ValueError, match=rf"{fn.__name__}: y_true has 2 samples but y_pred has 3"):
        fn([1.0, 2.0], [1.0, 2.0, 3.0])
