"""The README's layering, enforced: a module imports only from layers below its own.

Every import in ``src/nerve`` is read with ``ast``: module-level and function-level
``import``/``from ... import``, ``importlib.import_module("...")`` / ``__import__`` with a
literal name, and any string literal that names a nerve module (``"nerve.optim.clip"`` in
a table of lazy imports counts as importing it). Importing the package root ``nerve``
counts as importing what the root imports eagerly (autograd, functional ...). Nothing in
the package may reach outside it (a repository folder such as ``benchmarks/``) or edit
``sys.path``.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nerve

SRC = Path(nerve.__file__).parent

# Lowest first. A package imports only from strictly lower layers (and from itself).
# The full stack of DESIGN.md, with the packages this repository adds placed in it.
LAYERS = [
    {"backend", "random"},                     # the array library; the global RNG (NumPy only)
    {"autograd"},
    {"functional", "creation", "io",           # ops; tensor factories; safetensors/JSON files
     "cuda", "accelerator", "backends"},       # torch.cuda / torch.accelerator questions (ask backend);
                                               # torch.backends' cudnn/mps flags
    {"nn", "linalg"},                          # linalg: torch.linalg's names for functional ops
    {"optim", "data", "metrics", "distributions", "diagnostics"},
    {"train", "distributed", "utils"},
    {"models", "text", "classic"},
    {"tune", "glossary", "viz", "bench", "onnx",  # onnx: exports nn layers and models' networks
     "vision"},                                # torchvision's doors; vision.models re-exports the zoo
    {"runs"},                                  # run folders: train, evaluate, predict (uses viz)
    {"serve"},                                 # the playground server; `nerve serve` (cli) starts it
    {"cli", "keras"},
    {"__main__"},                              # `python -m nerve`: the CLI's entry point
]
LEVEL = {name: i for i, layer in enumerate(LAYERS) for name in layer}
# The root package imports these eagerly; importing `nerve` from inside means importing them.
ROOT_LEVEL = max(LEVEL[p] for p in ("backend", "autograd", "functional", "creation", "random"))

# Violations another change is removing. Each entry must still occur (a stale one fails),
# so this list only shrinks.
KNOWN = set()

_MODULE_STRING = re.compile(r"nerve(\.[A-Za-z_][A-Za-z0-9_]*)+")


def _module_name(path):
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _exists(mod):
    rel = Path(*mod.split(".")[1:]) if "." in mod else Path()
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def _top(mod):
    """The layer name of a nerve module: nerve.nn.conv -> 'nn', nerve.creation -> 'creation'."""
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "nerve"


def imports_of(path, text=None):
    """(line, imported module, how) for every import the file makes."""
    mod, is_pkg = _module_name(path)
    pkg = mod if is_pkg else mod.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text() if text is None else text, str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, "import") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[:len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for a in node.names:      # `from .. import functional` imports nerve.functional
                sub = f"{target}.{a.name}"
                found.append((node.lineno, sub if target.startswith("nerve") and _exists(sub) else target,
                              "from-import"))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value, f"{name}(string)"))
                elif isinstance(arg, ast.JoinedStr):
                    head = arg.values[0] if arg.values else None
                    own = isinstance(head, ast.FormattedValue) and isinstance(head.value, ast.Name) \
                        and head.value.id == "__name__"
                    found.append((node.lineno, mod if own else "<unresolved f-string>", f"{name}(f-string)"))
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("insert", "append", "extend") \
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "path" \
                    and getattr(node.func.value.value, "id", None) == "sys":
                found.append((node.lineno, "<sys.path edit>", "sys.path"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and _MODULE_STRING.fullmatch(node.value) and _exists(node.value):
            found.append((node.lineno, node.value, "string"))
    return mod, found


def violations():
    out = []
    for path in sorted(SRC.rglob("*.py")):
        mod, found = imports_of(path)
        src = _top(mod)
        if src == "nerve":
            continue                       # the root facade re-exports every layer
        for line, target, how in found:
            where = f"{path.relative_to(SRC.parent.parent)}:{line}"
            if target.startswith("<"):
                out.append((mod, target, where, how))
                continue
            if target.split(".")[0] == "benchmarks":
                out.append((mod, target, where, f"{how}: outside the package"))
                continue
            if not target.startswith("nerve"):
                continue                   # numpy, the standard library, optional extras
            dst = _top(target)
            if dst == src:
                continue
            lo = ROOT_LEVEL if dst == "nerve" else LEVEL.get(dst)
            if src not in LEVEL or lo is None:
                out.append((mod, target, where, f"{how}: {src if src not in LEVEL else dst} is in no layer"))
            elif lo >= LEVEL[src]:
                out.append((mod, target if dst != "nerve" else "nerve (root)", where, how))
    return out


def _format(vs):
    return "\n".join(f"  {where}: {mod} imports {target} ({how})" for mod, target, where, how in vs)


def test_every_package_is_in_a_layer():
    pkgs = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    pkgs |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert not pkgs - set(LEVEL), f"place these in LAYERS: {sorted(pkgs - set(LEVEL))}"


def test_no_upward_imports():
    vs = violations()
    new = [v for v in vs if (v[0], _strip(v[1])) not in KNOWN]
    assert not new, ("imports that go up (or sideways, or out of) the layering "
                     f"{' → '.join(' · '.join(sorted(layer)) for layer in LAYERS)}:\n{_format(new)}")


def test_known_violations_still_exist():
    live = {(mod, _strip(target)) for mod, target, _, _ in violations()}
    stale = KNOWN - live
    assert not stale, f"fixed, so remove them from KNOWN: {sorted(stale)}"


def _strip(target):
    """nerve.functional.shape -> nerve.functional (KNOWN lists packages)."""
    return ".".join(target.split(".")[:2])


def test_the_checker_sees_function_level_and_string_imports():
    # A low-layer module with each kind of upward import, read by the same code.
    text = ("import importlib, sys\n"
            "def f():\n"
            "    from ..nn import Linear\n"
            "    importlib.import_module('nerve.optim')\n"
            "    sys.path.insert(0, '..')\n"
            "    return {'x': 'nerve.train.trainer'}\n")
    _, found = imports_of(SRC / "autograd" / "probe.py", text)
    assert {(line, target) for line, target, _ in found if target != "importlib" and target != "sys"} == {
        (3, "nerve.nn"), (4, "nerve.optim"), (5, "<sys.path edit>"), (6, "nerve.train.trainer")}
