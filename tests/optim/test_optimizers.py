"""Optimizers: torch parity over 200 steps, groups, checkpoints, validation, dtype and in-place rules."""
import json

import numpy as np
import pytest

import nerve as nv
from nerve import optim
from optim import problem as P

# (name, kwargs): every option and the interesting combinations.
# NOTE: torch fuses multiply-adds (FMA) in its CPU kernels and NumPy cannot, so single steps
# agree to ~1 ulp, not bitwise. Where an optimizer oscillates around the optimum (a small
# RMSprop alpha or Adam beta1 with a large lr) such 1-ulp differences grow exponentially, so
# the rates below keep every 200-step run in the contracting regime.
CONFIGS = [
    ("SGD", dict(lr=0.01)),
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.01, momentum=0.8, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.05, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-3, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.001, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.5)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, eps=1e-4, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, betas=(0.85, 0.99), maximize=True)),
]
IDS = [f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw in CONFIGS]


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours, opt = P.run_nerve(lambda ps: getattr(optim, name)(ps, **kw), 200, sign=P.sign_of(kw))
    theirs, topt = P.run_torch(torch, lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw),
                               200, sign=P.sign_of(kw))
    P.assert_same_trajectory(ours, theirs)
    # the state has torch's names and values, keyed by parameter index
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2]
    assert set(tsd["state"]) <= set(sd["state"])  # torch keeps no state for plain SGD
    for i, tstate in tsd["state"].items():
        for key, tval in tstate.items():
            val = sd["state"][i][key]
            if key == "step":
                assert val == int(tval.item()) == 200
            else:
                np.testing.assert_allclose(val, tval.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.torch
def test_param_groups_with_own_hyperparameters_match_torch():
    torch = pytest.importorskip("torch")

    def groups(ps):
        return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.05, "momentum": 0.5},
                {"params": [ps[2]], "lr": 0.001, "nesterov": True}]

    ours, opt = P.run_nerve(lambda g: optim.SGD(g, lr=0.01, momentum=0.9), 200, groups=groups)
    theirs, _ = P.run_torch(torch, lambda g: torch.optim.SGD(g, lr=0.01, momentum=0.9, foreach=False),
                            200, groups=groups)
    P.assert_same_trajectory(ours, theirs)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.05, 0.001]
    assert opt.param_groups[2]["momentum"] == 0.9 and opt.param_groups[2]["nesterov"]


def test_sgd_step_scales_exactly_with_each_group_lr():
    a = nv.tensor([1.0, 2.0], dtype=nv.float64, requires_grad=True)
    b = nv.tensor([1.0, 2.0], dtype=nv.float64, requires_grad=True)
    opt = optim.SGD([{"params": [a], "lr": 0.25}, {"params": [b], "lr": 0.0625}])
    ((a * a).sum() + (b * b).sum()).backward()  # gradient [2, 4] for both
    opt.step()
    step_a = np.array([1.0, 2.0]) - a.numpy()
    step_b = np.array([1.0, 2.0]) - b.numpy()
    np.testing.assert_array_equal(step_a, [0.5, 1.0])
    np.testing.assert_array_equal(step_a, 4 * step_b)


def test_lr_can_be_changed_through_param_groups():
    w = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.param_groups[0]["lr"] = 0.5
    (w * w).sum().backward()
    opt.step()
    assert w.item() == 0.0


