"""One way to run a module's docstring examples, for the per-package docstring tests."""
import doctest
import importlib

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run_docstring_examples(name: str, flags: int = FLAGS):
    """Run every docstring example of the module ``name`` and fail if any prints something
    other than what it shows. Returns doctest's result (``attempted``, ``failed``)."""
    result = doctest.testmod(importlib.import_module(name), optionflags=flags)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} do not run as shown"
    return result
