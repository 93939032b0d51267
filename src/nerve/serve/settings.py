"""What a playground server is allowed to do: its runs folder and its limits."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServeSettings", "DEFAULT_HOST", "DEFAULT_PORT"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@dataclass
class ServeSettings:
    """Limits and places of one server.

    Args:
        runs_dir: the only folder runs are opened from (and saved into).
        max_jobs: live training sessions at once; one more is refused.
        max_body: largest request body in bytes (HTTP) or message (websocket).
        default_run: train the chapter-1 network into ``runs_dir`` on first use when no
            run can be opened (``POST /api/runs/default``).
        default_epochs: epochs of that default run.
        initial_run: the run the digit page opens first (a name inside ``runs_dir``).
    """

    runs_dir: Path = Path("runs")
    max_jobs: int = 2
    max_body: int = 64 * 1024
    default_run: bool = True
    default_epochs: int = 3
    initial_run: str | None = None

    def __post_init__(self):
        self.runs_dir = Path(self.runs_dir)
        for name in ("max_jobs", "max_body", "default_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
