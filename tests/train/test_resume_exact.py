"""Resuming training is exact, or refused: never a silently different run.

Each case trains 4 epochs in one go, and separately 2 epochs with ModelCheckpoint and then
fresh objects (after scrambling the global RNG) resumed to 4. Everything must be bitwise
equal: weights, BatchNorm buffers, optimizer state, learning rate, history, step counter,
the shuffling loader's generator and the global RNG (dropout).
"""
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import nerve as nv
from nerve import nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.optim import lr_scheduler as S
from nerve.optim._flat import FlatGroup
from nerve.train import (EarlyStopping, LRSchedulerCallback, ModelCheckpoint, Trainer, load_checkpoint,
                         save_checkpoint)

_rng = np.random.default_rng(0)
X = _rng.normal(size=(80, 8)).astype(np.float32)
Y = _rng.integers(0, 3, 80).astype(np.int64)


class Net(nn.Module):
    """Linear layers with dropout; optionally a big layer (per-tensor optimizer path), a weight
    shared by two layers, a frozen bias and BatchNorm."""

    def __init__(self, big=False, tie=False, freeze=False, bn=False):
        super().__init__()
        h = 460 if big else 8  # 460*460 weights: the mean tensor size (36k) is above the flat path's 2**15
        self.inp = nn.Linear(8, h)
        self.bn = nn.BatchNorm1d(h) if bn else None
        self.mid = nn.Linear(h, h)
        self.drop = nn.Dropout(0.3)
        self.tie = tie
        if tie:
            self.mid2 = nn.Linear(h, h)
            self.mid2.weight = self.mid.weight
        self.out = nn.Linear(h, 3)
        if freeze:
            self.inp.bias.requires_grad_(False)

    def forward(self, x):
        h = self.inp(x).relu()
        if self.bn is not None:
            h = self.bn(h)
        h = self.drop(self.mid(h).tanh())
        if self.tie:
            h = self.mid2(h).tanh()
        return self.out(h)


CASES = {
    "sgd-nesterov": dict(opt=lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "adam-amsgrad-steplr": dict(opt=lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
                                sched=lambda o: S.StepLR(o, 1, 0.5)),
    "adamw-amsgrad-cosine": dict(opt=lambda p: optim.AdamW(p, lr=0.01, amsgrad=True),
                                 sched=lambda o: S.CosineAnnealingLR(o, 4)),
    "adamw-per-tensor-clip": dict(opt=lambda p: optim.AdamW(p, lr=0.01), big=True, clip=0.5),
    "sgd-onecycle-per-batch": dict(opt=lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                                   batch_sched=lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=20)),
    "adam-plateau": dict(opt=lambda p: optim.Adam(p, lr=0.01),
                         sched=lambda o: S.ReduceLROnPlateau(o, patience=0, factor=0.5, threshold=10.0)),
    "tied-frozen-batchnorm-clip": dict(opt=lambda p: optim.Adam(p, lr=0.01), tie=True, freeze=True, bn=True,
                                       clip=1.0),
}


def build(case, ckdir=None, extra_callbacks=()):
    nv.manual_seed(3)
    model = Net(case.get("big", False), case.get("tie", False), case.get("freeze", False), case.get("bn", False))
    opt = case["opt"]([p for p in model.parameters() if p.requires_grad])
    sched = case["sched"](opt) if "sched" in case else None
    callbacks = [*extra_callbacks, ModelCheckpoint(ckdir, monitor="loss")]
    if "batch_sched" in case:
        callbacks.append(LRSchedulerCallback(case["batch_sched"](opt), "batch"))
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, callbacks=callbacks,
                      grad_clip_norm=case.get("clip"))
    return trainer, DataLoader(TensorDataset(X, Y), batch_size=16, shuffle=True)


