"""Optimizers at the switches between the group fast path (_flat.py) and the per-tensor loop,
against PyTorch: a gradient missing for a few steps, a group added mid-run, a state dict
loaded mid-run (nerve's own and torch's), the state emptied mid-run,
``zero_grad(set_to_none=False)``, mixed dtypes in
one group, a parameter's storage replaced, learning rates changed by a scheduler and by hand.

nerve and torch run in lock step on the problem of ``problem.py`` plus a fourth parameter
``u`` (used by the scenarios that add or starve a parameter); every step's parameters must
agree to ~1 ulp growth (torch fuses multiply-adds, NumPy cannot).
"""
from __future__ import annotations

import collections
import numpy as np
import pytest

import nerve as nv
from nerve import optim
from optim import problem as P

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

CONFIGS = [
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.02)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", dict(lr=0.05)),
    ("ASGD", dict(lr=0.02, t0=5, weight_decay=0.1)),
]
IDS = [f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw in CONFIGS]
U0 = np.array([0.3, -1.2])
STEPS = 15


@pytest.fixture(autouse=True)
def torch64():
    # torch keeps NAdam's mu_product and ASGD's eta/mu in its default dtype
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


class Side:
    """One framework's run: parameters W, v, s (problem.py) and u, an optimizer, a loss."""

    def __init__(self, fw, name, kw, dtypes=(np.float64,) * 4, first_group=3):
        self.fw, self.kw = fw, kw
        arrays = [a.astype(d) for a, d in zip(P.START + (U0,), dtypes)]
        if fw == "nerve":
            self.params = [nv.tensor(a, requires_grad=True) for a in arrays]
            self.opt = getattr(optim, name)(self.params[:first_group], **kw)
        else:
            self.params = [torch.tensor(a, requires_grad=True) for a in arrays]
            self.opt = getattr(torch.optim, name)(self.params[:first_group], **dict(dict(foreach=False), **kw))
        self.use_u = True

    def loss(self):
        W, v, s, u = self.params
        sign = P.sign_of(self.kw)
        if self.fw == "nerve":
            f = P.nerve_loss([W.double(), v.double(), s.double()])
            if self.use_u:
                f = f + ((u.double() - 1.0) * (u.double() - 1.0) * 2.0).sum()
        else:
            f = P.torch_loss(torch, [W.double(), v.double(), s.double()])
            if self.use_u:
                f = f + ((u.double() - 1.0) * (u.double() - 1.0) * 2.0).sum()
        return f * sign

    def snapshot(self):
        if self.fw == "nerve":
            return [p.numpy().astype(np.float64) for p in self.params]
        return [p.detach().numpy().astype(np.float64) for p in self.params]


def lockstep(name, kw, event=None, steps=STEPS, rtol=1e-9, atol=1e-12, **side_kw):
    """Run both sides; ``event(k, side, other)`` runs on each side before step k's zero_grad
    and may return ``'keep'`` (zero_grad(set_to_none=False)) or a set of parameter indices
    whose gradient is dropped after backward."""
    ours, theirs = Side("nerve", name, kw, **side_kw), Side("torch", name, kw, **side_kw)
    for k in range(steps):
        for side, other in ((ours, theirs), (theirs, ours)):
            todo = event(k, side, other) if event else None
            side.opt.zero_grad(set_to_none=todo != "keep")
            side.loss().backward()
            if isinstance(todo, set):
                for i in todo:
                    side.params[i].grad = None
            side.opt.step()
            sched = getattr(side, "sched", None)
            if sched is not None:
                sched.step()
        for i, (a, b) in enumerate(zip(ours.snapshot(), theirs.snapshot())):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {k + 1}, parameter {i}")
    return ours, theirs


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_a_gradient_missing_for_some_steps_then_back(name, kw):
    def event(k, side, other):
        # v has no gradient on steps 2 and 3 (fast path -> loop), s on step 0 (decided later)
        return {1} if k in (2, 3) else {2} if k == 0 else {0, 1} if k == 9 else None
    lockstep(name, kw, event)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_a_param_group_added_mid_run(name, kw):
    def event(k, side, other):
        if k == 5:
            side.opt.add_param_group({"params": [side.params[3]], "lr": kw.get("lr", 0.01) * 0.5})
        return None
    lockstep(name, kw, event)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
