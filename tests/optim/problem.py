"""A fixed random convex problem, built the same way in nerve and in torch.

loss(W, v, s) = ½‖W M‖² + ⟨C, W⟩ + ½ Σ d·v² − ⟨e, v⟩ + (s − 3)²

with W (3, 4), v (5,) and a 0-d s, so the optimizers see a matrix, a vector and a scalar.
"""
import numpy as np

import nerve as nv

_rng = np.random.default_rng(1234)
M = _rng.standard_normal((4, 4)) * 0.5 + np.eye(4)
C = _rng.standard_normal((3, 4))
D = _rng.uniform(0.5, 3.0, size=5)
E = _rng.standard_normal(5)
W0 = _rng.standard_normal((3, 4))
V0 = _rng.standard_normal(5)
S0 = np.array(0.5)
START = (W0, V0, S0)


def nerve_params(dtype=np.float64):
    return [nv.tensor(a, dtype=dtype, requires_grad=True) for a in START]


def nerve_loss(params, sign=1.0):
    W, v, s = params
    dt = W.dtype
    WM = W @ nv.tensor(M, dtype=dt)
    f = 0.5 * (WM * WM).sum() + (nv.tensor(C, dtype=dt) * W).sum() \
        + 0.5 * (nv.tensor(D, dtype=dt) * v * v).sum() - (nv.tensor(E, dtype=dt) * v).sum() \
        + (s - 3.0) * (s - 3.0)
    return f * sign if sign != 1.0 else f


def torch_params(torch):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in START]


def torch_loss(torch, params, sign=1.0):
    W, v, s = params
    WM = W @ torch.tensor(M)
    f = 0.5 * (WM * WM).sum() + (torch.tensor(C) * W).sum() \
        + 0.5 * (torch.tensor(D) * v * v).sum() - (torch.tensor(E) * v).sum() \
        + (s - 3.0) * (s - 3.0)
    return f * sign if sign != 1.0 else f


def run_nerve(make_opt, steps, params=None, sign=1.0, groups=None):
    """Run ``steps`` updates; return the list of parameter snapshots (NumPy copies) and the optimizer."""
    params = params if params is not None else nerve_params()
    opt = make_opt(params if groups is None else groups(params))
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        nerve_loss(params, sign).backward()
        opt.step()
        traj.append([p._data.copy() for p in params])
    return traj, opt


def run_torch(torch, make_opt, steps, sign=1.0, groups=None):
    params = torch_params(torch)
    opt = make_opt(params if groups is None else groups(params))
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        torch_loss(torch, params, sign).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj, opt


def sign_of(kw):
    """−1 for a ``maximize`` configuration: it then ascends −f (concave), so the run converges
    instead of blowing up; +1 otherwise."""
    return -1.0 if kw.get("maximize") else 1.0


def assert_same_trajectory(ours, theirs, rtol=1e-10):
    """Every parameter snapshot of two runs equal, step by step."""
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-13, err_msg=f"step {k + 1}")


def run_by_name(name, kw, steps, per_tensor, skip_at=None, sign=1.0):
    """``steps`` updates of ``nerve.optim.<name>(**kw)`` on the problem, through the group fast
    path or (``per_tensor``) the tensor-by-tensor loop; at step ``skip_at`` one tensor gets no
    gradient. Returns the snapshots, the optimizer and the parameters."""
    from nerve import optim  # noqa: PLC0415

    params = nerve_params()
    opt = getattr(optim, name)(params, **kw)
    if per_tensor:
        opt.elementwise = False  # force the tensor-by-tensor loop
    traj = []
    for k in range(steps):
        opt.zero_grad()
        nerve_loss(params, sign).backward()
        if k == skip_at:
            params[1].grad = None  # a step where one tensor has no gradient
        opt.step()
        traj.append([p._data.copy() for p in params])
    return traj, opt, params