def assert_same_training_state(t1, t2):
    for (name, a), b in zip(t1.model.state_dict().items(), t2.model.state_dict().values(), strict=True):
        assert a.dtype == b.dtype and a.numpy().tobytes() == b.numpy().tobytes(), name
    s1, s2 = t1.optimizer.state_dict(), t2.optimizer.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    assert s1["state"].keys() == s2["state"].keys()
    for i, st in s1["state"].items():
        for k, v in st.items():
            assert np.asarray(v).tobytes() == np.asarray(s2["state"][i][k]).tobytes(), (i, k)
    assert t1.history.history == t2.history.history
    assert (t1.epoch, t1.global_step) == (t2.epoch, t2.global_step)
    assert t1.train_loader.state_dict() == t2.train_loader.state_dict()


@pytest.mark.parametrize("name", list(CASES))
def test_resume_is_bitwise_equal_to_an_uninterrupted_run(tmp_path, name):
    case = CASES[name]
    t1, dl = build(case, tmp_path / "a")
    t1.fit(dl, 4)
    next_draw = nv.rand(4).numpy()

    t2, dl = build(case, tmp_path / "b")
    t2.fit(dl, 2)
    nv.manual_seed(12345)  # whatever the global generator holds now must not matter
    t3, dl = build(case, tmp_path / "c")
    t3.fit(dl, 4, resume_from=tmp_path / "b" / "last")
    assert_same_training_state(t1, t3)
    assert nv.rand(4).numpy().tobytes() == next_draw.tobytes()  # dropout's generator continues exactly
    # the optimizer took the path the case is about
    fast = [v for v in t3.optimizer._flat.values()]
    if case.get("big"):
        assert fast and all(v is False for v in fast)
    else:
        assert fast and all(isinstance(v, FlatGroup) for v in fast)


def test_resume_in_a_new_process_is_bitwise_equal(tmp_path):
    case = CASES["tied-frozen-batchnorm-clip"]
    t1, dl = build(case, tmp_path / "a")
    t1.fit(dl, 3)
    t2, dl = build(case, tmp_path / "b")
    t2.fit(dl, 1)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import nerve as nv
        from test_resume_exact import CASES, build
        t, dl = build(CASES["tied-frozen-batchnorm-clip"], {str(tmp_path / 'c')!r})
        t.fit(dl, 3, resume_from={str(tmp_path / 'b' / 'last')!r})
        nv.save(t.model.state_dict(), {str(tmp_path / 'final.pt')!r})
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    got = nv.load(tmp_path / "final.pt")
    want = t1.model.state_dict()
    assert list(got) == list(want)
    for k in want:
        assert got[k].numpy().dtype == want[k].numpy().dtype and got[k].numpy().tobytes() == want[k].numpy().tobytes(), k


