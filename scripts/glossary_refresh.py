"""Re-derive each glossary entry's ``status`` and ``output`` from the code as it stands.

For every entry: if all its objects import and its example runs, the status becomes "runs" and
the printed output is stored; otherwise the status becomes "not yet built". Run it after a branch
that builds a glossary concept lands, then review the diff (``git diff src/nerve/glossary``):

    PYTHONPATH=src python3 scripts/glossary_refresh.py            # rewrite the files
    PYTHONPATH=src python3 scripts/glossary_refresh.py --check    # report only
"""
import argparse
import dataclasses
import sys
import traceback

from nerve import glossary
from nerve.io import write_text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report what would change, write nothing")
    ap.add_argument("slugs", nargs="*", help="only these entries (default: all)")
    args = ap.parse_args(argv)
    changed = 0
    for entry in glossary.entries():
        if args.slugs and entry.slug not in args.slugs:
            continue
        missing = glossary.missing_objects(entry)
        status, output = "not yet built", entry.output
        if not missing:
            try:
                output = glossary.run_example(entry).rstrip("\n")
                status = "runs"
            except Exception:  # noqa: BLE001 - report any failure of the example
                print(f"{entry.slug}: objects import but the example fails:", file=sys.stderr)
                traceback.print_exc()
        new = dataclasses.replace(entry, status=status, output=output)
        if new != entry:
            changed += 1
            print(f"{entry.slug}: {entry.status} -> {status}" + (" (output changed)" if output != entry.output else ""))
            if not args.check:
                write_text(entry.path, glossary.dump_entry(new))
    print(f"{changed} entries {'would change' if args.check else 'changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
