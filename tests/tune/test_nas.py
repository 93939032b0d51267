"""Architecture search: a space of MLPs, random search and regularised evolution (spec row 41)."""
import time

import numpy as np
import pytest

import nerve as nv
from nerve import functional as F
from nerve import optim, tune


def _moons(n, seed, noise=0.2):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return x + noise * rng.standard_normal((n, 2)), upper.astype(np.int64)


X, Y = _moons(300, seed=0)
XV, YV = _moons(300, seed=1)
SPACE = tune.SearchSpace(depth=(0, 1, 2, 3), width=(2, 4, 16, 32), activation=("relu", "tanh", "identity"),
                         dropout=(0.0, 0.2))


def evaluate(arch, steps=60):
    """Train the architecture on the moons for a few full-batch Adam steps; validation accuracy."""
    model = SPACE.build(arch, 2, 2).double()
    opt = optim.Adam(model.parameters(), lr=0.03)
    x, y = nv.tensor(X), nv.tensor(Y)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with nv.no_grad():
        return float((model(nv.tensor(XV)).numpy().argmax(1) == YV).mean())


def test_search_space_samples_mutates_and_builds():
    rng = np.random.default_rng(0)
    assert len(SPACE) == 4 * 4 * 3 * 2
    arch = SPACE.sample(rng)
    assert set(arch) == {"depth", "width", "activation", "dropout"}
    for _ in range(20):
        child = SPACE.mutate(arch, rng)
        assert sum(child[k] != arch[k] for k in arch) == 1
    net = SPACE.build({"depth": 2, "width": 16, "activation": "tanh", "dropout": 0.2}, 2, 3)
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert net(nv.zeros(4, 2)).shape == (4, 3)
    with pytest.raises(ValueError, match="dropout"):
        tune.SearchSpace(dropout=(1.5,))


def test_random_search_and_evolution_are_reproducible_and_return_the_best_tried():
    n = 8
    t0 = time.perf_counter()
    rnd = tune.random_architecture_search(SPACE, evaluate, n, seed=0)
    evo = tune.evolution(SPACE, evaluate, n, population_size=4, sample_size=2, seed=0)
    assert time.perf_counter() - t0 < 60
    for result in (rnd, evo):
        assert len(result.history) == n
        assert result.best["score"] == max(result.scores)
    again = tune.evolution(SPACE, evaluate, n, population_size=4, sample_size=2, seed=0)
    assert again.history == evo.history  # same choices, same scores, same population log
    # the population log: random founders first, then every child names its parent, and the
    # population keeps its size by dropping the oldest member
    assert [h["parent"] for h in evo.history[:4]] == [None] * 4
    for h in evo.history[4:]:
        assert h["parent"] in evo.history[h["trial"] - 1]["population"]
        assert h["population"] == list(range(h["trial"] - 3, h["trial"] + 1))
        parent = evo.history[h["parent"]]["arch"]
        assert sum(h["arch"][k] != parent[k] for k in parent) == 1
    # the best found is at least the median of as many random draws
    assert evo.best["score"] >= np.median(rnd.scores)
    print("random:", rnd.best, "evolution:", evo.best)


def test_a_failed_trial_is_the_worst_and_bad_arguments():
    scores = iter([float("nan"), 0.5, 0.7])
    r = tune.random_architecture_search(SPACE, lambda a: next(scores), 3, seed=0)
    assert r.best["score"] == 0.7 and r.history[0]["score"] == -np.inf
    with pytest.raises(ValueError, match="sample_size"):
        tune.evolution(SPACE, evaluate, 4, population_size=2, sample_size=3)
    with pytest.raises(ValueError, match="n_trials"):
        tune.random_architecture_search(SPACE, evaluate, 0)
