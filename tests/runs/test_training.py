"""nerve.runs.training: nerve train as library functions (prepare, fit, resume)."""
import json

import numpy as np
import pytest

from nerve.data.datasets import Digits28
from nerve.runs import Run, RunError, load_run, training

SETTINGS = {"model": "seed-mlp", "model_kwargs": {"activation": "elu"}, "dataset": "digits", "epochs": 2,
            "batch_size": 64, "optimizer": "adam", "lr": 6e-3, "seed": 3, "val_fraction": 0.1, "shift": 1,
            "limit": None, "sampler": "loader"}


def test_prepare_splits_and_standardizes_with_the_training_part_only():
    prep = training.prepare(dict(SETTINGS))
    x = Digits28(train=True).data
    order = np.random.default_rng(3).permutation(len(x))
    n_val = int(round(0.1 * len(x)))
    part = x[order[n_val:]]
    assert prep["normalize"] == {"mean": float(part.mean()), "std": float(part.std())}
    assert (prep["n_train"], prep["n_val"], prep["n_test"]) == (len(x) - n_val, n_val, 359)
    assert prep["dataset"] == "digits" and prep["data_source"] is None and prep["shift_state"] is not None
    with pytest.raises(RunError, match="--shift 28 must be smaller than the image size"):
        training.prepare(dict(SETTINGS, shift=28))
    with pytest.raises(RunError, match="model 'unet' cannot take the"):
        training.prepare(dict(SETTINGS, model="unet", model_kwargs={}))


def test_fit_finishes_a_run_and_resume_refuses_what_has_nothing_to_resume(tmp_path):
    settings = dict(SETTINGS)
    prep = training.prepare(settings)
    config = training.run_config(settings, prep)
    run = Run.create(tmp_path / "run", config)
    result = training.fit(run, settings, prep, config, quiet=True)
    r = load_run(run.path)
    assert r.status == "complete" and r.config["results"]["test_accuracy"] == result["test_accuracy"]
    assert result["epochs"] == 2 and json.loads((run.path / "history.json").read_text())["epoch"] == [0, 1]
    assert training.settings_from_run(r) == settings
    with pytest.raises(RunError, match="is complete .* nothing to resume"):
        training.resume_point(r)
    r.manifest["status"] = "interrupted"
    assert training.resume_point(r) == run.path / "checkpoint" / "last"
    r.manifest["status"] = "diverged"
    with pytest.raises(RunError, match="would diverge again"):
        training.resume_point(r)


@pytest.mark.parametrize("field, value", [("epochs", "ten"), ("lr", None), ("optimizer", "lbfgs"),
                                          ("shift", 1.5), ("limit", "all"), ("seed", True)])
def test_settings_from_run_are_type_checked(tmp_path, field, value):
    run = Run.create(tmp_path / "run", dict(training.run_config(SETTINGS, training.prepare(dict(SETTINGS))),
                                            **{field: value}))
    with pytest.raises(RunError, match=f"{field}|optimizer"):
        training.settings_from_run(run)