def test_add_param_group_fills_defaults_and_rejects_overlap():
    a = nv.tensor([1.0], requires_grad=True)
    b = nv.tensor([1.0], requires_grad=True)
    opt = optim.Adam([a], lr=0.01, betas=(0.8, 0.9))
    opt.add_param_group({"params": b, "lr": 0.1})
    assert opt.param_groups[1]["betas"] == (0.8, 0.9) and opt.param_groups[1]["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_the_exact_trajectory(name, kw):
    make = lambda ps: getattr(optim, name)(ps, **kw)  # noqa: E731
    sign = P.sign_of(kw)
    full, _ = P.run_nerve(make, 60, sign=sign)

    first, opt = P.run_nerve(make, 30, sign=sign)
    sd = opt.state_dict()
    _assert_plain(sd)
    # a fresh process: new tensors holding the saved values, a new optimizer, the loaded state
    params = [nv.tensor(a, dtype=nv.float64, requires_grad=True) for a in first[-1]]
    opt2 = make(params)
    opt2.load_state_dict(sd)
    rest = []
    for _ in range(30):
        opt2.zero_grad()
        P.nerve_loss(params, sign).backward()
        opt2.step()
        rest.append([p._data.copy() for p in params])
    for a, b in zip(full[30:], rest):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def _assert_plain(obj):
    """Only arrays, numbers, bools, strings, None, lists and dicts (checkpoint-friendly)."""
    if isinstance(obj, dict):
        for v in obj.values():
            _assert_plain(v)
    elif isinstance(obj, list):
        for v in obj:
            _assert_plain(v)
    else:
        assert obj is None or isinstance(obj, (np.ndarray, bool, int, float, str)), type(obj)


def test_state_dict_holds_copies_and_survives_json_for_the_groups():
    w = nv.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}  # scratch buffers stay out
    sd["state"][0]["exp_avg"][...] = 123.0
    assert not np.any(opt.state[w]["exp_avg"] == 123.0)
    groups = json.loads(json.dumps(sd["param_groups"]))
    assert groups[0]["betas"] == [0.9, 0.999] and groups[0]["params"] == [0]
    opt.load_state_dict({"state": {}, "param_groups": groups})
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)


def test_load_state_dict_rejects_a_mismatched_checkpoint():
    a = nv.tensor([1.0], requires_grad=True)
    b = nv.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="group 0 has 1 parameters but the checkpoint's has 2"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    sd["state"][1]["momentum_buffer"] = np.zeros(3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"shape \(3,\) but the parameter has shape \(2,\)"):
        opt.load_state_dict(sd)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1), "SGD: lr must be >= 0, got -1"),
    (lambda p: optim.SGD(p, momentum=-0.5), "momentum must be >= 0, got -0.5"),
    (lambda p: optim.SGD(p, weight_decay=-1e-4), "weight_decay must be >= 0, got -0.0001"),
    (lambda p: optim.SGD(p, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay must be >= 0, got -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.Adagrad(p, eps=-1), "eps must be >= 0"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "alpha must be >= 0, got -0.1"),
    (lambda p: optim.RMSprop(p, momentum=-1), "momentum must be >= 0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\), got -0.1"),
    (lambda p: optim.Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: optim.AdamW(p, weight_decay=-1), "AdamW: weight_decay must be >= 0, got -1"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps must be >= 0"),
    (lambda p: optim.SGD([{"params": p, "lr": -2}], lr=0.1), "lr must be >= 0, got -2"),
])
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make([nv.tensor([1.0], requires_grad=True)])


def test_a_hyperparameter_that_is_not_a_number_is_named():
    with pytest.raises(TypeError, match=r"SGD: lr must be a number >= 0, got '0.1' \(str\)"):
        optim.SGD([nv.tensor([1.0], requires_grad=True)], lr="0.1")


def test_bad_parameter_lists_are_rejected_clearly():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter(()))
    with pytest.raises(TypeError, match="single Tensor; wrap it in a list"):
        optim.SGD(nv.tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="only optimize Tensors, but parameter 1 of the group is a ndarray"):
        optim.SGD([nv.tensor([1.0], requires_grad=True), np.ones(2)])
    with pytest.raises(TypeError, match="floating-point tensors, but parameter 0 has dtype int64"):
        optim.SGD([nv.tensor([1, 2])])
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({nv.tensor([1.0], requires_grad=True)})
    x = nv.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2])
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([x, x])


