"""Meta-learning: MAML (second and first order) and Reptile on sinusoid tasks (spec row 98)."""
import math

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.autograd import GradcheckError, gradcheck
from nerve.nn.utils import functional_call
from nerve.train import MAML, Reptile, SinusoidTasks
from nerve.train.meta import finetune_loss


def _tiny():
    return nn.Sequential(nn.Linear(1, 5), nn.Tanh(), nn.Linear(5, 1)).double()


def test_sinusoid_tasks_follow_the_spec_ranges_and_the_seed():
    tasks = SinusoidTasks(seed=0)
    drawn = [tasks.task() for _ in range(500)]
    amps = [t.amplitude for t in drawn]
    phases = [t.phase for t in drawn]
    assert 0.1 <= min(amps) and max(amps) <= 5.0 and 0 <= min(phases) and max(phases) <= math.pi
    xs, ys, xq, yq = SinusoidTasks(seed=3).batch(1)[0]
    assert xs.shape == (10, 1) and xq.shape == (10, 1) and np.all(np.abs(xs) <= 5)
    again = SinusoidTasks(seed=3).batch(1)[0]
    assert all(np.array_equal(a, b) for a, b in zip((xs, ys, xq, yq), again))


def test_functional_call_substitutes_and_restores():
    net = _tiny()
    x = nv.randn(4, 1, dtype=nv.float64)
    params = {n: p * 2 for n, p in net.named_parameters()}
    out = functional_call(net, params, x)
    ref = nv.tanh(x @ params["0.weight"].T + params["0.bias"]) @ params["2.weight"].T + params["2.bias"]
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-14)
    assert net[0].weight is dict(net.named_parameters())["0.weight"]  # put back
    with pytest.raises(KeyError, match="no parameter or buffer named 'nope'"):
        functional_call(net, {"nope": x}, x)


def _meta_fn(maml, names, task):
    def fn(*tensors):
        return maml.task_loss(dict(zip(names, tensors)), *task)
    return fn


def test_second_order_meta_gradient_passes_gradcheck_and_first_order_does_not():
    nv.manual_seed(0)
    net = _tiny()
    task = SinusoidTasks(seed=1, k_shot=10, k_query=10).batch(1)[0]
    names = [n for n, _ in net.named_parameters()]
    inputs = [p.detach().requires_grad_(True) for p in net.parameters()]
    maml = MAML(net, inner_lr=0.1, inner_steps=2)
    assert gradcheck(_meta_fn(maml, names, task), inputs, eps=1e-6, atol=1e-8, rtol=1e-5)
    # FOMAML drops the Hessian term, so its gradient is not the true meta-gradient
    fomaml = MAML(net, inner_lr=0.1, inner_steps=2, first_order=True)
    with pytest.raises(GradcheckError):
        gradcheck(_meta_fn(fomaml, names, task), inputs, eps=1e-6, atol=1e-8, rtol=1e-5)
    # ... but its value is the same adapted loss
    assert fomaml.task_loss(dict(zip(names, inputs)), *task).item() == pytest.approx(
        maml.task_loss(dict(zip(names, inputs)), *task).item(), abs=1e-14)


def test_outer_loss_backpropagates_into_the_model():
    net = _tiny()
    maml = MAML(net, inner_lr=0.05)
    loss = maml.outer_loss(SinusoidTasks(seed=0).batch(3))
    loss.backward()
    assert all(p.grad is not None and np.any(p.grad.numpy() != 0) for p in net.parameters())
    fast = maml.adapt(*SinusoidTasks(seed=0).batch(1)[0][:2])
    assert set(fast) == {"0.weight", "0.bias", "2.weight", "2.bias"} and not fast["0.weight"].requires_grad
    with pytest.raises(ValueError, match="inner_steps"):
        MAML(net, inner_steps=0)


def _net():
    return nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1)).double()


@pytest.mark.slow
def test_maml_beats_joint_pretraining_after_one_step_on_100_new_tasks():
    iterations, inner_lr = 1000, 0.01
    nv.manual_seed(0)
    model = _net()
    maml = MAML(model, inner_lr=inner_lr, inner_steps=1)
    maml.fit(SinusoidTasks(seed=0), optim.Adam(model.parameters(), lr=1e-3), iterations, meta_batch=5)
    # the baseline sees as many points, pooled over tasks, with ordinary regression
    nv.manual_seed(0)
    joint = _net()
    opt = optim.Adam(joint.parameters(), lr=1e-3)
    pool = SinusoidTasks(seed=100)
    for _ in range(iterations):
        batch = pool.batch(5)
        x = np.concatenate([np.concatenate([t[0], t[2]]) for t in batch])
        y = np.concatenate([np.concatenate([t[1], t[3]]) for t in batch])
        loss = nv.functional.mse_loss(joint(nv.tensor(x)), nv.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    new_tasks = SinusoidTasks(seed=999, k_query=100).batch(100)
    m, b = finetune_loss(model, new_tasks, inner_lr, 1), finetune_loss(joint, new_tasks, inner_lr, 1)
    print(f"MSE after one step on 100 new tasks: MAML {m:.3f}, joint pretraining {b:.3f}")
    assert m < 0.75 * b  # measured at 2000 iterations: 1.29 against 2.80


@pytest.mark.slow
def test_reptile_moves_towards_adapted_weights_and_helps():
    nv.manual_seed(0)
    model = _net()
    tasks = SinusoidTasks(seed=5)
    new_tasks = SinusoidTasks(seed=998, k_query=50).batch(30)
    before = finetune_loss(model, new_tasks, 0.02, 5)
    w = model[0].weight.numpy().copy()
    Reptile(model, inner_lr=0.02, inner_steps=5, outer_lr=0.3).fit(tasks, 500)
    assert not np.array_equal(w, model[0].weight.numpy())
    after = finetune_loss(model, new_tasks, 0.02, 5)
    print(f"Reptile: 5-step loss {before:.3f} → {after:.3f}")
    assert after < 0.7 * before  # measured 4.50 → 2.60
