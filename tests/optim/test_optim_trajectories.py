"""Optimizer trajectories against PyTorch with every option on at once, on both of nerve's
code paths in one optimizer: a group of small tensors (run as one flat array, _flat.py) and
groups that take the per-tensor loop (one tensor; a pair whose mean size is over the
fast-path limit). Each group has its own hyperparameters; on the way, a gradient goes
missing, one parameter's gradient is always zero, learning rates change by hand, and the
run moves into a fresh optimizer through ``state_dict``/``load_state_dict``. Parameters
are compared after every step.

Also: checkpoints from before an option existed or from another optimizer, parameters
made as views of one buffer of the user's, a tensor put into a group's list in place,
complex parameters, L-BFGS's options, and the messages for bad hyperparameters and
mismatched checkpoints.

NOTE: torch fuses multiply-adds and NumPy cannot, so steps agree to ~1 ulp, not bitwise;
float64 runs are compared to 1e-10 of each parameter's largest entry (float32 to 2e-4).
"""
from __future__ import annotations

import numpy as np
import pytest

import nerve as nv
from nerve import optim
from nerve.optim import _flat

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from .test_optim_edges import torch64  # noqa: E402,F401  (autouse: torch in float64 here too)

CONFIGS = [
    ("SGD", dict(lr=0.01, momentum=0.9, dampening=0.3, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, betas=(0.8, 0.99))),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.3)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True, betas=(0.8, 0.95))),
    ("NAdam", dict(lr=0.01, momentum_decay=0.1, decoupled_weight_decay=True, weight_decay=0.2, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.2, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, betas=(0.9, 0.9))),  # rho_t passes 5 at step 6
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.3, weight_decay=0.1, maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.7, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict(lr=0.02, t0=5, lambd=0.01, alpha=0.5, weight_decay=0.1, maximize=True)),
]
IDS = [f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw in CONFIGS]

_rng = np.random.default_rng(11)
# group 0 (flat): W, v, s and u (whose gradient is always zero); group 1: one tensor;
# group 2: a pair over the (lowered) size limit
SHAPES = [(3, 4), (5,), (), (4,), (60,), (20,), (30,)]
GROUPS = [[0, 1, 2, 3], [4], [5, 6]]
START = [_rng.standard_normal(s) for s in SHAPES]
CURV = [_rng.uniform(0.5, 2.0, size=s) for s in SHAPES]
LIN = [_rng.standard_normal(s) for s in SHAPES]
STEPS = 25


@pytest.fixture(autouse=True)
def small_fast_path_limit(monkeypatch):
    monkeypatch.setattr(_flat, "MAX_MEAN_SIZE", 16)  # group 0's mean is 5.25, group 2's 25


def _loss(lib, params, sign):
    total = 0
    for i, p in enumerate(params):
        a, b = lib.tensor(CURV[i]), lib.tensor(LIN[i])
        x = p.double()
        if i == 3:
            total = total + (x * 0.0).sum()  # in the graph, with a zero gradient
        else:
            total = total + (0.5 * a * x * x + b * x + 0.05 * x * x * x * x).sum()
    return total * sign


def _groups(params, kw):
    lr = kw["lr"]
    out = [{"params": [params[i] for i in GROUPS[0]]},
           {"params": [params[i] for i in GROUPS[1]], "lr": lr * 0.5},
           {"params": [params[i] for i in GROUPS[2]], "lr": lr * 2}]
    if "weight_decay" in kw:
        out[2]["weight_decay"] = 0.0
    return out


