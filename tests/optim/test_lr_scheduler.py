"""LR schedules: every scheduler's sequence equals torch's over 100 steps, plus the closed forms."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import optim
from nerve.optim import lr_scheduler as ls

# (optimizer kind, scheduler name, kwargs); lambdas are built per framework below
SCHEDULES = [
    ("sgd", "StepLR", dict(step_size=7, gamma=0.5)),
    ("sgd", "StepLR", dict(step_size=1, gamma=0.97)),
    ("sgd", "MultiStepLR", dict(milestones=[10, 30, 30, 75], gamma=0.3)),
    ("sgd", "ExponentialLR", dict(gamma=0.95)),
    ("sgd", "CosineAnnealingLR", dict(T_max=100)),
    ("sgd", "CosineAnnealingLR", dict(T_max=30, eta_min=1e-3)),  # past T_max: the restart branch
    ("sgd", "CosineAnnealingLR", dict(T_max=7, eta_min=0.0)),
    ("sgd", "LinearLR", dict()),
    ("sgd", "LinearLR", dict(start_factor=0.01, end_factor=1.0, total_iters=20)),
    ("sgd", "LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=60)),
    ("sgd", "LambdaLR", dict(lr_lambda="warmup")),
    ("sgd", "LambdaLR", dict(lr_lambda="per_group")),
    ("sgd", "OneCycleLR", dict(max_lr=1.0, total_steps=100)),
    ("sgd", "OneCycleLR", dict(max_lr=[0.5, 2.0], total_steps=100, pct_start=0.25,
                               anneal_strategy="linear", base_momentum=0.8, max_momentum=0.9)),
    ("sgd", "OneCycleLR", dict(max_lr=0.3, epochs=10, steps_per_epoch=10, three_phase=True,
                               div_factor=10.0, final_div_factor=100.0)),
    ("adam", "OneCycleLR", dict(max_lr=0.01, total_steps=120, pct_start=0.4)),
    ("adam", "OneCycleLR", dict(max_lr=0.01, total_steps=100, cycle_momentum=False)),
    ("sgd", "ConstantLR", dict()),
    ("sgd", "ConstantLR", dict(factor=0.25, total_iters=40)),
    ("sgd", "PolynomialLR", dict(total_iters=60, power=2.0)),
    ("sgd", "PolynomialLR", dict(total_iters=150, power=0.5)),
    ("sgd", "MultiplicativeLR", dict(lr_lambda="per_group")),
    ("sgd", "CosineAnnealingWarmRestarts", dict(T_0=10, T_mult=2, eta_min=1e-3)),
    ("sgd", "CosineAnnealingWarmRestarts", dict(T_0=7)),
]


def _lambdas(kind):
    if kind == "warmup":
        return lambda e: min(1.0, (e + 1) / 10) * 0.98 ** e
    return [lambda e: 0.9 ** e, lambda e: 1.0 / (1 + 0.1 * e)]


def _build(lib, params, kind, name, kw):
    kw = dict(kw)
    if "lr_lambda" in kw:
        kw["lr_lambda"] = _lambdas(kw["lr_lambda"])
    groups = [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.02}]
    if kind == "sgd":
        opt = lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    else:
        opt = lib.optim.Adam(groups, lr=0.1)
    return opt, getattr(lib.optim.lr_scheduler, name)(opt, **kw)


def _sequence(lib, params, kind, name, kw, steps=100):
    opt, sched = _build(lib, params, kind, name, kw)
    out = []
    for _ in range(steps):
        lrs = list(sched.get_last_lr())
        assert lrs == [g["lr"] for g in opt.param_groups]
        mom = [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups]
        out.append(lrs + mom)
        opt.step()
        sched.step()
    return np.array(out, dtype=np.float64)


@pytest.mark.torch
@pytest.mark.parametrize("kind,name,kw", SCHEDULES,
                         ids=[f"{n}-{k}-{i}" for i, (k, n, _) in enumerate(SCHEDULES)])
def test_lr_sequence_matches_torch(kind, name, kw):
    torch = pytest.importorskip("torch")
    ours = _sequence(nv, [nv.tensor([1.0], requires_grad=True) for _ in range(2)], kind, name, kw)
    theirs = _sequence(torch, [torch.tensor([1.0], requires_grad=True) for _ in range(2)], kind, name, kw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(patience=0, factor=0.5, cooldown=3),
    dict(patience=3, threshold=0.05, threshold_mode="abs", min_lr=0.004),
    dict(mode="max", patience=2, factor=0.7, threshold=0.01),
    dict(mode="max", patience=1, threshold_mode="abs", threshold=0.0, min_lr=[0.01, 0.001], eps=1e-3),
]


def _metrics():
    # a noisy decreasing curve with long plateaus: exercises improvement, patience and cooldown
    rng = np.random.default_rng(7)
    base = np.concatenate([np.linspace(1.0, 0.5, 30), np.full(30, 0.5), np.linspace(0.5, 0.3, 20),
                           np.full(20, 0.3)])
    return base + 0.01 * rng.standard_normal(100)


@pytest.mark.torch
@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_on_plateau_matches_torch(kw):
    torch = pytest.importorskip("torch")
    metrics = _metrics()

    def run(lib, param):
        opt = lib.optim.SGD([{"params": [param[0]]}, {"params": [param[1]], "lr": 0.05}], lr=0.1)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        out = []
        for m in metrics:
            opt.step()
            sched.step(float(m))
            out.append(list(sched.get_last_lr()) + [sched.num_bad_epochs, sched.cooldown_counter,
                                                     sched.best])
        return np.array(out)

    ours = run(nv, [nv.tensor([1.0], requires_grad=True) for _ in range(2)])
    theirs = run(torch, [torch.tensor([1.0], requires_grad=True) for _ in range(2)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    assert ours[-1, 0] < 0.1 or kw.get("mode") == "max"  # it did reduce on the loss curves


@pytest.mark.torch
def test_sequential_lr_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib, p):
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        S = lib.optim.lr_scheduler
        warm = S.LinearLR(opt, start_factor=0.1, total_iters=10)
        cos = S.CosineAnnealingLR(opt, T_max=40, eta_min=1e-4)
        step = S.StepLR(opt, step_size=5, gamma=0.5)
        sched = S.SequentialLR(opt, [warm, cos, step], milestones=[10, 50])
        out = []
        for _ in range(100):
            out.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        return np.array(out)

    ours = run(nv, nv.tensor([1.0], requires_grad=True))
    theirs = run(torch, torch.tensor([1.0], requires_grad=True))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.torch
def test_chained_scheduler_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib, p):
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        S = lib.optim.lr_scheduler
        sched = S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=5),
                                    S.ExponentialLR(opt, gamma=0.97),
                                    S.MultiStepLR(opt, milestones=[30, 60], gamma=0.5)])
        out = []
        for _ in range(100):
            out.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        return np.array(out)

    ours = run(nv, nv.tensor([1.0], requires_grad=True))
    theirs = run(torch, torch.tensor([1.0], requires_grad=True))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


# ------------------------------------------------------------------ closed forms
def _class_lrs(make, steps=100):
    opt = optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        sched.step()
    return np.array(out)


@pytest.mark.parametrize("make,closed", [
    (lambda o: ls.StepLR(o, 7, 0.5), lambda t: ls.step_lr(t, 0.1, 7, 0.5)),
    (lambda o: ls.MultiStepLR(o, [10, 30, 30], 0.3), lambda t: ls.multistep_lr(t, 0.1, [10, 30, 30], 0.3)),
    (lambda o: ls.ExponentialLR(o, 0.95), lambda t: ls.exponential_lr(t, 0.1, 0.95)),
    (lambda o: ls.CosineAnnealingLR(o, 100, 1e-3), lambda t: ls.cosine_annealing(t, 0.1, 100, 1e-3)),
    (lambda o: ls.CosineAnnealingLR(o, 30, 1e-3), lambda t: ls.cosine_annealing(t, 0.1, 30, 1e-3)),
    (lambda o: ls.LinearLR(o, 0.01, 1.0, 20), lambda t: ls.linear_lr(t, 0.1, 0.01, 1.0, 20)),
    (lambda o: ls.ConstantLR(o, 0.25, 40), lambda t: ls.constant_lr(t, 0.1, 0.25, 40)),
    (lambda o: ls.PolynomialLR(o, 60, 2.0), lambda t: ls.polynomial_lr(t, 0.1, 60, 2.0)),
    (lambda o: ls.CosineAnnealingWarmRestarts(o, 10, 2, 1e-3),
     lambda t: ls.cosine_warm_restarts(t, 0.1, 10, 2, 1e-3)),
    (lambda o: ls.OneCycleLR(o, 1.0, 100, cycle_momentum=False),
     lambda t: ls.one_cycle_lr(t, 1.0, 100)),
    (lambda o: ls.OneCycleLR(o, 1.0, 100, three_phase=True, anneal_strategy="linear", cycle_momentum=False),
     lambda t: ls.one_cycle_lr(t, 1.0, 100, three_phase=True, anneal_strategy="linear")),
])
def test_recursive_classes_follow_their_closed_forms(make, closed):
    np.testing.assert_allclose(_class_lrs(make), [closed(t) for t in range(100)], rtol=1e-9, atol=1e-15)


def test_one_cycle_momentum_function_matches_the_scheduler():
    opt = optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=50, three_phase=True)
    for t in range(50):
        assert opt.param_groups[0]["momentum"] == ls.one_cycle_momentum(t, 50, three_phase=True)
        sched.step()


def test_step_with_an_epoch_uses_the_closed_form():
    opt = optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=1.0)
    sched = ls.CosineAnnealingLR(opt, T_max=10)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.get_last_lr() == [ls.cosine_annealing(5, 1.0, 10)]


def test_scheduler_state_dict_round_trip_resumes_the_sequence():
    def fresh():
        opt = optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
        return opt, ls.OneCycleLR(opt, max_lr=1.0, total_steps=60)

    opt, sched = fresh()
    full = []
    for _ in range(60):
        full.append(sched.get_last_lr()[0])
        sched.step()
    opt, sched = fresh()
    for _ in range(25):
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved
    opt2, sched2 = fresh()
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    rest = []
    for _ in range(35):
        rest.append(sched2.get_last_lr()[0])
        sched2.step()
    assert rest == full[25:]


def test_lambda_lr_saves_callable_objects_but_not_functions():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    decay = Decay()
    opt = optim.SGD([{"params": [nv.tensor([1.0], requires_grad=True)]},
                     {"params": [nv.tensor([1.0], requires_grad=True)]}], lr=1.0)
    sched = ls.LambdaLR(opt, [decay, lambda e: 1.0])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}, None]
    decay.rate = 0.1
    sched.load_state_dict(sd)
    assert decay.rate == 0.5


@pytest.mark.parametrize("make,message", [
    (lambda o: ls.StepLR(o, step_size=0), "step_size must be a positive int, got 0"),
    (lambda o: ls.CosineAnnealingLR(o, T_max=0), "T_max must be > 0, got 0"),
    (lambda o: ls.LinearLR(o, start_factor=0), r"start_factor must be in \(0, 1\], got 0"),
    (lambda o: ls.LinearLR(o, end_factor=1.5), r"end_factor must be in \[0, 1\], got 1.5"),
    (lambda o: ls.ReduceLROnPlateau(o, factor=1.0), r"factor must be in \[0, 1\), got 1.0"),
    (lambda o: ls.ReduceLROnPlateau(o, mode="up"), "mode must be 'min' or 'max', got 'up'"),
    (lambda o: ls.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode must be 'rel' or 'abs'"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0), "needs total_steps, or both epochs and steps_per_epoch"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1.5), "pct_start must be in"),
    (lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), "anneal_strategy"),
    (lambda o: ls.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), "max_lr has 2 values but"),
    (lambda o: ls.LambdaLR(o, [lambda e: 1, lambda e: 1]), "got 2 lr_lambdas for 1 parameter groups"),
    (lambda o: ls.StepLR(o, 3, last_epoch=5), "has no 'initial_lr'"),
])
def test_bad_scheduler_arguments_are_named(make, message):
    opt = optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=0.1)
    with pytest.raises((ValueError, KeyError), match=message):
        make(opt)


def test_one_cycle_refuses_to_run_past_total_steps():
    opt = optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="stepped 4 times but total_steps is 3"):
        sched.step()


def test_one_cycle_needs_momentum_to_cycle_it():
    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(ValueError, match="neither; pass cycle_momentum=False"):
        ls.OneCycleLR(Plain([nv.tensor([1.0], requires_grad=True)]), max_lr=1.0, total_steps=10)
    assert math.isclose(ls.OneCycleLR(Plain([nv.tensor([1.0], requires_grad=True)]), max_lr=1.0,
                                      total_steps=10, cycle_momentum=False).get_last_lr()[0], 0.04)
