"""``nerve serve [RUN]``: start the browser playground (the ``serve`` extra: FastAPI, uvicorn)."""
from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

from .main import UsageError, _number, _positive_int

__all__ = ["add_serve_parser", "cmd_serve"]


def add_serve_parser(sub) -> None:
    """Register the ``serve`` subcommand on the CLI's subparsers."""
    p = sub.add_parser("serve", help="the browser playground: draw digits, train live, step through backprop",
                       description="Serve the playground pages and their API. It binds 127.0.0.1 "
                                   "(this machine only) unless --host says otherwise. Runs are opened "
                                   "only from the runs folder; with RUN, its folder's parent is that "
                                   "folder and the digit page opens RUN first.")
    p.add_argument("run", nargs="?", default=None, help="a run folder written by 'nerve train' to open first")
    p.add_argument("--runs-dir", default=None, metavar="DIR",
                   help="the runs folder (default: RUN's parent, else ./runs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--max-jobs", type=_positive_int, default=2, help="live training sessions at once (default 2)")
    p.set_defaults(func="serve")


_port = _number(int, lambda v: 1 <= v <= 65535, "a port from 1 to 65535")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_from_args(args):
    """The :class:`~nerve.serve.ServeSettings` that the arguments ask for."""
    from ..serve import ServeSettings  # noqa: PLC0415

    initial = None
    runs_dir = Path(args.runs_dir) if args.runs_dir else Path("runs")
    if args.run is not None:
        run = Path(args.run)
        if not run.is_dir() or run.is_symlink():
            raise UsageError(f"RUN {args.run} is not a run folder; pass the folder 'nerve train' wrote")
        if args.runs_dir and run.resolve().parent != runs_dir.resolve():
            raise UsageError(f"RUN {args.run} is not inside --runs-dir {args.runs_dir}")
        runs_dir, initial = run.resolve().parent, run.name
    if runs_dir.exists() and not runs_dir.is_dir():
        raise UsageError(f"--runs-dir {runs_dir} is a file; give the folder that holds the runs")
    return ServeSettings(runs_dir=runs_dir, max_jobs=args.max_jobs, initial_run=initial)


def cmd_serve(args) -> int:
    """Run the server until Ctrl-C."""
    try:
        import uvicorn  # noqa: PLC0415
    except ImportError:
        raise UsageError("nerve serve needs FastAPI and uvicorn: pip install 'nerve[serve]'") from None
    settings = settings_from_args(args)
    if not _is_loopback(args.host):
        print(f"nerve serve: warning: binding {args.host}: other machines can reach the playground, and it "
              "has no login; use the default 127.0.0.1 unless you mean it", file=sys.stderr)
    from ..serve import create_app  # noqa: PLC0415

    print(f"nerve playground on http://{args.host}:{args.port}/ (runs from {settings.runs_dir})", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