def _rel_close(a, b, rtol):
    return np.max(np.abs(a - b), initial=0.0) <= rtol * np.max(np.abs(b), initial=0.0) + 1e-14


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_every_option_at_once_on_both_paths_matches_torch(name, kw, dtype):
    sign = -1.0 if kw.get("maximize") else 1.0
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    ours = [nv.tensor(a.astype(dtype), requires_grad=True) for a in START]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in START]
    opt = getattr(optim, name)(_groups(ours, kw), **kw)
    topt = getattr(torch.optim, name)(_groups(theirs, kw), foreach=False, **kw)
    for k in range(STEPS):
        if k in (7, 14):  # a fresh optimizer, built with other hyperparameters, picks the run up
            saved = opt.state_dict()
            opt = getattr(optim, name)([{"params": g["params"]} for g in opt.param_groups])
            opt.load_state_dict(saved)
        for o in (opt, topt):
            if k in (5, 12):
                for g, f in zip(o.param_groups, (0.3, 2.0, 0.7) if k == 5 else (3.0, 0.5, 1.5)):
                    g["lr"] *= f
            o.zero_grad()
        _loss(nv, ours, sign).backward()
        _loss(torch, theirs, sign).backward()
        for i in {10: (1,), 11: (1, 4), 17: (5,), 20: (0, 6)}.get(k, ()):
            ours[i].grad = None
            theirs[i].grad = None
        opt.step()
        topt.step()
        if k == 9:  # before any gradient went missing, and after the reload: groups on their paths
            paths = [opt._flat.get(id(g)) for g in opt.param_groups]
            assert isinstance(paths[0], _flat.FlatGroup) and paths[1] is False and paths[2] is False
        for i, (a, b) in enumerate(zip(ours, theirs)):
            a, b = a.numpy().astype(np.float64), b.detach().numpy().astype(np.float64)
            assert _rel_close(a, b, rtol), f"step {k + 1}, parameter {i}: {np.max(np.abs(a - b))}"


# ------------------------------------------- checkpoints saved before an option existed
OLD_KEYS = {"maximize": False, "decoupled_weight_decay": False, "foreach": None, "differentiable": False,
            "capturable": False, "fused": None, "momentum_decay": 4e-3}


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", dict(lr=0.01)),
                                     ("NAdam", dict(lr=0.01)), ("RAdam", dict(lr=0.01)),
                                     ("RMSprop", dict(lr=0.01, centered=True)), ("Rprop", dict(lr=0.05)),
                                     ("ASGD", dict(lr=0.02))], ids=lambda v: v if isinstance(v, str) else "")
def test_a_checkpoint_without_newer_options_loads_and_runs_on(name, kw):
    """Group keys the checkpoint lacks (an older PyTorch's) keep the optimizer's values
    instead of vanishing and failing the next step."""
    ours = [nv.tensor(a, requires_grad=True) for a in START[:3]]
    theirs = [torch.tensor(a, requires_grad=True) for a in START[:3]]
    opt = getattr(optim, name)(ours, **kw)
    topt = getattr(torch.optim, name)(theirs, foreach=False, **kw)
    for k in range(12):
        if k == 6:
            saved = topt.state_dict()
            for g in saved["param_groups"]:
                for key, default in OLD_KEYS.items():
                    if key in g and g[key] == default:
                        del g[key]
            opt = getattr(optim, name)(ours, **kw)
            opt.load_state_dict(saved)
        for o, ps, lib in ((opt, ours, nv), (topt, theirs, torch)):
            o.zero_grad()
            _loss(lib, ps, 1.0).backward()
            o.step()
        for a, b in zip(ours, theirs):
            assert _rel_close(a.numpy(), b.detach().numpy(), 1e-10), f"step {k + 1}"


# ------------------------------------------------- parameters made as views of one buffer
ELEMENTWISE = [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05, amsgrad=True)),
               ("NAdam", dict(lr=0.05)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3)),
               ("Rprop", dict(lr=0.05)), ("ASGD", dict(lr=0.05, t0=3)),
               ("LBFGS", dict(lr=0.5, max_iter=3)), ("LBFGS", dict(line_search_fn="strong_wolfe", max_iter=3))]


def _views(buf, layout):
    if layout == "end-to-end":  # one flat weight vector, cut into the parameters in order
        return [buf[0:12].reshape(3, 4), buf[12:18].reshape(2, 3), buf[18:18], buf[18:19].reshape(()),
                buf[19:24]]
    # the same buffer cut with gaps, a transposed piece and a strided one
    return [buf[0:12].reshape(3, 4), buf[13:19].reshape(3, 2).T, buf[20:21].reshape(()), buf[22:32:2]]


