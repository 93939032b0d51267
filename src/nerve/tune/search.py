"""Grid and random search over any training function, with the results as a table.

A *training function* takes one configuration (a dict of hyperparameters) and returns a
dict of numbers, e.g. ``{"val_loss": 0.31, "val_accuracy": 0.91}``. The search seeds the
global generator with the same ``seed`` before every trial, so trials differ only in their
hyperparameters, and a second search with the same seed reproduces every number bit for bit
(on the CPU, where NumPy is deterministic).
"""
from __future__ import annotations

import csv
import io
import itertools
import math
import time

import numpy as np

__all__ = ["grid_search", "random_search", "run_trials", "parameter_grid", "SearchResult", "uniform", "loguniform",
           "choice"]


# ------------------------------------------------------------------------ distributions
class _Distribution:
    def sample(self, rng):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


class uniform(_Distribution):  # noqa: N801  (reads like scipy.stats.uniform in a space dict)
    """Values drawn uniformly from ``[low, high)``."""

    def __init__(self, low, high):
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f"uniform needs finite low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))

    def __repr__(self):
        return f"uniform({self.low:g}, {self.high:g})"


class loguniform(_Distribution):  # noqa: N801
    """Values whose logarithm is uniform on ``[log low, log high)``: the usual prior for a learning rate."""

    def __init__(self, low, high):
        if not (0 < low < high and math.isfinite(high)):
            raise ValueError(f"loguniform needs 0 < low < high, got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def sample(self, rng):
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def __repr__(self):
        return f"loguniform({self.low:g}, {self.high:g})"


class choice(_Distribution):  # noqa: N801
    """One of ``values``, each equally likely (a plain list in a search space means the same)."""

    def __init__(self, values):
        values = list(values)
        if not values:
            raise ValueError("choice needs at least one value, got an empty list")
        self.values = values

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def __repr__(self):
        return f"choice({self.values!r})"


# ---------------------------------------------------------------------------- the table
class SearchResult:
    """The trials of a search: one row per trial (its number, its hyperparameters, its metrics).

    ``best`` is the row with the lowest (``mode='min'``) or highest ``metric``; trials whose
    metric is not a finite number (a diverged run) never win. When no trial has a finite
    metric, ``best`` raises, but ``table()``, ``to_csv()`` and ``repr`` still show the rows.
    ``seconds`` holds each trial's wall time, kept out of the rows so that the table itself
    is reproducible.
    """

    def __init__(self, rows, params, metric, mode, seconds=()):
        self.rows = [dict(r) for r in rows]
        self.params = list(params)
        self.metric = metric
        self.mode = mode
        self.seconds = list(seconds)

    @property
    def columns(self):
        cols = ["trial", *self.params]
        for r in self.rows:
            cols += [k for k in r if k not in cols]
        return cols

    @property
    def best_index(self):
        scores = [r.get(self.metric) for r in self.rows]
        ok = [i for i, s in enumerate(scores) if isinstance(s, (int, float)) and math.isfinite(s)]
        if not ok:
            raise ValueError(f"no trial reported a finite {self.metric!r}; the metrics were "
                             f"{[r.get(self.metric) for r in self.rows]}")
        pick = min if self.mode == "min" else max
        return pick(ok, key=lambda i: scores[i])

    @property
    def best(self):
        """The best trial's row."""
        return self.rows[self.best_index]

    @property
    def best_params(self):
        """The best trial's hyperparameters as a dict."""
        return {k: self.best[k] for k in self.params}

    def column(self, name):
        """One column as a list (``None`` where a trial lacks it)."""
        return [r.get(name) for r in self.rows]

    def to_csv(self, path=None):
        """The table as CSV text; written atomically to ``path`` when one is given."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})
        text = buf.getvalue()
        if path is not None:
            from ..io.atomic import write_text  # noqa: PLC0415

            write_text(path, text)
        return text

    def table(self):
        """The table as aligned text, the best row marked with ``*``."""
        cols = self.columns
        if not self.rows:
            return "  " + "  ".join(cols) + "\n(no trials)"
        best = self._best_or_none()

        def fmt(v):
            if isinstance(v, float):
                return f"{v:.4g}" if (v == 0 or 1e-3 <= abs(v) < 1e5) else f"{v:.3e}"
            return "" if v is None else str(v)

        cells = [[fmt(r.get(c)) for c in cols] for r in self.rows]
        widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(cols)]
        lines = ["  " + "  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        for i, row in enumerate(cells):
            lines.append(("* " if i == best else "  ") + "  ".join(v.rjust(w) for v, w in zip(row, widths)))
        if best is None:
            lines.append(f"no trial reported a finite {self.metric!r}: every run diverged or failed")
        else:
            lines.append(f"best by {self.metric} ({self.mode}): trial {self.rows[best]['trial']} "
                         + ", ".join(f"{k}={self.rows[best][k]!r}" for k in self.params))
        return "\n".join(lines)

    def _best_or_none(self):
        try:
            return self.best_index
        except ValueError:  # every metric NaN/inf: a table of failures is still worth showing
            return None

    def __str__(self):
        return self.table()

    def __repr__(self):
        best = self._best_or_none()
        shown = "none finite" if best is None else repr(self.rows[best].get(self.metric))
        return f"SearchResult({len(self.rows)} trials, best {self.metric}={shown})"


# ---------------------------------------------------------------------------- searches
def parameter_grid(grid):
    """Every combination of a dict of lists, in scikit-learn's ``ParameterGrid`` order
    (keys sorted, the last key changing fastest)."""
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"a grid is a non-empty dict of name -> list of values, got {grid!r}")
    keys = sorted(grid)
    values = []
    for k in keys:
        v = grid[k]
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise TypeError(f"grid[{k!r}] must be a list of values, got {v!r}; wrap a single value "
                            f"as [{v!r}]")
        v = list(v)
        if not v:
            raise ValueError(f"grid[{k!r}] is empty; give at least one value")
        values.append(v)
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _plain_number(v):
    """A NumPy scalar, a 0-d array or a one-element Tensor (a loss whose ``.item()`` was
    forgotten) as a Python float; anything else as it is. Left as an array, a metric would
    never count as a finite number, and the trial could never be the best."""
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    if getattr(v, "ndim", None) == 0 and hasattr(v, "item") and not isinstance(v, (str, bytes)):
        item = v.item()
        return float(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else v
    return v


def _check_mode(mode):
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")


def run_trials(train_fn, configs, *, seed=0, metric="val_loss", mode="min", verbose=False, csv_path=None):
    """Run ``train_fn`` on each configuration of the list ``configs``, in order; a ``SearchResult``.

    The engine of ``grid_search`` and ``random_search``, for a list of configurations made
    some other way. The global generator is seeded with ``seed`` before every trial.
    """
    from ..random import manual_seed  # noqa: PLC0415

    if not callable(train_fn):
        raise TypeError(f"train_fn must be callable as train_fn(config) -> dict of metrics, got "
                        f"{type(train_fn).__name__}")
    _check_mode(mode)
    configs = list(configs)
    if not configs:
        raise ValueError("run_trials got no configurations; pass a non-empty list of dicts")
    if any("trial" in cfg for cfg in configs):
        raise ValueError("'trial' names the trial-number column of the results; rename that hyperparameter")
    rows, seconds = [], []
    params = list(configs[0]) if configs else []
    for i, cfg in enumerate(configs):
        manual_seed(seed)
        t0 = time.perf_counter()
        out = train_fn(dict(cfg))
        seconds.append(time.perf_counter() - t0)
        if not isinstance(out, dict):
            raise TypeError(f"train_fn must return a dict of metrics, got {type(out).__name__} for "
                            f"trial {i} ({cfg})")
        if metric not in out:
            raise KeyError(f"train_fn returned {sorted(out)} for trial {i}; it must report {metric!r} "
                           f"(or pass metric= one of those)")
        clash = sorted(k for k in out if k in cfg or k == "trial")
        if clash:  # the row would record the returned value as the hyperparameter (or trial number)
            raise ValueError(f"train_fn returned metrics named {clash}, the same as a hyperparameter or the "
                             f"'trial' column, for trial {i}; rename them (e.g. 'final_{clash[0]}')")
        row = {"trial": i, **cfg}
        row.update({k: _plain_number(v) for k, v in out.items()})
        rows.append(row)
    result = SearchResult(rows, params, metric, mode, seconds)
    if csv_path is not None:
        result.to_csv(csv_path)
    if verbose:
        print(result.table())
    return result


def grid_search(train_fn, grid, *, seed=0, metric="val_loss", mode="min", verbose=False, csv_path=None):
    """Run ``train_fn`` on every combination in ``grid`` and tabulate the results.

    Args:
        train_fn: ``train_fn(config) -> dict`` of metrics; must report ``metric``.
        grid: name -> list of values, e.g. ``{"lr": [1e-3, 1e-2], "hidden": [16, 32]}``.
        seed: the global seed set before every trial.
        metric, mode: what picks the best trial (lowest ``val_loss`` by default).
        verbose: print the table at the end.
        csv_path: also write the table there as CSV.

    Example:
        >>> from nerve import tune
        >>> r = tune.grid_search(lambda c: {"val_loss": (c["x"] - 2) ** 2}, {"x": [0, 1, 2, 3]})
        >>> r.best_params
        {'x': 2}
    """
    return run_trials(train_fn, parameter_grid(grid), seed=seed, metric=metric, mode=mode, verbose=verbose,
                      csv_path=csv_path)


def random_search(train_fn, space, n_trials, *, seed=0, metric="val_loss", mode="min", verbose=False,
                  csv_path=None):
    """Run ``train_fn`` on ``n_trials`` configurations drawn from ``space``.

    ``space`` maps each name to a list, tuple or range (one value drawn uniformly), a distribution
    (``uniform``, ``loguniform``, ``choice``) or a fixed scalar. Draws come from their own
    generator seeded with ``seed``, so the same seed draws the same configurations.

    Example:
        >>> from nerve import tune
        >>> r = tune.random_search(lambda c: {"val_loss": abs(c["lr"] - 0.01)},
        ...                        {"lr": tune.loguniform(1e-4, 1.0)}, n_trials=5, seed=1)
        >>> len(r.rows), r.best["val_loss"] == min(r.column("val_loss"))
        (5, True)
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if not isinstance(space, dict) or not space:
        raise ValueError(f"a search space is a non-empty dict of name -> values, got {space!r}")
    rng = np.random.default_rng(seed)
    keys = sorted(space)
    dists = {}
    for k in keys:
        v = space[k]
        if isinstance(v, _Distribution):
            dists[k] = v
        elif isinstance(v, (list, tuple, range)):  # a range is a list of values too, as in a grid
            dists[k] = choice(v)
        else:
            dists[k] = None  # a fixed value
    configs = [{k: (space[k] if dists[k] is None else dists[k].sample(rng)) for k in keys}
               for _ in range(int(n_trials))]
    return run_trials(train_fn, configs, seed=seed, metric=metric, mode=mode, verbose=verbose,
                      csv_path=csv_path)
