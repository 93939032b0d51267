"""MkDocs hooks for the nerve site (named in mkdocs.yml).

* ``on_files``: adds the glossary, one page per entry of ``src/nerve/glossary/entries`` plus an
  index, generated from the same TOML files that ``nerve explain`` reads, and the pictures that
  entries draw with their ``plot`` code.
* ``on_page_markdown``: runs every fenced ```python block of a page, in order, in one namespace
  per page (seeded), and shows what it printed right below it; an exception fails the build.
  Blocks fenced ```py are shown but not run: the glossary uses them only for entries whose code
  is not built yet. The marker ``<!-- benchmark-tables -->`` becomes the benchmark tables from
  ``benchmarks/results/*.json`` (files written by ``nerve bench --json``).
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import sys
import tempfile
import traceback
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nerve import glossary  # noqa: E402

class _LiteralRefFilter(logging.Filter):
    """Drop autorefs' "could not find cross-reference target" warnings for targets nobody meant
    as a link: literal values in doctest lines (``[0, 1]``, ``["lr"]``, ``x[sub.indices]``), which
    markdown reads as reference links. Unresolved references to what looks like an API object
    (``nerve.nn.Linear``, ``Tensor``) still fail the strict build."""

    _IDENT = re.compile(r"^(nerve\.[\w.]+|[A-Z]\w*(\.\w+)*)$")

    def filter(self, record):
        msg = record.getMessage()
        target = re.search(r"cross-reference target '(.*)'$", msg)
        return not (target and not self._IDENT.match(target.group(1)))


for _name in ("mkdocs.plugins.mkdocs_autorefs._internal.plugin", "mkdocs.plugins.mkdocs_autorefs._internal.references",
              "mkdocs.plugins.mkdocs_autorefs.plugin", "mkdocs.plugins.mkdocs_autorefs.references"):
    logging.getLogger(_name).addFilter(_LiteralRefFilter())

_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_PICTURES = Path(tempfile.mkdtemp(prefix="nerve-docs-"))


def _entry_page(entry):
    lines = [f"# {entry.term}", "",
             f"*Spec row {entry.id} · bundle {entry.bundle} · status: **{entry.status}***", ""]
    if entry.aliases:
        lines += ["Also called: " + ", ".join(f"*{a}*" for a in entry.aliases) + ".", ""]
    lines += [entry.definition.replace("[", "\\["), ""]
    for item, text in entry.notes:
        lines += ['!!! note "A loose statement in the sources (spec §3d item %d)"' % item, "",
                  "    " + text.replace("\n", " "), ""]
    if entry.plot and entry.runs:
        lines += [f"![{entry.term}]({entry.slug}.png)", ""]
    lines += ["## In nerve", ""] + [f"- `{o}`" for o in entry.objects] + [""]
    lines += ["## Example", ""]
    if entry.runs:
        lines += ["```python", entry.example, "```", ""]
    else:
        lines += ["This concept is not built yet; the example shows the API it will have.", "",
                  "```py", entry.example, "```", ""]
    if entry.tests:
        lines += ["## Proved by", ""] + [f"- `{t}`" for t in entry.tests] + [""]
    related = []
    for slug in entry.related:
        try:
            related.append(f"[{glossary.get(slug).term}]({slug}.md)")
        except KeyError:
            pass
    if related:
        lines += ["## Related", "", ", ".join(related), ""]
    return "\n".join(lines)


def _index_page(entries):
    built = sum(e.runs for e in entries)
    lines = ["# Glossary", "",
             f"Every term of the seed glossary and every concept the seed texts add, {len(entries)} entries "
             f"({built} run today, {len(entries) - built} not yet built). The same entries answer "
             "`nerve explain TERM` and `nerve glossary` on the command line.", ""]
    bundles = sorted({e.bundle for e in entries}, key=lambda b: int(b[1:]))
    for bundle in bundles:
        lines += [f"## Bundle {bundle}", "", "| # | term | status |", "|---|---|---|"]
        for e in entries:
            if e.bundle == bundle:
                lines.append(f"| {e.id} | [{e.term}]({e.slug}.md) | {e.status} |")
        lines.append("")
    return "\n".join(lines)


def on_files(files, config):
    entries = glossary.entries()
    files.append(File.generated(config, "glossary/index.md", content=_index_page(entries)))
    for entry in entries:
        files.append(File.generated(config, f"glossary/{entry.slug}.md", content=_entry_page(entry)))
        if entry.plot and entry.runs:
            png = glossary.write_plot(entry, _PICTURES / f"{entry.slug}.png")
            files.append(File.generated(config, f"glossary/{entry.slug}.png", abs_src_path=str(png)))
    return files


def _seed():
    import numpy as np  # noqa: PLC0415

    import nerve  # noqa: PLC0415

    np.random.seed(0)
    nerve.manual_seed(0)


def _run_blocks(markdown, where):
    namespace = {"__name__": "nerve_docs_page"}
    _seed()
    out, last, count = [], 0, 0
    for match in _FENCE.finditer(markdown):
        count += 1
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(match.group(1), f"<{where} block {count}>", "exec"), namespace)  # noqa: S102
        except Exception as e:  # noqa: BLE001 - any failure of a documented example fails the build
            raise PluginError(f"{where}: python block {count} failed:\n{traceback.format_exc()}") from e
        out.append(markdown[last:match.end()])
        printed = buf.getvalue().rstrip("\n")
        if printed:
            out.append("\n\n```text\n" + printed + "\n```")
        last = match.end()
    out.append(markdown[last:])
    return "".join(out)


def _benchmark_tables():
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    if not results:
        return ("*No benchmark results are committed in `benchmarks/results/` yet.* Run "
                "`nerve bench --json benchmarks/results/<machine>.json` (it needs torch) and rebuild "
                "the site to see them here.")
    parts = []
    for path in results:
        data = json.loads(path.read_text())
        parts += [f"### {path.stem}", "",
                  f"BLAS threads: {data.get('threads', '?')}; peak matmul: {data.get('peak_gflops', 0):.1f} GFLOP/s.", "",
                  "| id | workload | nerve steps/s | torch steps/s | nerve / torch |", "|---|---|---|---|---|"]
        for r in data.get("results", []):
            parts.append(f"| {r['id']} | {r['workload']} | {r['nerve_steps_per_s']:.1f} | "
                         f"{r['torch_steps_per_s']:.1f} | {r['ratio']:.2f} |")
        parts.append("")
    return "\n".join(parts)


def on_page_markdown(markdown, page, config, files):
    if "<!-- benchmark-tables -->" in markdown:
        markdown = markdown.replace("<!-- benchmark-tables -->", _benchmark_tables())
    return _run_blocks(markdown, page.file.src_path)