@pytest.mark.parametrize("layout", ["end-to-end", "gaps-and-strides"])
@pytest.mark.parametrize("name,kw", ELEMENTWISE, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ELEMENTWISE)])
def test_parameters_made_as_views_of_one_buffer_keep_updating_it(name, kw, layout):
    """As in PyTorch, the user's buffer follows the parameters (the fast path used to move
    them into a buffer of its own after its first step, leaving the user's one behind)."""
    base = np.random.default_rng(5).standard_normal(32)
    curv = np.random.default_rng(6).uniform(0.5, 2.0, 32)
    runs = {}
    for fw in ("nerve", "torch"):
        buf = base.copy()
        if fw == "nerve":
            ps = [nv.Tensor(a, requires_grad=True) for a in _views(buf, layout)]
            opt = getattr(optim, name)(ps, **kw)
        else:
            ps = [a.requires_grad_() for a in _views(torch.from_numpy(buf), layout)]
            opt = getattr(torch.optim, name)(ps, **kw)
        lib = nv if fw == "nerve" else torch

        def closure(k=0, ps=ps, opt=opt, lib=lib):
            opt.zero_grad()
            total = 0
            for i, p in enumerate(ps):
                n = int(np.prod(p.shape))
                a = lib.tensor(curv[i * 5:i * 5 + n].reshape(tuple(p.shape)))
                total = total + (0.5 * a * p * p + 0.1 * p ** 4 - p).sum()
            total.backward()
            if k % 3 == 1 and name != "LBFGS":
                ps[1].grad = None
            if name == "LBFGS" and layout != "end-to-end":
                for p in ps:  # torch's L-BFGS flattens gradients with view(), not reshape()
                    p.grad = p.grad.contiguous() if fw == "torch" else p.grad
            return total

        bufs = []
        for k in range(12):
            if name == "LBFGS":
                opt.step(closure)
            else:
                closure(k)
                opt.step()
            bufs.append(buf.copy())
            if k == 0 and fw == "nerve" and name != "LBFGS":  # the path the group took
                flat = opt._flat.get(id(opt.param_groups[0]))
                assert isinstance(flat, _flat.FlatGroup) if layout == "end-to-end" else flat is False
        runs[fw] = bufs
    for k, (a, b) in enumerate(zip(runs["nerve"], runs["torch"])):
        assert _rel_close(a, b, 1e-10), f"step {k + 1}: the buffer no longer follows the parameters"


def test_each_optimizer_owns_its_buffer_when_the_same_parameters_are_regrouped():
    """Parameters living in one optimizer's flat buffer are not a user's buffer: a second
    optimizer over some of them (not lying end to end there) still takes its fast path."""
    ps = [nv.tensor(a, requires_grad=True) for a in START[:4]]
    first = optim.Adam(ps, lr=0.01)
    for o in (first, optim.Adam([ps[0], ps[2]], lr=0.01)):
        o.zero_grad()
        _loss(nv, ps, 1.0).backward()
        o.step()
        assert isinstance(o._flat[id(o.param_groups[0])], _flat.FlatGroup)


# ------------------------------------------------------------------------------ messages
BAD = [("SGD", "lr", -1), ("SGD", "momentum", -0.1), ("SGD", "weight_decay", -1), ("SGD", "lr", float("nan")),
       ("Adam", "eps", -1), ("Adam", "betas", (1.0, 0.9)), ("AdamW", "betas", (0.9, 1.0)),
       ("Adamax", "weight_decay", -1), ("NAdam", "momentum_decay", -1), ("RAdam", "betas", (0.9, -0.1)),
       ("Adagrad", "lr_decay", -1), ("Adagrad", "initial_accumulator_value", -1), ("Adadelta", "rho", 1.5),
       ("RMSprop", "alpha", -1), ("RMSprop", "momentum", -1), ("Rprop", "etas", (1.2, 0.5)),
       ("Rprop", "step_sizes", (1, 0.1)), ("ASGD", "weight_decay", -1), ("LBFGS", "history_size", 0),
       ("LBFGS", "lr", -1)]


