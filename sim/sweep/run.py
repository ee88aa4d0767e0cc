"""Running a sweep: validate, open the folder, stream runs through an executor, summarise.

`run_sweep` is the public entry point (the command line's `sweep` calls it). It validates the
sweep file before it touches the result folder (an invalid sweep writes nothing), skips runs
already in runs.csv when resuming, appends each finished chunk's rows, and at the end sorts
runs.csv and writes points.csv and the manifest. A run that raises is a `failed` row; a
KeyboardInterrupt or a broken executor stops the sweep keeping every finished run (resume it).
"""

from __future__ import annotations

import datetime as dt
import errno
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sim.manifest import base_manifest
from sim.registry import SUMMARY_KPIS
from sim.scenario.variants import scenario_sha256
from sim.sweep.executors import Chunk, chunk_size, executor
from sim.sweep.expand import Point, SweepContext, lever_points, resolve
from sim.sweep.loading import LoadedSweep, load_sweep
from sim.sweep.progress import progress as make_progress
from sim.sweep.store import SweepFolder, SweepFolderError
from sim.sweep.worker import runs_columns


class SweepInterrupted(Exception):
    """The sweep stopped before every run was done; finished runs are kept (resume it)."""

    def __init__(self, message: str, output: SweepOutput):
        super().__init__(message)
        self.output = output


@dataclass
class SweepOutput:
    """Where a sweep was written and how many runs it holds."""

    folder: Path
    name: str
    points: int
    replications: int
    runs: int
    done: int
    failed: int
    reused: int
    missing: int
    executor: str
    seconds: float
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.missing == 0


def _chunks(
    points: Sequence[Point], replications: int, skip: set[tuple[int, int]], size: int
) -> Iterator[Chunk]:
    chunk: Chunk = []
    for point in points:
        for replication in range(replications):
            if (point.index, replication) in skip:
                continue
            chunk.append((point.index, replication, point.values))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _check_existing_keys(
    context: SweepContext, points: Sequence[Point], identities: dict[tuple[int, int], str]
) -> None:
    """Each row kept must be the run this sweep would run now: same key (scenario and seed)."""
    values = {p.index: p.values for p in points}
    for (point, replication), key in identities.items():
        if point not in values:
            raise SweepFolderError(f"runs.csv has point {point}, which this sweep does not have")
        expected = resolve(context, point, replication, values[point]).key
        if expected != key:
            raise SweepFolderError(
                f"runs.csv row of point {point}, replication {replication} has key {key}, but "
                f"this sweep's run has key {expected} (another program version?); pass --force "
                "to start again"
            )


def _manifest(
    sweep: LoadedSweep,
    points: int,
    counts: dict[str, int],
    status: str,
    executor_text: str,
    started: dt.datetime,
    invocations: int,
) -> dict[str, Any]:
    spec = sweep.spec
    return {
        **base_manifest("sweep", seed=sweep.seed, started_utc=started, status=status),
        "sweep_name": sweep.name,
        "description": spec.sweep.description,
        "sweep_file": str(sweep.file),
        "sweep_sha256": sweep.file_sha256,
        "definition_sha256": sweep.definition_sha256,
        "base_scenario_file": str(sweep.base_file),
        "base_scenario_sha256": scenario_sha256(sweep.base_scenario),
        "overrides": list(sweep.cli_overrides),
        "levers": list(spec.levers),
        "uncertainties": list(spec.uncertainties),
        "kpis": list(SUMMARY_KPIS),
        "points": points,
        "replications": sweep.replications,
        "runs": points * sweep.replications,
        "counts": counts,
        "executor": executor_text,
        "invocations": invocations,
    }


def run_sweep(
    file: str | Path,
    *,
    workers: int | None = None,
    dask: Any = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    out: str | Path = "results",
    resume: bool = False,
    force: bool = False,
    progress: bool = False,
    progress_stream: IO[str] | None = None,
) -> SweepOutput:
    """Run the sweep in `file` and write `<out>/<sweep name>/`.

    `workers`: processes of the local pool (default: every core; 1 runs in this process).
    `dask`: a scheduler address (`tcp://host:8786`) or a `distributed.Client`, instead of the
    pool. `replications` replaces the file's count; `overrides` (`KEY=VALUE`) change the base
    scenario. `resume` runs only what runs.csv lacks; `force` starts an existing folder again.
    `progress` shows a bar (terminal) or progress lines on `progress_stream` (stderr).

    Raises ScenarioError (every problem of the sweep file; nothing written), SweepFolderError
    (the folder exists, or holds another sweep), SweepInterrupted (stopped part-way: what
    finished is kept) and KeyboardInterrupt (likewise).
    """
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    if resume and force:
        raise ValueError("resume and force exclude each other")
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    sweep = load_sweep(file, overrides, replications)
    points = lever_points(sweep.spec)
    context = SweepContext.of(sweep)
    columns = runs_columns(list(sweep.spec.levers), list(sweep.spec.uncertainties))
    folder = SweepFolder(Path(out) / sweep.name, columns, out=Path(out))
    folder.claim(resume, force)  # refuse before connecting to anything; held to the end
    try:
        return _run(
            sweep,
            folder,
            points,
            context,
            resume,
            force,
            started,
            clock,
            workers=workers,
            dask=dask,
            progress=progress,
            progress_stream=progress_stream,
        )
    finally:
        folder.release()


