"""Run each program in examples/ported twice, on PyTorch and on nerve, and compare the losses.

Each program is one source file written against ``torch`` (and ``torchvision``). The nerve
run executes the very same file with ``sys.modules`` pointing the PyTorch module names at
nerve's (IMPORT_MAP below, the table of docs/porting.md), which is exactly what renaming the
imports does. Two things are arranged so that the runs can agree to rounding:

* initial weights come from a seeded NumPy generator (examples/ported/numpy_init.py) and data
  order from NumPy permutations, because the two frameworks' random streams differ;
* where a program draws noise with ``torch.randn`` / ``torch.randn_like`` (the VAE's
  reparameterisation, the GAN's latent codes), both runs replace those two functions with
  the same seeded NumPy draw (``shared_noise``). The program text is untouched.

    python tests/ported/run_ported.py                 # all programs, a table of differences
    python tests/ported/run_ported.py vae dcgan       # some of them
    python tests/ported/run_ported.py --show vae      # the program with its imports renamed to nerve
"""
from __future__ import annotations

import contextlib
import importlib
import pathlib
import re
import runpy
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROGRAMS_DIR = ROOT / "examples" / "ported"

# What a user renames: PyTorch's module name -> nerve's.
IMPORT_MAP = {
    "torch": "nerve",
    "torch.nn": "nerve.nn",
    "torch.nn.functional": "nerve.nn.functional",
    "torch.nn.init": "nerve.nn.init",
    "torch.optim": "nerve.optim",
    "torch.optim.lr_scheduler": "nerve.optim.lr_scheduler",
    "torch.autograd": "nerve.autograd",
    "torch.backends": "nerve.backends",
    "torch.backends.cudnn": "nerve.backends.cudnn",
    "torch.utils": "nerve.utils",
    "torch.utils.data": "nerve.utils.data",
    "torchvision": "nerve.vision",
    "torchvision.datasets": "nerve.vision.datasets",
    "torchvision.transforms": "nerve.vision.transforms",
    "torchvision.utils": "nerve.vision.utils",
    "torchvision.models": "nerve.vision.models",
}

# program -> (relative tolerance on every loss, why)
PROGRAMS = {
    "sgd_manual": (1e-10, "float64 tensors"),
    "legendre_function": (1e-10, "float64 tensors"),
    "poly_regression": (1e-9, "float64 nn.Linear; late losses are ~1e-3 of the first"),
    "mnist_cnn": (3e-5, "float32; Adadelta at lr 1.0 amplifies rounding (seen: up to 4.3e-6)"),
    "vae": (1e-5, "float32"),
    "dcgan": (1e-5, "float32, BatchNorm"),
    "cifar_fakedata": (1e-5, "float32 convolutions"),
    "super_resolution": (1e-5, "float32 convolutions, PixelShuffle"),
}

# Module names a program run may import and that must be fresh for the next run.
_PRIVATE = ("numpy_init",)


@contextlib.contextmanager
def shared_noise(fw, seed=1234):
    """Replace ``fw.randn`` and ``fw.randn_like`` by one seeded NumPy stream while inside."""
    rng = np.random.default_rng(seed)

    def randn(*size, dtype=None, **_):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        return fw.tensor(rng.standard_normal(size), dtype=dtype or fw.get_default_dtype())

    def randn_like(t, dtype=None, **_):
        return fw.tensor(rng.standard_normal(tuple(t.shape)), dtype=dtype or t.dtype)

    saved = {name: fw.__dict__.get(name) for name in ("randn", "randn_like")}
    fw.randn, fw.randn_like = randn, randn_like
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(fw, name)  # nerve serves it through its module __getattr__ again
            else:
                setattr(fw, name, value)


@contextlib.contextmanager
def _modules(entries):
    keys = set(entries) | set(IMPORT_MAP) | set(_PRIVATE)
    saved = {k: sys.modules[k] for k in keys if k in sys.modules}
    for k in keys:
        sys.modules.pop(k, None)
    sys.modules.update(entries)
    sys.path.insert(0, str(PROGRAMS_DIR))
    try:
        yield
    finally:
        sys.path.remove(str(PROGRAMS_DIR))
        for k in keys:
            sys.modules.pop(k, None)
        sys.modules.update(saved)


def run(name, framework, **kwargs):
    """Execute examples/ported/<name>.py under ``framework`` ('torch' or 'nerve'); ``main(**kwargs)``'s losses."""
    if framework == "nerve":
        entries = {k: importlib.import_module(v) for k, v in IMPORT_MAP.items()}
    elif framework == "torch":
        import torch  # noqa: PLC0415
        import torch.backends.cudnn  # noqa: F401, PLC0415
        import torch.nn.functional  # noqa: F401, PLC0415
        import torch.nn.init  # noqa: F401, PLC0415
        import torch.optim.lr_scheduler  # noqa: F401, PLC0415
        import torch.utils.data  # noqa: F401, PLC0415

        sys.path.insert(0, str(pathlib.Path(__file__).parent))
        try:
            from torchvision_shim import modules  # noqa: PLC0415
        finally:
            sys.path.pop(0)
        entries = {k: sys.modules[k] for k in IMPORT_MAP if k.startswith("torch.") or k == "torch"
                   if k in sys.modules}
        entries.update(modules())
    else:
        raise ValueError(f"framework must be 'torch' or 'nerve', got {framework!r}")
    with _modules(entries), _process_settings(entries["torch"]):
        fw = sys.modules["torch"]
        with shared_noise(fw):
            namespace = runpy.run_path(str(PROGRAMS_DIR / f"{name}.py"), run_name=f"ported_{name}")
            if namespace["torch"] is not fw:
                raise AssertionError(f"{name} did not run on {framework}")
            return [float(v) for v in namespace["main"](**kwargs)]


