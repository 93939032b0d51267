"""The glossary as data: every seed term with a definition, the objects that implement it,
a runnable example and the tests that prove it.

Each entry is one TOML file in ``entries/`` (shipped as package data). Its fields:

``id`` (``"50"`` or ``"A01"``), ``term``, ``bundle`` (``"B3"``), ``status`` (``"runs"`` or
``"not yet built"``), ``aliases``, ``related`` (other entries' slugs), ``definition``,
``objects`` (dotted import paths), ``tests`` (repository paths), ``example`` (Python, 3-15
lines), ``output`` (what the example prints), optional ``plot`` (code that writes a picture
to the file named by the variable ``path``) and ``notes`` (tables with ``item``, the number
of the spec's list of loose statements, and ``text``).

>>> from nerve import glossary
>>> glossary.find("rectified linear unit").term
'ReLU'
"""
from __future__ import annotations

import contextlib
import difflib
import importlib
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Entry", "ENTRIES_DIR", "STATUSES", "entries", "get", "find", "suggest", "search",
           "by_bundle", "missing_objects", "run_example", "write_plot", "dump_entry",
           "normalise_output", "UnknownTermError"]

ENTRIES_DIR = Path(__file__).parent / "entries"
STATUSES = ("runs", "not yet built")


class UnknownTermError(LookupError):
    """No entry matches the term; ``suggestions`` holds the closest names."""

    def __init__(self, term, suggestions):
        self.term = term
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"no glossary entry for {term!r}{hint} (try 'nerve glossary --search WORDS')")


@dataclass(frozen=True)
class Entry:
    """One glossary entry, as read from its TOML file."""

    slug: str
    id: str
    term: str
    bundle: str
    status: str
    definition: str
    aliases: tuple = ()
    related: tuple = ()
    objects: tuple = ()
    tests: tuple = ()
    example: str = ""
    output: str = ""
    plot: str = ""
    notes: tuple = field(default=())  # ((item, text), ...)
    path: Path | None = None

    @property
    def names(self):
        """The term and its aliases: every name this entry answers to."""
        return (self.term, *self.aliases)

    @property
    def runs(self):
        """True when the entry's code exists (status ``runs``)."""
        return self.status == "runs"


def _norm(text):
    return re.sub(r"[\s_\-/]+", " ", text.lower()).strip()


def _load(path):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    status = data.get("status", "")
    if status not in STATUSES:
        raise ValueError(f"{path.name}: status must be one of {STATUSES}, got {status!r}")
    for key in ("id", "term", "bundle", "definition"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise ValueError(f"{path.name}: the field {key!r} must be a non-empty string")
    notes = tuple((int(n["item"]), n["text"].strip()) for n in data.get("notes", ()))
    return Entry(slug=path.stem.split("-", 1)[1], id=data["id"], term=data["term"], bundle=data["bundle"],
                 status=status, definition=data["definition"].strip(),
                 aliases=tuple(data.get("aliases", ())), related=tuple(data.get("related", ())),
                 objects=tuple(data.get("objects", ())), tests=tuple(data.get("tests", ())),
                 example=data.get("example", "").strip("\n"), output=data.get("output", "").strip("\n"),
                 plot=data.get("plot", "").strip("\n"), notes=notes, path=path)


_CACHE: dict = {}


def entries(reload=False):
    """All entries, in spec order (the 100 glossary terms, then A01-A59)."""
    if reload or "all" not in _CACHE:
        _CACHE["all"] = tuple(_load(p) for p in sorted(ENTRIES_DIR.glob("*.toml")))
    return _CACHE["all"]


def get(slug):
    """The entry with this slug (file name without its number), e.g. ``"relu"``."""
    for e in entries():
        if e.slug == slug:
            return e
    raise KeyError(f"no glossary entry with slug {slug!r}")


def _index():
    table = {}
    for e in entries():
        for name in (*e.names, e.slug, e.id, f"#{e.id}"):
            table.setdefault(_norm(name), e)
    return table


def suggest(term, n=3):
    """The names closest to ``term`` (difflib ratio), best first."""
    table = _index()
    close = difflib.get_close_matches(_norm(term), list(table), n=n * 3, cutoff=0.5)
    out = []
    for key in close:
        name = table[key].term
        if name not in out:
            out.append(name)
    return out[:n]


def find(term):
    """The entry named ``term``: exact name or alias (case, spaces and hyphens ignored), else
    the single close match; raises UnknownTermError with suggestions otherwise."""
    table = _index()
    key = _norm(term)
    if key in table:
        return table[key]
    if key.endswith("s") and key[:-1] in table:  # "epochs", "filters"
        return table[key[:-1]]
    close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.85)
    if close and len({table[c].slug for c in close}) == 1:
        return table[close[0]]
    raise UnknownTermError(term, suggest(term))