def _run(  # noqa: C901 — the sweep's one lifecycle: start or resume, run, stop, finish
    sweep: LoadedSweep,
    folder: SweepFolder,
    points: list[Point],
    context: SweepContext,
    resume: bool,
    force: bool,
    started: dt.datetime,
    clock: float,
    *,
    workers: int | None,
    dask: Any,
    progress: bool,
    progress_stream: IO[str] | None,
) -> SweepOutput:
    runner = executor(workers, dask)  # connect before writing anything
    old_invocations = folder.invocations() if resume else 0
    try:
        existing = folder.start(sweep.definition_sha256, resume, force)
        if existing.identities:
            _check_existing_keys(context, points, existing.identities)
    except BaseException:
        runner.close()
        raise
    total = len(points) * sweep.replications
    reused = len(existing.identities)
    counts = {
        "done": existing.ok,
        "failed": existing.failed,
        "reused": reused,
        "missing": total - reused,
    }

    invocations = old_invocations + 1

    def manifest(status: str) -> dict[str, Any]:
        data = _manifest(
            sweep, len(points), dict(counts), status, runner.describe(), started, invocations
        )
        folder.write_manifest(data)
        return data

    def output(data: dict[str, Any]) -> SweepOutput:
        return SweepOutput(
            folder.folder,
            sweep.name,
            len(points),
            sweep.replications,
            total,
            counts["done"],
            counts["failed"],
            reused,
            counts["missing"],
            runner.describe(),
            time.perf_counter() - clock,
            data,
        )

    def stopped(exc: BaseException, problems: list[BaseException]) -> SweepInterrupted:
        """The error to raise for a sweep stopped by `exc`, having marked it `interrupted`
        (when the manifest can still be written: `problems` collects what could not)."""
        data = _attempt(lambda: manifest("interrupted"), problems) or {}
        return SweepInterrupted(_stop_message(exc, problems, folder.folder), output(data))

    bar = make_progress(sweep.name, total, reused, not progress, progress_stream)
    try:
        manifest("running")
        folder.create_runs()
    except OSError as exc:  # e.g. a full disk before any run
        bar.close()
        runner.close()
        raise stopped(exc, []) from exc

    def record(results: list[tuple]) -> None:
        folder.append([line for *_, line in results])
        failed = sum(1 for _, _, ok, _ in results if not ok)
        counts["done"] += len(results) - failed
        counts["failed"] += failed
        counts["missing"] -= len(results)
        bar.update(len(results), failed)

    todo = total - reused
    size = chunk_size(max(todo, 1), runner.workers, runner.kind)
    chunks = _chunks(points, sweep.replications, set(existing.identities), size)
    try:
        for results in runner.map(context, chunks):
            record(results)
    except BaseException as exc:
        problems: list[BaseException] = []
        try:
            for results in runner.finish_running():
                record(results)
        except Exception as more:  # e.g. the disk is still full: those runs run again
            problems.append(more)
        finally:
            bar.close()
            runner.close()
            folder.close()
        error = stopped(exc, problems)
        _attempt(lambda: folder.write_points(points, list(sweep.spec.levers)), problems)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise error from exc
    bar.close()
    runner.close()
    folder.close()
    try:
        if counts["missing"] == 0:
            folder.sort_runs()
        folder.write_points(points, list(sweep.spec.levers))
        data = manifest("completed" if counts["missing"] == 0 else "interrupted")
    except OSError as exc:  # every run is in runs.csv: a resume only sorts and summarises
        raise stopped(exc, []) from exc
    return output(data)


def _attempt(step: Callable[[], Any], problems: list[BaseException]) -> Any:
    """`step()`, or None with its OSError added to `problems` (writing may fail again)."""
    try:
        return step()
    except OSError as exc:
        problems.append(exc)
        return None


def _stop_message(exc: BaseException, problems: list[BaseException], folder: Path) -> str:
    """Why the sweep stopped and what to do; a full disk is said in so many words."""
    errors = [exc, *problems]
    if any(isinstance(e, OSError) and e.errno == errno.ENOSPC for e in errors):
        text = (
            f"sweep stopped: the disk is full ({exc}); the finished runs are kept in {folder}: "
            "free some space, then run the same command again with --resume"
        )
    else:
        text = f"sweep stopped: {type(exc).__name__}: {exc}"
    if any(isinstance(e, OSError) and "manifest.json" in str(e.filename) for e in problems):
        text += " (its manifest.json could not be updated and still says running)"
    return text