@pytest.mark.parametrize("source", ["own", "fresh", "torch"])
def test_state_loaded_mid_run(name, kw, source):
    def event(k, side, other):
        if k in (4, 9) and side.fw == "nerve":
            if source == "own":  # the same optimizer reloads its own checkpoint
                side.opt.load_state_dict(side.opt.state_dict())
            elif source == "fresh":  # a new optimizer picks up the run
                sd = side.opt.state_dict()
                side.opt = getattr(optim, name)(side.params[:3], **kw)
                side.opt.load_state_dict(sd)
            else:  # torch's checkpoint, taken at the same point of torch's run
                side.opt.load_state_dict(other.opt.state_dict())
        return None
    lockstep(name, kw, event)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
@pytest.mark.parametrize("how", ["clear", "replace", "one"])
def test_state_reset_mid_run_starts_afresh(name, kw, how):
    # Resetting an optimizer (after pruning, a restart) by emptying its state: the group's flat
    # buffers must not carry the old moments on, and state_dict must see the new state.
    def event(k, side, other):
        if k in (4, 9):
            if how == "clear":
                side.opt.state.clear()
            elif how == "replace":
                side.opt.state = {} if side.fw == "nerve" else collections.defaultdict(dict)
            else:
                side.opt.state.pop(side.params[k % 3], None)  # torch keeps none for plain SGD
        return None
    ours, theirs = lockstep(name, kw, event)
    sd, tsd = ours.opt.state_dict()["state"], theirs.opt.state_dict()["state"]
    assert sorted(sd) == [0, 1, 2]
    for i, tstate in tsd.items():
        if "step" in tstate:
            assert sd[i]["step"] == int(tstate["step"].item())


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_entries_replaced_mid_run_are_used(name, kw):
    # opt.state[p][key] = new array (a partial reset), and the step count set back for all
    def event(k, side, other):
        if side.fw == "torch":
            return None
        tW = other.params[0]
        tstate = other.opt.state.get(tW, {})
        if k == 5:
            for key, tval in list(tstate.items()):
                if torch.is_tensor(tval) and tuple(tval.shape) == (3, 4):
                    other.opt.state[tW][key] = tval.detach().clone() * 0.5
                    side.opt.state[side.params[0]][key] = side.opt.state[side.params[0]][key] * 0.5
        if k == 9 and "step" in tstate:
            for tp, p in zip(other.params[:3], side.params[:3]):
                other.opt.state[tp]["step"] = torch.tensor(3.0)
                side.opt.state[p]["step"] = 3
        return None
    lockstep(name, kw, event)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_zero_grad_keeping_zeros_and_a_starved_parameter(name, kw):
    def event(k, side, other):
        side.use_u = k % 4 != 1  # u is out of the loss on some steps: its gradient stays zero
        return "keep"
    lockstep(name, kw, event, first_group=4)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
@pytest.mark.parametrize("dtypes", [(np.float32, np.float64, np.float64, np.float32), (np.float32,) * 4],
                         ids=["mixed", "all-float32"])