def search(words):
    """Entries whose names, definition or objects contain every one of ``words``."""
    words = [w.lower() for w in (words.split() if isinstance(words, str) else words)]
    hits = []
    for e in entries():
        text = " ".join((*e.names, e.definition, *e.objects)).lower()
        if all(w in text for w in words):
            hits.append(e)
    return hits


def by_bundle(bundle):
    """Entries of one capability bundle (``"B5"``)."""
    bundle = bundle.upper()
    return [e for e in entries() if e.bundle == bundle]


def _resolve(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no module {parts[0]!r}")


def missing_objects(entry):
    """The entry's objects that do not import, with the reason: ``[(path, error), ...]``."""
    missing = []
    for dotted in entry.objects:
        try:
            _resolve(dotted)
        except (ImportError, AttributeError) as e:
            missing.append((dotted, f"{type(e).__name__}: {e}"))
    return missing


def _seed():
    import numpy as np  # noqa: PLC0415

    from .. import manual_seed  # noqa: PLC0415

    np.random.seed(0)
    manual_seed(0)


def run_example(entry):
    """Execute the entry's example in a fresh namespace (everything seeded) and return what
    it printed. Exceptions propagate."""
    if not entry.example:
        raise ValueError(f"the entry {entry.term!r} has no example")
    _seed()
    buf = io.StringIO()
    namespace = {"__name__": f"nerve_glossary_{entry.slug.replace('-', '_')}"}
    with contextlib.redirect_stdout(buf):
        exec(compile(entry.example, f"<glossary {entry.slug}>", "exec"), namespace)  # noqa: S102
    return buf.getvalue()


def write_plot(entry, path):
    """Run the entry's ``plot`` code, which writes a picture to ``path``; returns the path."""
    if not entry.plot:
        raise ValueError(f"the entry {entry.term!r} has no picture")
    path = Path(path)
    _seed()
    namespace = {"__name__": "nerve_glossary_plot", "path": str(path)}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(entry.plot, f"<glossary plot {entry.slug}>", "exec"), namespace)  # noqa: S102
    if not path.exists():
        raise RuntimeError(f"the picture code of {entry.term!r} did not write {path}")
    return path


def normalise_output(text):
    """Whitespace-insensitive form used to compare printed output."""
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines() if line.strip())


def _toml_str(s):
    if "\n" in s or len(s) > 80:
        if "'''" not in s:
            return "'''\n" + s.strip("\n") + "\n'''"
        return '"""\n' + s.strip("\n").replace("\\", "\\\\").replace('"""', '""\\"') + '\n"""'
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump_entry(entry):
    """The TOML text of an entry (the canonical layout that the refresh script writes)."""
    lines = [f"id = {_toml_str(entry.id)}", f"term = {_toml_str(entry.term)}",
             f"bundle = {_toml_str(entry.bundle)}", f"status = {_toml_str(entry.status)}",
             "aliases = [" + ", ".join(_toml_str(a) for a in entry.aliases) + "]",
             "related = [" + ", ".join(_toml_str(a) for a in entry.related) + "]",
             f"definition = {_toml_str(entry.definition)}",
             "objects = [" + ", ".join(_toml_str(a) for a in entry.objects) + "]",
             "tests = [" + ", ".join(_toml_str(a) for a in entry.tests) + "]",
             f"example = {_toml_str(entry.example)}", f"output = {_toml_str(entry.output)}"]
    if entry.plot:
        lines.append(f"plot = {_toml_str(entry.plot)}")
    for item, text in entry.notes:
        lines += ["", "[[notes]]", f"item = {item}", f"text = {_toml_str(text)}"]
    return "\n".join(lines) + "\n"
