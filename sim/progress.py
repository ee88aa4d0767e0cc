"""Progress of a long command (`compare`, `stress`, `n1`) on standard error: count, rate, ETA.

Shown only when standard error is a terminal and the command is not `--quiet`; a pipe or a log
file gets nothing (standard output keeps the tables and the folder line). The sweep has its own
display with a tqdm bar (sim/sweep/progress.py).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from typing import IO

#: A progress callback: `(done, total)` after each unit of work.
ProgressCallback = Callable[[int, int], None]


def line(label: str, done: int, total: int, elapsed: float, unit: str = "runs") -> str:
    """`label: 3/10 runs (30 %), 1.5 runs/s, ETA 0:00:05`."""
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = str(dt.timedelta(seconds=round((total - done) / rate))) if rate > 0 else "?"
    share = 100.0 * done / total if total else 100.0
    return f"{label}: {done}/{total} {unit} ({share:.0f} %), {rate:.2f} {unit}/s, ETA {eta}"


def terminal_progress(
    label: str, quiet: bool = False, stream: IO[str] | None = None, unit: str = "runs"
) -> ProgressCallback | None:
    """A callback that rewrites one line on `stream` (default standard error), or None when
    quiet or when the stream is not a terminal."""
    out = sys.stderr if stream is None else stream
    if quiet or not out.isatty():
        return None
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        text = line(label, done, total, time.monotonic() - started, unit)
        print(f"\r{text}\033[K", end="\n" if done >= total else "", file=out, flush=True)

    return show
