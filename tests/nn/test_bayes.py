"""Bayesian layers (glossary row 74): BayesLinear's sampling and KL, MC dropout, the Bayesian
linear-regression check against the closed-form posterior, and in-between uncertainty."""
import numpy as np
import pytest

import nerve as nv
from nerve import nn


def test_bayes_linear_kl_equals_the_closed_form():
    layer = nn.BayesLinear(3, 2, prior_sigma=0.7).double()
    rng = np.random.default_rng(0)
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    mus = [layer.weight_mu.numpy(), layer.bias_mu.numpy()]
    sig = [np.log1p(np.exp(layer.weight_rho.numpy())), np.log1p(np.exp(layer.bias_rho.numpy()))]
    # KL(N(m, s²) ‖ N(0, p²)) = log(p/s) + (s² + m²)/(2p²) − ½, per weight
    ref = sum(np.sum(np.log(0.7 / s) + (s ** 2 + m ** 2) / (2 * 0.49) - 0.5) for m, s in zip(mus, sig))
    assert layer.kl_loss().item() == pytest.approx(ref, rel=1e-12)
    assert nn.kl_loss(nn.Sequential(layer, nn.Tanh())).item() == pytest.approx(ref, rel=1e-12)
    torch = pytest.importorskip("torch")
    D = torch.distributions
    prior = D.Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.7, dtype=torch.float64))
    tref = sum(D.kl_divergence(D.Normal(torch.tensor(m), torch.tensor(s)), prior).sum().item()
               for m, s in zip(mus, sig))
    assert layer.kl_loss().item() == pytest.approx(tref, rel=1e-12)


def test_bayes_linear_samples_with_the_posterior_spread_and_gets_gradients():
    nv.manual_seed(0)
    layer = nn.BayesLinear(1, 1, bias=False, posterior_rho_init=0.0).double()   # σ = log 2
    layer.weight_mu.data[...] = 2.0
    x = nv.ones(1, 1, dtype=nv.float64)
    draws = np.array([layer(x).item() for _ in range(4000)])
    assert abs(draws.mean() - 2.0) < 4 * np.log(2) / np.sqrt(4000)
    assert abs(draws.std() - np.log(2)) < 0.03
    out = layer(x).sum() + layer.kl_loss()
    out.backward()
    assert layer.weight_mu.grad is not None and layer.weight_rho.grad is not None
    with pytest.raises(ValueError, match="prior_sigma"):
        nn.BayesLinear(2, 2, prior_sigma=0)
    with pytest.raises(ValueError, match="no Bayesian layer"):
        nn.kl_loss(nn.Linear(2, 2))


def test_mc_dropout_predict_turns_on_dropout_only_and_restores_modes():
    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 1))
    seen = []
    for m in (net[1], net[3]):
        m.register_forward_hook(lambda mod, inp, out: seen.append((type(mod).__name__, mod.training)))
    net.train()
    x = nv.randn(8, 4)
    mean, std = nn.mc_dropout_predict(net, x, n=30)
    assert mean.shape == (8, 1) and np.all(std.numpy() > 0)
    assert set(seen) == {("BatchNorm1d", False), ("Dropout", True)} and len(seen) == 60
    assert all(m.training for m in net.modules())                 # modes restored
    net.eval()
    _, std_eval = nn.mc_dropout_predict(net, x, n=5)
    assert not any(m.training for m in net.modules())
    assert np.all(std_eval.numpy() > 0)                           # dropout was on although eval
    with pytest.raises(ValueError, match="no Dropout"):
        nn.mc_dropout_predict(nn.Linear(4, 1), x)


def blr_posterior_check(seed=0, steps=1200):
    """A BayesLinear(2 → 1) trained on the full-batch ELBO with known noise; returns the
    variational posterior mean and the closed-form posterior mean of (w1, w2, b)."""
    rng = np.random.default_rng(seed)
    n, noise, prior = 40, 0.5, 1.0
    X = rng.uniform(-1, 1, (n, 2))
    y = X @ np.array([2.0, -1.0]) + 0.5 + noise * rng.standard_normal(n)
    Phi = np.c_[X, np.ones(n)]
    # Gaussian prior N(0, prior² I), Gaussian likelihood with known noise:
    # Σ = (ΦᵀΦ/σ² + I/s²)⁻¹, μ = Σ Φᵀ y / σ²
    cov = np.linalg.inv(Phi.T @ Phi / noise ** 2 + np.eye(3) / prior ** 2)
    mu = cov @ Phi.T @ y / noise ** 2
    nv.manual_seed(seed)
    layer = nn.BayesLinear(2, 1, prior_sigma=prior, posterior_rho_init=-3.0).double()
    opt = nv.optim.Adam(layer.parameters(), lr=0.02)
    sched = nv.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    Xt, yt = nv.tensor(X), nv.tensor(y[:, None])
    for _ in range(steps):
        nll = ((layer(Xt) - yt) ** 2).sum() / (2 * noise ** 2)
        loss = nll + layer.kl_loss()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    got = np.r_[layer.weight_mu.numpy().ravel(), layer.bias_mu.numpy()]
    return got, mu


def test_bayes_linear_matches_the_closed_form_posterior_mean():
    got, mu = blr_posterior_check(seed=0)
    rel = np.abs(got - mu) / np.abs(mu)
    print(f"BBB posterior mean {got}, closed form {mu}, relative error {rel}")
    assert np.all(rel <= 0.05)


def in_between_uncertainty(seed=0, steps=2000):
    """A BayesLinear MLP on data from [-3, -1] ∪ [1, 3]; returns (std at 0, mean std on the
    training range) of the predictive mean over 200 weight samples.

    The target is a step (−1 left, +1 right, noise 0.1): the data fix both plateaus but say
    nothing about where between −1 and 1 the step happens, which is what the posterior should
    be unsure about."""
    rng = np.random.default_rng(seed)
    n = 200
    x = np.r_[rng.uniform(-3, -1, n // 2), rng.uniform(1, 3, n // 2)]
    y = np.sign(x) + 0.1 * rng.standard_normal(n)
    nv.manual_seed(seed)
    net = nn.Sequential(nn.BayesLinear(1, 32, posterior_rho_init=-5.0), nn.Tanh(),
                        nn.BayesLinear(32, 1, posterior_rho_init=-5.0)).double()
    opt = nv.optim.Adam(net.parameters(), lr=0.03)
    sched = nv.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    X, Y = nv.tensor(x[:, None]), nv.tensor(y[:, None])
    for _ in range(steps):
        loss = ((net(X) - Y) ** 2).sum() / (2 * 0.1 ** 2) + nn.kl_loss(net)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    grid = np.r_[np.linspace(-3, -1, 50), np.linspace(1, 3, 50), [0.0]][:, None]
    _, std = nn.mc_predict(net, nv.tensor(grid), n=200)
    std = std.numpy().ravel()
    return std[-1], std[:-1].mean()


@pytest.mark.slow
def test_predictive_std_is_larger_between_the_training_regions():
    at_zero, on_train = in_between_uncertainty(seed=0)
    print(f"predictive std at x=0: {at_zero:.4f}, mean on the training range: {on_train:.4f}, "
          f"ratio {at_zero / on_train:.2f}")
    assert at_zero >= 2 * on_train