def test_accepts_generators_lists_and_group_dicts():
    ps = [nv.tensor([1.0], requires_grad=True) for _ in range(3)]
    assert len(optim.SGD((p for p in ps)).param_groups[0]["params"]) == 3
    assert len(optim.SGD(ps).param_groups) == 1
    assert len(optim.SGD([{"params": ps[:2]}, {"params": iter(ps[2:])}]).param_groups) == 2


# ----------------------------------------------------- in-place, dtype, skipping
def _all_optimizers():
    return [lambda p, n=n, kw=kw: getattr(optim, n)(p, **kw) for n, kw in CONFIGS]


@pytest.mark.parametrize("make", _all_optimizers(), ids=IDS)
def test_float32_stays_float32_and_updates_in_place(make):
    params = P.nerve_params(np.float32)
    arrays = [p._data for p in params]
    opt = make(params)
    for _ in range(3):
        opt.zero_grad()
        P.nerve_loss(params).backward()
        grads = [p.grad._data for p in params]
        before = [g.copy() for g in grads]
        opt.step()
        for g, b in zip(grads, before):  # gradients are read, never written
            np.testing.assert_array_equal(g, b)
    for p, a in zip(params, arrays):
        # same tensors, same dtype; a flat group moves each parameter's storage into its buffer
        # once (on the first step) and then updates it in place
        assert p._data.dtype == np.float32 and p._version == 3
        assert p._data is a or (p._data.base is not None and not np.shares_memory(p._data, a))
    kept = [p._data for p in params]
    P.nerve_loss(params).backward()
    opt.step()
    assert all(p._data is k for p, k in zip(params, kept))
    for s in opt.state.values():
        for v in s.values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32


def test_a_gradient_shared_by_two_parameters_is_not_modified():
    a = nv.tensor([1.0, 2.0], dtype=nv.float64, requires_grad=True)
    b = nv.tensor([3.0, 4.0], dtype=nv.float64, requires_grad=True)
    shared = np.array([0.5, -0.5])
    a.grad = nv.tensor(shared)
    b.grad = nv.tensor(shared)
    b.grad._data = a.grad._data  # the engine may hand the same array to two leaves
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(a.grad._data, [0.5, -0.5])


