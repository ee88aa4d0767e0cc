"""Where runs execute: in this process, on a local process pool, or on a Dask cluster.

Every executor takes chunks of runs (several runs per task, so the cost of a task — measured
here: 8–35 µs on a process pool, ≈ 2 ms on Dask — is shared) and yields each chunk's result as
it completes, keeping only a few chunks in flight so memory stays flat however many runs there
are. Results do not depend on the executor: a run's outcome depends only on its identity.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from sim.folders import pid_alive
from sim.sweep.expand import SweepContext
from sim.sweep.worker import run_chunk

Chunk = list[tuple[int, int, tuple]]

#: Most runs in one task, by executor (a Dask task costs more, so it carries more runs).
MAX_CHUNK = {"serial": 4, "pool": 25, "dask": 50}
#: Chunks per worker the work is cut into at least (for balance and for progress).
CHUNKS_PER_WORKER = 8


def chunk_size(runs: int, workers: int, kind: str) -> int:
    return max(1, min(MAX_CHUNK[kind], math.ceil(runs / (workers * CHUNKS_PER_WORKER))))


class _Streaming:
    """Submits chunks, at most `in_flight` at a time, and yields results as they complete."""

    def __init__(self) -> None:
        self.pending: set = set()

    def _stream(
        self,
        submit: Callable[[Chunk], Any],
        wait_first: Callable[[set], tuple[set, set]],
        chunks: Iterable[Chunk],
        in_flight: int,
    ) -> Iterator[list[tuple]]:
        source = iter(chunks)
        exhausted = False
        while True:
            while not exhausted and len(self.pending) < in_flight:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                else:
                    self.pending.add(submit(chunk))
            if not self.pending:
                return
            done, self.pending = wait_first(self.pending)
            for future in done:
                yield future.result()


class Serial:
    """Every run in this process, one chunk after another."""

    kind = "serial"

    def __init__(self) -> None:
        self.workers = 1

    def describe(self) -> str:
        return "serial (this process)"

    def map(self, context: SweepContext, chunks: Iterable[Chunk]) -> Iterator[list[tuple]]:
        for chunk in chunks:
            yield run_chunk(context, chunk)

    def finish_running(self) -> list[list[tuple]]:
        return []

    def close(self) -> None:
        pass


_context: SweepContext | None = None


#: prctl option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op,
    and the polling thread of `_init_worker` does it)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _init_worker(context: SweepContext, sweep_pid: int, via_forkserver: bool) -> None:
    """A pool worker: keep the sweep's context; leave Ctrl-C to the parent (which stops the
    sweep and keeps what finished); die with the sweep's process `sweep_pid`, not linger.

    Two means: the kernel's parent-death signal (Linux), and a thread polling every 0.5 s that
    the parent is still the one the worker started with and the sweep's process runs. Both are
    checked once at the start too: a sweep killed while its pool started leaves a worker whose
    parent is already gone (an earlier version polled for a change that had already happened).
    A worker started by a fork server is the server's child; the server exits with the sweep.
    """
    global _context
    _context = context
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    parent = os.getppid()

    def gone() -> bool:
        if os.getppid() != parent or not pid_alive(sweep_pid):
            return True
        return not via_forkserver and parent != sweep_pid

    if gone():
        os._exit(1)

    def watch() -> None:
        while not gone():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _run_chunk_here(chunk: Chunk) -> list[tuple]:
    assert _context is not None
    return run_chunk(_context, chunk)


class Pool(_Streaming):
    """A local process pool (`concurrent.futures.ProcessPoolExecutor`) over `workers` processes.

    Processes are forked when this process runs no other thread (fast: ≈ 10 ms for two); else
    they start from a fork server, since forking a process with threads is unsafe.
    """

    kind = "pool"

    def __init__(self, workers: int | None = None):
        super().__init__()
        self.workers = workers or os.cpu_count() or 1
        self._executor: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        return f"local process pool, {self.workers} workers"

    def map(self, context: SweepContext, chunks: Iterable[Chunk]) -> Iterator[list[tuple]]:
        methods = multiprocessing.get_all_start_methods()
        method = "fork" if "fork" in methods and threading.active_count() == 1 else "spawn"
        if method != "fork" and "forkserver" in methods:
            method = "forkserver"
        mp_context = multiprocessing.get_context(method)
        if method == "forkserver":
            mp_context.set_forkserver_preload(["sim.sweep.worker"])
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=mp_context,
            initializer=_init_worker,
            initargs=(context, os.getpid(), method == "forkserver"),
        )
        executor = self._executor

        def wait_first(pending: set) -> tuple[set, set]:
            done, rest = wait(pending, return_when=FIRST_COMPLETED)
            return set(done), set(rest)

        yield from self._stream(
            lambda chunk: executor.submit(_run_chunk_here, chunk),
            wait_first,
            chunks,
            self.workers * 3,
        )

    def finish_running(self) -> list[list[tuple]]:
        """After an interrupt: cancel chunks not started, wait for those running; their results."""
        for future in self.pending:
            future.cancel()
        done, _ = wait(self.pending, timeout=120)
        self.pending = set()
        return [f.result() for f in done if not f.cancelled() and f.exception() is None]

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class DaskConnectionError(RuntimeError):
    """The Dask scheduler could not be reached."""


#: How long to try reaching a Dask scheduler, seconds.
CONNECT_SECONDS = 20


class Dask(_Streaming):
    """A Dask distributed cluster: `address` of its scheduler (`tcp://host:8786`), or a
    `distributed.Client` already connected. Workers need this package installed."""

    kind = "dask"

    def __init__(self, address: Any):
        super().__init__()
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "--dask needs the distributed package: pip install -e '.[dask]'"
            ) from exc
        if isinstance(address, Client):
            self.client, self._own = address, False
        else:
            try:
                self.client = Client(address, set_as_default=False, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError, ValueError) as exc:
                raise DaskConnectionError(
                    f"cannot connect to the Dask scheduler at {address}: {exc}"
                ) from None
            self._own = True
        self.address = getattr(self.client.scheduler, "address", str(address))
        self.workers = max(1, sum(self._threads().values()))

    def _threads(self) -> dict[str, int]:
        return self.client.nthreads()

    def describe(self) -> str:
        return f"Dask cluster at {self.address}, {self.workers} worker threads"

    def map(self, context: SweepContext, chunks: Iterable[Chunk]) -> Iterator[list[tuple]]:
        from distributed import as_completed

        shared = self.client.scatter(context, broadcast=True, hash=False)
        source = iter(chunks)

        def submit() -> Any:
            chunk = next(source, None)
            if chunk is None:
                return None
            future = self.client.submit(run_chunk, shared, chunk, pure=False)
            self.pending.add(future)
            return future

        try:
            first = [f for f in (submit() for _ in range(self.workers * 3)) if f is not None]
            completed = as_completed(first, loop=self.client.loop)
            for future in completed:
                self.pending.discard(future)
                result = future.result()
                following = submit()
                if following is not None:
                    completed.add(following)
                yield result
        finally:
            self.client.cancel([shared])

    def finish_running(self) -> list[list[tuple]]:
        """After an interrupt: the chunks already finished; the others are cancelled."""
        done = [f for f in self.pending if f.status == "finished"]
        self.client.cancel([f for f in self.pending if f.status != "finished"])
        self.pending = set()
        return [f.result() for f in done]

    def close(self) -> None:
        if self._own:
            self.client.close()


def executor(workers: int | None = None, dask: Any = None) -> Serial | Pool | Dask:
    """Dask when given an address, else serial for one worker, else a local pool."""
    if dask is not None:
        return Dask(dask)
    if workers == 1:
        return Serial()
    return Pool(workers)
