"""The documentation site builds offline with `mkdocs build --strict`, every python block on it
runs, and the glossary pages come from the entries."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HAVE_MKDOCS = all(importlib.util.find_spec(m) for m in ("mkdocs", "material", "mkdocstrings"))
needs_mkdocs = pytest.mark.skipif(
    not HAVE_MKDOCS, reason="the docs extra is not installed (pip install -e '.[docs]': mkdocs, "
                            "mkdocs-material, mkdocstrings[python])")


def _hooks():
    spec = importlib.util.spec_from_file_location("nerve_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_mkdocs
def test_a_failing_code_block_fails_the_build_and_output_is_shown():
    from mkdocs.exceptions import PluginError

    hooks = _hooks()
    page = "```python\nx = 6 * 7\nprint(x)\n```\n\ntext\n\n```python\nprint(x + 1)\n```\n"
    out = hooks._run_blocks(page, "page.md")
    assert "```text\n42\n```" in out and "```text\n43\n```" in out
    with pytest.raises(PluginError, match="page.md: python block 1 failed"):
        hooks._run_blocks("```python\nraise ValueError('broken example')\n```\n", "page.md")
    assert "```py\nnot run\n```" in hooks._run_blocks("```py\nnot run\n```", "page.md")


@needs_mkdocs
@pytest.mark.slow
def test_site_builds_strict_and_offline(tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               NO_MKDOCS_2_WARNING="1")
    mkdocs = shutil.which("mkdocs")
    cmd = [mkdocs] if mkdocs else [sys.executable, "-m", "mkdocs"]
    r = subprocess.run(cmd + ["build", "--strict", "-d", str(site)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    relu = (site / "glossary" / "relu" / "index.html").read_text()
    assert "max(0, x)" in relu and "grad: [0.0, 0.0, 1.0]" in relu and "../relu.png" in relu
    assert (site / "glossary" / "relu.png").read_bytes()[:4] == b"\x89PNG"
    mlp = (site / "tutorials" / "mlp" / "index.html").read_text()
    assert "13002" in mlp and "test accuracy after 300 steps" in mlp
    api_nn = (site / "api" / "nn" / "index.html").read_text()
    assert "nerve.nn.linear.Linear" in api_nn and "in_features" in api_nn
    index = (site / "glossary" / "index.html").read_text()
    assert index.count('href="') > 159
