"""``nerve.tune``: choosing hyperparameters and architectures, and measuring capacity.

* ``grid_search`` / ``random_search`` over any training function ``train_fn(config) -> dict``,
  with a ``SearchResult`` table (CSV, printed text, the best trial by validation loss);
  ``uniform``, ``loguniform``, ``choice`` describe random-search spaces.
* ``lr_range_test``: the learning-rate range test, with a suggested lr below divergence.
* ``fit_regression``, ``capacity_sweep``, ``make_sine_data``: training and validation
  curves, and how they move with the width of a network.
* ``SearchSpace``, ``random_architecture_search``, ``evolution``: architecture search with
  a budget in trials.
* ``linear_probe``, ``layer_probes``: how linearly separable each layer's features are.

The pictures are in ``nerve.viz`` (``plot_lr_range``, ``plot_capacity``, ``plot_probes``,
``plot_search``); ``nerve sweep`` runs a grid of ``nerve train`` settings from the shell.
"""
from .capacity import CapacityResult, capacity_sweep, fit_regression, make_sine_data
from .lr_range import LRRangeResult, lr_range_test
from .nas import NASResult, SearchSpace, evolution, random_architecture_search
from .probe import layer_probes, linear_probe
from .search import (SearchResult, choice, grid_search, loguniform, parameter_grid, random_search, run_trials,
                     uniform)

__all__ = ["grid_search", "random_search", "run_trials", "parameter_grid", "SearchResult", "uniform", "loguniform",
           "choice", "lr_range_test", "LRRangeResult", "fit_regression", "capacity_sweep",
           "CapacityResult", "make_sine_data", "SearchSpace", "random_architecture_search", "evolution",
           "NASResult", "linear_probe", "layer_probes"]
