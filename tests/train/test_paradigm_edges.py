"""Edge-case sweep of the learning-paradigm code (distillation, continual learning, meta-learning,
and nerve.tune) against independent recomputations: PyTorch where it has the same objective, and
the papers' definitions otherwise (Hinton et al. 2015; Kirkpatrick et al. 2017; Finn et al. 2017;
Nichol et al. 2018; Smith 2017). Each test hunts a silent wrong answer, not a crash."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim, tune
from nerve import data as ndata
from nerve.train import EWC, MAML, Distiller, ReplayBuffer, Reptile, Trainer, distillation_loss


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# ------------------------------------------------------------------------------ distillation
def test_distillation_loss_from_the_definition_and_its_limits():
    rng = np.random.default_rng(0)
    s, t, y = 2 * rng.normal(size=(6, 4)), 2 * rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    for T in (1.0, 3.0):
        p, q = _softmax(t / T), _softmax(s / T)
        # KL(teacher ‖ student), summed over classes and divided by the batch size ('batchmean')
        kl = float((p * (np.log(p) - np.log(q))).sum() / len(s))
        ce = float(-np.log(_softmax(s)[np.arange(6), y]).mean())
        for alpha in (0.0, 0.3, 1.0):
            got = distillation_loss(nv.tensor(s), nv.tensor(t), nv.tensor(y), T, alpha).item()
            assert got == pytest.approx(alpha * T * T * kl + (1 - alpha) * ce, rel=1e-12, abs=1e-12)
    # alpha = 0 is the plain cross-entropy, whatever the teacher says (even wild logits)
    wild = np.array([[0.0, 1e4, -1e4, 0.0]] * 6)
    assert distillation_loss(nv.tensor(s), nv.tensor(wild), nv.tensor(y), 2.0, 0.0).item() == pytest.approx(
        nv.functional.cross_entropy(nv.tensor(s), nv.tensor(y)).item(), rel=1e-12)
    # a teacher so confident that its softmax underflows to exact zeros: 0·log 0 counts as 0
    soft = distillation_loss(nv.tensor(s), nv.tensor(wild), temperature=1.0, alpha=1.0).item()
    assert math.isfinite(soft) and soft == pytest.approx(float(-np.log(_softmax(s)[:, 1]).mean()), rel=1e-10)


def test_distillation_gradient_stays_out_of_the_teacher():
    rng = np.random.default_rng(1)
    x = nv.tensor(rng.normal(size=(5, 3)))
    teacher, student = nn.Linear(3, 4).double(), nn.Linear(3, 4).double()
    loss = distillation_loss(student(x), teacher(x), nv.tensor(rng.integers(0, 4, 5)), 2.0, 0.5)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None for p in student.parameters())


def test_distiller_keeps_a_batchnorm_teachers_statistics_and_uses_its_eval_outputs():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(24, 3)).astype(np.float32), rng.integers(0, 3, 24)
    nv.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    teacher.train()
    before = {k: v.numpy().copy() for k, v in teacher.state_dict().items()}
    student = nn.Linear(3, 3)
    w0, b0 = student.weight.numpy().copy(), student.bias.numpy().copy()
    distill = Distiller(teacher, temperature=3.0, alpha=0.6)
    Trainer(student, optim.SGD(student.parameters(), lr=0.5), distill, callbacks=[distill], metrics=()).fit(
        ndata.DataLoader(ndata.TensorDataset(x, y), batch_size=24), 1)
    # running mean / var (buffers) and weights are untouched, and nothing flowed into them
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in teacher.state_dict().items())
    assert all(p.grad is None for p in teacher.parameters())
    # the one SGD step used the gradient of the loss with the eval-mode teacher's logits
    teacher.eval()
    with nv.no_grad():
        t_logits = teacher(nv.tensor(x))
    twin = nn.Linear(3, 3)
    twin.load_state_dict({"weight": w0, "bias": b0})
    distillation_loss(twin(nv.tensor(x)), t_logits, nv.tensor(y), 3.0, 0.6).backward()
    np.testing.assert_allclose(student.weight.numpy(), w0 - 0.5 * twin.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(student.bias.numpy(), b0 - 0.5 * twin.bias.grad.numpy(), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------- EWC
def _torch_mlp(torch, net):
    """The torch twin of Sequential(Linear, Tanh, Dropout, Linear) as a function of its weights."""
    ws = [torch.tensor(p.numpy(), dtype=torch.float64, requires_grad=True) for p in net.parameters()]

    def f(x, w=ws):
        return torch.tanh(x @ w[0].T + w[1]) @ w[2].T + w[3]
    return ws, f


@pytest.mark.torch
@pytest.mark.parametrize("batch_size", [1, 3])
def test_ewc_fisher_and_penalty_gradient_equal_torch(batch_size):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 4)), rng.integers(0, 3, 7)
    nv.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Dropout(0.5), nn.Linear(5, 3)).double()
    net.train()
    ws, f = _torch_mlp(torch, net)
    # the documented estimate: mean over (mini-)batches of the squared gradient of the batch-mean
    # NLL, at the consolidated weights, with dropout off
    ref = [np.zeros(w.shape) for w in ws]
    starts = range(0, 7, batch_size)
    for i in starts:
        g = torch.autograd.grad(torch.nn.functional.cross_entropy(f(torch.tensor(x[i:i + batch_size])),
                                                                  torch.tensor(y[i:i + batch_size])), ws)
        ref = [r + gi.numpy() ** 2 for r, gi in zip(ref, g)]
    ref = [r / len(starts) for r in ref]
    ewc = EWC(lam=3.0)
    fisher = ewc.consolidate(net, x, y, batch_size=batch_size)
    assert net.training  # the mode is put back
    for (n, _), r in zip(net.named_parameters(), ref):
        np.testing.assert_allclose(fisher[n], r, rtol=1e-10, atol=1e-14)
    # a second task anchored elsewhere: the penalties of both tasks add up
    with nv.no_grad():
        for p in net.parameters():
            p.add_(0.1)
    anchors2 = [w.detach().numpy() + 0.1 for w in ws]
    ewc.consolidate(net, x[:4], y[:4], batch_size=batch_size)
    f2 = [ewc.anchors[1][0][n] for n, _ in net.named_parameters()]
    with nv.no_grad():
        for p, d in zip(net.parameters(), (0.3, -0.2, 0.5, 0.05)):
            p.add_(d)
    pen = ewc.penalty(net)
    pen.backward()
    live = [torch.tensor(p.numpy(), requires_grad=True) for p in net.parameters()]
    a1 = [w.detach() for w in ws]
    tpen = 1.5 * sum(((torch.tensor(fa) * (v - a) ** 2).sum() for fa, v, a in zip(ref, live, a1)))
    tpen = tpen + 1.5 * sum(((torch.tensor(fb) * (v - torch.tensor(a)) ** 2).sum()
                             for fb, v, a in zip(f2, live, anchors2)))
    tpen.backward()
    assert pen.item() == pytest.approx(tpen.item(), rel=1e-12)
    for p, v in zip(net.parameters(), live):
        np.testing.assert_allclose(p.grad.numpy(), v.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_ewc_anchor_is_a_copy_not_the_live_weights():
    nv.manual_seed(0)
    net = nn.Linear(3, 2)
    x, y = np.random.default_rng(4).normal(size=(6, 3)).astype(np.float32), np.arange(6) % 2
    ewc = EWC(lam=2.0)
    ewc.consolidate(net, x, y)
    opt = optim.SGD(net.parameters(), lr=1.0)
    net.zero_grad()
    nv.functional.cross_entropy(net(nv.tensor(x)), nv.tensor(1 - y)).backward()
    opt.step()  # an in-place update of the live weights
    assert ewc.penalty(net).item() > 0


# -------------------------------------------------------------------------------- replay
def test_reservoir_is_uniform_when_the_stream_comes_in_uneven_chunks():
    counts = np.zeros(600)
    reps = 300
    for rep in range(reps):
        buf = ReplayBuffer(60, seed=rep)
        for lo, hi in ((0, 1), (1, 50), (50, 61), (61, 400), (400, 600)):
            buf.add(np.arange(lo, hi)[:, None], np.arange(lo, hi))
        assert buf.seen == 600 and len(buf) == 60 and len(set(buf.y.tolist())) == 60
        counts[buf.y] += 1
    # every item is kept with probability 60/600: 30 of 300 runs, whichever chunk it came in
    for lo, hi in ((0, 61), (61, 400), (400, 600)):
        assert abs(counts[lo:hi].mean() - 30) < 3, (lo, hi, counts[lo:hi].mean())


# -------------------------------------------------------------------------------- MAML
def _sin_tasks(n=2, k=6, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, ph = rng.uniform(0.5, 3), rng.uniform(0, 3)
        xs, xq = rng.uniform(-3, 3, (k, 1)), rng.uniform(-3, 3, (k, 1))
        out.append((xs, a * np.sin(xs + ph), xq, a * np.sin(xq + ph)))
    return out


def _torch_meta_grad(torch, net, tasks, lr, steps, first_order):
    ws, f = _torch_mlp_plain(torch, net)
    total = 0
    for xs, ys, xq, yq in tasks:
        fast = ws
        for _ in range(steps):
            loss = torch.nn.functional.mse_loss(f(torch.tensor(xs), fast), torch.tensor(ys))
            g = torch.autograd.grad(loss, fast, create_graph=not first_order)
            fast = [w - lr * gi for w, gi in zip(fast, g)]
        if first_order:  # FOMAML: the gradient at the adapted weights, applied to the initial ones
            fast = [w + (fw - w).detach() for w, fw in zip(ws, fast)]
        total = total + torch.nn.functional.mse_loss(f(torch.tensor(xq), fast), torch.tensor(yq))
    total = total / len(tasks)
    return total.item(), [g.numpy() for g in torch.autograd.grad(total, ws)]


def _torch_mlp_plain(torch, net):
    ws = [torch.tensor(p.numpy(), dtype=torch.float64, requires_grad=True) for p in net.parameters()]

    def f(x, w):
        return torch.tanh(x @ w[0].T + w[1]) @ w[2].T + w[3]
    return ws, f


@pytest.mark.torch
@pytest.mark.parametrize("first_order", [False, True])
def test_maml_meta_gradient_equals_torch_through_the_inner_steps(first_order):
    torch = pytest.importorskip("torch")
    nv.manual_seed(1)
    net = nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    before = [p.numpy().copy() for p in net.parameters()]
    tasks = _sin_tasks()
    maml = MAML(net, inner_lr=0.2, inner_steps=3, first_order=first_order)
    loss = maml.outer_loss(tasks)
    # the inner loop never writes into the real parameters nor their .grad
    assert all(np.array_equal(p.numpy(), b) for p, b in zip(net.parameters(), before))
    assert all(p.grad is None for p in net.parameters())
    loss.backward()
    ref_loss, ref_grads = _torch_meta_grad(torch, net, tasks, 0.2, 3, first_order)
    assert loss.item() == pytest.approx(ref_loss, rel=1e-12)
    for p, g in zip(net.parameters(), ref_grads):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-9, atol=1e-12)
    # adapt() returns the same adapted weights and leaves the model alone
    fast = maml.adapt(*tasks[0][:2])
    assert all(np.array_equal(p.numpy(), b) for p, b in zip(net.parameters(), before))
    ws, f = _torch_mlp_plain(torch, net)
    cur = ws
    for _ in range(3):
        g = torch.autograd.grad(torch.nn.functional.mse_loss(f(torch.tensor(tasks[0][0]), cur),
                                                             torch.tensor(tasks[0][1])), cur)
        cur = [w - 0.2 * gi for w, gi in zip(cur, g)]
    for (n, _), c in zip(net.named_parameters(), cur):
        np.testing.assert_allclose(fast[n].numpy(), c.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_reptile_step_is_the_interpolation_towards_the_sgd_result():
    nv.manual_seed(2)
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    task = _sin_tasks(1, k=5, seed=3)[0]
    theta = [p.numpy().copy() for p in net.parameters()]
    # plain SGD on support + query together, on a copy
    twin = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    twin.load_state_dict(net.state_dict())
    opt = optim.SGD(twin.parameters(), lr=0.05)
    x, y = nv.tensor(np.concatenate([task[0], task[2]])), nv.tensor(np.concatenate([task[1], task[3]]))
    for _ in range(4):
        opt.zero_grad()
        nv.functional.mse_loss(twin(x), y).backward()
        opt.step()
    Reptile(net, inner_lr=0.05, inner_steps=4, outer_lr=0.25).step(task)
    for p, t0, tt in zip(net.parameters(), theta, twin.parameters()):
        np.testing.assert_allclose(p.numpy(), t0 + 0.25 * (tt.numpy() - t0), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------- LR range test
class _Quad(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(nv.tensor([1.0, 1.0], dtype=nv.float64))

    def loss(self):
        return 0.5 * (self.w[0] ** 2 + 100 * self.w[1] ** 2)


@pytest.mark.torch
def test_lr_range_schedule_smoothing_divergence_against_torch_sgd():
    torch = pytest.importorskip("torch")
    model = _Quad()
    opt = optim.SGD(model.parameters(), lr=1e-3, momentum=0.5)
    r = tune.lr_range_test(model, opt, lambda m: m.loss(), None, start_lr=1e-3, end_lr=1.0, num_steps=60,
                           smoothing=0.1, diverge_factor=4.0)
    n = 60
    expect_lrs = [1e-3 * (1.0 / 1e-3) ** (k / (n - 1)) for k in range(n)]
    # the same sweep with torch's SGD (momentum too) and a by-hand bias-corrected EMA
    w = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([w], lr=1e-3, momentum=0.5)
    losses, smoothed, avg, best, diverged = [], [], 0.0, math.inf, None
    for k in range(n):
        for g in topt.param_groups:
            g["lr"] = expect_lrs[k]
        loss = 0.5 * (w[0] ** 2 + 100 * w[1] ** 2)
        losses.append(loss.item())
        avg = 0.1 * loss.item() + 0.9 * avg
        smoothed.append(avg / (1 - 0.9 ** (k + 1)))
        best = min(best, smoothed[-1])
        if smoothed[-1] > 4.0 * best:
            diverged = expect_lrs[k]
            break
        topt.zero_grad()
        loss.backward()
        topt.step()
    assert diverged is not None and r.diverged_lr == pytest.approx(diverged, rel=1e-12)
    np.testing.assert_allclose(r.lrs, expect_lrs[:len(r.lrs)], rtol=1e-12)
    np.testing.assert_allclose(r.losses, losses, rtol=1e-10)
    np.testing.assert_allclose(r.smoothed, smoothed, rtol=1e-10)
    assert len(r.lrs) < n  # it stopped at the divergence
    # a sweep that does not diverge ends exactly at end_lr
    r2 = tune.lr_range_test(_Quad(), optim.SGD(_Quad().parameters(), lr=1e-3), lambda m: m.loss(), None,
                            start_lr=1e-5, end_lr=1e-3, num_steps=7)
    assert r2.diverged_lr is None and r2.lrs[-1] == pytest.approx(1e-3, rel=1e-12) and len(r2.lrs) == 7


def test_lr_range_test_puts_back_the_mode_and_the_gradients():
    rng = np.random.default_rng(5)
    x, y = nv.tensor(rng.normal(size=(16, 3))), nv.tensor(rng.normal(size=(16, 1)))
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)).double()
    opt = optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        nv.functional.mse_loss(model(x), y).backward()
        opt.step()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    model.eval()
    state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    tune.lr_range_test(model, opt, nv.functional.mse_loss, [(x, y)], num_steps=12)
    assert all(np.array_equal(state[k], v.numpy()) for k, v in model.state_dict().items())
    assert not model.training  # probing in train mode must not leave the model there
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


# --------------------------------------------------------------------------------- search
def test_grid_search_calls_every_combination_exactly_once():
    seen = []
    grid = {"a": [1, 2, 3], "b": ["x", "y"], "c": [0.5, 0.25]}
    r = tune.grid_search(lambda c: seen.append(dict(c)) or {"acc": c["a"] * c["c"]}, grid, metric="acc",
                         mode="max")
    keys = sorted((c["a"], c["b"], c["c"]) for c in seen)
    assert len(seen) == 12 and len(set(keys)) == 12
    assert r.best["acc"] == 1.5 and r.best_params["a"] == 3 and r.best_params["c"] == 0.5
    assert tune.grid_search(lambda c: {"val_loss": c["a"]}, {"a": [3, 1, 2]}).best_params == {"a": 1}


def test_random_search_bounds_log_uniform_and_seed():
    space = {"lr": tune.loguniform(1e-5, 1e-1), "p": tune.uniform(0.2, 0.3), "h": [8, 16], "fixed": 7}
    cfgs = []
    tune.random_search(lambda c: cfgs.append(c) or {"val_loss": 0.0}, space, 400, seed=11)
    lr = np.array([c["lr"] for c in cfgs])
    p = np.array([c["p"] for c in cfgs])
    assert lr.min() >= 1e-5 and lr.max() < 1e-1 and p.min() >= 0.2 and p.max() < 0.3
    # log-uniform: each decade gets about a quarter of the draws (uniform would put 90 % in the last)
    decades = np.histogram(np.log10(lr), bins=[-5, -4, -3, -2, -1])[0]
    assert decades.min() > 70 and decades.max() < 130
    assert {c["h"] for c in cfgs} == {8, 16} and all(c["fixed"] == 7 for c in cfgs)
    again = []
    tune.random_search(lambda c: again.append(c) or {"val_loss": 0.0}, space, 400, seed=11)
    assert again == cfgs


def test_a_failing_trial_is_reported_not_dropped():
    def train(c):
        if c["x"] == 2:
            raise RuntimeError("trial blew up")
        return {"val_loss": c["x"]}
    with pytest.raises(RuntimeError, match="blew up"):
        tune.grid_search(train, {"x": [1, 2, 3]})


def test_evolution_in_min_mode_mutates_the_lowest_of_the_sample():
    space = tune.SearchSpace(depth=(0, 1, 2), width=(4, 8, 16), activation=("relu", "tanh"), dropout=(0.0,))
    score = lambda a: a["depth"] * 10 + a["width"] / 10 + (a["activation"] == "tanh")  # noqa: E731
    r = tune.evolution(space, score, 30, population_size=6, sample_size=3, seed=0, mode="min")
    for h in r.history[6:]:
        pop = r.history[h["trial"] - 1]["population"]
        assert h["parent"] in pop
    assert r.best["score"] == min(r.scores)


# ------------------------------------------------------------- modes and shapes put back / checked
def _mixed_mode_net():
    """A head that trains over a backbone whose BatchNorm is frozen in eval mode (a common
    fine-tuning set-up): the modes differ between sub-modules."""
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    net.train()
    net[1].eval()
    return net


def test_ewc_puts_back_each_submodules_own_mode_and_rejects_no_data():
    net = _mixed_mode_net()
    x, y = np.random.default_rng(6).normal(size=(5, 3)).astype(np.float32), np.arange(5) % 2
    EWC(1.0).consolidate(net, x, y)
    assert net.training and net[3].training and not net[1].training
    # no samples: a 0/0 Fisher (NaN everywhere) would poison every later loss
    with pytest.raises(ValueError, match="no samples"):
        EWC(1.0).consolidate(net, x[:0], y[:0])


def test_replay_buffer_rejects_examples_of_another_shape():
    buf = ReplayBuffer(8, seed=0)
    buf.add(np.zeros((3, 4)), np.zeros(3, dtype=np.int64))
    # (1,) would broadcast silently into every (4,) slot
    with pytest.raises(ValueError, match="shape"):
        buf.add(np.ones((2, 1)), np.ones(2, dtype=np.int64))
    with pytest.raises(ValueError, match="same number"):
        buf.add(np.ones((2, 4)), np.ones(3, dtype=np.int64))
    assert len(buf) == 3 and buf.seen == 3
    # a first task stored as uint8 must not truncate a later task's float inputs
    buf = ReplayBuffer(4, seed=0)
    buf.add(np.full((2, 3), 7, dtype=np.uint8), np.zeros(2, dtype=np.int64))
    buf.add(np.full((2, 3), 0.5, dtype=np.float32), np.ones(2, dtype=np.int64))
    assert buf.x.dtype == np.float32 and buf.x[2:].tolist() == [[0.5] * 3] * 2 and buf.x[:2].max() == 7


def test_finetune_and_adapt_leave_batchnorm_statistics_alone():
    """``finetune_loss`` and ``MAML.adapt`` promise an unchanged model; in train mode the inner
    steps' BatchNorm would otherwise move the model's running statistics, so evaluating the same
    initialisation twice gave two different numbers."""
    from nerve.train.meta import finetune_loss

    nv.manual_seed(3)
    net = nn.Sequential(nn.Linear(1, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()
    tasks = _sin_tasks(2, k=5, seed=4)
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    first = finetune_loss(net, tasks, 0.1, 2)
    MAML(net, inner_lr=0.1, inner_steps=2).adapt(*tasks[0][:2])
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in net.state_dict().items())
    assert finetune_loss(net, tasks, 0.1, 2) == first


def test_a_metric_reported_as_a_scalar_tensor_or_array_still_competes():
    # a training function that forgets .item(): the best trial must not be skipped silently
    r = tune.grid_search(lambda c: {"val_loss": nv.tensor(float(c["x"])) if c["x"] == 0 else np.array(c["x"] + 1.0)},
                         {"x": [0, 1, 2]})
    assert r.best["x"] == 0 and r.column("val_loss") == [0.0, 2.0, 3.0]


def test_reptile_refuses_a_step_count_that_would_do_nothing():
    net = nn.Linear(1, 1).double()
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="inner_steps"):
            Reptile(net, inner_steps=bad)


@pytest.mark.parametrize("patience", [0, 1, 3])
def test_fit_regression_stops_after_exactly_patience_epochs_without_improvement(patience):
    # trained towards y = x but validated on y = -x: the validation loss only gets worse after
    # epoch 0, so training ends `patience` epochs later (at the first worse epoch for 0), like
    # train.EarlyStopping, and the curves end with the best epoch's weights put back
    x = np.linspace(-1, 1, 8)[:, None]
    m = nn.Linear(1, 1, bias=False).double()
    with nv.no_grad():
        m.weight.mul_(0.0)
    h = tune.fit_regression(m, x, x, x, -x, epochs=50, lr=0.1, optimizer="sgd", patience=patience)
    assert h["best_epoch"] == 0 and len(h["val_loss"]) == max(patience, 1) + 2
    assert h["val_loss"][-1] == h["val_loss"][0] and m.weight.item() == pytest.approx(0.1 * np.mean(x * x) * 2)


def test_maml_evaluate_adapts_with_its_own_number_of_inner_steps():
    from nerve.train.meta import finetune_loss

    nv.manual_seed(4)
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    tasks = _sin_tasks(2, k=5, seed=5)
    maml = MAML(net, inner_lr=0.1, inner_steps=3)
    assert maml.evaluate(tasks) == finetune_loss(net, tasks, 0.1, 3) != finetune_loss(net, tasks, 0.1, 1)
    assert maml.evaluate(tasks, steps=1) == finetune_loss(net, tasks, 0.1, 1)
