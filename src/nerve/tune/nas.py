"""Neural architecture search over MLPs: a search space, random search and regularised evolution.

The budget is counted in trials (architectures trained and scored). ``evaluate(arch)`` trains
the architecture however the user likes and returns its validation score (higher is better
unless ``mode='min'``). The global generator is seeded with ``seed`` before every trial, and
the choices come from a generator of their own, so a search with the same seed makes the
same choices and reaches the same scores.

References: Real, Aggarwal, Huang & Le 2019 (regularised, "aging" evolution); Li & Talwalkar
2019 (random search as the baseline to beat).
"""
from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["SearchSpace", "random_architecture_search", "random_search", "evolution", "NASResult"]


class SearchSpace:
    """Choices for an MLP: depth (hidden layers), width, activation and dropout.

    Args:
        depth, width, activation, dropout: the allowed values of each choice (repeats are
            dropped).

    An architecture is a dict with those four keys. ``build(arch, in_features, out_features)``
    turns it into ``Linear → activation → Dropout`` blocks and a final ``Linear``.
    """

    KEYS = ("depth", "width", "activation", "dropout")

    def __init__(self, depth=(1, 2, 3), width=(8, 16, 32, 64), activation=("relu", "tanh"),
                 dropout=(0.0, 0.1, 0.3)):
        self.choices = {}
        for key, values in zip(self.KEYS, (depth, width, activation, dropout)):
            values = list(values)
            # a repeated value would make a choice look like it has an alternative when it has
            # none: mutate() would then pick from an empty list (and sample() favour it)
            values = [v for i, v in enumerate(values) if v not in values[:i]]
            if not values:
                raise ValueError(f"SearchSpace: {key} needs at least one value")
            self.choices[key] = values
        if min(self.choices["depth"]) < 0 or min(self.choices["width"]) < 1:
            raise ValueError(f"depths must be >= 0 and widths >= 1, got {self.choices['depth']} and "
                             f"{self.choices['width']}")
        if not all(0 <= p < 1 for p in self.choices["dropout"]):
            raise ValueError(f"dropout values must be in [0, 1), got {self.choices['dropout']}")

    def __len__(self):
        return math.prod(len(v) for v in self.choices.values())

    def sample(self, rng):
        """A uniformly random architecture."""
        return {k: v[int(rng.integers(len(v)))] for k, v in self.choices.items()}

    def mutate(self, arch, rng):
        """A copy of ``arch`` with one choice (that has alternatives) changed to another value."""
        keys = [k for k in self.KEYS if len(self.choices[k]) > 1]
        child = dict(arch)
        if not keys:
            return child
        key = keys[int(rng.integers(len(keys)))]
        others = [v for v in self.choices[key] if v != arch[key]]
        child[key] = others[int(rng.integers(len(others)))]
        return child

    def build(self, arch, in_features, out_features):
        """The architecture as an ``nn.Sequential``."""
        from .. import nn  # noqa: PLC0415

        layers, width_in = [], in_features
        for _ in range(arch["depth"]):
            layers += [nn.Linear(width_in, arch["width"]), nn.get_activation(arch["activation"])]
            if arch["dropout"] > 0:
                layers.append(nn.Dropout(arch["dropout"]))
            width_in = arch["width"]
        layers.append(nn.Linear(width_in, out_features))
        return nn.Sequential(*layers)

    def __repr__(self):
        return "SearchSpace(" + ", ".join(f"{k}={v}" for k, v in self.choices.items()) + ")"


class NASResult:
    """The trials of a search. ``history`` holds one dict per trial (``trial``, ``arch``, ``score``,
    and for evolution ``parent`` and the ``population`` after the trial, as trial numbers)."""

    def __init__(self, history, mode, seconds):
        self.history = history
        self.mode = mode
        self.seconds = seconds

    @property
    def scores(self):
        return [h["score"] for h in self.history]

    @property
    def best(self):
        """The best trial (a dict from ``history``)."""
        ok = [h for h in self.history if math.isfinite(h["score"])]
        if not ok:
            raise ValueError("no trial produced a finite score")
        return (max if self.mode == "max" else min)(ok, key=lambda h: h["score"])

    def __repr__(self):
        if not any(math.isfinite(h["score"]) for h in self.history):
            return f"NASResult({len(self.history)} trials, no finite score)"
        return f"NASResult({len(self.history)} trials, best score {self.best['score']:.4g})"


def _score(evaluate, arch, seed, mode):
    from ..random import manual_seed  # noqa: PLC0415

    manual_seed(seed)
    s = float(evaluate(dict(arch)))
    if math.isfinite(s):
        return s
    return -math.inf if mode == "max" else math.inf  # a diverged trial is the worst possible


def _check(n_trials, mode):
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")


def random_architecture_search(space, evaluate, n_trials, *, seed=0, mode="max"):
    """Score ``n_trials`` architectures drawn uniformly from ``space``; returns a ``NASResult``."""
    _check(n_trials, mode)
    rng = np.random.default_rng(seed)
    history, t0 = [], time.perf_counter()
    for i in range(int(n_trials)):
        arch = space.sample(rng)
        history.append({"trial": i, "arch": arch, "score": _score(evaluate, arch, seed, mode)})
    return NASResult(history, mode, time.perf_counter() - t0)


def evolution(space, evaluate, n_trials, *, population_size=8, sample_size=3, seed=0, mode="max"):
    """Regularised (aging) evolution: the oldest member dies, not the worst.

    The first ``population_size`` trials are random. Each later trial draws ``sample_size``
    members of the population, mutates the best of them (one choice changed), scores the
    child, adds it and removes the oldest member. Returns a ``NASResult`` whose history
    records each child's parent and the population after every trial.
    """
    _check(n_trials, mode)
    if not 1 <= sample_size <= population_size:
        raise ValueError(f"need 1 <= sample_size <= population_size, got {sample_size} and {population_size}")
    rng = np.random.default_rng(seed)
    sign = 1.0 if mode == "max" else -1.0
    history, population, t0 = [], [], time.perf_counter()
    for i in range(int(n_trials)):
        if i < population_size:
            arch, parent = space.sample(rng), None
        else:
            picks = rng.choice(len(population), size=sample_size, replace=False)
            parent = max((population[int(j)] for j in picks), key=lambda t: sign * history[t]["score"])
            arch = space.mutate(history[parent]["arch"], rng)
        history.append({"trial": i, "arch": arch, "score": _score(evaluate, arch, seed, mode), "parent": parent})
        population.append(i)
        if len(population) > population_size:
            population.pop(0)  # aging: the oldest goes, however good
        history[-1]["population"] = list(population)
    return NASResult(history, mode, time.perf_counter() - t0)


# ``nas.random_search`` is the name the glossary uses; one function, two doors.
random_search = random_architecture_search
