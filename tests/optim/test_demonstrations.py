"""The glossary's demonstrations for gradient descent, momentum, Nesterov, Adam, Adagrad,
learning-rate decay and ``maximize``, with the exact numbers they state."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import optim
from nerve.optim import lr_scheduler
from optim import problem as P
from optim.test_optimizers import CONFIGS, IDS


# --------------------------------------------- f = ½(x² + 100y²) from (1, 1): L = 100
def _quadratic(p):
    return 0.5 * (p[0] * p[0] + 100 * p[1] * p[1])


def _steps_until(make_opt, loss_fn, start, target=1e-6, limit=5000):
    """Number of steps after which loss(p) first drops below ``target`` (None if never)."""
    p = nv.tensor(start, dtype=nv.float64, requires_grad=True)
    opt = make_opt([p])
    for k in range(1, limit + 1):
        opt.zero_grad()
        loss_fn(p).backward()
        opt.step()
        with nv.no_grad():
            if loss_fn(p).item() < target:
                return k
    return None


@pytest.mark.parametrize("lr,steps", [(0.01, 653), (0.019, 343)])
def test_gradient_descent_step_counts(lr, steps):
    assert _steps_until(lambda ps: optim.SGD(ps, lr=lr), _quadratic, [1.0, 1.0]) == steps
    # the same count from the closed form: x_k = (1 − lr)^k, y_k = (1 − 100 lr)^k
    k = next(k for k in range(1, 10_000)
             if 0.5 * ((1 - lr) ** (2 * k) + 100 * (1 - 100 * lr) ** (2 * k)) < 1e-6)
    assert k == steps


def test_gradient_descent_diverges_above_two_over_L():
    p = nv.tensor([1.0, 1.0], dtype=nv.float64, requires_grad=True)
    opt = optim.SGD([p], lr=0.021)  # 2/L = 0.02
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = _quadratic(p)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(b > a for a, b in zip(losses[1:], losses[2:]))  # grows every step
    assert losses[-1] > 1e10


def test_momentum_and_nesterov_step_counts():
    sgd = _steps_until(lambda ps: optim.SGD(ps, lr=0.01), _quadratic, [1.0, 1.0])
    heavy = _steps_until(lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9), _quadratic, [1.0, 1.0])
    nesterov = _steps_until(lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9, nesterov=True),
                            _quadratic, [1.0, 1.0])
    assert (sgd, heavy, nesterov) == (653, 138, 61)


# ----------------------------------------------------------- Adam on Rosenbrock
def _rosenbrock(p):
    a = 1 - p[0]
    b = p[1] - p[0] * p[0]
    return a * a + 100 * b * b


def _numpy_adam_rosenbrock(lr=1e-2, b1=0.9, b2=0.999, eps=1e-8, limit=5000):
    """Adam written out in plain NumPy from Kingma & Ba's Algorithm 1 (the reference run)."""
    w = np.array([-1.5, 2.0])
    m = np.zeros(2)
    v = np.zeros(2)
    for t in range(1, limit + 1):
        x, y = w
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr / (1 - b1 ** t) * m / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
        x, y = w
        if (1 - x) ** 2 + 100 * (y - x * x) ** 2 < 1e-6:
            return t
    return None


def test_adam_on_rosenbrock_reaches_1e_6():
    steps = _steps_until(lambda ps: optim.Adam(ps, lr=1e-2), _rosenbrock, [-1.5, 2.0])
    assert steps is not None and steps <= 5000
    assert steps == _numpy_adam_rosenbrock() == 3344


# ----------------------------------------------------------------- maximize
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_maximizing_minus_f_is_exactly_minimizing_f(name, kw):
    kw = {k: v for k, v in kw.items() if k != "maximize"}
    down, _ = P.run_nerve(lambda ps: getattr(optim, name)(ps, **kw), 100)
    up, _ = P.run_nerve(lambda ps: getattr(optim, name)(ps, maximize=True, **kw), 100, sign=-1.0)
    for a, b in zip(down, up):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


# ------------------------------------------------ full-batch GD on least squares
def test_full_batch_gradient_descent_reaches_lstsq():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 4))
    y = X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(200)
    w = nv.zeros(4, dtype=nv.float64, requires_grad=True)
    Xt, yt = nv.tensor(X), nv.tensor(y)
    L = np.linalg.eigvalsh(X.T @ X / 200).max()  # the gradient's Lipschitz constant
    opt = optim.SGD([w], lr=1.0 / L)
    for _ in range(300):
        opt.zero_grad()
        r = Xt @ w - yt
        (0.5 * (r * r).mean()).backward()
        opt.step()
    np.testing.assert_allclose(w.numpy(), np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-6)