@pytest.mark.parametrize("name,key,value", BAD, ids=[f"{n}-{k}={v}" for n, k, v in BAD])
def test_a_bad_hyperparameter_is_named_with_its_value(name, key, value):
    with pytest.raises(ValueError, match=key) as err:
        getattr(optim, name)([nv.tensor(np.zeros(2), requires_grad=True)], **{key: value})
    shown = [repr(v) for v in value] if isinstance(value, tuple) else [repr(value)]
    assert any(s in str(err.value) for s in shown), str(err.value)


def test_a_mismatched_checkpoint_says_what_differs():
    def make(groups):
        ps = [nv.tensor(a, requires_grad=True) for a in START[:3]]
        opt = optim.Adam([{"params": [ps[i] for i in g]} for g in groups], lr=0.01)
        opt.zero_grad()
        _loss(nv, ps, 1.0).backward()
        opt.step()
        return opt

    saved = make([[0, 1], [2]]).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups but this optimizer has 1"):
        make([[0, 1, 2]]).load_state_dict(saved)
    with pytest.raises(ValueError, match="parameter group 0 has 1 parameters but the checkpoint's has 2"):
        make([[0], [1, 2]]).load_state_dict(saved)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(3, 4\) but the parameter "
                                         r"has shape \(5,\)"):
        make([[1, 0], [2]]).load_state_dict(saved)


# ------------------------------------------------- a group's list edited in place mid-run
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.05, amsgrad=True)),
                                     ("Adagrad", dict(lr=0.1)), ("NAdam", dict(lr=0.05)), ("Rprop", dict(lr=0.05))],
                         ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("how", ["replace-one", "reorder"])
def test_a_tensor_put_into_a_groups_list_in_place_gets_its_own_state(name, kw, how):
    """``group["params"][i] = new_tensor`` (a layer's weight swapped) or a reordered list: the
    flat group kept updating by position, so the new tensor inherited the old one's
    moments (PyTorch keys state by tensor: the new one starts afresh)."""
    sides = []
    for lib, lib_optim in ((nv, optim), (torch, torch.optim)):
        ps = [lib.tensor(a, requires_grad=True) for a in START[:4]]
        sides.append((lib, ps, getattr(lib_optim, name)(ps, **kw)))
    for k in range(10):
        for lib, ps, opt in sides:
            if k == 4:
                group = opt.param_groups[0]["params"]
                if how == "replace-one":
                    ps[1] = lib.tensor(START[1] * 2.0, requires_grad=True)
                    group[1] = ps[1]
                else:
                    group.reverse()
            opt.zero_grad()
            _loss(lib, ps, 1.0).backward()
            opt.step()
        for i, (a, b) in enumerate(zip(sides[0][1], sides[1][1])):
            assert _rel_close(a.numpy(), b.detach().numpy(), 1e-10), f"step {k + 1}, parameter {i}"


# ---------------------------------------------------------------- complex parameters
# PyTorch updates a complex parameter as the pair (real, imaginary) of real numbers; nerve
# used to run the rules on complex numbers (d² is not |d|², sign(z) and max are not per part)
COMPLEX = [("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1, nesterov=True)),
           ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)), ("AdamW", dict(lr=0.05, maximize=True)),
           ("Adamax", dict(lr=0.05, weight_decay=0.1)),
           ("NAdam", dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1)),
           ("RAdam", dict(lr=0.05, betas=(0.9, 0.9))),
           ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.3, lr_decay=0.1, weight_decay=0.1)),
           ("Adadelta", dict(lr=0.5, weight_decay=0.1)),
           ("RMSprop", dict(lr=0.01, centered=True, momentum=0.4, weight_decay=0.1)),
           ("Rprop", dict(lr=0.05)), ("ASGD", dict(lr=0.02, t0=3, weight_decay=0.1))]
