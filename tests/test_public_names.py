"""No dead public names: every name the package advertises exists and imports."""
import importlib
from pathlib import Path

import pytest

import nerve as nv

SRC = Path(nv.__file__).parent


@pytest.mark.parametrize("name", sorted(nv._SUBPACKAGES))
def test_every_lazy_subpackage_imports(name):
    mod = getattr(nv, name)
    assert mod is importlib.import_module(f"nerve.{name}")


def test_every_subpackage_is_reachable_from_the_root():
    pkgs = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    eager = {"autograd", "backend", "functional"}
    assert pkgs - eager == nv._SUBPACKAGES, (
        f"in _SUBPACKAGES but not a package: {sorted(nv._SUBPACKAGES - pkgs)}; "
        f"a package nv.<name> does not reach: {sorted(pkgs - eager - nv._SUBPACKAGES)}")


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        nv.no_such_name  # noqa: B018


@pytest.mark.parametrize("module", ["nerve", "nerve.functional", "nerve.nn", "nerve.optim", "nerve.data",
                                    "nerve.metrics", "nerve.train", "nerve.models", "nerve.io",
                                    "nerve.utils.data"])
def test_every_name_in_all_exists(module):
    mod = importlib.import_module(module)
    missing = [n for n in getattr(mod, "__all__", ()) if not hasattr(mod, n)]
    assert not missing, f"{module}.__all__ lists names it does not have: {missing}"