def test_parameters_without_grad_are_skipped():
    a = nv.tensor([1.0], dtype=nv.float64, requires_grad=True)
    frozen = nv.tensor([5.0], dtype=nv.float64, requires_grad=True)
    opt = optim.Adam([a, frozen], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert frozen.item() == 5.0 and frozen not in opt.state
    assert a.item() != 1.0


def test_zero_grad_to_none_and_to_zeros():
    w = nv.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    g = w.grad._data
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and w.grad.tolist() == [0.0, 0.0]
    assert g.tolist() == [2.0, 4.0]  # a new array: the old one may be shared
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_returns_the_loss():
    w = nv.tensor([3.0], dtype=nv.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with nv.no_grad():  # the closure still records its graph
        loss = opt.step(closure)
    assert loss.item() == 9.0 and w.item() == 1.5


def test_repr_lists_the_groups():
    text = repr(optim.SGD([nv.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (") and "lr: 0.1" in text and "momentum: 0.9" in text


def test_docstring_examples_run():
    import doctest

    import nerve.optim.adagrad
    import nerve.optim.adam
    import nerve.nn.utils.clip
    import nerve.optim.lr_scheduler
    import nerve.optim.optimizer
    import nerve.optim.rmsprop
    import nerve.optim.sgd

    for mod in (nerve.optim, nerve.optim.optimizer, nerve.optim.sgd, nerve.optim.adagrad,
                nerve.optim.rmsprop, nerve.optim.adam, nerve.nn.utils.clip, nerve.optim.lr_scheduler):
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, mod.__name__
        assert result.attempted > 0, mod.__name__


# ------------------------------------------- the whole-group fast path (_flat.py)
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
@pytest.mark.parametrize("skip_at", [None, 20], ids=["all-grads", "grad-missing-at-20"])
def test_group_fast_path_is_bitwise_the_per_tensor_loop(name, kw, skip_at):
    fast, opt, params = P.run_by_name(name, kw, 40, per_tensor=False, skip_at=skip_at)
    slow, opt_slow, _ = P.run_by_name(name, kw, 40, per_tensor=True, skip_at=skip_at)
    used_fast_path = all(v is not False for v in opt._flat.values())
    assert bool(opt._flat) and used_fast_path == (skip_at is None)
    for a, b in zip(fast, slow):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
    # each tensor's state is a view of the group's buffers and reads like the slow one
    for p, q in zip(params, opt_slow.state):
        for key, value in opt_slow.state[q].items():
            if key.startswith("_"):
                continue
            got = opt.state[p][key]
            if isinstance(value, np.ndarray):
                assert got.shape == value.shape
                np.testing.assert_array_equal(got, value)
            else:
                assert got == value


def test_fast_path_adopts_a_loaded_state_and_the_slow_path_can_load_it():
    kw = dict(lr=0.01, amsgrad=True, weight_decay=0.1)
    full, _ = P.run_nerve(lambda ps: optim.Adam(ps, **kw), 20)
    first, opt = P.run_nerve(lambda ps: optim.Adam(ps, **kw), 10)
    sd = opt.state_dict()
    for per_tensor in (False, True):
        params = [nv.tensor(a, dtype=nv.float64, requires_grad=True) for a in first[-1]]
        opt2 = optim.Adam(params, **kw)
        if per_tensor:
            opt2.elementwise = False
        opt2.load_state_dict(sd)
        for k in range(10):
            opt2.zero_grad()
            P.nerve_loss(params).backward()
            opt2.step()
            for x, y in zip(full[10 + k], params):
                np.testing.assert_array_equal(x, y._data)
        assert bool(opt2._flat) != per_tensor


def test_fast_path_leaves_mixed_dtypes_and_lone_tensors_to_the_loop():
    a = nv.tensor([1.0, 2.0], dtype=nv.float64, requires_grad=True)
    b = nv.tensor([1.0, 2.0], dtype=nv.float32, requires_grad=True)
    opt = optim.Adam([{"params": [a, b]}, {"params": [nv.tensor([3.0], requires_grad=True)]}], lr=0.1)
    for p in opt.param_groups[1]["params"] + [a, b]:
        (p * p).sum().backward()
    opt.step()
    assert list(opt._flat.values()) == [False, False]
    assert a.dtype == np.float64 and b.dtype == np.float32
    np.testing.assert_allclose(a.numpy(), [0.9, 1.9])
    np.testing.assert_allclose(b.numpy(), [0.9, 1.9], rtol=1e-6)


def test_fast_path_steps_aside_when_the_group_list_is_edited():
    params = P.nerve_params()
    opt = optim.Adam(params[:2], lr=0.1)
    P.nerve_loss(params).backward()
    opt.step()
    assert list(opt._flat.values())[0] is not False
    opt.param_groups[0]["params"].append(params[2])  # edited in place
    opt.step()
    assert list(opt._flat.values()) == [False] and opt.state[params[2]]["step"] == 1
    assert opt.state[params[0]]["step"] == 2


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", [("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
                                     ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5))])
def test_a_torch_optimizer_state_dict_loads_and_continues_torchs_run(name, kw):
    torch = pytest.importorskip("torch")
    theirs, topt = P.run_torch(torch, lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kw), 30)
    params = [nv.tensor(a, dtype=nv.float64, requires_grad=True) for a in theirs[-1]]
    opt = getattr(optim, name)(params, **kw)
    opt.load_state_dict(topt.state_dict())
    tparams = topt.param_groups[0]["params"]
    for _ in range(20):
        opt.zero_grad()
        P.nerve_loss(params).backward()
        opt.step()
        topt.zero_grad()
        P.torch_loss(torch, tparams).backward()
        topt.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-10)