_crng = np.random.default_rng(4)
Z0 = [_crng.standard_normal((3, 2)) + 1j * _crng.standard_normal((3, 2)),
      _crng.standard_normal(4) + 1j * _crng.standard_normal(4), np.array(0.3 - 0.7j), _crng.standard_normal(3)]
ZT = [_crng.standard_normal(z.shape) + 1j * _crng.standard_normal(z.shape) for z in Z0]


def _complex_grads(ps, lib):
    """Gradients of Σ|p − t|²·(1 + 0.2|p − t|²), as ∂L/∂Re + i·∂L/∂Im; the loss."""
    total = 0.0
    for p, t in zip(ps, ZT):
        x = p.detach().numpy() if lib is torch else p.numpy()
        d = x - (t if np.iscomplexobj(x) else t.real)
        sq = np.abs(d) ** 2
        total += float((sq * (1 + 0.2 * sq)).sum())
        p.grad = lib.tensor(2 * d * (1 + 0.4 * sq))
    return lib.tensor(total, dtype=lib.float64)


@pytest.mark.parametrize("name,kw", COMPLEX, ids=[n for n, _ in COMPLEX])
def test_complex_parameters_update_as_real_pairs_as_in_torch(name, kw):
    ours = [nv.tensor(z.copy(), requires_grad=True) for z in Z0]
    theirs = [torch.tensor(z.copy(), requires_grad=True) for z in Z0]
    def groups(ps):  # the complex tensors in a group of their own (one the fast path would take)
        return [{"params": ps[:3]}, {"params": ps[3:]}]

    opt = getattr(optim, name)(groups(ours), **kw)
    topt = getattr(torch.optim, name)(groups(theirs), foreach=False, **kw)
    for k in range(12):
        if k == 6:  # the complex state goes through a checkpoint
            saved = opt.state_dict()
            opt = getattr(optim, name)(groups(ours), **kw)
            opt.load_state_dict(saved)
        for ps, lib in ((ours, nv), (theirs, torch)):
            _complex_grads(ps, lib)
            if k == 3:
                ps[1].grad = None
        opt.step()
        topt.step()
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert _rel_close(a.numpy(), b.detach().numpy(), 1e-10), f"step {k + 1}, parameter {i}"
    arrays = [v for v in opt.state_dict()["state"][0].values() if hasattr(v, "dtype")]
    assert arrays and all(v.dtype.kind == "c" for v in arrays)  # complex state, as torch keeps it


@pytest.mark.parametrize("kw", [dict(lr=0.5, max_iter=4), dict(line_search_fn="strong_wolfe", max_iter=5,
                                                               history_size=3)], ids=["fixed-lr", "wolfe"])
def test_lbfgs_with_complex_parameters_matches_torch(kw):
    runs = []
    for lib, lib_optim in ((nv, optim), (torch, torch.optim)):
        ps = [lib.tensor(z.copy(), requires_grad=True) for z in Z0]
        opt = lib_optim.LBFGS(ps, **kw)
        for k in range(5):
            if k == 3 and lib is nv:
                saved = opt.state_dict()
                opt = optim.LBFGS(ps, **kw)
                opt.load_state_dict(saved)
            opt.step(lambda ps=ps, lib=lib: _complex_grads(ps, lib))
        runs.append([np.array(p.detach().numpy() if lib is torch else p.numpy()) for p in ps])
    for a, b in zip(*runs):
        assert _rel_close(a, b, 1e-9)


def test_views_of_a_read_only_buffer_are_copied_out_and_trained():
    """A read-only buffer (a mapped file) cannot follow the parameters: the fast path still
    moves them into its own buffer and trains them, as before."""
    buf = np.arange(1.0, 10.0)
    buf.flags.writeable = False
    ps = [nv.Tensor(buf[:4], requires_grad=True), nv.Tensor(buf[4:], requires_grad=True)]
    opt = optim.SGD(ps, lr=0.25)
    opt.zero_grad()
    sum((p * p).sum() for p in ps).backward()
    opt.step()
    np.testing.assert_array_equal(np.concatenate([p.numpy() for p in ps]), np.arange(1.0, 10.0) * 0.5)
    np.testing.assert_array_equal(buf, np.arange(1.0, 10.0))


