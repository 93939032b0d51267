"""Stop a ``nerve train`` subprocess at a known point, however loaded the machine is.

Tests that kill or interrupt a run used to poll its ``checkpoint.json`` and send the signal when
enough epochs were saved. A run of a second or less can finish before a starved poller looks, and
then the signal lands on a finished run (it exits 0, or the kept epoch is later than the test
expects). Instead, :func:`paused_env` returns an environment whose Python processes (the run, and
every MPI rank it starts) load a ``sitecustomize`` that changes one thing: once the checkpoint of
epoch ``epoch`` is written, the next batch writes ``ready`` and waits there. :func:`wait_paused`
waits for that file; the signal then lands inside the following epoch, between two batches.
"""
import itertools
import os
import time
from pathlib import Path

_calls = itertools.count()
_HOOK = '''
import os, time
from pathlib import Path

def _arm():
    from nerve.train.callbacks import ModelCheckpoint
    epoch, ready = int(os.environ["NERVE_TEST_PAUSE_EPOCH"]), Path(os.environ["NERVE_TEST_PAUSE_READY"])
    saved = ModelCheckpoint.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        saved(self, e, logs)
        self._test_pause = e + 1 == epoch

    def on_batch_begin(self, step, logs=None):
        if getattr(self, "_test_pause", False):
            ready.write_text(str(os.getpid()))
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                time.sleep(0.01)
            raise SystemExit("pause_run: the test never sent its signal")

    ModelCheckpoint.on_epoch_end, ModelCheckpoint.on_batch_begin = on_epoch_end, on_batch_begin

if os.environ.get("NERVE_TEST_PAUSE_EPOCH"):
    _arm()
'''


def paused_env(tmp_path: Path, epoch: int, env=None) -> tuple[dict, Path]:
    """(environment, ready file) for a run that pauses after its checkpoint of ``epoch``.

    Each call names a new ready file, so runs started one after another cannot see each other's.
    """
    hook_dir = tmp_path / "pause_hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(_HOOK)
    ready = tmp_path / f"paused-after-epoch-{epoch}-{next(_calls)}"
    base = dict(os.environ if env is None else env)
    path = os.pathsep.join(p for p in (str(hook_dir), base.get("PYTHONPATH", "")) if p)
    return dict(base, PYTHONPATH=path, NERVE_TEST_PAUSE_EPOCH=str(epoch), NERVE_TEST_PAUSE_READY=str(ready)), ready


def wait_paused(process, ready: Path, timeout: float = 240) -> None:
    """Wait until the run reports its pause; fail with its stderr if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None and not ready.exists():
        time.sleep(0.01)
    if process.poll() is not None:
        raise AssertionError(f"the run ended (status {process.returncode}) before it paused: "
                             f"{process.communicate()[1]}")
    if not ready.exists():
        raise AssertionError(f"the run did not pause within {timeout} s")
