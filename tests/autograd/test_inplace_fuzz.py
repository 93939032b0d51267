"""Random programs of in-place writes through bases and views, checked against PyTorch.

Each program mixes ops that use a tensor, in-place ops on it, writes through slices and
flattened views, and uses of views made before a write (which PyTorch replays). Where
PyTorch computes gradients, nerve must compute the same ones; where PyTorch refuses
(a saved value was overwritten), nerve must refuse too.
"""
import numpy as np
import pytest

import nerve as nv

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

STEPS = ["use_h", "use_view", "mul_h", "add_h", "mul_view", "add_view_x", "setitem_col",
         "flat_set", "exp_h", "use_sin", "make_view", "nograd_mul", "detach_write", "view_setitem",
         "sigmoid_view"]


def run(lib, steps, a):
    x = lib.tensor(a, requires_grad=True)
    h = x * 2
    views = [h[:, 1:3]]
    terms = []
    for s in steps:
        v = views[-1]
        if s == "use_h":
            terms.append((h * 1.5).sum())
        elif s == "use_view":
            terms.append((v * v).sum())
        elif s == "mul_h":
            h.mul_(1.25)
        elif s == "add_h":
            h.add_(x)
        elif s == "mul_view":
            v.mul_(-2.0)
        elif s == "add_view_x":
            v.add_(x[:, :2])
        elif s == "setitem_col":
            h[:, 0] = x[:, 3] * 3
        elif s == "flat_set":
            h.view(-1)[5] = 0.5
        elif s == "exp_h":
            h.exp_()
        elif s == "use_sin":
            terms.append(h.sin().sum())
        elif s == "make_view":
            views.append(h[1:, :])
        elif s == "nograd_mul":
            with lib.no_grad():
                h.mul_(0.5)
        elif s == "detach_write":
            h.detach()[0, 0] = 2.0
        elif s == "view_setitem":
            v[0] = x[0, 1:3] * x[1, 1:3]
        elif s == "sigmoid_view":
            v.sigmoid_()

    terms.append((h * h).sum())
    terms.append(sum(((w + 0.5) * w).sum() for w in views))
    out = sum(terms)
    out.backward()
    return x.grad.numpy() if lib is nv else x.grad.detach().numpy()


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("NERVE_FUZZ", 60))))
def test_random_inplace_programs_match_torch(seed):
    rng = np.random.default_rng(seed)
    steps = list(rng.choice(STEPS, size=int(rng.integers(2, 7))))
    a = rng.normal(size=(3, 4))
    try:
        want = run(torch, steps, a)
    except RuntimeError:
        with pytest.raises(RuntimeError):
            run(nv, steps, a)
        return
    got = run(nv, steps, a)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=str(steps))
