"""Running a sweep: validate, open the folder, stream runs through an executor, summarise.

`run_sweep` is the public entry point (the command line's `sweep` calls it). It validates the
sweep file before it touches the result folder (an invalid sweep writes nothing), skips runs
already in runs.csv when resuming, appends each finished chunk's rows, and at the end sorts
runs.csv and writes points.csv and the manifest. A run that raises is a `failed` row; a
KeyboardInterrupt or a broken executor stops the sweep keeping every finished run (resume it).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Sequence
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


def run_sweep(  # noqa: C901 — the sweep's one lifecycle: claim, run, resume, finish
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
    folder = SweepFolder(Path(out) / sweep.name, columns)
    folder.check_free(resume, force)  # before connecting to anything

    runner = executor(workers, dask)  # connect before writing anything
    old_invocations = 0
    if resume and folder.manifest.exists():
        import json

        try:
            old_invocations = int(json.loads(folder.manifest.read_text())["invocations"])
        except (OSError, ValueError, KeyError, TypeError):
            old_invocations = 0
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

    manifest("running")
    folder.create_runs()
    bar = make_progress(sweep.name, total, reused, not progress, progress_stream)

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
        try:
            for results in runner.finish_running():
                record(results)
        finally:
            bar.close()
            runner.close()
            folder.close()
            folder.write_points(points, list(sweep.spec.levers))
            data = manifest("interrupted")
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise SweepInterrupted(f"sweep stopped: {type(exc).__name__}: {exc}", output(data)) from exc
    bar.close()
    runner.close()
    folder.close()
    if counts["missing"] == 0:
        folder.sort_runs()
    folder.write_points(points, list(sweep.spec.levers))
    data = manifest("completed" if counts["missing"] == 0 else "interrupted")
    return output(data)