def test_float32_and_mixed_dtypes_in_one_group(name, kw, dtypes):
    lockstep(name, kw, dtypes=dtypes, first_group=4, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_a_parameters_storage_replaced_mid_run(name, kw):
    def event(k, side, other):
        if k in (3, 8):
            W = side.params[0]
            if side.fw == "nerve":
                W.data = W.numpy() * 0.5 + 0.1
            else:
                W.data = W.detach() * 0.5 + 0.1
        if k == 11:  # a fresh copy of the same values: the group re-adopts it
            v = side.params[1]
            if side.fw == "nerve":
                v.data = v.numpy().copy()
            else:
                v.data = v.detach().clone()
        return None
    lockstep(name, kw, event)


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
@pytest.mark.parametrize("how", ["scheduler", "by-hand", "one-cycle"])
def test_lr_changed_mid_run(name, kw, how):
    if how == "one-cycle" and (name in ("Adagrad", "Adadelta", "Rprop", "ASGD")
                               or (name == "RMSprop" and not kw.get("momentum"))):
        pytest.skip("torch refuses: no momentum/beta1 to cycle, or no momentum buffer made at start")
    def event(k, side, other):
        lib = optim.lr_scheduler if side.fw == "nerve" else torch.optim.lr_scheduler
        if how == "scheduler" and k == 0:
            side.sched = lib.StepLR(side.opt, step_size=3, gamma=0.5)
        if how == "one-cycle" and k == 2:  # made mid-run; cycles momentum/beta1 where there is one
            side.sched = lib.OneCycleLR(side.opt, max_lr=kw.get("lr", 0.01) * 3, total_steps=STEPS)
        if how == "by-hand" and k in (4, 9):
            for g in side.opt.param_groups:
                g["lr"] *= 0.3 if k == 4 else 4.0
        return None
    lockstep(name, kw, event)


# ------------------------------------------------ arrays and views held across the first step
def test_arrays_taken_before_the_first_flat_step_are_stale_views_taken_after_track():
    """As _flat.py documents: the first fast step moves each parameter into the group's buffer,
    so an array (``p.numpy()``) or a view (``p[0]``, ``p.detach()``) taken before it keeps the
    old values, while one taken afterwards follows every step and writes reach the optimizer."""
    a = nv.tensor(np.ones((2, 3)), requires_grad=True)
    b = nv.tensor(np.ones(3), requires_grad=True)
    old_array, old_row, old_detached = a.numpy(), a[0], a.detach()
    opt = optim.SGD([a, b], lr=0.25)

    def step():
        opt.zero_grad()
        ((a * a).sum() + (b * b).sum()).backward()
        opt.step()

    step()
    assert opt._flat[id(opt.param_groups[0])] is not False  # the fast path ran
    np.testing.assert_array_equal(a.numpy(), np.full((2, 3), 0.5))
    np.testing.assert_array_equal(old_array, np.ones((2, 3)))
    np.testing.assert_array_equal(old_row.numpy(), np.ones(3))
    np.testing.assert_array_equal(old_detached.numpy(), np.ones((2, 3)))
    row, arr = a[0], a.numpy()
    step()
    np.testing.assert_array_equal(row.numpy(), np.full(3, 0.25))
    np.testing.assert_array_equal(arr, np.full((2, 3), 0.25))
    arr[1] = 4.0  # a write through an array taken after the first step is seen by the next step
    step()
    np.testing.assert_array_equal(a.numpy(), [[0.125] * 3, [2.0] * 3])


def test_weight_tying_one_parameter_in_two_modules_matches_torch():
    rng = np.random.default_rng(3)
    emb, x = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    results = []
    for fw in ("nerve", "torch"):
        if fw == "nerve":
            enc, dec = nv.nn.Linear(3, 5), nv.nn.Linear(5, 3, bias=False)
            enc.weight = nv.nn.Parameter(nv.tensor(emb))
            enc.bias = nv.nn.Parameter(nv.tensor(np.zeros(5)))
            model = nv.nn.Sequential(enc, nv.nn.Tanh(), dec)
            inp = nv.tensor(x)
            mk = optim.Adam
        else:
            enc, dec = torch.nn.Linear(3, 5).double(), torch.nn.Linear(5, 3, bias=False).double()
            enc.weight = torch.nn.Parameter(torch.tensor(emb))
            enc.bias = torch.nn.Parameter(torch.zeros(5))
            model = torch.nn.Sequential(enc, torch.nn.Tanh(), dec)
            inp = torch.tensor(x)
            mk = lambda ps, **kw: torch.optim.Adam(ps, foreach=False, **kw)  # noqa: E731
        dec.weight = enc.weight  # tied: the same Parameter in two modules (used as h @ W below)
        params = list(model.parameters())
        assert len(params) == 2  # the tied weight once, then the bias
        opt = mk(params, lr=0.05)
        for _ in range(STEPS):
            opt.zero_grad()
            h = model[1](model[0](inp))
            out = h @ dec.weight  # (4, 5) @ (5, 3): the tied weight used a second time
            ((out - inp) ** 2).mean().backward()
            opt.step()
        results.append([p.detach().numpy().copy() if fw == "torch" else p.numpy().copy() for p in params])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------- clipping
@pytest.mark.parametrize("norm_type", [2.0, float("inf"), 1.0])
def test_clip_grad_norm_with_a_gradless_parameter_mixed_dtypes_and_an_empty_one(norm_type):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 2)), rng.standard_normal(4).astype(np.float32), np.zeros((0, 2)),
              rng.standard_normal(2)]
    if norm_type == float("inf"):
        arrays[2] = np.zeros((1, 2))  # torch refuses the inf norm of an empty gradient (nerve: 0)
    ours = [nv.tensor(np.zeros_like(a), requires_grad=True) for a in arrays]
    theirs = [torch.zeros(a.shape, dtype=torch.float32 if a.dtype == np.float32 else torch.float64,
                          requires_grad=True) for a in arrays]
    for i, a in enumerate(arrays):
        if i != 3:  # the last parameter has no gradient
            ours[i].grad = nv.tensor(a * 3)
            theirs[i].grad = torch.tensor(a * 3)
    total = nv.optim.clip_grad_norm_(ours, 0.7, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 0.7, norm_type=norm_type, foreach=False)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-6)
    for p, t in zip(ours, theirs):
        if t.grad is None:
            assert p.grad is None
            continue
        assert p.grad.dtype == t.grad.numpy().dtype
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    for p, t in zip(ours, theirs):
        if t.grad is not None:
            p.grad = nv.tensor(p.grad.numpy() * 50)
            t.grad = t.grad * 50
    nv.optim.clip_grad_value_(ours, 0.2)
    torch.nn.utils.clip_grad_value_(theirs, 0.2, foreach=False)
    for p, t in zip(ours, theirs):
        if t.grad is not None:
            np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