def test_callback_states_follow_their_callback_when_the_list_changes(tmp_path):
    # Saved with [ModelCheckpoint, LRSchedulerCallback(OneCycle)], resumed with another callback
    # in front: the batch scheduler's state used to be looked up by list position, missed, and
    # OneCycle restarted from step 0 on top of the restored lr.
    case = CASES["sgd-onecycle-per-batch"]
    t1, dl = build(case, tmp_path / "a")
    t1.fit(dl, 4)
    t2, dl = build(case, tmp_path / "b")
    t2.fit(dl, 2)
    t3, dl = build(case, tmp_path / "c", extra_callbacks=[EarlyStopping(monitor="loss", patience=50)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every saved state found its callback
        t3.fit(dl, 4, resume_from=tmp_path / "b" / "last")
    assert_same_training_state(t1, t3)


def test_a_saved_callback_state_nobody_takes_is_reported(tmp_path):
    case = CASES["sgd-onecycle-per-batch"]
    t2, dl = build(case, tmp_path / "b")
    t2.fit(dl, 2)
    t3, dl = build(case, tmp_path / "c")
    t3.callbacks = t3.callbacks[:1]  # the OneCycle callback is gone
    with pytest.warns(UserWarning, match=r"callback\(s\) 1:LRSchedulerCallback that this Trainer does not have"):
        t3.fit(dl, 3, resume_from=tmp_path / "b" / "last")


def _small(opt_cls=optim.SGD, sched=None, **kw):
    model = nn.Linear(3, 2)
    opt = opt_cls(model.parameters(), lr=0.1, **kw)
    return model, opt, (sched(opt) if sched else None)


def test_a_checkpoint_of_another_optimizer_or_scheduler_class_is_refused_untouched(tmp_path):
    model, opt, sched = _small(momentum=0.9, sched=lambda o: S.StepLR(o, 2))
    model(nv.ones(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "ck", model, opt, sched, epoch=1)
    model2, adam, _ = _small(optim.Adam)
    before = model2.weight.numpy().copy()
    with pytest.raises(ValueError, match="holds optimizer state of SGD, but the optimizer given to restore "
                                         "it into is Adam"):
        load_checkpoint(tmp_path / "ck", model2, adam)
    assert np.array_equal(model2.weight.numpy(), before) and adam.param_groups[0]["betas"] == (0.9, 0.999)
    model3, sgd, cos = _small(momentum=0.9, sched=lambda o: S.CosineAnnealingLR(o, 5))
    with pytest.raises(ValueError, match="holds scheduler state of StepLR, but the scheduler given to restore "
                                         "it into is CosineAnnealingLR"):
        load_checkpoint(tmp_path / "ck", model3, sgd, cos)
    assert not hasattr(cos, "step_size") and sgd.state == {}
    info = load_checkpoint(tmp_path / "ck", model3)  # the weights alone still load
    assert info["epoch"] == 1 and np.array_equal(model3.weight.numpy(), model.weight.numpy())


class _SaveMidEpoch(nv.train.Callback):
    def __init__(self, directory):
        self.directory = directory

    def on_batch_end(self, step, logs=None):
        if self.trainer.epoch == 1 and step == 1:
            self.trainer.save_checkpoint(self.directory)


def test_a_checkpoint_saved_inside_an_epoch_is_refused_on_resume(tmp_path):
    case = CASES["adam-amsgrad-steplr"]
    t, dl = build(case, tmp_path / "a", extra_callbacks=[_SaveMidEpoch(tmp_path / "mid")])
    t.fit(dl, 2)
    t2, dl = build(case, tmp_path / "b")
    before = {k: v.numpy().copy() for k, v in t2.model.state_dict().items()}
    with pytest.raises(ValueError, match=r"saved after 2 batches of epoch 2, inside the epoch; the Trainer "
                                         "resumes only from the end of an epoch"):
        t2.fit(dl, 3, resume_from=tmp_path / "mid")
    assert all(np.array_equal(before[k], v.numpy()) for k, v in t2.model.state_dict().items())
    assert t2.epoch == 0 and t2.optimizer.state == {}
    # an epoch-end checkpoint of the same run is fine, and the weights of the mid one still load
    t2.fit(dl, 3, resume_from=tmp_path / "a" / "last")
    assert load_checkpoint(tmp_path / "mid", Net())["epoch"] == 1


@pytest.mark.parametrize("name", ["model.safetensors", "state.safetensors"])
def test_a_flipped_bit_in_a_checkpoint_is_an_error_naming_the_file(tmp_path, name):
    model, opt, _ = _small(optim.Adam)
    model(nv.ones(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "ck", model, opt, epoch=1)
    path = tmp_path / "ck" / name
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x10  # inside the last array: the file stays well-formed safetensors
    path.write_bytes(bytes(data))
    model2, opt2, _ = _small(optim.Adam)
    with pytest.raises(ValueError, match=f"{name} is damaged: its (contents|arrays) no longer match the SHA-256"):
        load_checkpoint(tmp_path / "ck", model2, opt2)


@pytest.mark.parametrize("name", ["model.safetensors", "state.safetensors", "checkpoint.json"])
def test_a_truncated_checkpoint_is_an_error_naming_the_file(tmp_path, name):
    model, opt, _ = _small(optim.Adam)
    save_checkpoint(tmp_path / "ck", model, opt, epoch=1)
    path = tmp_path / "ck" / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=str(path).replace("\\", "\\\\")):
        load_checkpoint(tmp_path / "ck", *_small(optim.Adam)[:2])


def test_wrong_shapes_name_the_file_the_key_and_both_shapes(tmp_path):
    model, opt, _ = _small()
    save_checkpoint(tmp_path / "ck", model, opt, epoch=1)
    with pytest.raises(RuntimeError, match=r"model.safetensors into Linear: wrong shape for 2 tensor\(s\): "
                                           r"weight: .*model.safetensors has \(2, 3\), the model has \(4, 3\)"):
        load_checkpoint(tmp_path / "ck", nn.Linear(3, 4))


def _save_failing_at_the_state_file(monkeypatch, folder, model, opt, epoch, fails):
    """Save a checkpoint whose optimizer-state file cannot be written (``fails(file name)``:
    "disk full"), check that the save raises, then put the real writer back."""
    import nerve.train.checkpoint as ck

    real = ck.save_safetensors

    def failing(tensors, path, metadata=None):
        if fails(Path(path).name):
            raise OSError("disk full")
        return real(tensors, path, metadata)

    monkeypatch.setattr(ck, "save_safetensors", failing)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(folder, model, opt, epoch=epoch)
    monkeypatch.undo()


def test_a_save_that_fails_half_way_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import nerve.train.checkpoint as ck

    model, opt, _ = _small(optim.Adam)
    model(nv.ones(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "ck", model, opt, epoch=1)
    saved = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model(nv.ones(4, 3)).sum().backward()
    opt.step()
    _save_failing_at_the_state_file(monkeypatch, tmp_path / "ck", model, opt, 2,
                                    lambda name: name == ck.STATE_FILE)
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["checkpoint.json", "model.safetensors",
                                                                     "state.safetensors"]
    model2, opt2, _ = _small(optim.Adam)
    assert load_checkpoint(tmp_path / "ck", model2, opt2)["epoch"] == 1
    assert all(np.array_equal(saved[k], v.numpy()) for k, v in model2.state_dict().items())
    assert json.loads((tmp_path / "ck" / "checkpoint.json").read_text())["epoch"] == 1
    save_checkpoint(tmp_path / "ck", model, opt, epoch=2)  # the next save cleans up the leftovers
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]


@pytest.mark.slow
def test_nerve_train_killed_after_one_epoch_and_resumed_equals_two_epochs_in_one_go(tmp_path):
    """`nerve train` on a MNIST subset: 2 epochs straight, and 1 epoch, SIGKILL, `--resume`."""
    import signal

    data_dir = os.environ.get("NERVE_DATA_DIR")
    if not data_dir or not (Path(data_dir) / "mnist").is_dir():
        pytest.skip("needs MNIST under $NERVE_DATA_DIR/mnist")
    args = [sys.executable, "-m", "nerve", "train", "--dataset", "mnist", "--limit", "8000", "--epochs", "2",
            "--batch-size", "4", "--seed", "5", "--quiet"]

    def run(*extra):
        r = subprocess.run([*args[:4], *extra] if extra[:1] == ("--resume",) else [*args, *extra], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r

    run("--out", "straight")
    from pause_run import paused_env, wait_paused
    env, ready = paused_env(tmp_path, 1)
    p = subprocess.Popen([*args, "--out", "killed"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    meta = tmp_path / "killed" / "checkpoint" / "last" / "checkpoint.json"
    wait_paused(p, ready)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    assert json.loads(meta.read_text())["epoch"] == 1  # so the resume trains the second epoch
    run("--resume", "killed")
    want = nv.io.load_state_dict(tmp_path / "straight" / "model.safetensors")
    got = nv.io.load_state_dict(tmp_path / "killed" / "model.safetensors")
    assert list(got) == list(want)
    for k in want:
        assert got[k].dtype == want[k].dtype and got[k].tobytes() == want[k].tobytes(), k
    history = [json.loads((tmp_path / name / "history.json").read_text()) for name in ("straight", "killed")]
    assert history[0] == history[1] and len(history[0]["epoch"]) == 2
    assert json.loads((tmp_path / "killed" / "config.json").read_text())["results"] == \
        json.loads((tmp_path / "straight" / "config.json").read_text())["results"]


def test_a_loader_whose_sampler_has_its_own_generator_resumes_the_same_order(tmp_path):
    # With a sampler seeded on its own next to a loader seed, the loader's state_dict held only
    # the loader's generator (which the sampler does not use): a resumed run saw another order.
    from nerve.data import RandomSampler

    ds = TensorDataset(X, Y)

    def make():
        return DataLoader(ds, batch_size=16, sampler=RandomSampler(ds, seed=1), seed=2)

    dl = make()
    for _ in dl:
        pass
    model, opt, _ = _small()
    save_checkpoint(tmp_path / "ck", model, opt, epoch=1, loaders={"train": dl})
    want = [yb.tolist() for _, yb in dl]
    fresh = make()
    load_checkpoint(tmp_path / "ck", loaders={"train": fresh})
    assert [yb.tolist() for _, yb in fresh] == want
    plain = DataLoader(ds, batch_size=16, shuffle=True, seed=2)  # built differently: said, not silent
    with pytest.warns(UserWarning, match="whose sampler had its own generator, but this one's sampler has none"):
        plain.load_state_dict(dl.state_dict())


@pytest.mark.slow
def test_nerve_train_resume_after_a_kill_between_the_checkpoint_renames(tmp_path):
    """Killed after setting the old checkpoint aside, before renaming the new one into place:
    `--resume` used to find no checkpoint/last and silently start the run over."""
    import nerve.train.checkpoint as ck

    cmd = [sys.executable, "-m", "nerve", "train", "--dataset", "digits", "--epochs", "2", "--batch-size", "32",
           "--val-fraction", "0", "--out", "r"]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    want = nv.io.load_state_dict(tmp_path / "r" / "model.safetensors")
    manifest = tmp_path / "r" / "manifest.json"
    manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), status="running")))
    last = tmp_path / "r" / "checkpoint" / "last"
    last.rename(last.parent / ".last.old-0123456789abcdef")  # the state between the two renames
    r = subprocess.run([*cmd[:4], "--resume", "r"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "resuming r from epoch 2" in r.stderr, r.stderr
    assert ck.is_checkpoint(last) and not list(last.parent.glob(".last.old-*"))
    got = nv.io.load_state_dict(tmp_path / "r" / "model.safetensors")
    assert all(got[k].tobytes() == want[k].tobytes() for k in want)


def test_a_failed_save_into_a_folder_shared_with_other_files_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    # Such a folder is written in place (not swapped whole): model.safetensors used to be
    # replaced before state.safetensors failed, leaving a mix no load accepts.
    import nerve.train.checkpoint as ck

    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "notes.txt").write_text("mine")
    model, opt, _ = _small(optim.Adam)
    save_checkpoint(tmp_path / "ck", model, opt, epoch=1)
    saved = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model(nv.ones(4, 3)).sum().backward()
    opt.step()
    _save_failing_at_the_state_file(monkeypatch, tmp_path / "ck", model, opt, 2,
                                    lambda name: ck.STATE_FILE in name)  # also a temporary name
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["checkpoint.json", "model.safetensors",
                                                                     "notes.txt", "state.safetensors"]
    model2, opt2, _ = _small(optim.Adam)
    assert load_checkpoint(tmp_path / "ck", model2, opt2)["epoch"] == 1
    assert all(np.array_equal(saved[k], v.numpy()) for k, v in model2.state_dict().items())
    save_checkpoint(tmp_path / "ck", model, opt, epoch=2)
    assert load_checkpoint(tmp_path / "ck", model2, opt2)["epoch"] == 2
    assert (tmp_path / "ck" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("restore", [False, True])
def test_a_run_stopped_early_resumes_to_the_same_end(tmp_path, restore):
    # EarlyStopping ended the run; resuming its last checkpoint used to train on past that
    # epoch, giving a run that never existed (and skipping restore_best_weights at its end).
    case = CASES["adam-amsgrad-steplr"]

    def stopper():  # improves once, then stops at the second epoch
        return EarlyStopping(monitor="loss", patience=0, min_delta=10.0, restore_best_weights=restore)

    t1, dl = build(case, tmp_path / "a", extra_callbacks=[stopper()])
    t1.fit(dl, 5)
    assert t1.epoch == 2
    t2, dl = build(case, tmp_path / "b", extra_callbacks=[stopper()])
    h = t2.fit(dl, 5, resume_from=tmp_path / "a" / "last")
    assert t2.epoch == 2 and h.epoch == [0, 1]
    assert_same_training_state(t1, t2)


SCHEDULERS = {
    "StepLR": lambda o: S.StepLR(o, 2, 0.5),
    "MultiStepLR": lambda o: S.MultiStepLR(o, [2, 5], 0.3),
    "ExponentialLR": lambda o: S.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: S.CosineAnnealingLR(o, 5, eta_min=0.01),
    "LinearLR": lambda o: S.LinearLR(o, 0.1, 1.0, 4),
    "ConstantLR": lambda o: S.ConstantLR(o, 0.5, 3),
    "PolynomialLR": lambda o: S.PolynomialLR(o, 6, 2.0),
    "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=12),
    "CosineAnnealingWarmRestarts": lambda o: S.CosineAnnealingWarmRestarts(o, 3, 2),
    "SequentialLR": lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 3), S.ExponentialLR(o, 0.8)], [3]),
    "ChainedScheduler": lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 3), S.ExponentialLR(o, 0.9)]),
    "ReduceLROnPlateau": lambda o: S.ReduceLROnPlateau(o, patience=1, factor=0.5, cooldown=1),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_scheduler_continues_exactly_from_a_checkpoint(tmp_path, name):
    """Two parameter groups with their own lr, SGD momentum (OneCycle cycles it), 4 steps, a
    checkpoint, then 6 more: the lr of each group and the weights equal a run of 10."""
    metric = [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.9, 0.91, 0.92]

    def make():
        w = nv.tensor(np.ones(3, np.float32), requires_grad=True)
        b = nv.tensor(np.ones(2, np.float32), requires_grad=True)
        opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.2}], lr=0.1, momentum=0.9)
        return (w, b), opt, SCHEDULERS[name](opt)

    def run(params, opt, sched, steps):
        lrs = []
        for i in steps:
            for p in params:
                p.grad = nv.ones(*p.shape) * (i + 1)
            opt.step()
            sched.step(metric[i]) if name == "ReduceLROnPlateau" else sched.step()
            lrs.append([g["lr"] for g in opt.param_groups])
        return lrs

    params, opt, sched = make()
    want = run(params, opt, sched, range(10))
    params, opt, sched = make()
    run(params, opt, sched, range(4))

    class Holder(nn.Module):  # the two tensors as a "model" whose weights the checkpoint carries
        def __init__(self, w, b):
            super().__init__()
            self.register_buffer("w", w)
            self.register_buffer("b", b)

    save_checkpoint(tmp_path / "ck", Holder(*params), opt, sched, epoch=4)
    params2, opt2, sched2 = make()
    load_checkpoint(tmp_path / "ck", Holder(*params2), opt2, sched2)
    assert run(params2, opt2, sched2, range(4, 10)) == want[4:]
    run(params, opt, sched, range(4, 10))
    assert all(a.numpy().tobytes() == b.numpy().tobytes() for a, b in zip(params, params2))


def test_nerve_train_resume_refuses_an_option_written_with_its_default_value(tmp_path, capsys, monkeypatch):
    # `--optimizer adam` (the default) given to resume an SGD run was taken for "not given" and
    # silently ignored: the run went on with SGD.
    from nerve.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "digits", "--epochs", "1", "--optimizer", "sgd", "--seed", "3",
                 "--limit", "200", "--val-fraction", "0", "--out", "r", "--quiet"]) == 0
    capsys.readouterr()
    for extra, name in ((["--optimizer", "adam"], "--optimizer"), (["--seed=0"], "--seed"),
                        (["--model", "seed-mlp"], "--model")):
        assert main(["train", "--resume", "r", *extra]) == 2
        err = capsys.readouterr().err
        assert f"--resume continues r with the settings it recorded; drop {name} " in err, err
