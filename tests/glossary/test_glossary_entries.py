"""Walk every glossary entry: its objects import, its example prints what the entry shows, its
tests exist. Entries whose code is not built yet are the remaining gap; a separate test checks
that each of them really cannot import its objects (so the status cannot lie either way)."""
import re
from collections import Counter
from pathlib import Path

import pytest

from nerve import glossary

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = glossary.entries()
RUNS = [e for e in ENTRIES if e.runs]
GAP = [e for e in ENTRIES if not e.runs]
IDS = [e.slug for e in ENTRIES]

# The spec's list of loose or wrong statements in the sources (glossary-map.md section 3d), item by
# item, and the entry whose note addresses it.
NOTE_FOR_ITEM = {
    1: "objective-function", 2: "fully-connected-layer", 3: "relu", 4: "dying-relu",
    5: "activation-function", 6: "kinks-and-subgradients", 7: "chapter1-network",
    8: "matrix-multiplication", 9: "epoch", 10: "sigmoid-function", 11: "stochastic-gradient-descent",
    12: "translation-equivariance", 13: "bottleneck-block", 14: "residual-network", 15: "keras",
    16: "normalization", 17: "zero-padding", 18: "bert", 19: "rmsprop", 20: "margin", 21: "perceptron",
    22: "dynamic-routing", 23: "local-response-normalization", 24: "learning-rate",
    25: "batch-normalization", 26: "image-tensor-layout", 27: "deep-learning", 28: "hyperparameters",
}
# Section 2 of the map: how many rows each capability bundle holds.
BUNDLE_SIZES = {"B1": 14, "B2": 13, "B3": 18, "B4": 16, "B5": 23, "B6": 8, "B7": 9, "B8": 15,
                "B9": 11, "B10": 15, "B11": 9, "B12": 8}


def test_one_entry_per_spec_row():
    ids = [e.id for e in ENTRIES]
    expected = [str(i) for i in range(1, 101)] + [f"A{i:02d}" for i in range(1, 60)]
    assert sorted(ids) == sorted(expected), (
        f"missing: {sorted(set(expected) - set(ids))}; extra: {sorted(set(ids) - set(expected))}")
    assert len(set(IDS)) == len(IDS), "two entries share a slug"
    assert Counter(e.bundle for e in ENTRIES) == Counter(BUNDLE_SIZES)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_is_well_formed(entry):
    sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'`]|nerve)", entry.definition) if s.strip()]
    assert 2 <= len(sentences) <= 6, f"{entry.slug}: the definition has {len(sentences)} sentences, want 2-6"
    assert entry.objects, f"{entry.slug}: names no nerve object"
    assert all(o.startswith("nerve.") for o in entry.objects)
    lines = entry.example.strip().splitlines()
    assert 3 <= len(lines) <= 15, f"{entry.slug}: the example has {len(lines)} lines, want 3-15"
    for slug in entry.related:
        assert slug in IDS, f"{entry.slug}: related entry {slug!r} does not exist"
    if entry.runs:
        assert entry.output.strip(), f"{entry.slug}: runs but shows no output"
        assert entry.tests, f"{entry.slug}: runs but names no test"


@pytest.mark.parametrize("entry", RUNS, ids=[e.slug for e in RUNS])
def test_built_entry_imports_runs_and_is_tested(entry):
    assert glossary.missing_objects(entry) == []
    for test in entry.tests:
        assert (ROOT / test.split("::")[0]).exists(), f"{entry.slug}: test file {test} does not exist"
    got = glossary.run_example(entry)
    assert glossary.normalise_output(got) == glossary.normalise_output(entry.output), (
        f"{entry.slug}: the example printed\n{got}\nbut the entry shows\n{entry.output}")


@pytest.mark.parametrize("entry", GAP, ids=[e.slug for e in GAP])
def test_not_yet_built_entry_really_lacks_its_code(entry):
    assert glossary.missing_objects(entry), (
        f"{entry.slug} is marked 'not yet built' but all its objects import now: run "
        f"scripts/glossary_refresh.py {entry.slug} and review the stored output")


def test_report_the_remaining_gap():
    print(f"\nglossary: {len(RUNS)} of {len(ENTRIES)} entries run; {len(GAP)} not yet built:")
    for e in GAP:
        print(f"  {e.id:>4} {e.term}: missing {', '.join(o for o, _ in glossary.missing_objects(e))}")
    assert len(RUNS) + len(GAP) == len(ENTRIES)


@pytest.mark.parametrize("item", sorted(NOTE_FOR_ITEM))
def test_every_loose_statement_has_a_note(item):
    entry = glossary.get(NOTE_FOR_ITEM[item])
    texts = [text for it, text in entry.notes if it == item]
    assert texts, f"{entry.slug} has no note for spec 3d item {item}"
    assert "more precisely" in texts[0].lower(), f"{entry.slug}: the note for item {item} lacks 'more precisely'"
    assert len(NOTE_FOR_ITEM) == 28


def test_lookup_by_alias_and_fuzzy_spelling():
    # TPR = recall = sensitivity: one concept, two spec rows (56 and 64) naming one function.
    recall, tpr = glossary.find("recall"), glossary.find("TPR")
    assert glossary.find("sensitivity") is recall and recall.slug == "sensitivity-recall"
    assert tpr.slug == "true-positive-rate" and recall.slug in tpr.related
    from nerve import metrics
    assert metrics.tpr is metrics.recall_score is metrics.sensitivity
    assert glossary.find("rectified linear unit").slug == "relu"
    assert glossary.find("ReLU").slug == "relu"
    assert glossary.find("vanishing gradients").slug == "vanishing-gradient"
    with pytest.raises(glossary.UnknownTermError, match="did you mean"):
        glossary.find("relo")
    assert glossary.find("convolutoin").slug == "convolution-operation"
    assert "ReLU" in glossary.suggest("relo")


def test_search_and_bundles():
    assert {e.slug for e in glossary.search("pooling")} >= {"max-pooling", "global-average-pooling"}
    assert all(e.bundle == "B5" for e in glossary.by_bundle("b5")) and len(glossary.by_bundle("B5")) == 23


def test_dump_round_trips(tmp_path):
    import tomllib

    for entry in ENTRIES[::7]:
        path = tmp_path / entry.path.name
        path.write_text(glossary.dump_entry(entry))
        again = glossary._load(path)
        assert (again.definition, again.example, again.output, again.notes, again.objects) == (
            entry.definition, entry.example, entry.output, entry.notes, entry.objects)
        tomllib.loads(path.read_text())


PLOTTED = [e for e in RUNS if e.plot]


@pytest.mark.parametrize("entry", PLOTTED, ids=[e.slug for e in PLOTTED])
def test_pictures_are_drawn_by_code(entry, tmp_path):
    path = glossary.write_plot(entry, tmp_path / f"{entry.slug}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_public_names_have_docstrings():
    from nerve.cli import explain

    for module in (glossary, explain):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                assert (obj.__doc__ or "").strip(), f"{module.__name__}.{name} has no docstring"


def test_entries_ship_as_package_data():
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)
    assert "entries/*.toml" in config["tool"]["setuptools"]["package-data"]["nerve.glossary"]