# ------------------------------------------------------------ PyTorch's constructor flags
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_torchs_flags_are_accepted_by_every_optimizer(name, kw):
    """Code written for PyTorch passes foreach=/fused=/capturable=; where torch accepts one,
    nerve must too (they select kernels, not results)."""
    import inspect  # noqa: PLC0415

    flags = {"foreach": False, "fused": False, "capturable": False, "differentiable": False}
    tparams = inspect.signature(getattr(torch.optim, name)).parameters
    given = {k: v for k, v in flags.items() if k in tparams}
    lockstep(name, dict(kw, **given), steps=3)
    with pytest.raises(ValueError, match="differentiable"):
        getattr(optim, name)(P.nerve_params(), **dict(kw, differentiable=True))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_with_decoupled_weight_decay_is_adamw_as_in_torch(amsgrad):
    kw = dict(lr=0.01, weight_decay=0.1, amsgrad=amsgrad, decoupled_weight_decay=True)
    ours, theirs = lockstep("Adam", kw)
    assert ours.opt.state_dict()["param_groups"][0]["decoupled_weight_decay"] is True
    # and AdamW's groups say so, as torch's do, so that a torch AdamW checkpoint loads as one
    w = Side("nerve", "AdamW", dict(lr=0.01))
    assert w.opt.param_groups[0]["decoupled_weight_decay"] is True


