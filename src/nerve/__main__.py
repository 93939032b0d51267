"""``python -m nerve``: the same as the ``nerve`` command."""
from nerve.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
