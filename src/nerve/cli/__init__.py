"""``nerve`` on the command line: ``train``, ``evaluate``, ``predict``, ``features``, ``summary``,
``params``, ``bench``, ``serve``.

Run ``nerve --help`` (or ``python -m nerve --help``). Mistakes in the arguments or the
files given are reported on one line (``nerve: error: ...``) with exit status 2.
"""
from .main import UsageError, build_parser, main  # noqa: F401

__all__ = ["main", "build_parser", "UsageError"]
