"""Progress of a sweep: a bar on a terminal, plain lines otherwise, nothing when quiet.

Progress goes to standard error (standard output keeps the summary and the folder line): a tqdm
bar with count, rate and ETA when standard error is a terminal; otherwise a plain line at most
every 5 seconds (and at the end), e.g. `sweep x: 120/1000 runs (12 %), 45.1 runs/s, ETA 0:00:19`.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
import time
from typing import IO, Protocol

PLAIN_EVERY_SECONDS = 5.0


class Progress(Protocol):
    def update(self, runs: int, failed: int) -> None: ...
    def close(self) -> None: ...


class Quiet:
    """No progress output."""

    def update(self, runs: int, failed: int) -> None:
        pass

    def close(self) -> None:
        pass


def _eta(seconds: float) -> str:
    return str(dt.timedelta(seconds=round(seconds)))


class PlainLines:
    """A progress line at most every few seconds, and one at the end."""

    def __init__(self, name: str, total: int, done: int, stream: IO[str]):
        self.name, self.total, self.done, self.stream = name, total, done, stream
        self.start_done = done
        self.failed = 0
        self.started = time.monotonic()
        self.last = -PLAIN_EVERY_SECONDS

    def _line(self) -> str:
        elapsed = time.monotonic() - self.started
        ran = self.done - self.start_done
        rate = ran / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = _eta(left / rate) if rate > 0 else "?"
        share = 100.0 * self.done / self.total if self.total else 100.0
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"sweep {self.name}: {self.done}/{self.total} runs ({share:.0f} %){failed}, "
            f"{rate:.1f} runs/s, ETA {eta}"
        )

    def update(self, runs: int, failed: int) -> None:
        self.done += runs
        self.failed += failed
        now = time.monotonic()
        if now - self.last >= PLAIN_EVERY_SECONDS and self.done < self.total:
            self.last = now
            print(self._line(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.done == self.start_done:
            line = f"sweep {self.name}: {self.done}/{self.total} runs already done, none run"
        else:
            line = self._line()
        print(line, file=self.stream, flush=True)


class Bar:
    """A tqdm bar: count, rate and ETA."""

    def __init__(self, name: str, total: int, done: int, stream: IO[str]):
        from tqdm import tqdm

        class _NoMonitor(tqdm):
            # No monitor thread: a process pool forks only while this process has no thread.
            monitor_interval = 0

        try:  # a terminal that reports no width (0) would get no bar at all: assume 80
            known = os.get_terminal_size(stream.fileno()).columns > 0
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            known = False
        self.bar = _NoMonitor(
            total=total,
            initial=done,
            unit="run",
            desc=f"sweep {name}",
            file=stream,
            dynamic_ncols=known,
            ncols=None if known else 80,
            nrows=None if known else 24,
            smoothing=0.1,
        )
        self.failed = 0

    def update(self, runs: int, failed: int) -> None:
        if failed:
            self.failed += failed
            self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(runs)

    def close(self) -> None:
        self.bar.close()


def progress(
    name: str, total: int, done: int, quiet: bool, stream: IO[str] | None = None
) -> Progress:
    """The right progress display for where output goes."""
    stream = sys.stderr if stream is None else stream
    if quiet:
        return Quiet()
    if stream.isatty():
        return Bar(name, total, done, stream)
    return PlainLines(name, total, done, stream)
