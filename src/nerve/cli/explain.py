"""``nerve explain TERM`` and ``nerve glossary``: the glossary on the command line.

The behaviour lives in :mod:`nerve.glossary`; this module parses, formats and prints. Output is
styled with rich when it is installed and stdout is a terminal, and plain text otherwise (piped
output stays readable and greppable).
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from .. import glossary

__all__ = ["add_parsers", "cmd_explain", "cmd_glossary", "format_entry", "format_table"]


def add_parsers(sub):
    """Register the ``explain`` and ``glossary`` subcommands on an argparse subparsers object."""
    p = sub.add_parser("explain", help="explain a deep-learning term: definition, nerve objects, example",
                       description="Look a term up in the glossary (names, aliases and close spellings "
                                   "match: 'relu', 'rectified linear unit', 'TPR', 'vanishing gradient').")
    p.add_argument("term", nargs="+", help="the term (several words are joined)")
    p.add_argument("--run", action="store_true", help="execute the entry's example and print its output")
    p.add_argument("--plot", nargs="?", const="", default=None, metavar="PATH",
                   help="write the entry's picture (PNG; default: <slug>.png in the current folder)")
    p.set_defaults(func="explain")

    p = sub.add_parser("glossary", help="list the glossary entries with their status",
                       description="List every glossary entry with its bundle and status (runs / not yet "
                                   "built); filter with --search and --bundle.")
    p.add_argument("--search", nargs="+", default=None, metavar="WORD",
                   help="keep entries whose names, definition or objects contain every word")
    p.add_argument("--bundle", default=None, metavar="B", help="keep one capability bundle, e.g. B5")
    p.set_defaults(func="glossary")


def _console():
    if not sys.stdout.isatty():
        return None
    try:
        from rich.console import Console  # noqa: PLC0415
    except ImportError:
        return None
    return Console()


def _wrap(text, indent="  "):
    out = []
    for para in text.split("\n\n"):
        out.append(textwrap.fill(" ".join(para.split()), width=92, initial_indent=indent,
                                 subsequent_indent=indent))
    return "\n\n".join(out)


def format_entry(entry):
    """The plain-text page of one entry."""
    head = f"{entry.term}  (#{entry.id}, bundle {entry.bundle}, {entry.status})"
    lines = [head, "=" * len(head)]
    if entry.aliases:
        lines.append("also called: " + ", ".join(entry.aliases))
    lines += ["", _wrap(entry.definition)]
    for item, text in entry.notes:
        lines += ["", f"Note (spec 3d item {item}):", _wrap(text)]
    if entry.objects:
        lines += ["", "In nerve:"] + [f"  {o}" for o in entry.objects]
    if entry.example:
        lines += ["", "Example:"] + [f"    {line}" for line in entry.example.splitlines()]
    if entry.output and entry.runs:
        lines += ["", "Output:"] + [f"    {line}" for line in entry.output.splitlines()]
    if entry.tests:
        lines += ["", "Proved by:"] + [f"  {t}" for t in entry.tests]
    if entry.related:
        names = []
        for slug in entry.related:
            try:
                names.append(glossary.get(slug).term)
            except KeyError:
                names.append(slug)
        lines += ["", "Related: " + ", ".join(names)]
    if not entry.runs:
        lines += ["", "Status: not yet built (the objects above are the API it will have)."]
    return "\n".join(lines)


def format_table(rows):
    """The plain-text listing: id, term, bundle, status."""
    width = max([len(e.term) for e in rows] + [4])
    lines = [f"{'id':<5} {'term':<{width}}  bundle  status", f"{'-' * 5} {'-' * width}  ------  ------"]
    lines += [f"{e.id:<5} {e.term:<{width}}  {e.bundle:<6}  {e.status}" for e in rows]
    built = sum(e.runs for e in rows)
    lines.append(f"{len(rows)} entries: {built} run, {len(rows) - built} not yet built")
    return "\n".join(lines)


def cmd_explain(args):
    """``nerve explain TERM [--run] [--plot [PATH]]``."""
    from .main import UsageError  # noqa: PLC0415

    term = " ".join(args.term)
    try:
        entry = glossary.find(term)
    except glossary.UnknownTermError as e:
        raise UsageError(str(e)) from None
    console = _console()
    if console is not None:
        from rich.markdown import Markdown  # noqa: PLC0415
        from rich.panel import Panel  # noqa: PLC0415
        from rich.syntax import Syntax  # noqa: PLC0415

        console.print(Panel(Markdown(entry.definition), title=f"{entry.term} (#{entry.id}, {entry.bundle})",
                            subtitle=entry.status))
        for item, text in entry.notes:
            console.print(f"[bold]Note[/bold] (spec 3d item {item}): {text}")
        if entry.aliases:
            console.print("[bold]also called:[/bold] " + ", ".join(entry.aliases))
        console.print("[bold]In nerve:[/bold] " + ", ".join(entry.objects))
        if entry.example:
            console.print(Syntax(entry.example, "python"))
        if entry.tests:
            console.print("[bold]Proved by:[/bold] " + ", ".join(entry.tests))
    else:
        print(format_entry(entry))
    if args.run:
        if not entry.runs:
            raise UsageError(f"the example of {entry.term!r} cannot run yet: its objects are not built "
                             f"({', '.join(o for o, _ in glossary.missing_objects(entry))})")
        print("\nRunning the example:")
        sys.stdout.flush()
        print(glossary.run_example(entry).rstrip("\n"))
    if args.plot is not None:
        if not entry.plot:
            raise UsageError(f"the entry {entry.term!r} has no picture; entries with one: "
                             + ", ".join(e.slug for e in glossary.entries() if e.plot))
        path = Path(args.plot or f"{entry.slug}.png")
        if path.is_dir():
            raise UsageError(f"--plot {path} is a folder; give a file name such as {path / (entry.slug + '.png')}")
        try:
            glossary.write_plot(entry, path)
        except OSError as e:   # a folder that cannot be made, a read-only one, a full disk
            raise UsageError(f"--plot {path}: cannot write it ({e.strerror or e}); choose another PATH") from None
        print(f"\nwrote {path}")
    return 0


def cmd_glossary(args):
    """``nerve glossary [--search WORDS] [--bundle B]``."""
    from .main import UsageError  # noqa: PLC0415

    rows = list(glossary.entries())
    if args.bundle:
        bundles = sorted({e.bundle for e in rows}, key=lambda b: int(b[1:]))
        if args.bundle.upper() not in bundles:
            raise UsageError(f"--bundle must be one of {', '.join(bundles)}, got {args.bundle!r}")
        rows = glossary.by_bundle(args.bundle)
    if args.search:
        keep = {e.slug for e in glossary.search(args.search)}
        rows = [e for e in rows if e.slug in keep]
    if not rows:
        print("no entries match")
        return 1
    console = _console()
    if console is not None:
        from rich.table import Table  # noqa: PLC0415

        table = Table("id", "term", "bundle", "status")
        for e in rows:
            table.add_row(e.id, e.term, e.bundle, "[green]runs[/green]" if e.runs else "[yellow]not yet built[/yellow]")
        console.print(table)
        built = sum(e.runs for e in rows)
        console.print(f"{len(rows)} entries: {built} run, {len(rows) - built} not yet built")
    else:
        print(format_table(rows))
    return 0
