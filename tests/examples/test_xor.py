import importlib.util
import pathlib

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "xor.py"


def _load():
    spec = importlib.util.spec_from_file_location("xor_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_xor_reaches_full_accuracy_with_a_nonlinearity():
    acc, loss, _ = _load().train_xor()
    assert acc == 1.0 and loss < 0.05


def test_xor_most_random_starts_solve_it_and_a_bad_one_is_stuck():
    results = [_load().train_xor(seed=s, steps=1500)[0] for s in range(10)]
    assert sum(r == 1.0 for r in results) >= 9
    assert results[0] == 0.5   # the local minimum the example's docstring describes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_without_nonlinearity_stays_at_or_below_75_percent(seed):
    acc, _, _ = _load().train_xor(nonlinear=False, seed=seed)
    assert acc <= 0.75


def test_example_runs_as_a_script(capsys):
    _load().main()
    assert "accuracy 100%" in capsys.readouterr().out