# ------------------------------------------------- Adagrad favours rare features
def test_adagrad_keeps_a_large_step_for_a_rare_feature():
    rng = np.random.default_rng(0)
    N = 2000
    X = rng.standard_normal((N, 4))
    rare = np.zeros(N)
    rows = rng.choice(N, size=N // 100, replace=False)  # non-zero in 1 % of the rows
    rare[rows] = rng.choice([-1.0, 1.0], size=rows.size)  # unit scale, like the dense ones
    X = np.column_stack([X, rare])
    logits = X @ np.array([1.0, -1.0, 0.5, 0.8, 2.0])  # every feature informative
    y = np.where(rng.random(N) < 1 / (1 + np.exp(-logits)), 1.0, -1.0)
    w = nv.zeros(5, dtype=nv.float64, requires_grad=True)
    Xt, yt = nv.tensor(X), nv.tensor(y)
    opt = optim.Adagrad([w], lr=0.1)
    for _ in range(500):
        opt.zero_grad()
        z = -(yt * (Xt @ w))
        nv.log1p(nv.exp(z)).mean().backward()  # logistic loss
        opt.step()
    effective = 0.1 / (np.sqrt(opt.state[w]["sum"]) + 1e-10)  # lr / √(Σ g²) per feature
    assert effective[4] >= 3 * effective[:4].max()


# -------------------------------------------- decaying the lr beats holding it
def test_step_lr_ends_lower_than_a_constant_lr_on_noisy_minibatches():
    rng = np.random.default_rng(5)
    N = 1024
    X = rng.standard_normal((N, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) + 0.5 * rng.standard_normal(N)
    Xt, yt = nv.tensor(X), nv.tensor(y)

    def train(schedule):
        w = nv.zeros(3, dtype=nv.float64, requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        sched = lr_scheduler.StepLR(opt, step_size=5, gamma=0.2) if schedule else None
        order = np.random.default_rng(11)
        for _ in range(20):
            perm = order.permutation(N)
            for i in range(0, N, 8):
                idx = perm[i:i + 8]
                opt.zero_grad()
                r = nv.tensor(X[idx]) @ w - nv.tensor(y[idx])
                (r * r).mean().backward()
                opt.step()
            if sched is not None:
                sched.step()
        with nv.no_grad():
            r = Xt @ w - yt
            return (r * r).mean().item()

    constant, decayed = train(False), train(True)
    noise_floor = np.mean((X @ np.linalg.lstsq(X, y, rcond=None)[0] - y) ** 2)
    assert decayed < constant
    assert decayed - noise_floor < 0.2 * (constant - noise_floor)


# ------------------------------------- weight decay is the L2 penalty (wd/2)·‖w‖²
def test_weight_decay_step_equals_a_step_on_the_penalized_cost():
    rng = np.random.default_rng(8)
    X, y = nv.tensor(rng.standard_normal((20, 3))), nv.tensor(rng.standard_normal(20))
    start, wd = rng.standard_normal(3), 0.3

    def one_step(decay_in_optimizer):
        w = nv.tensor(start, requires_grad=True)
        opt = optim.SGD([w], lr=0.1, weight_decay=wd if decay_in_optimizer else 0.0)
        r = X @ w - y
        cost = (r * r).mean()  # the data loss
        if not decay_in_optimizer:
            cost = cost + wd / 2 * (w * w).sum()  # the cost: loss + penalty
        cost.backward()
        opt.step()
        return w.numpy()

    np.testing.assert_allclose(one_step(True), one_step(False), rtol=1e-14)


def test_sgd_with_weight_decay_converges_to_ridge():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(9)
    N, wd = 200, 0.1
    X = rng.standard_normal((N, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.3 * rng.standard_normal(N)
    w = nv.zeros(4, dtype=nv.float64, requires_grad=True)
    Xt, yt = nv.tensor(X), nv.tensor(y)
    L = 2 * np.linalg.eigvalsh(X.T @ X / N).max() + wd
    opt = optim.SGD([w], lr=1.0 / L, weight_decay=wd)
    for _ in range(500):
        opt.zero_grad()
        r = Xt @ w - yt
        (r * r).mean().backward()
        opt.step()
    # (1/N)‖Xw − y‖² + (wd/2)‖w‖² has the minimiser of ‖Xw − y‖² + (N·wd/2)‖w‖²
    ridge = linear_model.Ridge(alpha=N * wd / 2, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(w.numpy(), ridge.coef_, atol=1e-6)