@pytest.mark.parametrize("saver,loader", [("SGD", "Adam"), ("Adam", "SGD"), ("RMSprop", "Adagrad"), ("Rprop", "ASGD")])
def test_a_checkpoint_from_another_optimizer_is_refused(saver, loader):
    """Hyperparameters a checkpoint lacks keep the optimizer's values, so a checkpoint of
    another rule would otherwise load quietly and restart the moments from zero."""
    ps = [nv.tensor(a, requires_grad=True) for a in START[:3]]
    src = getattr(optim, saver)(ps, lr=0.01, **({"momentum": 0.9} if saver == "SGD" else {}))
    _loss(nv, ps, 1.0).backward()
    src.step()
    with pytest.raises(ValueError, match=f"{loader}.load_state_dict: the checkpoint's state for parameter 0 "
                                         r"holds \[.*\], none of which"):
        getattr(optim, loader)(ps, lr=0.01).load_state_dict(src.state_dict())
    # a neighbouring rule with the same moments still takes it (as PyTorch does)
    if saver == "Adam":
        optim.NAdam(ps, lr=0.01).load_state_dict(src.state_dict())


# ------------------------------------------------------------------------------- L-BFGS
LBFGS_CONFIGS = [dict(), dict(line_search_fn="strong_wolfe"), dict(lr=0.1, max_iter=3, history_size=2),
                 dict(line_search_fn="strong_wolfe", history_size=2, max_iter=5, tolerance_change=1e-3),
                 dict(lr=0.5, tolerance_change=1e-2, max_iter=7),
                 dict(line_search_fn="strong_wolfe", max_eval=4, max_iter=10, tolerance_grad=1e-3)]


@pytest.mark.parametrize("kw", LBFGS_CONFIGS, ids=[",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"
                                                    for kw in LBFGS_CONFIGS])
def test_lbfgs_with_a_gradless_parameter_an_lr_change_and_a_reload_matches_torch(kw):
    """Three tensors (one never in the loss: no gradient), the early stops on
    tolerance_change/tolerance_grad/max_eval, a short history, lr changed by hand and the
    run moved into a fresh optimizer by state_dict."""
    rng = np.random.default_rng(3)
    start = [rng.standard_normal((2, 3)), rng.standard_normal(4), np.array(0.7), rng.standard_normal(2)]
    target = [rng.uniform(0.5, 2, s.shape) for s in start]
    runs = []
    for lib, lib_optim in ((nv, optim), (torch, torch.optim)):
        ps = [lib.tensor(s, requires_grad=True) for s in start]
        opt = lib_optim.LBFGS(ps, **kw)

        def closure(ps=ps, lib=lib):
            for p in ps:
                p.grad = None
            total = 0
            for p, t in zip(ps[:3], target):
                total = total + ((p - lib.tensor(t)) ** 2 * (1 + 0.3 * p * p)).sum() + 0.1 * (p.sum() - 1) ** 2
            total.backward()
            return total

        traj = []
        for k in range(8):
            if k == 3 and lib is nv:
                saved = opt.state_dict()
                opt = optim.LBFGS(ps)  # other hyperparameters: the checkpoint's are used
                opt.load_state_dict(saved)
            if k == 5:
                opt.param_groups[0]["lr"] *= 0.5
            loss = float(opt.step(closure).detach())
            traj.append((loss, [np.array(p.detach().numpy() if lib is torch else p.numpy()) for p in ps]))
        state = opt.state[ps[0]]
        runs.append((traj, state["func_evals"], state["n_iter"]))
    (ours, evals, iters), (theirs, tevals, titers) = runs
    for k, ((loss, a), (tloss, b)) in enumerate(zip(ours, theirs)):
        assert loss == pytest.approx(tloss, rel=1e-9, abs=1e-12), f"step {k + 1}"
        for x, y in zip(a, b):
            assert _rel_close(x, y, 1e-9), f"step {k + 1}"
    assert (evals, iters) == (tevals, titers)