@contextlib.contextmanager
def _process_settings(fw):
    """One thread for PyTorch (one core, one summation order per run); the cuDNN flags a program
    sets are put back afterwards, so a run leaves the process as it found it."""
    cudnn = fw.backends.cudnn
    flags = {k: getattr(cudnn, k) for k in ("benchmark", "deterministic")}
    threads = fw.get_num_threads() if fw.__name__ == "torch" else None
    if threads is not None:
        fw.set_num_threads(1)
    try:
        yield
    finally:
        if threads is not None:
            fw.set_num_threads(threads)
        for k, v in flags.items():
            setattr(cudnn, k, v)


_IMPORT_LINE = re.compile(r"^(\s*)(import|from)\s+((?:torchvision|torch)(?:\.\w+)*)\b(.*)$", re.M)


def renamed_source(text):
    """The program as a user would port it by hand: every ``import torch...`` /
    ``from torch... import`` line rewritten through IMPORT_MAP, nothing else touched.

    ``import torch`` becomes ``import nerve as torch`` (and ``import torch.nn`` without ``as``
    binds ``torch`` too, so it becomes ``import nerve.nn; import nerve as torch``)."""
    def rewrite(m):
        indent, kind, module, rest = m.groups()
        target = IMPORT_MAP[module]
        if kind == "from" or rest.lstrip().startswith("as "):
            return f"{indent}{kind} {target}{rest}"
        root = module.split(".")[0]
        if module == root:
            return f"{indent}import {target} as {root}{rest}"
        return f"{indent}import {target}; import {IMPORT_MAP[root]} as {root}{rest}"
    return _IMPORT_LINE.sub(rewrite, text)


def run_renamed(name, **kwargs):
    """Run examples/ported/<name>.py after renaming its imports in the source (and the helper's);
    ``sys.modules`` keeps the real ``torch``, so any unrenamed use of it would show."""
    with tempfile.TemporaryDirectory() as tmp:
        for stem in (name,) + _PRIVATE:
            src = (PROGRAMS_DIR / f"{stem}.py").read_text()
            (pathlib.Path(tmp) / f"{stem}.py").write_text(renamed_source(src))
        saved = {k: sys.modules.pop(k) for k in _PRIVATE if k in sys.modules}
        sys.path.insert(0, tmp)
        try:
            nerve = importlib.import_module("nerve")
            with shared_noise(nerve), _process_settings(nerve):
                namespace = runpy.run_path(str(pathlib.Path(tmp) / f"{name}.py"), run_name=f"renamed_{name}")
                if namespace["torch"] is not nerve:
                    raise AssertionError(f"renamed {name} did not bind torch to nerve")
                return [float(v) for v in namespace["main"](**kwargs)]
        finally:
            sys.path.remove(tmp)
            for k in _PRIVATE:
                sys.modules.pop(k, None)
            sys.modules.update(saved)


def compare(name, **kwargs):
    """(torch losses, nerve losses, largest relative difference, seconds torch, seconds nerve)."""
    t0 = time.perf_counter()
    ref = run(name, "torch", **kwargs)
    t1 = time.perf_counter()
    got = run(name, "nerve", **kwargs)
    t2 = time.perf_counter()
    if len(ref) != len(got):
        raise AssertionError(f"{name}: torch gave {len(ref)} losses, nerve {len(got)}")
    a, b = np.asarray(ref), np.asarray(got)
    rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-12))) if len(a) else 0.0
    return ref, got, rel, t1 - t0, t2 - t1


def main(argv):
    if argv[:1] == ["--show"]:  # print the hand-ported (renamed) source of one program
        print(renamed_source((PROGRAMS_DIR / f"{argv[1]}.py").read_text()), end="")
        return 0
    names = argv or list(PROGRAMS)
    failed = 0
    print(f"{'program':18} {'losses':>6} {'first':>12} {'last':>12} {'max rel diff':>12} {'tol':>6}"
          f" {'torch s':>7} {'nerve s':>7}")
    for name in names:
        ref, got, rel, ts, ns = compare(name)
        tol = PROGRAMS[name][0]
        ok = rel <= tol
        failed += not ok
        print(f"{name:18} {len(ref):6d} {ref[0]:12.6g} {ref[-1]:12.6g} {rel:12.2e} {tol:6.0e} {ts:7.2f} {ns:7.2f}"
              f"{'' if ok else '  FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