# ---------------------------------------------------------------- schedulers at their edges
# each maker builds its scheduler from the library it is given (nerve's or torch's)
SCHED = [
    ("StepLR-1", lambda L, o: L.StepLR(o, step_size=1, gamma=0.5)),
    ("StepLR-gamma1", lambda L, o: L.StepLR(o, step_size=3, gamma=1.0)),
    ("MultiStepLR-repeated", lambda L, o: L.MultiStepLR(o, milestones=[2, 2, 5, 9], gamma=0.3)),
    ("ExponentialLR", lambda L, o: L.ExponentialLR(o, gamma=0.8)),
    ("Cosine-Tmax1", lambda L, o: L.CosineAnnealingLR(o, T_max=1, eta_min=0.01)),
    ("Cosine-past-Tmax", lambda L, o: L.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
    ("LambdaLR-per-group", lambda L, o: L.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 / (e + 1)])),
    ("MultiplicativeLR", lambda L, o: L.MultiplicativeLR(o, lambda e: 0.95)),
    ("LinearLR-0-to-1", lambda L, o: L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4)),
    ("LinearLR-down", lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=10)),
    ("ConstantLR", lambda L, o: L.ConstantLR(o, factor=0.5, total_iters=3)),
    ("PolynomialLR", lambda L, o: L.PolynomialLR(o, total_iters=8, power=2.0)),
    ("WarmRestarts-Tmult2", lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
    ("OneCycle-linear", lambda L, o: L.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=25, anneal_strategy="linear",
                                                  pct_start=0.2, cycle_momentum=False)),
    ("OneCycle-3phase", lambda L, o: L.OneCycleLR(o, max_lr=0.4, total_steps=25, three_phase=True,
                                                  div_factor=10, final_div_factor=100)),
    ("Sequential", lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.2, total_iters=3),
                                                    L.ExponentialLR(o, gamma=0.9)], milestones=[5])),
    ("Chained", lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=4),
                                                 L.ExponentialLR(o, gamma=0.9)])),
]


@pytest.mark.parametrize("cid,make", SCHED, ids=[c[0] for c in SCHED])
def test_scheduler_lr_sequences_match_torch(cid, make):
    seqs = []
    for fw in ("nerve", "torch"):
        if fw == "nerve":
            ps = [nv.tensor(np.ones(2), requires_grad=True), nv.tensor(np.ones(3), requires_grad=True)]
            opt = optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}], lr=0.1, momentum=0.9)
            lib = optim.lr_scheduler
        else:
            ps = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
            opt = torch.optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}], lr=0.1, momentum=0.9)
            lib = torch.optim.lr_scheduler
        sched = make(lib, opt)
        seq = []
        for _ in range(24):
            seq.append([g["lr"] for g in opt.param_groups] + [float(v) for v in sched.get_last_lr()]
                       + [g["momentum"] for g in opt.param_groups])  # OneCycleLR cycles it
            opt.step()
            sched.step()
        seqs.append(np.array(seq, dtype=np.float64))
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("max", "abs"), ("min", "abs")])
def test_reduce_on_plateau_with_cooldown_and_min_lr_per_group_matches_torch(mode, threshold_mode):
    metrics = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.9, 2.9, 2.9, 2.9]
    if mode == "max":
        metrics = [-m for m in metrics]
    seqs = []
    for fw in ("nerve", "torch"):
        if fw == "nerve":
            ps = [nv.tensor(np.ones(2), requires_grad=True), nv.tensor(np.ones(3), requires_grad=True)]
            opt = optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}], lr=0.1)
            lib = optim.lr_scheduler
        else:
            ps = [torch.ones(2, requires_grad=True), torch.ones(3, requires_grad=True)]
            opt = torch.optim.SGD([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05}], lr=0.1)
            lib = torch.optim.lr_scheduler
        sched = lib.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1, threshold=1e-3,
                                      threshold_mode=threshold_mode, cooldown=2, min_lr=[0.02, 0.0], eps=1e-4)
        seq = []
        for m in metrics:
            opt.step()
            sched.step(m)
            seq.append([g["lr"] for g in opt.param_groups])
        seqs.append(np.array(seq))
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12)
